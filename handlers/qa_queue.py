"""`/qa queue` and `/qa skip`: the tickets the weekly sample gave reviewers, with a Review button each.

Who sees which queue (`coaching.visibility.may_see_queue`): your own; a
member's, for those who look after them; a team's, for its lead(s), its
managers and admins. A queue shows whose tickets are sampled, so a peer
never sees another's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from coaching import assignments
from coaching.models import QaAssignment
from coaching.visibility import may_see_queue, sees_pooled_qa
from handlers.args import UsageError, button_id, number_word
from handlers.context import Context, Forbidden, Invalid, NotFound
from handlers.kpi_lookup import find_member, find_team
from handlers.reply import Actions, Button, Reply, Section, Table
from handlers.reply import Context as Note
from store.local_time import local_date
from store.org import Member, Team

QUEUE_USAGE = "/qa queue [TEAM|@member] — tickets assigned for review this week (yours; a team's for its lead)\n/qa skip N -- REASON — give an assigned ticket back to the pool"
REVIEW_ACTION = "qa.queue_review"
# Slack allows 25 elements in an actions block; a longer queue is reviewed by command.
MAX_BUTTONS = 25
QUEUE_COLUMNS = ("#", "Ticket", "Agent", "Reviewer", "Due", "Note")


@dataclass(frozen=True)
class QueueRequest:
    verb: str  # queue | skip
    whose: str | None = None  # a team or @member for queue
    number: int | None = None
    reason: str = ""


def parse_queue(verb: str, rest: list[str]) -> QueueRequest:
    """The words after `/qa queue` or `/qa skip`."""
    if verb == "queue":
        if len(rest) > 1:
            raise UsageError(QUEUE_USAGE)
        return QueueRequest("queue", whose=rest[0] if rest else None)
    if not rest:
        raise UsageError(QUEUE_USAGE)
    number = number_word(rest[0], "an assignment number; /qa queue shows them")
    words = rest[1:]
    reason = " ".join(words[words.index("--") + 1 :] if "--" in words else words).strip()
    if not reason:
        raise UsageError("Say why the ticket goes back to the pool: /qa skip N -- REASON")
    if len(reason) > 500:
        raise UsageError(f"The reason is {len(reason):,} characters long; at most 500.")
    return QueueRequest("skip", number=number, reason=reason)


def _target(ctx: Context, whose: str | None) -> Member | Team:
    if whose is None:
        return ctx.member
    if whose.startswith(("@", "<@")):
        return find_member(ctx, whose)
    return find_team(ctx, whose, command="/qa queue")


def _assignment(ctx: Context, number: int | None) -> QaAssignment:
    found = ctx.session.get(QaAssignment, number) if number else None
    # The same answer whether it does not exist or is not the caller's to act on.
    if found is None or not may_act_on(ctx.session, ctx.member, found):
        raise NotFound(f"There is no assignment {number} you can act on.")
    return found


def may_act_on(session: Session, viewer: Member, assignment: QaAssignment) -> bool:
    """The assigned reviewer, and whoever looks after the team's QA, may review or skip an assignment."""
    return viewer.id == assignment.reviewer_id or sees_pooled_qa(viewer, assignment.team_id)


def authorize_queue(ctx: Context, request: QueueRequest) -> None:
    if request.verb == "skip":
        _assignment(ctx, request.number)
        return
    target = _target(ctx, request.whose)
    if isinstance(target, Team):
        if not sees_pooled_qa(ctx.member, target.id):
            raise Forbidden(f"{target.name}'s review queue is for its lead(s), its managers and admins; /qa queue shows yours.")
    elif not may_see_queue(ctx.member, target):
        raise Forbidden(f"{target.name}'s review queue is for {target.name} and those who look after them; /qa queue shows yours.")


def due_text(due_at: datetime, zone: str) -> str:
    """The last day of the assignment's week (it is due by the end of it): `Sun 13 Dec`."""
    day = local_date(due_at - timedelta(seconds=1), zone)
    return f"{day:%a} {day.day} {day:%b}"


