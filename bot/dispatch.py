"""Run one command or button click for a member, in one transaction.

Every surface (console, `csbot ask`, Slack, Teams) comes through here, so a
command behaves the same wherever it is typed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot import metrics, wake
from bot.json_text import has_surrogate
from handlers.context import Context
from handlers.reply import Reply, Section, error_reply
from handlers.router import Router
from store.busy import BUSY_MESSAGE, describe, is_busy
from store.database import Database
from store.org import Member, Org
from store.processed import ProcessedRequest, request_key

log = logging.getLogger(__name__)


class UnknownMember(Exception):
    """No active member has that handle."""


class AlreadyProcessed(Exception):
    """This very request (a platform's retry, a replayed delivery) was handled before."""


MAX_LABEL = 75  # Slack's limit for a button's text


def already_handled(label: str | None = None) -> Reply:
    """What a repeated delivery of one click answers: it acted once, and nothing was done again.

    A click that changes nothing still gets an answer, or the person is left
    wondering whether it worked.
    """
    name = " ".join((label or "").split())[:MAX_LABEL]
    what = f"Your click on “{name}”" if name else "That click"
    return Reply(blocks=[Section(f"{what} was already handled, so nothing was done again.")], data={"already_handled": True})


def find_member(session: Session, handle: str) -> Member | None:
    handle = handle.strip().lstrip("@").lower()
    if "\0" in handle or has_surrogate(handle):
        # No handle holds either, and no database takes them in a query (`csbot ask --as`
        # gets undecodable argument bytes as surrogates): nobody has this handle.
        return None
    return session.scalar(select(Member).where(func.lower(Member.handle) == handle, Member.active.is_(True)))


def _run(
    db: Database,
    handle: str,
    now: datetime,
    platform: str,
    once: str | None,
    call: Callable[[Context], Reply],
) -> Reply:
    with db.sessions() as session:
        member = find_member(session, handle)
        if member is None:
            raise UnknownMember(handle)
        try:
            if once is not None:
                # Claimed in the same transaction as the effect: a failed command
                # releases the claim, a committed one keeps every retry out.
                session.add(ProcessedRequest(key=request_key(once), platform=platform, processed_at=now))
                try:
                    session.flush()
                except IntegrityError:
                    session.rollback()
                    raise AlreadyProcessed(once) from None
            reply = call(Context(session=session, member=member, now=now, org=session.get(Org, 1), platform=platform))
            if reply.ok:
                try:
                    session.commit()
                except IntegrityError:
                    session.rollback()
                    raise AlreadyProcessed(once or "") from None
                if "escalation" in reply.data:
                    wake.escalations()  # its pages or edits are in the outbox: send them now
            else:
                # A handler that failed half-way must leave nothing behind.
                session.rollback()
            return reply
        except Exception as exc:
            if not is_busy(exc):
                raise
            log.warning("%s request by %s: database busy (%s)", platform, handle, describe(exc))
            # Nothing was written (the claim too rolled back), so the person
            # can simply do it again; a dropped click would lose their intent.
            session.rollback()
            return error_reply("busy", BUSY_MESSAGE)


def run_command(
    db: Database, router: Router, handle: str, text: str, *, now: datetime, platform: str, once: str | None = None
) -> Reply:
    """Route `text` as the member `handle`. Writes commit only when the reply is ok.

    With `once`, a second call with the same key raises AlreadyProcessed.
    """
    words = text.strip().split(maxsplit=1)
    family = router.family(words[0]) if words else None
    with measured(platform, f"/{family.name}" if family is not None else "unknown") as done:
        return done(_run(db, handle, now, platform, once, lambda ctx: router.handle(ctx, text)))


def run_action(
    db: Database,
    router: Router,
    handle: str,
    action_id: str,
    value: str,
    *,
    now: datetime,
    platform: str,
    once: str | None = None,
) -> Reply:
    """Handle a button click by the member `handle` (same rules as run_command)."""
    with measured(platform, action_id if action_id in router.action_ids else "unknown") as done:
        return done(_run(db, handle, now, platform, once, lambda ctx: router.handle_action(ctx, action_id, value)))


@contextmanager
def measured(surface: str, command: str) -> Iterator[Callable[[Reply], Reply]]:
    """Count a command (by its registered name only, never what was typed) and time it."""
    started = time.perf_counter()
    outcome = ["exception"]

    def done(reply: Reply) -> Reply:
        outcome[0] = "ok" if reply.ok else reply.error.code if reply.error else "error"
        return reply

    try:
        yield done
    finally:
        metrics.COMMANDS.labels(surface, command, outcome[0]).inc()
        metrics.COMMAND_SECONDS.labels(surface).observe(time.perf_counter() - started)
