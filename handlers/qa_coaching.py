"""Start coaching from a QA review: the button a failing review offers, and the session form it opens pre-filled.

The button is offered in the review's answer (on saving it, and in `/qa
show`) and in the dispute message the agent's leads get through the outbox,
to whoever may hold a session with the agent — the agent's lead, a manager
over them, an admin — and only when the review is below the pass mark or
failed a critical category. No message of its own is sent: only those who
may coach the agent may review them, so the reviewer is such a person and
gets the button with their answer. The form's
opportunities cite the review (`review 123`), which is what links the
session to it (`coaching.qa_coaching`).
"""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy.orm import Session

from coaching import qa
from coaching.models import QaDispute, QaReview
from coaching.qa_coaching import Shortfall, shortfall
from coaching.rubric import Rubric, shown
from coaching.visibility import may_coach, may_see
from handlers.args import button_id
from handlers.context import Context, Forbidden, Invalid, NotFound
from handlers.coach_sessions import session_form
from handlers.humanize import percent
from handlers.qa_views import dispute_of, proposal_text
from handlers.reply import Actions, Button, Reply
from store.local_time import local_date
from store.org import Member

COACH_ACTION = "qa.coach"


def _why(rubric: Rubric, review: QaReview, found: Shortfall) -> str:
    names = {c.key: c.name for c in rubric.categories}
    parts = []
    if review.score is not None:
        parts.append(f"{percent(review.score)}, {'below' if found.below_pass else 'at or above'} the pass mark of {percent(float(rubric.pass_mark))}")
    if found.critical_failed:
        parts.append("critical failed: " + ", ".join(names.get(k, k) for k in found.critical_failed))
    return "; ".join(parts)


def prefilled(rubric: Rubric, review: QaReview, record: QaDispute | None = None) -> str:
    """What to work on, from the review: its ticket and result, each low category with its score and comment, and its dispute."""
    found = shortfall(rubric, dict(review.scores))
    lines = [f"From review {review.id} ({review.ticket}): {_why(rubric, review, found)}."]
    for c in rubric.categories:
        if c.key in found.low:
            comment = review.comments.get(c.key, "").strip()
            lines.append(f"- {c.name}: {shown(c, review.scores.get(c.key, 'na'))} of {c.scale.text}" + (f" — {comment}" if comment else ""))
    if review.comments.get("", "").strip():
        lines.append(f"Reviewer's comment: {review.comments['']}")
    if record is not None:  # the agent's side goes with the review into the session
        lines.append(f"{'Disputed' if record.outcome is None else 'Dispute settled ' + record.outcome}, proposing {proposal_text(rubric, review, record)}: {record.comment}")
    return "\n".join(lines)


def coaching_offer(session: Session, review: QaReview, viewer: Member) -> Actions | None:
    """The Start coaching button, for a review that calls for coaching and a viewer who may coach its agent."""
    agent = session.get(Member, review.agent_id)
    if agent is None or not agent.active or not may_coach(viewer, agent):
        return None
    if not shortfall(qa.rubric_for(session, review), dict(review.scores)).calls_for_coaching:
        return None
    return Actions((Button("Start coaching", COACH_ACTION, json.dumps({"id": review.id})),))


def parse_coach_button(value: str) -> int:
    return button_id(value)[0]


def _review_and_agent(ctx: Context, number: int) -> tuple[QaReview, Member]:
    review = ctx.session.get(QaReview, number)
    agent = ctx.session.get(Member, review.agent_id) if review else None
    # The same answer whether the review does not exist or is not the caller's to see.
    if review is None or agent is None or not may_see(ctx.member, agent, author_id=review.reviewer_id):
        raise NotFound(f"There is no review {number} you can see.")
    return review, agent


def authorize_coach_button(ctx: Context, number: int) -> None:
    _, agent = _review_and_agent(ctx, number)
    if not may_coach(ctx.member, agent):
        raise Forbidden(f"You hold coaching sessions with the agents you look after: {agent.name} is not one of them.")


def execute_coach_button(ctx: Context, number: int) -> Reply:
    review, agent = _review_and_agent(ctx, number)
    if not agent.active:
        raise Invalid(f"{agent.name} is no longer active.")
    rubric = qa.rubric_for(ctx.session, review)
    tomorrow = (local_date(ctx.now, ctx.timezone) + timedelta(days=1)).isoformat()
    intro = (
        f"Coaching {agent.name} on review {review.id} ({review.ticket}). The session cites the review, so /coach history shows them together "
        "and the follow-up shows the QA score since against before."
    )
    reply = session_form(agent, tomorrow, opportunities=prefilled(rubric, review, dispute_of(ctx.session, review)), intro=intro)
    reply.data["review"] = review.id
    return reply
