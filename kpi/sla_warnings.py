"""SLA breach warnings: which open tickets are about to miss a target, or just did, slot by slot.

Time is cut into SLOT-long slots (every 5 minutes, on the UTC grid, which is
also every 5 minutes in every time zone). Each team is checked once per slot
(`claim`, a compare-and-set on its row of `sla_checks`), as of the slot's
start, so any moment in a slot gives the same answer and two checkers never
both check it. A check (`check_team`) takes the targets at risk that
`/kpi sla` shows (kpi.sla_risk: a target the ticket still waits for, due
within its policy's `warn_before`, wall-clock time) and records in
`sla_warnings`:

- a **warning** for each target due within `warn_before` of the slot's *end*
  (so a ticket is warned while it still has at least `warn_before` left,
  when csbot knew of it in time, not up to a slot less);
- a **breach** for each target whose due time has passed at the slot's start
  while the ticket still waits for it, if it passed less than `catchup` ago
  (after downtime, the breaches of the missed slots are announced together,
  once; older ones are history, not news).

Each is recorded once per ticket, target and kind (a unique key), with the
slot it was announced in, so a ticket is warned once per target and a breach
announced once; a ticket replied to or solved before its warning is never
warned, and one solved after it is never announced as breached.

`announced` reads back a team's list for a slot, with the time left of each
as of the moment the message is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from kpi.sla_risk import targets_at_risk
from kpi.tickets import Ticket
from store.base import Base, UTCSeconds
from store.org import Member, Team
from store.sla_policies import SlaPolicy

SLOT = timedelta(minutes=5)
WARNING, BREACH = "warning", "breach"
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class SlaWarning(Base):
    """A warning or breach announcement: one per ticket, target and kind, ever."""

    __tablename__ = "sla_warnings"
    __table_args__ = (
        UniqueConstraint("ticket_id", "target", "kind", name="uq_sla_warnings_ticket_id"),
        Index("ix_sla_warnings_team_slot", "team_id", "slot"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"))  # whose message it was in
    target: Mapped[str] = mapped_column(String(16))  # first_reply | resolution
    kind: Mapped[str] = mapped_column(String(8))  # warning | breach
    due_at: Mapped[datetime] = mapped_column(UTCSeconds)  # as it stood when announced
    slot: Mapped[datetime] = mapped_column(UTCSeconds)
    created_at: Mapped[datetime] = mapped_column(UTCSeconds)


class SlaCheck(Base):
    """The last slot a team's tickets were checked in: each slot is checked once."""

    __tablename__ = "sla_checks"

    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), primary_key=True)
    checked_slot: Mapped[datetime] = mapped_column(UTCSeconds)


def slot_of(at: datetime) -> datetime:
    """The start of the slot holding `at` (UTC)."""
    seconds = int((at - _EPOCH).total_seconds())
    return _EPOCH + timedelta(seconds=seconds - seconds % int(SLOT.total_seconds()))


def slot_stamp(slot: datetime) -> str:
    """A slot as an outbox occurrence: `2026-12-01T09:05Z`."""
    return slot.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%MZ")


def parse_slot(stamp: str) -> datetime:
    """The slot an occurrence names (ValueError when it names none)."""
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%MZ").replace(tzinfo=timezone.utc)


def watching(session: Session) -> bool:
    """Whether any ticket can have a due time: an SLA policy exists (current or retired, as tickets keep theirs)."""
    return session.scalar(select(SlaPolicy.id).limit(1)) is not None


def teams_due(session: Session, at: datetime) -> list[int]:
    """Active teams not yet checked in the slot starting `at` (a read: most minutes there are none)."""
    checked = dict(session.execute(select(SlaCheck.team_id, SlaCheck.checked_slot)).all())
    teams = session.scalars(select(Team.id).where(Team.active.is_(True)).order_by(Team.id))
    return [t for t in teams if t not in checked or checked[t] < at]


