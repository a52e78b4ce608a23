"""Run one command or button click for a member, in one transaction.

Every surface (console, `csbot ask`, Slack, Teams) comes through here, so a
command behaves the same wherever it is typed.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from handlers.context import Context
from handlers.reply import Reply
from handlers.router import Router
from store.database import Database
from store.org import Member, Org


class UnknownMember(Exception):
    """No active member has that handle."""


def find_member(session: Session, handle: str) -> Member | None:
    handle = handle.strip().lstrip("@").lower()
    return session.scalar(select(Member).where(func.lower(Member.handle) == handle, Member.active.is_(True)))


def _context(session: Session, member: Member, now: datetime, platform: str) -> Context:
    return Context(session=session, member=member, now=now, org=session.get(Org, 1), platform=platform)


def run_command(db: Database, router: Router, handle: str, text: str, *, now: datetime, platform: str) -> Reply:
    """Route `text` as the member `handle`. Writes commit only when the reply is ok."""
    with db.sessions() as session:
        member = find_member(session, handle)
        if member is None:
            raise UnknownMember(handle)
        reply = router.handle(_context(session, member, now, platform), text)
        _finish(session, reply)
        return reply


def run_action(
    db: Database, router: Router, handle: str, action_id: str, value: str, *, now: datetime, platform: str
) -> Reply:
    """Handle a button click by the member `handle`."""
    with db.sessions() as session:
        member = find_member(session, handle)
        if member is None:
            raise UnknownMember(handle)
        reply = router.handle_action(_context(session, member, now, platform), action_id, value)
        _finish(session, reply)
        return reply


def _finish(session: Session, reply: Reply) -> None:
    # A handler that failed half-way must leave nothing behind.
    if reply.ok:
        session.commit()
    else:
        session.rollback()
