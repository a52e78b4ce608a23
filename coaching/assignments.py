"""QA assignments: the weekly sample stored as tickets given to reviewers, their queue, skips and roll-over.

`assign_due` is the weekly job ("do what is due as of T"): from Monday
ASSIGN_AT in each team's zone it rolls last week's unfinished assignments
over (once; a second time they lapse and are reported to the team's leads),
draws the week's sample (coaching.sampling) from the tickets solved the
week before, stores it (one row per team, week and ticket: a second run
assigns nothing twice) and plans one message per reviewer with their queue.
A tick missed on Monday is caught up any later day of the same week.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import exists, func, literal, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from coaching.models import QaAssignment, QaReview
from coaching.sampling import Candidate, draw
from escalation.models import Escalation
from kpi.tickets import Ticket
from store.database import Database
from store.local_time import at_local, local_date
from store.org import Member, Team
from store.outbox import Planned, member_recipients, plan
from store.qa_sampling import rule_for
from store.ticket_fields import parse_tags

QUEUE, LAPSED = "qa_queue", "qa_lapsed"
KINDS = (QUEUE, LAPSED)
ASSIGN_AT = "09:00"  # Monday, in the team's zone: the queue arrives with the working week
OPEN, DONE, SKIPPED, ROLLED, LAPSE = "open", "done", "skipped", "rolled", "lapsed"


def week_label(monday: date) -> str:
    year, number, _ = monday.isocalendar()
    return f"{year}-W{number:02d}"


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def week_bounds(monday: date, zone: str) -> tuple[datetime, datetime]:
    """The week's start and end as instants (Monday 00:00 to the next Monday 00:00, local)."""
    return at_local(monday, "00:00", zone), at_local(monday + timedelta(days=7), "00:00", zone)


def shown(external_id: str) -> str:
    """A ticket's reference as reviews name it (handlers.escalate.parse_ticket): `#123` for a number, else upper case."""
    return f"#{external_id}" if external_id.isdigit() else external_id.upper()


def reviewers_of(session: Session, team: Team, handles: Sequence[str] | None) -> list[Member]:
    """The rule's reviewers, in its order (active members only), or the team's active leads."""
    if handles is None:
        return list(session.scalars(select(Member).where(Member.team_id == team.id, Member.role == "lead", Member.active.is_(True)).order_by(Member.id)))
    found = {m.handle: m for m in session.scalars(select(Member).where(Member.handle.in_(list(handles)), Member.active.is_(True)))}
    return [found[h] for h in handles if h in found]


def _pool(session: Session, team: Team, start: datetime, end: datetime) -> list[Candidate]:
    """The team's tickets solved in [start, end) by an active member of the team."""
    # Reviews name a ticket as shown (`#123`, `T-9`): either form of the stored id.
    reviewed = exists().where(QaReview.agent_id == Ticket.agent_id, or_(QaReview.ticket == literal("#") + Ticket.external_id, QaReview.ticket == func.upper(Ticket.external_id)))
    escalated = exists().where(Escalation.ticket_id == Ticket.id)
    rows = session.execute(
        select(Ticket, reviewed, escalated)
        .join(Member, Member.id == Ticket.agent_id)
        .where(
            Ticket.team_id == team.id, Member.team_id == team.id, Member.active.is_(True),
            Ticket.solved_at >= start, Ticket.solved_at < end, Ticket.status.in_(("solved", "closed")),
        )
    ).all()
    return [
        Candidate(
            t.id, t.agent_id, replies=t.replies or 0, csat=t.csat, reopens=t.reopens or 0, sla_met=t.sla_met, escalated=bool(esc),
            resolution_s=int((t.solved_at - t.created_at).total_seconds()) if t.solved_at else None,
            tags=frozenset(parse_tags(t.tags)), already_reviewed=bool(rev),
        )
        for t, rev, esc in rows
    ]


@dataclass
class WeekResult:
    assigned: int = 0
    rolled: int = 0
    lapsed: int = 0
    planned: int = 0


def _insert(session: Session, row: QaAssignment) -> bool:
    """Add the row unless the team, week and ticket has one already (another tick got there first)."""
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
        return True
    except IntegrityError:
        return False


