"""How a QA review is shown: its scores, and its dispute with the scores the agent proposes beside the original.

Whoever may see a review sees its dispute, proposal and settlement too (the
callers check `coaching.visibility` first); only the reviewer's name, and so
the name of whoever settled it, is left out for the agent when the rubric says
`hide_reviewer`.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from coaching import qa
from coaching.models import QaDispute, QaReview
from coaching.rubric import Category, Rubric, Score, shown
from handlers.escalation_views import local_full
from handlers.humanize import percent
from handlers.qa_scores import change_json, change_text
from handlers.reply import Actions, Button, Field, Fields, Reply, Section, Table
from handlers.reply import Context as Note
from store.org import Member

DISPUTE_ACTION = "qa.dispute"


def _on_scale(category: Category, value: Score) -> str:
    written = shown(category, value)
    return written if value == "na" or category.scale.text == "pass-fail" else f"{written} of {category.scale.text}"


def _hidden(session: Session, review: QaReview, viewer: Member, rubric: Rubric | None = None) -> bool:
    """Whether the reviewer's name is kept from `viewer` (the agent, under `hide_reviewer`)."""
    return viewer.id == review.agent_id and (rubric or qa.rubric_for(session, review)).hide_reviewer


def dispute_of(session: Session, review: QaReview) -> QaDispute | None:
    return session.scalar(select(QaDispute).where(QaDispute.review_id == review.id))


def proposal(rubric: Rubric, review: QaReview, record: QaDispute) -> qa.ScoreChange | None:
    """What the agent's proposed scores would change, against the scores they disputed."""
    if not record.proposed:
        return None
    return qa.compare(rubric, record.before if record.before is not None else review.scores, record.proposed)


def settlement(rubric: Rubric, review: QaReview, record: QaDispute) -> qa.ScoreChange | None:
    """What settling the dispute changed (None while it is open)."""
    if record.outcome is None or record.before is None:
        return None
    return qa.compare(rubric, record.before, review.scores)


def proposal_text(rubric: Rubric, review: QaReview, record: QaDispute) -> str:
    change = proposal(rubric, review, record)
    return "no scores proposed" if change is None else change_text(change, proposed=True)


def dispute_json(session: Session, review: QaReview, record: QaDispute, viewer: Member, rubric: Rubric) -> dict[str, Any]:
    offered, settled = proposal(rubric, review, record), settlement(rubric, review, record)
    by = session.get(Member, record.resolved_by) if record.resolved_by else None
    return {
        "comment": record.comment,
        "disputed_at": record.created_at.isoformat(),
        "proposed": dict(record.proposed) if record.proposed else None,
        "proposed_change": change_json(offered) if offered else None,
        "outcome": record.outcome,
        "settled_at": record.resolved_at.isoformat() if record.resolved_at else None,
        "settled_by": by.handle if by is not None and not _hidden(session, review, viewer, rubric) else None,
        "note": record.note,
        "scores_before": dict(record.before) if record.before is not None else None,
        "change": change_json(settled) if settled else None,
    }


def review_json(session: Session, review: QaReview, viewer: Member) -> dict[str, Any]:
    agent, reviewer = session.get(Member, review.agent_id), session.get(Member, review.reviewer_id)
    rubric = qa.rubric_for(session, review)
    record = dispute_of(session, review)
    return {
        "id": review.id,
        "agent": agent.handle if agent else None,
        "reviewer": None if _hidden(session, review, viewer, rubric) or reviewer is None else reviewer.handle,
        "ticket": review.ticket,
        "rubric_version": review.rubric_version,
        "scores": dict(review.scores),
        "score": review.score,
        "passed": review.passed,
        "state": review.state,
        "created_at": review.created_at.isoformat(),
        "dispute": dispute_json(session, review, record, viewer, rubric) if record is not None else None,
    }


