"""The one sender of outbox rows: claim what is due, compose it, send it, record what happened.

Database work runs in worker threads (the event loop keeps answering Slack
and Teams meanwhile); each step commits before the next, so a process that
dies anywhere leaves rows another process finishes (store.outbox says how).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from bot.notify import Address, Notifier, Sent
from handlers.reply import Reply
from store.database import Database
from store.engine import write_transaction
from store.outbox import LATE_AFTER, Claimed, claim_due, record_failure, record_sent, record_skip, start_sending

log = logging.getLogger(__name__)

# Composes the message of a claimed row; raises one of the Sender's `skips`
# when the row can no longer be sent.
Composer = Callable[[Session, Claimed, datetime], Reply]


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


@dataclass
class Sender:
    db: Database
    notifiers: Mapping[str, Notifier]  # by platform
    composers: Mapping[str, Composer]  # by row kind
    skips: tuple[type[Exception], ...] = ()  # exceptions that mean "this row can no longer be sent"
    replies: dict[tuple[str, str, str], Reply] = field(default_factory=dict)  # one composition per pass and occurrence

    async def send_due(self, now: datetime, *, kinds: tuple[str, ...] | None = None, limit: int = 500) -> list[Outcome]:
        """Send every row due at `now` (of `kinds`); one Outcome per row handled."""
        claimed = await asyncio.to_thread(self._claim, now, kinds, limit)
        outcomes = []
        for row in claimed:
            outcomes.append(await self._one(row, now))
        self.replies.clear()
        return outcomes

    def _claim(self, now: datetime, kinds: tuple[str, ...] | None, limit: int) -> list[Claimed]:
        kinds = tuple(k for k in (kinds or tuple(self.composers)) if k in self.composers)
        with write_transaction(self.db.sessions) as session:
            return claim_due(session, now, kinds=kinds, limit=limit)

    def _compose(self, row: Claimed, now: datetime) -> Reply:
        key = (row.kind, row.subject, row.occurrence)
        if key not in self.replies:
            with self.db.sessions() as session:
                self.replies[key] = self.composers[row.kind](session, row, now)
        return self.replies[key]

    def _write(self, step: Callable[[Session], object]) -> object:
        with write_transaction(self.db.sessions) as session:
            return step(session)

    async def _one(self, row: Claimed, now: datetime) -> Outcome:
        def outcome(status: str, **kw: object) -> Outcome:
            return Outcome(row.kind, row.subject, row.recipient, row.occurrence, status, **kw)  # type: ignore[arg-type]

        address = Address.parse(row.recipient)
        notifier = self.notifiers.get(address.platform) if address else None
        if address is None or notifier is None:
            why = f"{address.platform.title()} is not configured in this process" if address else f"not a recipient: {row.recipient}"
            status = await asyncio.to_thread(self._write, lambda s: record_failure(s, row, now, why))
            return outcome("retrying" if status == "pending" else "failed", error=why)
        try:
            reply = await asyncio.to_thread(self._compose, row, now)
        except self.skips as exc:
            why = str(exc)
            await asyncio.to_thread(self._write, lambda s: record_skip(s, row, why))
            return outcome("skipped", error=why)
        except Exception as exc:  # noqa: BLE001 (a bug composing one row must not stop the others)
            log.exception("composing %s %s %s failed", row.kind, row.subject, row.occurrence)
            why = f"could not compose: {type(exc).__name__}: {exc}"
            status = await asyncio.to_thread(self._write, lambda s: record_failure(s, row, now, why))
            return outcome("retrying" if status == "pending" else "failed", error=why)
        if row.uncertain:
            # An earlier attempt died after it may have posted: look before posting again.
            found = await notifier.find_sent(address, key_of(row))
            if found:
                log.warning("%s %s to %s: found the post of an interrupted attempt; recorded it instead of posting again", row.kind, row.subject, row.recipient)
                await asyncio.to_thread(self._write, lambda s: record_sent(s, row, now, list(found), "recovered after an interrupted send"))
                return outcome("sent", message_ids=found, note="recovered after an interrupted send")
            if found is None:
                log.warning("%s %s to %s: an earlier attempt was interrupted and %s cannot tell whether it posted; posting again", row.kind, row.subject, row.recipient, address.platform)
        if not await asyncio.to_thread(self._write, lambda s: start_sending(s, row, now)):
            return outcome("failed", error="another worker took this message over")
        sent = await self._send(notifier, address, row, reply)
        if sent.error and not sent.message_ids:
            status = await asyncio.to_thread(self._write, lambda s: record_failure(s, row, now, sent.error or "failed"))
            return outcome("retrying" if status == "pending" else "failed", error=sent.error)
        late = now - row.due_at > LATE_AFTER
        await asyncio.to_thread(self._write, lambda s: record_sent(s, row, now, list(sent.message_ids), sent.note))
        return outcome("sent", late=late, message_ids=sent.message_ids, note=sent.note, lag_s=(now - row.due_at).total_seconds())

    async def _send(self, notifier: Notifier, address: Address, row: Claimed, reply: Reply) -> Sent:
        try:
            return await notifier.send(address, reply, key=key_of(row))
        except Exception as exc:  # noqa: BLE001 (a platform failure is this row's failure, retried)
            log.exception("sending %s %s to %s failed", row.kind, row.subject, row.recipient)
            return Sent(error=f"{type(exc).__name__}: {exc}")


def key_of(row: Claimed) -> str:
    return f"csbot-outbox-{row.id}"
