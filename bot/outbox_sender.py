"""The one sender of outbox rows: claim what is due, compose it, send it, record what happened.

Database work runs in worker threads (the event loop keeps answering Slack
and Teams meanwhile); each step commits before the next, so a process that
dies anywhere leaves rows another process finishes (store.outbox says how).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
from collections.abc import Callable, Collection, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from bot.chat_work import run_chat
from bot.notify import Address, Notifier, Sent
from handlers.reply import Reply
from store.claimants import Claimant, is_abandoned, this_process
from store.database import Database, open_database
from store.engine import write_transaction
from store.outbox import LATE_AFTER, Claimed, claim_due, record_failure, record_sent, record_skip, release_abandoned, start_sending

log = logging.getLogger(__name__)

# Composes the message of a claimed row; raises one of the Sender's `skips`
# when the row can no longer be sent.
Composer = Callable[[Session, Claimed, datetime], Reply]
# Called, in the transaction that records it, when a row will never be delivered where it was
# addressed (its platform is not configured, or the send failed for good): a page then goes by e-mail.
GaveUp = Callable[[Session, Claimed, str, datetime], object]


@dataclass(frozen=True)
class Outcome:
    """What happened to one row in this pass."""

    kind: str
    subject: str
    recipient: str
    occurrence: str
    status: str  # sent | retrying | failed | skipped
    late: bool = False
    message_ids: tuple[str, ...] = ()
    error: str | None = None
    note: str | None = None
    lag_s: float | None = None  # sent this long after it was due

    def to_json(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "subject": self.subject,
            "recipient": self.recipient,
            "occurrence": self.occurrence,
            "status": self.status,
            "late": self.late,
            "message_ids": list(self.message_ids),
            "error": self.error,
            "note": self.note,
        }


# Sends in flight at once: Slack and the Bot Connector take many connections; their rate
# limits are per channel (and answered with Retry-After, which the clients wait out).
SEND_AT_ONCE = 16
# Below this many messages to compose, starting worker processes costs more than it saves.
PARALLEL_FROM = 8
Composed = dict[int, "Reply | Exception"]  # by row id: the message, or why it could not be composed


def compose_all(
    db: Database,
    rows: list[Claimed],
    now: datetime,
    composers: Mapping[str, Composer],
    *,
    parallel_from: int = PARALLEL_FROM,
    heavy: Collection[str] | None = None,
) -> Composed:
    """Compose every row's message; each occurrence once (a team's Slack and Teams posts share one).

    Many `heavy` ones at once (the morning's scorecards, one per team, each
    with a chart: CPU work) are composed in worker processes, one per core,
    each with its own connections to the database; the rest (pages, notes:
    a few queries each) here, where starting a process would cost more.
    `heavy` None: every kind is.
    """
    firsts: dict[tuple[str, ...], Claimed] = {}
    for row in rows:
        firsts.setdefault(_shared_by(row), row)
    light = [r for r in firsts.values() if heavy is not None and r.kind not in heavy]
    jobs = [r for r in firsts.values() if heavy is None or r.kind in heavy]
    done: dict[tuple[str, ...], Reply | Exception] = {}
    for row in light:
        done[_shared_by(row)] = _compose_here(db, composers[row.kind], row, now)
    workers = min(os.cpu_count() or 1, len(jobs) // max(1, parallel_from // 2) or 1)
    if len(jobs) < parallel_from or workers < 2:
        for row in jobs:
            done[_shared_by(row)] = _compose_here(db, composers[row.kind], row, now)
    else:
        url = db.engine.url.render_as_string(hide_password=False)
        context = multiprocessing.get_context("spawn")  # never fork a process with an event loop and open connections
        with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_open_worker, initargs=(url,)) as pool:
            futures = {_shared_by(r): pool.submit(_compose_in_worker, composers[r.kind], r, now) for r in jobs}
            for key, future in futures.items():
                try:
                    done[key] = future.result()
                except Exception as exc:  # noqa: BLE001 (handed to the row it belongs to)
                    done[key] = exc
    return {row.id: done[_shared_by(row)] for row in rows}


def _shared_by(row: Claimed) -> tuple[str, ...]:
    """Which rows share one composed message.

    A channel post is the same for everyone, so a team's Slack and Teams posts
    share one. A direct message is composed for its reader: what a person may
    see (their own blind scores, an agent's figures, a hidden reviewer) differs
    from one reader to the next, even for the same subject.
    """
    if ":user:" in row.recipient:
        return (row.kind, row.subject, row.occurrence, row.recipient)
    return (row.kind, row.subject, row.occurrence)


def _compose_here(db: Database, composer: Composer, row: Claimed, now: datetime) -> Reply | Exception:
    try:
        with db.sessions() as session:
            return composer(session, row, now)
    except Exception as exc:  # noqa: BLE001 (handed to the row it belongs to)
        return exc


_worker_db: Database | None = None


def _open_worker(url: str) -> None:
    global _worker_db
    _worker_db = open_database(url, upgrade=False)


def _compose_in_worker(composer: Composer, row: Claimed, now: datetime) -> Reply:
    assert _worker_db is not None
    with _worker_db.sessions() as session:
        return composer(session, row, now)


@dataclass
class Sender:
    db: Database
    notifiers: Mapping[str, Notifier]  # by platform
    composers: Mapping[str, Composer]  # by row kind
    skips: tuple[type[Exception], ...] = ()  # exceptions that mean "this row can no longer be sent"
    # By row kind: the platform message a row's message answers in a thread, if any.
    threads: Mapping[str, Callable[[Session, Claimed], str | None]] = field(default_factory=dict)
    # By row kind: rows that edit messages already posted (a page that becomes
    # "Acknowledged by Dana"): the platform ids of the messages to edit.
    edits: Mapping[str, Callable[[Session, Claimed], list[str]]] = field(default_factory=dict)
    # Kinds worth composing in worker processes when many are due (charts); None: all.
    heavy: Collection[str] | None = None
    # By row kind: what to do when a row cannot be delivered where it was addressed (GaveUp).
    gave_up: Mapping[str, GaveUp] = field(default_factory=dict)
    # This process, as named in its claims (store.claimants).
    claimant: Claimant = field(default_factory=this_process)
    _released: bool = field(default=False, repr=False)

    async def send_due(self, now: datetime, *, kinds: tuple[str, ...] | None = None, limit: int = 1000) -> list[Outcome]:
        """Send every row due at `now` (of `kinds`); one Outcome per row handled.

        Up to SEND_AT_ONCE sends are in flight together (a thousand pages must
        not wait for each other's round trips). Rows that answer in a thread or
        edit a message go in a second wave, once what they refer to is posted.
        """
        if not self._released:
            # Rows an earlier incarnation of this process (or another csbot on this host) held when
            # it died are taken back now, not when their lease ends (up to 10 minutes for a page).
            # Each pass makes its Sender, so this also runs at the first pass after a restart.
            await run_chat(self.release_abandoned, now)
            self._released = True
        claimed = await run_chat(self._claim, now, kinds, limit)
        if not claimed:
            return []
        composed = await run_chat(compose_all, self.db, claimed, now, self.composers, heavy=self.heavy)
        outcomes: dict[int, Outcome] = {}
        gate = asyncio.Semaphore(SEND_AT_ONCE)

        async def one(row: Claimed) -> None:
            async with gate:
                outcomes[row.id] = await self._one(row, now, composed[row.id])

        later = {r.id for r in claimed if r.kind in self.threads or r.kind in self.edits}
        await asyncio.gather(*(one(r) for r in claimed if r.id not in later))
        await asyncio.gather(*(one(r) for r in claimed if r.id in later))
        return [outcomes[r.id] for r in claimed]

    def release_abandoned(self, now: datetime) -> dict[str, int]:
        """End the leases held by earlier incarnations of this process on this host (blocking); how many, by status."""
        with write_transaction(self.db.sessions) as session:
            released = release_abandoned(session, now, lambda by: is_abandoned(by, self.claimant))
        if any(released.values()):
            log.warning(
                "took back %d claimed and %d sending outbox rows from a crashed earlier run of csbot on this host",
                released["claimed"], released["sending"],
            )  # fmt: skip
        return released

    def _claim(self, now: datetime, kinds: tuple[str, ...] | None, limit: int) -> list[Claimed]:
        kinds = tuple(k for k in (kinds or tuple(self.composers)) if k in self.composers)
        with write_transaction(self.db.sessions) as session:
            return claim_due(session, now, kinds=kinds, limit=limit, claimed_by=str(self.claimant))

    def _write(self, step: Callable[[Session], object]) -> object:
        with write_transaction(self.db.sessions) as session:
            return step(session)

    async def _one(self, row: Claimed, now: datetime, reply: Reply | Exception) -> Outcome:
        def outcome(status: str, **kw: object) -> Outcome:
            return Outcome(row.kind, row.subject, row.recipient, row.occurrence, status, **kw)  # type: ignore[arg-type]

        address = Address.parse(row.recipient)
        notifier = self.notifiers.get(address.platform) if address else None
        if address is None or notifier is None:
            # Every replica runs with the same settings: a platform missing here is missing
            # everywhere, and retrying would only fill the log. Recorded, as digests are.
            why = f"not reachable: {_platform_name(address.platform)} is not configured" if address else f"not a recipient: {row.recipient}"
            await run_chat(self._write, lambda s: self._given_up(s, row, why, now) if record_skip(s, row, why) else None)
            return outcome("skipped", error=why)
        if isinstance(reply, self.skips):
            why = str(reply)
            await run_chat(self._write, lambda s: record_skip(s, row, why))
            return outcome("skipped", error=why)
        if isinstance(reply, Exception):  # a bug composing one row must not stop the others
            log.error("composing %s %s %s failed", row.kind, row.subject, row.occurrence, exc_info=reply)
            why = f"could not compose: {type(reply).__name__}: {reply}"
            status = await run_chat(self._write, lambda s: record_failure(s, row, now, why))
            return outcome("retrying" if status == "pending" else "failed", error=why)
        if row.kind in self.edits:
            return await self._edit(row, now, notifier, address, reply, outcome)
        if row.uncertain:
            # An earlier attempt died after it may have posted: look before posting again.
            found = await notifier.find_sent(address, key_of(row))
            if found:
                log.warning("%s %s to %s: found the post of an interrupted attempt; recorded it instead of posting again", row.kind, row.subject, row.recipient)
                await run_chat(self._write, lambda s: record_sent(s, row, now, list(found), "recovered after an interrupted send"))
                return outcome("sent", message_ids=found, note="recovered after an interrupted send")
            if found is None:
                log.warning("%s %s to %s: an earlier attempt was interrupted and %s cannot tell whether it posted; posting again", row.kind, row.subject, row.recipient, address.platform)
        if not await run_chat(self._write, lambda s: start_sending(s, row, now)):
            return outcome("failed", error="another worker took this message over")
        thread = await run_chat(self._thread, row) if row.kind in self.threads else None
        sent = await self._send(notifier, address, row, reply, thread)
        if sent.error and not sent.message_ids:
            status = await run_chat(self._write, lambda s: self._failed(s, row, now, sent.error or "failed", sent.final))
            return outcome("retrying" if status == "pending" else "failed", error=sent.error)
        late = now - row.due_at > LATE_AFTER
        await run_chat(self._write, lambda s: record_sent(s, row, now, list(sent.message_ids), sent.note))
        return outcome("sent", late=late, message_ids=sent.message_ids, note=sent.note, lag_s=(now - row.due_at).total_seconds())

    async def _edit(self, row: Claimed, now: datetime, notifier: Notifier, address: Address, reply: Reply, outcome: Callable[..., Outcome]) -> Outcome:
        """Edit messages in place; an edit is idempotent, so an interrupted one is simply made again."""
        targets = await run_chat(self._edit_targets, row)
        if not targets:
            why = "the message to edit was never posted (when it is, it shows the latest state)"
            await run_chat(self._write, lambda s: record_skip(s, row, why))
            return outcome("skipped", error=why)
        if not await run_chat(self._write, lambda s: start_sending(s, row, now)):
            return outcome("failed", error="another worker took this message over")
        errors = []
        for message_id in targets:
            try:
                sent = await notifier.update(address, message_id, reply)
            except Exception as exc:  # noqa: BLE001 (a platform failure is this row's failure, retried)
                sent = Sent(error=f"{type(exc).__name__}: {exc}")
            if sent.error:
                errors.append(sent.error)
        if errors:
            status = await run_chat(self._write, lambda s: record_failure(s, row, now, errors[0]))
            return outcome("retrying" if status == "pending" else "failed", error=errors[0])
        await run_chat(self._write, lambda s: record_sent(s, row, now, targets))
        return outcome("sent", message_ids=tuple(targets), lag_s=(now - row.due_at).total_seconds())

    def _failed(self, session: Session, row: Claimed, now: datetime, error: str, final: bool) -> str:
        status = record_failure(session, row, now, error, final=final)
        if status == "failed":
            self._given_up(session, row, error, now)
        return status

    def _given_up(self, session: Session, row: Claimed, why: str, now: datetime) -> None:
        if row.kind in self.gave_up:
            self.gave_up[row.kind](session, row, why.removeprefix("not reachable: "), now)

    def _edit_targets(self, row: Claimed) -> list[str]:
        with self.db.sessions() as session:
            return self.edits[row.kind](session, row)

    def _thread(self, row: Claimed) -> str | None:
        with self.db.sessions() as session:
            return self.threads[row.kind](session, row)

    async def _send(self, notifier: Notifier, address: Address, row: Claimed, reply: Reply, thread: str | None) -> Sent:
        try:
            return await notifier.send(address, reply, key=key_of(row), thread=thread)
        except Exception as exc:  # noqa: BLE001 (a platform failure is this row's failure, retried)
            log.exception("sending %s %s to %s failed", row.kind, row.subject, row.recipient)
            return Sent(error=f"{type(exc).__name__}: {exc}")


def _platform_name(platform: str) -> str:
    return "E-mail (CSBOT_SMTP_URL)" if platform == "email" else platform.title()


def key_of(row: Claimed) -> str:
    return f"csbot-outbox-{row.id}"