def _dispute_lines(session: Session, review: QaReview, record: QaDispute, viewer: Member, rubric: Rubric, zone: str) -> str:
    agent = session.get(Member, record.by_id)
    lines = [f"Disputed {local_full(record.created_at, zone)} by {agent.name if agent else 'the agent'}: {record.comment}"]
    lines.append(f"Proposed: {proposal_text(rubric, review, record)}.")
    if record.outcome and record.resolved_at:
        by = session.get(Member, record.resolved_by) if record.resolved_by else None
        who = f" by {by.name}" if by is not None and not _hidden(session, review, viewer, rubric) else ""
        settled = settlement(rubric, review, record)
        what = change_text(settled) if settled else "the scores stay as they are"
        lines.append(f"Settled {record.outcome} {local_full(record.resolved_at, zone)}{who}: {what}." + (f" Note: {record.note}" if record.note else ""))
    return "\n".join(lines)


def _table(review: QaReview, record: QaDispute | None, rubric: Rubric) -> Table:
    """Each category's score; beside it, while the dispute is open, what the agent proposes, and once settled, what it was."""
    offered = dict(record.proposed) if record is not None and record.proposed and record.outcome is None else None
    before = dict(record.before) if record is not None and record.before is not None and record.before != dict(review.scores) else None
    columns = ["Category", "Score"] + (["Proposed"] if offered else []) + (["Before the dispute"] if before else []) + ["Comment"]
    rows = []
    for c in rubric.categories:
        value = review.scores.get(c.key, "na")
        row = [c.name, _on_scale(c, value)]
        if offered:
            row.append(_on_scale(c, offered.get(c.key, "na")) if offered.get(c.key, "na") != value else "")
        if before:
            row.append(_on_scale(c, before.get(c.key, "na")) if before.get(c.key, "na") != value else "")
        rows.append((*row, review.comments.get(c.key, "")))
    return Table(tuple(columns), tuple(rows))


def review_reply(session: Session, review: QaReview, viewer: Member, zone: str, *, dispute_button: bool = False) -> Reply:
    data = review_json(session, review, viewer)
    rubric = qa.rubric_for(session, review)
    agent = session.get(Member, review.agent_id)
    record = dispute_of(session, review)
    result = "no score (every category na)" if review.score is None else f"{percent(review.score)} · {'passed' if review.passed else 'did not pass'} (pass {percent(float(rubric.pass_mark))})"
    fields = [Field("Agent", agent.name if agent else "?"), Field("Ticket", review.ticket), Field("Result", result), Field("State", review.state)]
    if data["reviewer"]:
        reviewer = session.get(Member, review.reviewer_id)
        fields.insert(1, Field("Reviewer", reviewer.name if reviewer else "?"))
    blocks: list[Any] = [Fields(tuple(fields)), _table(review, record, rubric)]
    if review.comments.get(""):
        blocks.append(Section(review.comments[""]))
    if record is not None:
        blocks.append(Section(_dispute_lines(session, review, record, viewer, rubric, zone)))
    if dispute_button and review.state == "open":
        blocks.append(Actions((Button("Dispute", DISPUTE_ACTION, json.dumps({"id": review.id})),)))
    blocks.append(Note(f"Rubric v{review.rubric_version}; times in {zone}."))
    return Reply(title=f"QA review {review.id} · {review.ticket}", blocks=blocks, data={"review": data})


def dispute_row(review: QaReview, record: QaDispute, agent: Member, rubric: Rubric, zone: str) -> tuple[tuple[str, ...], dict[str, Any]]:
    """One open dispute as `/qa disputes` lists it: the review's result now and what the agent proposes."""
    now = "no score" if review.score is None else f"{percent(review.score)} {'passed' if review.passed else 'did not pass'}"
    offered = proposal(rubric, review, record)
    row = (str(review.id), agent.name, review.ticket, local_full(record.created_at, zone), now, proposal_text(rubric, review, record), record.comment[:200])
    data = {
        "review": review.id, "agent": agent.handle, "ticket": review.ticket, "comment": record.comment,
        "scores": dict(review.scores), "score": review.score, "passed": review.passed,
        "proposed": dict(record.proposed) if record.proposed else None, "proposed_change": change_json(offered) if offered else None,
    }  # fmt: skip
    return row, data


DISPUTE_COLUMNS = ("Review", "Agent", "Ticket", "Disputed", "Result", "Proposed", "Comment")
