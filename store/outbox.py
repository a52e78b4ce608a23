"""The outbox: one row per message csbot means to send on its own (scorecards, alerts, pages, reminders).

A row names what it is (`kind`, `subject`), where it goes (`recipient`, one
platform destination: `slack:channel:C0123`, `teams:user:<aad id>`,
`email:user:<address>`) and
which occurrence it is (`occurrence`, e.g. the local date). Those four are
unique, so however many schedulers, retries, restarts or `csbot tick` runs
plan the same message, there is one row, and so at most one send.

A row moves: pending → claimed → sending → sent; a failed send goes back
to pending with a later `next_attempt_at` (backoff) until it is too old,
then to failed; a message planned too late to be useful is skipped.
Every move is a compare-and-set on the row (SQLite has no row locks), so
two workers never both own a row:

- **claimed** (lease `CLAIM_LEASE`): nothing has been sent. A worker that
  dies here leaves a row another claims when the lease ends, and sends.
- **sending** (lease `SEND_LEASE`): written and committed just before the
  platform call. A worker that dies between a successful send and
  recording it leaves the one uncertain state; whoever claims the row
  after the lease first asks the platform whether the message is there
  (Slack: csbot's own recent messages carry the row's key), and records it
  instead of sending again. Where the platform cannot be asked (Teams, an
  SMTP server), it is sent again: a rare duplicate rather than a lost
  message (an e-mail's copy keeps its Message-ID, made from the row).

A claim names its process (`claimed_by`, store.claimants). When csbot
restarts after a crash, it ends at once the leases its earlier incarnation
held on the same host (`release_abandoned`) instead of waiting them out;
`lease_report` counts rows held by leases that look abandoned, for /healthz
and /metrics.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Boolean, Index, Integer, String, Text, UniqueConstraint, and_, or_, select, text, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from store.base import Base, UTCSeconds, to_epoch

CLAIM_LEASE = timedelta(minutes=2)
# Longer than any send takes, Slack's rate-limit waits included: a slow send
# must not look abandoned while it is still under way.
SEND_LEASE = timedelta(minutes=10)
FIRST_RETRY = timedelta(minutes=1)
LAST_RETRY = timedelta(minutes=30)
# Sent more than this after it was due: marked late, and the message says so.
LATE_AFTER = timedelta(minutes=5)
STATUSES = ("pending", "claimed", "sending", "sent", "failed", "skipped")


class OutboxRow(Base):
    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("kind", "subject", "recipient", "occurrence", name="uq_outbox_occurrence"),
        Index("ix_outbox_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(160))
    recipient: Mapped[str] = mapped_column(String(320))
    occurrence: Mapped[str] = mapped_column(String(32))
    due_at: Mapped[datetime] = mapped_column(UTCSeconds)
    # Give up retrying after this; a message later than this is no use any more.
    expires_at: Mapped[datetime] = mapped_column(UTCSeconds)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCSeconds)
    claim: Mapped[str | None] = mapped_column(String(32))
    # Which process holds the lease (store.claimants): a restarted process takes its own rows back at once.
    claimed_by: Mapped[str | None] = mapped_column(String(160))
    lease_until: Mapped[datetime | None] = mapped_column(UTCSeconds)
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    sent_at: Mapped[datetime | None] = mapped_column(UTCSeconds)
    message_ids: Mapped[str | None] = mapped_column(Text)  # JSON list of the platform's ids (Slack ts, Teams activity id)
    error: Mapped[str | None] = mapped_column(Text)  # the last failure, or why it was skipped
    created_at: Mapped[datetime] = mapped_column(UTCSeconds)

    @property
    def ids(self) -> list[str]:
        return list(json.loads(self.message_ids)) if self.message_ids else []


@dataclass(frozen=True)
class Planned:
    kind: str
    subject: str
    recipient: str
    occurrence: str
    due_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class Claimed:
    """A row a worker owns until `lease_until`; `uncertain` when an earlier send may have gone out."""

    id: int
    kind: str
    subject: str
    recipient: str
    occurrence: str
    due_at: datetime
    claim: str
    uncertain: bool


def member_recipients(slack_id: str | None, teams_id: str | None) -> list[str]:
    """Where a person can be reached: their DM on every platform they have an id on."""
    found = [f"slack:user:{slack_id}"] if slack_id else []
    return found + ([f"teams:user:{teams_id}"] if teams_id else [])


EMAIL = "email:user:"


def email_recipient(address: str) -> str:
    """A person's mailbox as an outbox recipient (`email:user:dana@example.com`)."""
    return EMAIL + address


def channel_recipients(slack_channel: str | None, teams_channel: str | None) -> list[str]:
    found = [f"slack:channel:{slack_channel}"] if slack_channel else []
    return found + ([f"teams:channel:{teams_channel}"] if teams_channel else [])


