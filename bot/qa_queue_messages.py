"""The weekly QA queue messages the outbox sends: a reviewer's queue, and what lapsed to the team's leads.

Composed when sent, from the assignments as they are then: a ticket
reviewed or skipped before the message goes out is not in it.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from coaching import assignments
from coaching.models import QaAssignment
from handlers.qa_queue import queue_reply
from handlers.reply import Reply, Section
from store.org import Member, Org, Team
from store.outbox import Claimed

KINDS = assignments.KINDS


class Skip(Exception):
    """The reviewer, the lead or the team is gone, or nothing is left to send."""


def _person(session: Session, recipient: str) -> Member | None:
    platform, _, rest = recipient.partition(":")
    ident = rest.partition(":")[2]
    column = Member.slack_id if platform == "slack" else Member.teams_id
    return session.scalar(select(Member).where(column == ident, Member.active.is_(True)))


def compose(session: Session, row: Claimed, now: datetime) -> Reply:
    org = session.get(Org, 1)
    person = _person(session, row.recipient)
    prefix = "queue-" if row.kind == assignments.QUEUE else "lapsed-"
    team = session.scalar(select(Team).where(Team.key == row.subject.removeprefix(prefix), Team.active.is_(True)))
    if person is None or team is None:
        raise Skip("the reviewer or the team is gone")
    zone = person.effective_timezone(org.timezone if org else "UTC")
    if row.kind == assignments.QUEUE:
        rows = [a for a in assignments.queue(session, reviewer=person, team=team)]
        if not rows:
            raise Skip("every assignment was reviewed or skipped before the message went out")
        reply = queue_reply(session, rows, f"Your QA reviews this week · {team.name}", zone, "")
        reply.blocks.insert(0, Section(f"The weekly QA sample gave you {len(rows)} ticket{'' if len(rows) == 1 else 's'} of {team.name} to review by the end of the week."))
        return reply
    monday = date.fromisocalendar(int(row.occurrence[:4]), int(row.occurrence[6:8]), 1)
    start, _ = assignments.week_bounds(monday, team.timezone)
    lapsed = assignments.lapsed_since(session, team, start)
    if not lapsed:
        raise Skip("nothing lapsed")
    people = {m.id: m for m in session.scalars(select(Member).where(Member.id.in_({a.agent_id for a in lapsed} | {a.reviewer_id for a in lapsed})))}
    lines = [f"• {a.ticket} of {people[a.agent_id].name if a.agent_id in people else '?'}, assigned to {people[a.reviewer_id].name if a.reviewer_id in people else '?'} ({_first_week(session, a)})" for a in lapsed]
    return Reply(
        title=f"QA reviews not done · {team.name}",
        blocks=[Section(f"{len(lapsed)} sampled ticket{'' if len(lapsed) == 1 else 's'} of {team.name} went unreviewed for two weeks and left the queue:\n" + "\n".join(lines))],
        data={"lapsed": [{"id": a.id, "ticket": a.ticket, "agent": people[a.agent_id].handle if a.agent_id in people else None, "reviewer": people[a.reviewer_id].handle if a.reviewer_id in people else None} for a in lapsed]},
    )


def _first_week(session: Session, lapsed: QaAssignment) -> str:
    first = session.get(QaAssignment, lapsed.rolled_from) if lapsed.rolled_from else None
    return f"sampled {first.week}, rolled over to {lapsed.week}" if first else f"sampled {lapsed.week}"