def queue_reply(session: Session, rows: list[QaAssignment], title: str, zone: str, empty: str) -> Reply:
    """A queue as a table, a Review button per ticket (the first MAX_BUTTONS), and the same as data."""
    if not rows:
        return Reply(title=title, blocks=[Section(empty)], data={"assignments": []})
    people = {m.id: m for m in session.scalars(select(Member).where(Member.id.in_({r.agent_id for r in rows} | {r.reviewer_id for r in rows})))}
    table, data, buttons = [], [], []
    for r in rows:
        agent, reviewer = people.get(r.agent_id), people.get(r.reviewer_id)
        note = "rolled over from last week" if r.rolled_from is not None else ""
        table.append((str(r.id), r.ticket, agent.name if agent else "?", reviewer.name if reviewer else "?", due_text(r.due_at, zone), note))
        data.append({"id": r.id, "ticket": r.ticket, "agent": agent.handle if agent else None, "reviewer": reviewer.handle if reviewer else None, "week": r.week, "due": r.due_at.isoformat(), "rolled_over": r.rolled_from is not None})
        if len(buttons) < MAX_BUTTONS:
            buttons.append(Button(f"Review {r.ticket}", REVIEW_ACTION, json.dumps({"id": r.id})))
    blocks: list[Any] = [Table(QUEUE_COLUMNS, tuple(table)), Actions(tuple(buttons))]
    more = f" (buttons for the first {MAX_BUTTONS})" if len(rows) > MAX_BUTTONS else ""
    blocks.append(Note(f"Review opens the rubric form for the ticket{more}; /qa @agent TICKET does the same. Not one to review? /qa skip N -- REASON"))
    return Reply(title=title, blocks=blocks, data={"assignments": data})


def execute_queue(ctx: Context, request: QueueRequest) -> Reply:
    if request.verb == "skip":
        found = _assignment(ctx, request.number)
        try:
            assignments.skip(ctx.session, found, ctx.member, request.reason, ctx.now)
        except assignments.NotSkippable as exc:
            raise Invalid(str(exc)) from None
        return Reply(
            title=f"Assignment {found.id} skipped",
            blocks=[Section(f"{found.ticket} goes back to the pool ({request.reason}); it is no longer in the queue.")],
            data={"assignment": found.id, "state": found.state, "reason": request.reason},
        )
    target = _target(ctx, request.whose)
    if isinstance(target, Team):
        rows = assignments.queue(ctx.session, team=target)
        return queue_reply(ctx.session, rows, f"QA review queue · {target.name}", ctx.timezone, f"Nothing is assigned for review in {target.name} this week.")
    rows = assignments.queue(ctx.session, reviewer=target)
    mine = target.id == ctx.member.id
    empty = "Nothing is assigned to you for review." if mine else f"Nothing is assigned to {target.name} for review."
    return queue_reply(ctx.session, rows, "Your QA review queue" if mine else f"QA review queue · {target.name}", ctx.timezone, empty)


def parse_review_button(value: str) -> QueueRequest:
    return QueueRequest("review", number=button_id(value)[0])


def authorize_review_button(ctx: Context, request: QueueRequest) -> None:
    _assignment(ctx, request.number)


def assigned_to(session: Session, reviewer: Member, agent: Member, ticket: str) -> bool:
    """Whether `reviewer` has an open assignment of the agent's ticket (they may review it, peer or not)."""
    return any(a.agent_id == agent.id and a.ticket == ticket for a in assignments.queue(session, reviewer=reviewer))


def execute_review_button(ctx: Context, request: QueueRequest) -> Reply:
    from handlers.qa import review_form  # handlers.qa registers this module's actions

    found = _assignment(ctx, request.number)
    if found.state != assignments.OPEN:
        raise Invalid(f"Assignment {found.id} is {found.state}: nothing left to review.")
    agent = ctx.session.get(Member, found.agent_id)
    if agent is None:
        raise NotFound(f"There is no assignment {found.id} you can act on.")
    return review_form(ctx, agent, found.ticket)