def plan(session: Session, rows: list[Planned], now: datetime, *, skipped: str | None = None) -> int:
    """Insert the rows that do not exist yet; how many were new.

    With `skipped`, they are recorded as skipped for that reason instead
    (missed by more than the catch-up allows, nobody to send them to).
    """
    if not rows:
        return 0
    values = [
        {
            "kind": r.kind,
            "subject": r.subject[:160],
            "recipient": r.recipient[:320],
            "occurrence": r.occurrence,
            "due_at": r.due_at,
            "expires_at": r.expires_at,
            "status": "skipped" if skipped else "pending",
            "attempts": 0,
            "next_attempt_at": r.due_at,
            "late": False,
            "error": skipped,
            "created_at": now,
        }
        for r in rows
    ]
    if session.get_bind().dialect.name == "postgresql":
        return _plan_postgresql(session, values)
    table = OutboxRow.__table__
    stmt = sqlite_insert(table).on_conflict_do_nothing(index_elements=_UNIQUE).returning(table.c.id)
    # Executed with a list of parameter sets, not `.values(list)`: SQLAlchemy then compiles the
    # statement once and batches the rows itself ("insertmanyvalues"), where a multi-row VALUES
    # clause was compiled anew with every row's parameters (four fifths of a 1,000-escalation
    # sweep). RETURNING names the rows that were new; the conflicting ones return nothing.
    return len(session.execute(stmt, values).all())


_UNIQUE = ["kind", "subject", "recipient", "occurrence"]
# The columns `plan` writes, with their PostgreSQL types for the arrays `_plan_postgresql` sends.
_PLANNED_COLUMNS = {
    "kind": "varchar", "subject": "varchar", "recipient": "varchar", "occurrence": "varchar",
    "due_at": "bigint", "expires_at": "bigint", "status": "varchar", "attempts": "integer",
    "next_attempt_at": "bigint", "late": "boolean", "error": "text", "created_at": "bigint",
}
_PLAN_POSTGRESQL = text(
    f"INSERT INTO {OutboxRow.__tablename__} ({', '.join(_PLANNED_COLUMNS)}) "
    f"SELECT * FROM unnest({', '.join(f'CAST(:{c} AS {t}[])' for c, t in _PLANNED_COLUMNS.items())}) "
    f"ON CONFLICT ({', '.join(_UNIQUE)}) DO NOTHING RETURNING id"
)


def _plan_postgresql(session: Session, values: list[dict[str, Any]]) -> int:
    """One INSERT … SELECT FROM unnest(one array per column): twelve parameters however many
    rows, where a batched VALUES list made psycopg rewrite a statement with 12,000
    placeholders per thousand rows (over a second for a sweep's 3,000 pages)."""
    columns: dict[str, list[Any]] = {c: [] for c in _PLANNED_COLUMNS}
    for row in values:
        for c in _PLANNED_COLUMNS:
            value = row[c]
            columns[c].append(to_epoch(value) if isinstance(value, datetime) else value)
    return len(session.execute(_PLAN_POSTGRESQL, columns).all())


def _claimable(now: datetime) -> Any:
    return or_(
        and_(OutboxRow.status == "pending", OutboxRow.next_attempt_at <= now),
        and_(OutboxRow.status.in_(("claimed", "sending")), OutboxRow.lease_until < now),
    )


def claim_due(
    session: Session, now: datetime, *, kinds: tuple[str, ...] | None = None, limit: int = 100, claimed_by: str | None = None
) -> list[Claimed]:
    """Claim up to `limit` rows due at `now` (each by compare-and-set; rows another worker won are skipped).

    `claimed_by` names the claiming process (store.claimants). Commit right
    after, so other workers see the claims.
    """
    where = [_claimable(now)]
    if kinds is not None:
        where.append(OutboxRow.kind.in_(kinds))
    candidates = session.execute(
        select(OutboxRow.id, OutboxRow.status).where(*where).order_by(OutboxRow.due_at, OutboxRow.id).limit(limit)
    ).all()
    claimed: list[Claimed] = []
    for row_id, status in candidates:
        token = uuid.uuid4().hex
        won = session.execute(
            update(OutboxRow)
            .where(OutboxRow.id == row_id, OutboxRow.status == status, _claimable(now))
            .values(status="claimed", claim=token, claimed_by=claimed_by, lease_until=now + CLAIM_LEASE, attempts=OutboxRow.attempts + 1)
        ).rowcount
        if not won:
            continue
        row = session.get(OutboxRow, row_id, populate_existing=True)
        assert row is not None
        claimed.append(Claimed(row.id, row.kind, row.subject, row.recipient, row.occurrence, row.due_at, token, status == "sending"))
    return claimed


def start_sending(session: Session, claimed: Claimed, now: datetime) -> bool:
    """Mark the row as being sent (commit before the platform call); False when the claim was lost."""
    return bool(
        session.execute(
            update(OutboxRow)
            .where(OutboxRow.id == claimed.id, OutboxRow.claim == claimed.claim, OutboxRow.status == "claimed")
            .values(status="sending", lease_until=now + SEND_LEASE)
        ).rowcount
    )


