"""Coaching sessions: a structured one-on-one with agreed action items, a follow-up reminder, and "did it work?".

A session is always shared with its agent. On the follow-up date both the
agent and the session's author get a reminder at 09:00 in their own zone
with the action items and the agent's KPIs since the session against the
same span before it. Reminders are outbox rows planned by a sweep (the
`coaching` tick job), so a restart, two schedulers or a tick run twice send
each reminder once, and a missed one goes out late within the catch-up
window, else is recorded as skipped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, and_, case, func, or_, select, update
from sqlalchemy.orm import Session

from coaching.models import CoachingAction, CoachingSession
from coaching.visibility import may_see, oversees
from kpi.engine import Metrics, Scope, compute
from store.database import Database
from store.local_time import at_local, local_date
from store.org import Member, Org
from store.outbox import Planned, member_recipients, plan

MAX_TEXT = 4000
MAX_ACTION = 500
MAX_ACTIONS = 20
MAX_AHEAD = timedelta(days=366)
REMINDER_TIME = "09:00"
SHARED, FOLLOW_UP = "coach_session", "coach_followup"  # outbox kinds: the session to its agent; the reminder to both
KINDS = (SHARED, FOLLOW_UP)
_RELATIVE = re.compile(r"^\+?(\d{1,3})([dw])$", re.IGNORECASE)
_BY = re.compile(r"\s+(?:by|due)\s+(\S+)\s*$", re.IGNORECASE)


class SessionError(ValueError):
    """The session cannot be recorded as given; the message says what was wrong and how to say it.

    `field` names the part at fault (strengths, opportunities, actions, follow_up), so a form can show it there.
    """

    def __init__(self, message: str, field: str = "actions") -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class ActionItem:
    text: str
    due: date


def read_date(text: str, today: date, what: str) -> date:
    """YYYY-MM-DD, or a span from today (14d, 2w); never before today, at most a year ahead."""
    word = text.strip()
    relative = _RELATIVE.match(word)
    if relative:
        n = int(relative.group(1))
        day = today + timedelta(days=n * (7 if relative.group(2).lower() == "w" else 1))
    else:
        try:
            day = date.fromisoformat(word) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", word) else None
        except ValueError:
            day = None
        if day is None:
            raise SessionError(f"{what} {word!r} is not a date: write YYYY-MM-DD (e.g. {(today + timedelta(days=14)).isoformat()}) or a span from today like 14d or 2w.")
    if day < today:
        raise SessionError(f"{what} {day.isoformat()} is in the past (today is {today.isoformat()}): give today or a later date.")
    if day - today > MAX_AHEAD:
        raise SessionError(f"{what} {day.isoformat()} is more than a year ahead.")
    return day


def read_actions(text: str, follow_up: date, today: date) -> list[ActionItem]:
    """Action items separated by `;` or line breaks, each with an optional `by DATE` (else due on the follow-up date)."""
    items = []
    for part in re.split(r"[;\n]", text):
        part = part.strip()
        if not part:
            continue
        due = follow_up
        found = _BY.search(part)
        if found:
            try:
                due = read_date(found.group(1), today, f"The due date of {part[: found.start()].strip()[:60]!r}")
            except SessionError:
                if re.fullmatch(r"[\d+-]+[dw]?", found.group(1), re.IGNORECASE):
                    raise
                found = None  # "by phone": words, not a date
            if found:
                part = part[: found.start()].strip()
        if len(part) > MAX_ACTION:
            raise SessionError(f"An action item is {len(part):,} characters long; at most {MAX_ACTION}: {part[:60]}…")
        items.append(ActionItem(part, due))
    if len(items) > MAX_ACTIONS:
        raise SessionError(f"{len(items)} action items; at most {MAX_ACTIONS}: agree on the few that matter.")
    return items


def check_text(text: str, what: str) -> str:
    text = text.strip()
    if len(text) > MAX_TEXT:
        raise SessionError(f"{what} is {len(text):,} characters long; at most {MAX_TEXT:,}.", what.lower())
    return text


def create(
    session: Session, author: Member, agent: Member, *, strengths: str, opportunities: str, actions: Sequence[ActionItem], follow_up: date, now: datetime
) -> CoachingSession:
    strengths, opportunities = check_text(strengths, "Strengths"), check_text(opportunities, "Opportunities")
    if not (strengths or opportunities or actions):
        raise SessionError("Say what was discussed: strengths, opportunities or at least one action item.")
    record = CoachingSession(author_id=author.id, agent_id=agent.id, strengths=strengths, opportunities=opportunities, follow_up=follow_up, created_at=now)
    session.add(record)
    session.flush()
    session.add_all(CoachingAction(session_id=record.id, agent_id=agent.id, text=a.text, due=a.due) for a in actions)
    session.flush()
    rows = [Planned(SHARED, f"session-{record.id}", r, "0", now, now + timedelta(days=1)) for r in member_recipients(agent.slack_id, agent.teams_id)]
    plan(session, rows, now)
    return record


def items_of(session: Session, record: CoachingSession) -> list[CoachingAction]:
    return list(session.scalars(select(CoachingAction).where(CoachingAction.session_id == record.id).order_by(CoachingAction.id)))


def may_see_session(viewer: Member, agent: Member, record: CoachingSession) -> bool:
    """A session is shared: the agent, its author, and whoever looks after the agent."""
    return may_see(viewer, agent, author_id=record.author_id, private=False)


def mark_done(session: Session, item: CoachingAction, by: Member, now: datetime) -> bool:
    """Done once (compare-and-set): True the first time."""
    won = session.execute(
        update(CoachingAction).where(CoachingAction.id == item.id, CoachingAction.done_at.is_(None)).values(done_at=now, done_by=by.id).execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(item)
    return bool(won)


def visible_sessions(session: Session, viewer: Member, agent: Member, *, since: datetime | None = None, until: datetime | None = None) -> list[CoachingSession]:
    query = select(CoachingSession).where(CoachingSession.agent_id == agent.id)
    if since is not None:
        query = query.where(CoachingSession.created_at >= since)
    if until is not None:
        query = query.where(CoachingSession.created_at < until)
    found = session.scalars(query.order_by(CoachingSession.created_at.desc(), CoachingSession.id.desc()))
    return [s for s in found if may_see_session(viewer, agent, s)]


@dataclass(frozen=True)
class Completion:
    done: int
    total: int

    @property
    def rate(self) -> float | None:
        return self.done / self.total if self.total else None


def completion(session: Session, agent_ids: Sequence[int]) -> dict[int, Completion]:
    """Per agent: action items done, of all agreed with them."""
    stmt = select(CoachingAction.agent_id, func.count(CoachingAction.done_at), func.count()).where(CoachingAction.agent_id.in_(list(agent_ids))).group_by(CoachingAction.agent_id)
    found = {a: Completion(int(done), int(total)) for a, done, total in session.execute(stmt)}
    return {a: found.get(a, Completion(0, 0)) for a in agent_ids}


def open_counts(session: Session, agent_ids: Sequence[int], today: date) -> dict[int, tuple[int, int]]:
    """Per agent: open action items, and how many of them are overdue (due before `today`)."""
    overdue = func.count(case((CoachingAction.due < today, 1)))
    stmt = (
        select(CoachingAction.agent_id, func.count(), overdue)
        .where(CoachingAction.agent_id.in_(list(agent_ids)), CoachingAction.done_at.is_(None))
        .group_by(CoachingAction.agent_id)
    )
    found = {a: (int(n), int(late)) for a, n, late in session.execute(stmt)}
    return {a: found.get(a, (0, 0)) for a in agent_ids}


def held_counts(session: Session, agent_ids: Sequence[int], since: datetime, until: datetime) -> dict[int, int]:
    """Per agent: sessions held in [since, until)."""
    stmt = (
        select(CoachingSession.agent_id, func.count())
        .where(CoachingSession.agent_id.in_(list(agent_ids)), CoachingSession.created_at >= since, CoachingSession.created_at < until)
        .group_by(CoachingSession.agent_id)
    )
    found = {a: int(n) for a, n in session.execute(stmt)}
    return {a: found.get(a, 0) for a in agent_ids}


class ItemRow(NamedTuple):
    """An action item as listings read it (a plain row: an admin's list can hold thousands)."""

    id: int
    session_id: int
    agent_id: int
    text: str
    due: date
    done_at: datetime | None


def _visible_items(viewer: Member, agents: Sequence[Member]) -> ColumnElement[bool]:
    """The items `viewer` may see of `agents`: all of those they are or look after, else their own sessions' only."""
    whole = [a.id for a in agents if a.id == viewer.id or oversees(viewer, a)]
    own = [a.id for a in agents if a.id not in whole]
    return or_(CoachingAction.agent_id.in_(whole), and_(CoachingAction.agent_id.in_(own), CoachingSession.author_id == viewer.id))


def visible_completion(session: Session, viewer: Member, agents: Sequence[Member]) -> dict[int, Completion]:
    """Per agent: items done, of all agreed, among the sessions `viewer` may see."""
    stmt = (
        select(CoachingAction.agent_id, func.count(CoachingAction.done_at), func.count())
        .join(CoachingSession, CoachingSession.id == CoachingAction.session_id)
        .where(_visible_items(viewer, agents))
        .group_by(CoachingAction.agent_id)
    )
    found = {a: Completion(int(done), int(total)) for a, done, total in session.execute(stmt)}
    return {a.id: found.get(a.id, Completion(0, 0)) for a in agents}


def visible_open_items(session: Session, viewer: Member, agents: Sequence[Member]) -> list[ItemRow]:
    """The open items `viewer` may see of `agents`, most urgent first."""
    c = CoachingAction
    stmt = (
        select(c.id, c.session_id, c.agent_id, c.text, c.due, c.done_at)
        .join(CoachingSession, CoachingSession.id == c.session_id)
        .where(_visible_items(viewer, agents), c.done_at.is_(None))
        .order_by(c.due, c.id)
    )
    return [ItemRow(*row) for row in session.execute(stmt)]


def before_after(session: Session, record: CoachingSession, until: datetime) -> tuple[datetime, datetime, Metrics, Metrics]:
    """The agent's KPIs from the session to `until`, and over the same span just before the session."""
    until = max(until, record.created_at)
    span = until - record.created_at
    start = record.created_at - span
    scope = Scope(agent_id=record.agent_id)
    return start, until, compute(session, scope, start, record.created_at), compute(session, scope, record.created_at, until)


def reminder_due(record: CoachingSession, person: Member, org_zone: str) -> datetime:
    """09:00 on the follow-up date in `person`'s zone."""
    return at_local(record.follow_up, REMINDER_TIME, person.effective_timezone(org_zone))


def plan_followups(db: Database, now: datetime, *, catchup: timedelta) -> int:
    """Plan the follow-up reminders due as of `now` (agent and author, each at 09:00 local); how many were new.

    Follow-up dates are local, so the sessions looked at are those whose date
    is within a day of today in UTC: every zone's 09:00 falls in there.
    """
    planned = 0
    with db.sessions() as session, session.begin():
        org = session.get(Org, 1)
        zone = org.timezone if org else "UTC"
        today = local_date(now, "UTC")
        due_soon = select(CoachingSession).where(CoachingSession.follow_up >= today - timedelta(days=2), CoachingSession.follow_up <= today + timedelta(days=1))
        for record in session.scalars(due_soon):
            people = [session.get(Member, record.agent_id), session.get(Member, record.author_id)]
            for person in {p.id: p for p in people if p is not None and p.active}.values():
                due = reminder_due(record, person, zone)
                if due > now:
                    continue
                rows = [Planned(FOLLOW_UP, f"session-{record.id}", r, record.follow_up.isoformat(), due, due + catchup) for r in member_recipients(person.slack_id, person.teams_id)]
                if now - due > catchup:
                    plan(session, rows, now, skipped="missed: csbot was not running within the catch-up window")
                else:
                    planned += plan(session, rows, now)
    return planned
