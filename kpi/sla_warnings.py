"""SLA breach warnings: which open tickets are about to miss a target, or just did, slot by slot.

Time is cut into SLOT-long slots (every 5 minutes, on the UTC grid, which is
also every 5 minutes in every time zone). Each team is checked once per slot
(`claim`, a compare-and-set on its row of `sla_checks`), as of the slot's
start, so any moment in a slot gives the same answer and two checkers never
both check it. A check (`check_team`) records, in `sla_warnings`:

- a **warning** for each target (first reply, resolution) of a ticket still
  waiting for it (no first reply and not solved; not solved) that falls due
  within its policy's `warn_before` of the slot's end. Counting from the end
  means a ticket is warned while it still has at least `warn_before` left
  (when csbot knew of it in time), not up to a slot less. `warn_before` is
  counted in the policy's time: business time on the team's calendar for a
  business-time policy (a first reply due at Monday's opening is warned on
  Friday, `warn_before` before closing), wall-clock time otherwise.
- a **breach** for each target whose due time has passed at the slot's start
  while the ticket still waits for it, if it passed less than `catchup` ago
  (after downtime, the breaches of the missed slots are announced together,
  once; older ones are history, not news).

Each is recorded once per ticket, target and kind (a unique key), with the
slot it was announced in, so a ticket is warned once per target and a breach
announced once; a ticket replied to or solved before its warning is never
warned, and one solved after it is never announced as breached. Tickets whose
policy the org file no longer lists (every version retired) are not watched;
a policy changed into a new version still is, with the current
`warn_before` of its key.

`announced` reads back a team's list for a slot, with the time left of each
(in the policy's time) as of the moment the message is written.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from kpi.sla import DUE_TARGETS
from kpi.tickets import Ticket
from store.base import Base, UTCSeconds
from store.business_time import BusinessCalendar, CalendarError, add, elapsed, next_open
from store.org import Member, Team
from store.sla_policies import SlaPolicy

SLOT = timedelta(minutes=5)
WARNING, BREACH = "warning", "breach"
FIRST_REPLY, RESOLUTION = DUE_TARGETS
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


@dataclass(frozen=True)
class Watch:
    """What checking needs of the SLA policies: each version's key and time, each current key's warn_before."""

    keys: dict[int, str]  # policy version id -> key
    business: dict[int, bool]  # policy version id -> counted in business time
    warn_s: dict[str, int]  # key with a current version -> its warn_before, in seconds
    labels: dict[int, str]  # policy version id -> how a message names it

    @classmethod
    def read(cls, session: Session) -> Watch:
        keys: dict[int, str] = {}
        business: dict[int, bool] = {}
        warn_s: dict[str, int] = {}
        labels: dict[int, str] = {}
        for policy in session.scalars(select(SlaPolicy)):
            keys[policy.id], business[policy.id], labels[policy.id] = policy.key, policy.business, policy.label
            if policy.retired_at is None:
                warn_s[policy.key] = policy.warn_before_s
        return cls(keys, business, warn_s, labels)

    def __bool__(self) -> bool:
        return bool(self.warn_s)

    def watched(self, policy_id: int | None) -> bool:
        """Whether tickets of this policy version are warned about (its key is still in the org file)."""
        return policy_id is not None and self.keys.get(policy_id) in self.warn_s


def teams_due(session: Session, at: datetime) -> list[int]:
    """Active teams not yet checked in the slot starting `at` (a read: most minutes there are none)."""
    checked = dict(session.execute(select(SlaCheck.team_id, SlaCheck.checked_slot)).all())
    teams = session.scalars(select(Team.id).where(Team.active.is_(True)).order_by(Team.id))
    return [t for t in teams if t not in checked or checked[t] < at]


def claim(session: Session, team_id: int, at: datetime) -> bool:
    """Mark the team checked in the slot starting `at`; False when it already was (by anyone)."""
    values = {"team_id": team_id, "checked_slot": at - SLOT}
    table = SlaCheck.__table__
    if session.get_bind().dialect.name == "postgresql":
        session.execute(postgresql_insert(table).values(values).on_conflict_do_nothing(index_elements=["team_id"]))
    else:
        session.execute(sqlite_insert(table).values(values).on_conflict_do_nothing(index_elements=["team_id"]))
    won = session.execute(
        update(SlaCheck).where(SlaCheck.team_id == team_id, SlaCheck.checked_slot < at).values(checked_slot=at).execution_options(synchronize_session=False)
    ).rowcount
    return bool(won)


def _horizon(cal: BusinessCalendar | None, business: bool, end: datetime, warn_s: int) -> datetime | None:
    """The latest due time within `warn_s` of `end`, in the policy's time (None: the calendar never opens).

    In business time, due times in the closed stretch after `end + warn` (the
    next opening, where `Nd` targets fall) are as near in business time, so
    they count too.
    """
    if not business or cal is None:
        return end + timedelta(seconds=warn_s)
    try:
        return next_open(cal, add(cal, end, timedelta(seconds=warn_s)))
    except CalendarError:
        return None


@dataclass(frozen=True)
class _Candidate:
    ticket_id: int
    agent_id: int | None
    policy_id: int
    target: str
    due: datetime


def _waiting(session: Session, team_id: int, since: datetime, until: datetime) -> Iterable[_Candidate]:
    """Tickets of the team still waiting for a target that falls due in (since, until] (the partial indexes)."""
    for target, due, waiting in (
        (FIRST_REPLY, Ticket.first_reply_due_at, (Ticket.first_reply_at.is_(None), Ticket.solved_at.is_(None))),
        (RESOLUTION, Ticket.resolution_due_at, (Ticket.solved_at.is_(None),)),
    ):
        rows = session.execute(
            select(Ticket.id, Ticket.agent_id, Ticket.sla_policy_id, due).where(
                Ticket.team_id == team_id, due.is_not(None), *waiting, due > since, due <= until
            )
        )
        for ticket_id, agent_id, policy_id, at in rows:
            if policy_id is not None:
                yield _Candidate(ticket_id, agent_id, policy_id, target, at)


def check_team(
    session: Session, team: Team, cal: BusinessCalendar | None, watch: Watch, at: datetime, *, catchup: timedelta, now: datetime
) -> list[int | None]:
    """Record the team's new warnings and breaches of the slot starting `at`; the assignee (member id or None) of each.

    Call after `claim` won the slot, in the same transaction.
    """
    end = at + SLOT
    horizons: dict[tuple[bool, int], datetime | None] = {}
    for key, warn_s in watch.warn_s.items():
        for business in {b for pid, b in watch.business.items() if watch.keys[pid] == key}:
            horizons[(business, warn_s)] = _horizon(cal, business, end, warn_s)
    until = max((h for h in horizons.values() if h is not None), default=at)
    found = [c for c in _waiting(session, team.id, at - catchup, until) if watch.watched(c.policy_id)]
    if not found:
        return []
    done = set(
        session.execute(
            select(SlaWarning.ticket_id, SlaWarning.target, SlaWarning.kind).where(SlaWarning.ticket_id.in_({c.ticket_id for c in found}))
        ).all()
    )
    rows: list[dict[str, Any]] = []
    agents: dict[int, int | None] = {}
    for c in found:
        if (c.ticket_id, c.target, BREACH) in done:
            continue
        if c.due <= at:
            kind = BREACH
        else:
            horizon = horizons.get((watch.business[c.policy_id], watch.warn_s[watch.keys[c.policy_id]]))
            if horizon is None or c.due > horizon or (c.ticket_id, c.target, WARNING) in done:
                continue
            kind = WARNING
        rows.append({"ticket_id": c.ticket_id, "team_id": team.id, "target": c.target, "kind": kind, "due_at": c.due, "slot": at, "created_at": now})
        agents[c.ticket_id] = c.agent_id
    return [agents[ticket_id] for ticket_id in _insert_new(session, rows)]


def _insert_new(session: Session, rows: list[dict[str, Any]]) -> list[int]:
    """Insert the rows not recorded yet (another team's check may have recorded a ticket that moved); their ticket ids."""
    if not rows:
        return []
    table = SlaWarning.__table__
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(table).on_conflict_do_nothing(index_elements=["ticket_id", "target", "kind"]).returning(table.c.ticket_id)
    return [ticket_id for (ticket_id,) in session.execute(stmt, rows).all()]


def time_left(cal: BusinessCalendar | None, business: bool, now: datetime, due: datetime) -> int:
    """Seconds from `now` until `due` in the policy's time (business time on `cal`, or the wall clock); negative once overdue."""
    clock = cal if business else None
    if due >= now:
        return int(elapsed(clock, now, due).total_seconds())
    return -int(elapsed(clock, due, now).total_seconds())


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
    left_s: int  # in the policy's time, as of `now`; negative: overdue
    business: bool
    policy: str
    settled: str | None  # "replied" / "solved" since it was announced

    def sort_key(self) -> tuple[int, int, str]:
        return (self.settled is not None, self.left_s, self.ticket)


def announced(
    session: Session, team: Team, cal: BusinessCalendar | None, watch: Watch, at: datetime, now: datetime, *, agent_id: int | None = None
) -> list[Announced]:
    """What the team's message for the slot starting `at` lists (only `agent_id`'s tickets, when given), sorted by time left."""
    query = (
        select(SlaWarning, Ticket, Member)
        .join(Ticket, SlaWarning.ticket_id == Ticket.id)
        .outerjoin(Member, Ticket.agent_id == Member.id)
        .where(SlaWarning.team_id == team.id, SlaWarning.slot == at)
    )
    if agent_id is not None:
        query = query.where(Ticket.agent_id == agent_id)
    out = []
    for warning, ticket, agent in session.execute(query):
        business = watch.business.get(ticket.sla_policy_id or 0, False) and cal is not None  # no calendar: the wall clock
        out.append(
            Announced(
                ticket=ticket.external_id,
                subject=ticket.subject,
                agent=agent.handle if agent else None,
                agent_name=agent.name if agent else None,
                target=warning.target,
                kind=warning.kind,
                due_at=warning.due_at,
                left_s=time_left(cal, business, now, warning.due_at),
                business=business,
                policy=watch.labels.get(ticket.sla_policy_id or 0, ""),
                settled=_settled(ticket, warning.target),
            )
        )
    return sorted(out, key=Announced.sort_key)


def _settled(ticket: Ticket, target: str) -> str | None:
    if ticket.solved_at is not None:
        return "solved"
    if target == FIRST_REPLY and ticket.first_reply_at is not None:
        return "replied"
    return None


def assignees(agent_ids: Sequence[int | None]) -> list[int]:
    """The distinct assignees of a check's new lines, in order."""
    return list(dict.fromkeys(a for a in agent_ids if a is not None))