def record_sent(session: Session, claimed: Claimed, now: datetime, message_ids: list[str], note: str | None = None) -> bool:
    """The send worked: keep the platform's ids; late when it went out more than LATE_AFTER after it was due."""
    return bool(
        session.execute(
            update(OutboxRow)
            .where(OutboxRow.id == claimed.id, OutboxRow.claim == claimed.claim)
            .values(
                status="sent",
                sent_at=now,
                message_ids=json.dumps(message_ids),
                late=now - claimed.due_at > LATE_AFTER,
                lease_until=None,
                error=note,
            )
        ).rowcount
    )


def record_failure(session: Session, claimed: Claimed, now: datetime, error: str, *, final: bool = False) -> str:
    """The send failed: retry later with backoff, or give up when it is too old (or `final`); the new status."""
    row = session.get(OutboxRow, claimed.id, populate_existing=True)
    if row is None or row.claim != claimed.claim:
        return "lost"
    delay = min(LAST_RETRY, FIRST_RETRY * 2 ** max(0, row.attempts - 1))
    give_up = final or now + delay > row.expires_at
    row.status = "failed" if give_up else "pending"
    row.next_attempt_at = now + delay
    row.error = error[:2000]
    row.lease_until = None
    return row.status


def record_skip(session: Session, claimed: Claimed, reason: str) -> bool:
    """Nothing was sent and nothing will be (its team is gone, its reader may no longer see it)."""
    return bool(
        session.execute(
            update(OutboxRow)
            .where(OutboxRow.id == claimed.id, OutboxRow.claim == claimed.claim)
            .values(status="skipped", error=reason[:2000], lease_until=None)
        ).rowcount
    )


def release_abandoned(session: Session, now: datetime, abandoned: Callable[[str], bool]) -> dict[str, int]:
    """End now the leases of rows whose claimant is `abandoned` (gone for certain); how many, by status.

    The rows are then claimed by the next pass like any expired lease: a
    'claimed' one is simply sent, a 'sending' one goes through "ask the
    platform first" (it may have been posted just before the crash).
    """
    held = session.execute(
        select(OutboxRow.id, OutboxRow.status, OutboxRow.claim, OutboxRow.claimed_by).where(
            OutboxRow.status.in_(("claimed", "sending")), OutboxRow.lease_until >= now, OutboxRow.claimed_by.is_not(None)
        )
    ).all()
    released = {"claimed": 0, "sending": 0}
    for row_id, status, claim, claimed_by in held:
        if not abandoned(claimed_by):
            continue
        released[status] += session.execute(
            update(OutboxRow)
            .where(OutboxRow.id == row_id, OutboxRow.status == status, OutboxRow.claim == claim)
            .values(lease_until=now - timedelta(seconds=1))
        ).rowcount or 0
    return released


@dataclass(frozen=True)
class Leases:
    """Rows held by a lease, for /healthz and /metrics."""

    held: int  # claimed or sending
    expired: int  # whose lease ended more than the grace ago and nobody has taken them over: no sender is running
    abandoned: int  # whose claimant is certainly gone (same host), lease still running

    @property
    def stale(self) -> int:
        return self.expired + self.abandoned


def lease_report(session: Session, now: datetime, *, grace: timedelta, abandoned: Callable[[str], bool]) -> Leases:
    """How many rows are held, and how many of them by a lease that looks abandoned."""
    rows = session.execute(
        select(OutboxRow.lease_until, OutboxRow.claimed_by).where(OutboxRow.status.in_(("claimed", "sending")))
    ).all()
    judged = {by: abandoned(by) for by in {by for _, by in rows if by}}  # one check per process, not per row
    expired = sum(1 for lease, _ in rows if lease is not None and lease < now - grace)
    gone = sum(1 for lease, by in rows if by and (lease is None or lease >= now - grace) and judged[by])
    return Leases(len(rows), expired, gone)


def sent_row(session: Session, kind: str, subject: str, recipient: str, occurrence: str) -> OutboxRow | None:
    """The sent row of that occurrence, if any (an alert threads under the day's scorecard)."""
    return session.scalar(
        select(OutboxRow).where(
            OutboxRow.kind == kind,
            OutboxRow.subject == subject,
            OutboxRow.recipient == recipient,
            OutboxRow.occurrence == occurrence,
            OutboxRow.status == "sent",
        )
    )


__all__ = [
    "CLAIM_LEASE", "SEND_LEASE", "Claimed", "Leases", "OutboxRow", "Planned", "STATUSES", "EMAIL", "channel_recipients", "claim_due", "email_recipient", "member_recipients", "plan",
    "lease_report", "record_failure", "record_sent", "record_skip", "release_abandoned", "sent_row", "start_sending",
]  # fmt: skip