def claim(session: Session, team_id: int, at: datetime) -> bool:
    """Mark the team checked in the slot starting `at`; False when it already was (by anyone)."""
    values = {"team_id": team_id, "checked_slot": at - SLOT}
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(insert(SlaCheck.__table__).values(values).on_conflict_do_nothing(index_elements=["team_id"]))
    won = session.execute(
        update(SlaCheck).where(SlaCheck.team_id == team_id, SlaCheck.checked_slot < at).values(checked_slot=at).execution_options(synchronize_session=False)
    ).rowcount
    return bool(won)


def check_team(session: Session, team: Team, at: datetime, *, catchup: timedelta, now: datetime) -> list[int | None]:
    """Record the team's new warnings and breaches of the slot starting `at`; the assignee (member id or None) of each.

    Call after `claim` won the slot, in the same transaction.
    """
    found = targets_at_risk(session, at + SLOT, [team.id], since=at - catchup)
    if not found:
        return []
    done = set(session.execute(select(SlaWarning.ticket_id, SlaWarning.target, SlaWarning.kind).where(SlaWarning.ticket_id.in_({r.ticket.id for r in found}))).all())
    rows: list[dict[str, Any]] = []
    agents: dict[int, int | None] = {}
    for r in found:
        kind = BREACH if r.due_at <= at else WARNING
        if (r.ticket.id, r.target, kind) in done or (r.ticket.id, r.target, BREACH) in done:
            continue
        rows.append({"ticket_id": r.ticket.id, "team_id": team.id, "target": r.target, "kind": kind, "due_at": r.due_at, "slot": at, "created_at": now})
        agents[r.ticket.id] = r.ticket.agent_id
    return [agents[ticket_id] for ticket_id in _insert_new(session, rows)]


def _insert_new(session: Session, rows: list[dict[str, Any]]) -> list[int]:
    """Insert the rows not recorded yet (another team's check may have recorded a ticket that moved); their ticket ids."""
    if not rows:
        return []
    table = SlaWarning.__table__
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(table).on_conflict_do_nothing(index_elements=["ticket_id", "target", "kind"]).returning(table.c.ticket_id)
    return [ticket_id for (ticket_id,) in session.execute(stmt, rows).all()]


@dataclass(frozen=True)
class Announced:
    """One line of a warning message: a ticket's target, warned about or breached, as it stands now."""

    ticket: str  # the helpdesk's id (external_id)
    subject: str | None
    agent: str | None  # handle
    agent_name: str | None
    target: str  # first_reply | resolution
    kind: str  # warning | breach
    due_at: datetime
    left_s: int  # wall-clock seconds from the moment the message is written; negative: overdue
    policy: str  # its key
    policy_name: str
    settled: str | None  # "replied" / "solved" since it was announced

    def sort_key(self) -> tuple[bool, int, str]:
        return (self.settled is not None, self.left_s, self.ticket)


def announced(session: Session, team: Team, at: datetime, now: datetime, *, agent_id: int | None = None) -> list[Announced]:
    """What the team's message for the slot starting `at` lists (only `agent_id`'s tickets, when given), by time left."""
    query = (
        select(SlaWarning, Ticket, Member, SlaPolicy)
        .join(Ticket, SlaWarning.ticket_id == Ticket.id)
        .outerjoin(Member, Ticket.agent_id == Member.id)
        .outerjoin(SlaPolicy, Ticket.sla_policy_id == SlaPolicy.id)
        .where(SlaWarning.team_id == team.id, SlaWarning.slot == at)
    )
    if agent_id is not None:
        query = query.where(Ticket.agent_id == agent_id)
    out = [
        Announced(
            ticket=ticket.external_id,
            subject=ticket.subject,
            agent=agent.handle if agent else None,
            agent_name=agent.name if agent else None,
            target=warning.target,
            kind=warning.kind,
            due_at=warning.due_at,
            left_s=int((warning.due_at - now).total_seconds()),
            policy=policy.key if policy else "",
            policy_name=policy.name if policy else "",
            settled=_settled(ticket, warning.target),
        )
        for warning, ticket, agent, policy in session.execute(query)
    ]
    return sorted(out, key=Announced.sort_key)


def _settled(ticket: Ticket, target: str) -> str | None:
    if ticket.solved_at is not None:
        return "solved"
    if target == "first_reply" and ticket.first_reply_at is not None:
        return "replied"
    return None