def assign_team(session: Session, team: Team, now: datetime) -> WeekResult:
    """Do the team's weekly sampling as of `now`, if it is due and not done (see the module)."""
    result = WeekResult()
    rule = rule_for(session, team.key)
    if rule is None:
        return result
    monday = monday_of(local_date(now, team.timezone))
    if now < at_local(monday, ASSIGN_AT, team.timezone):
        return result
    week = week_label(monday)
    start, due = week_bounds(monday, team.timezone)
    # Unfinished assignments of earlier weeks: carried over once, then lapsed.
    for old in session.scalars(select(QaAssignment).where(QaAssignment.team_id == team.id, QaAssignment.state == OPEN, QaAssignment.week < week).order_by(QaAssignment.id)):
        claimed = session.execute(update(QaAssignment).where(QaAssignment.id == old.id, QaAssignment.state == OPEN).values(state=ROLLED if old.rolled_from is None else LAPSE, closed_at=now)).rowcount
        if not claimed:
            continue  # another tick moved it
        if old.rolled_from is None:
            if _insert(session, QaAssignment(team_id=team.id, week=week, ticket_id=old.ticket_id, ticket=old.ticket, agent_id=old.agent_id, reviewer_id=old.reviewer_id, due_at=due, state=OPEN, rolled_from=old.id, created_at=now)):
                result.rolled += 1
        else:
            result.lapsed += 1
    session.expire_all()
    drawn = session.scalar(select(exists().where(QaAssignment.team_id == team.id, QaAssignment.week == week, QaAssignment.rolled_from.is_(None))))
    if not drawn:
        prev_start, _ = week_bounds(monday - timedelta(days=7), team.timezone)
        reviewers = reviewers_of(session, team, rule.reviewers)
        sample = draw(_pool(session, team, prev_start, start), rule, [m.id for m in reviewers], team.key, monday)
        tickets = {t.id: t for t in session.scalars(select(Ticket).where(Ticket.id.in_([d.ticket_id for d in sample.draws])))}
        for d in sample.draws:
            row = QaAssignment(team_id=team.id, week=week, ticket_id=d.ticket_id, ticket=shown(tickets[d.ticket_id].external_id), agent_id=d.agent_id, reviewer_id=d.reviewer_id, due_at=due, state=OPEN, created_at=now)
            result.assigned += _insert(session, row)
    result.planned = _plan_messages(session, team, week, now, due)
    return result


def _plan_messages(session: Session, team: Team, week: str, now: datetime, due: datetime) -> int:
    """One queue message per reviewer with open assignments this week; the leads told of what lapsed."""
    rows: list[Planned] = []
    reviewer_ids = session.scalars(select(QaAssignment.reviewer_id).where(QaAssignment.team_id == team.id, QaAssignment.week == week, QaAssignment.state == OPEN).distinct()).all()
    for reviewer in session.scalars(select(Member).where(Member.id.in_(reviewer_ids)).order_by(Member.id)):
        rows += [Planned(QUEUE, f"queue-{team.key}", r, week, now, due) for r in member_recipients(reviewer.slack_id, reviewer.teams_id)]
    start, _ = week_bounds(date.fromisocalendar(int(week[:4]), int(week[6:]), 1), team.timezone)
    if session.scalar(select(exists().where(QaAssignment.team_id == team.id, QaAssignment.state == LAPSE, QaAssignment.closed_at >= start))):
        for lead in reviewers_of(session, team, None):
            rows += [Planned(LAPSED, f"lapsed-{team.key}", r, week, now, due) for r in member_recipients(lead.slack_id, lead.teams_id)]
    return plan(session, rows, now)


def assign_due(db: Database, now: datetime) -> int:
    """Every active team's weekly sampling due as of `now`; how many messages were newly planned.

    One transaction per team: a team whose sample cannot be stored leaves the others theirs.
    """
    with db.sessions() as session:
        team_ids = list(session.scalars(select(Team.id).where(Team.active.is_(True)).order_by(Team.id)))
    planned = 0
    for team_id in team_ids:
        with db.sessions() as session, session.begin():
            team = session.get(Team, team_id)
            if team is not None:
                planned += assign_team(session, team, now).planned
    return planned


def queue(session: Session, reviewer: Member | None = None, team: Team | None = None) -> list[QaAssignment]:
    """Open assignments of a reviewer, or of a team, soonest due first."""
    query = select(QaAssignment).where(QaAssignment.state == OPEN)
    if reviewer is not None:
        query = query.where(QaAssignment.reviewer_id == reviewer.id)
    if team is not None:
        query = query.where(QaAssignment.team_id == team.id)
    return list(session.scalars(query.order_by(QaAssignment.due_at, QaAssignment.id)))


def lapsed_since(session: Session, team: Team, since: datetime) -> list[QaAssignment]:
    return list(session.scalars(select(QaAssignment).where(QaAssignment.team_id == team.id, QaAssignment.state == LAPSE, QaAssignment.closed_at >= since).order_by(QaAssignment.id)))


class NotSkippable(Exception):
    """The assignment is not open (done, skipped, rolled or lapsed), or not this person's to skip."""


def skip(session: Session, assignment: QaAssignment, by: Member, reason: str, now: datetime) -> None:
    """Give the ticket back to the pool, keeping who did it and why (compare-and-set: a double click skips once)."""
    done = session.execute(
        update(QaAssignment).where(QaAssignment.id == assignment.id, QaAssignment.state == OPEN).values(state=SKIPPED, reason=reason, closed_by=by.id, closed_at=now)
    ).rowcount
    if not done:
        raise NotSkippable(f"Assignment {assignment.id} is {assignment.state}: only an open one can be skipped.")
    session.refresh(assignment)


def mark_reviewed(session: Session, review: QaReview, now: datetime) -> int:
    """A review of an assigned ticket finishes its open assignment(s); how many."""
    return session.execute(
        update(QaAssignment)
        .where(QaAssignment.agent_id == review.agent_id, QaAssignment.ticket == review.ticket, QaAssignment.state == OPEN)
        .values(state=DONE, review_id=review.id, closed_by=review.reviewer_id, closed_at=now)
    ).rowcount

