"""QA reviews: a ticket scored against the current rubric version, disputed once by its agent, settled and locked.

The score is computed once, from the rubric version the review keeps, so a
later rubric change never moves it. State changes are compare-and-set: a
review is disputed at most once and settled at most once. Messages go
through the outbox in the same transaction: the result to the agent, a
dispute to the reviewer and the agent's leads, the settlement to the agent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from coaching.assignments import mark_reviewed
from coaching.models import QaDispute, QaReview
from coaching.rubric import Category, Rubric, Score, read_scores, rubric_of, score
from store.engine import lock_for_write
from store.org import Member
from store.outbox import Planned, member_recipients, plan
from store.qa_rubrics import QaRubricVersion

RESULT, DISPUTED, SETTLED = "qa_review", "qa_dispute", "qa_settled"
KINDS = (RESULT, DISPUTED, SETTLED)
OUTCOMES = ("accepted", "partial", "rejected")
MAX_COMMENT = 2000


class QaError(ValueError):
    """The review cannot be made or changed as asked; the message says why."""


class AlreadyReviewed(QaError):
    """The agent's ticket has a review already; a second one is saved only when asked for again."""

    def __init__(self, earlier: Sequence[QaReview]) -> None:
        super().__init__(f"This ticket was reviewed for this agent already (review {', '.join(str(r.id) for r in earlier)}).")
        self.earlier = list(earlier)


@dataclass(frozen=True)
class ScoreChange:
    """What replacing one set of a review's scores with another changes: the categories, the score, passing."""

    categories: tuple[tuple[Category, Score, Score], ...]  # (category, from, to) for each category that changes
    score_before: float | None
    score_after: float | None
    passed_before: bool | None
    passed_after: bool | None


def compare(rubric: Rubric, before: Mapping[str, Score], after: Mapping[str, Score]) -> ScoreChange:
    """The change from `before` to `after` (both complete, as a review keeps them), scored with the review's rubric."""
    changed = tuple((c, before.get(c.key, "na"), after.get(c.key, "na")) for c in rubric.categories if before.get(c.key, "na") != after.get(c.key, "na"))
    old, new = score(rubric, before), score(rubric, after)
    return ScoreChange(changed, old.score, new.score, old.passed, new.passed)


def earlier_reviews(session: Session, agent: Member, ticket: str) -> list[QaReview]:
    """The reviews of `ticket` (as shown, `T-123`, `#42`) for `agent`, oldest first."""
    query = select(QaReview).where(QaReview.agent_id == agent.id, QaReview.ticket == ticket).order_by(QaReview.id)
    return list(session.scalars(query))


def rubric_for(session: Session, review: QaReview) -> Rubric:
    version = session.scalar(select(QaRubricVersion).where(QaRubricVersion.version == review.rubric_version))
    assert version is not None
    return rubric_of(version)


def _tell(session: Session, kind: str, review: QaReview, people: Sequence[Member], now: datetime, occurrence: str = "0") -> None:
    rows = [Planned(kind, f"review-{review.id}", r, occurrence, now, now + timedelta(days=1)) for p in people for r in member_recipients(p.slack_id, p.teams_id)]
    plan(session, rows, now)


def create(
    session: Session,
    reviewer: Member,
    agent: Member,
    version: QaRubricVersion,
    given: Mapping[str, str],
    *,
    ticket: str,
    ticket_url: str | None,
    comments: Mapping[str, str],
    now: datetime,
    again: bool = False,
) -> QaReview:
    """Score the ticket (RubricError lists every problem with the scores) and tell the agent.

    A ticket reviewed for the agent already is refused (AlreadyReviewed) unless
    `again`: two reviews of one ticket both count in the agent's QA figures, so a
    second one is a decision, never a slip of a repeated command.
    """
    check_comments(comments)
    rubric = rubric_of(version)
    scores = read_scores(rubric, given)
    result = score(rubric, scores)
    # Two reviewers saving the same ticket at once: the second waits for the
    # first (SQLite's write lock; the agent's row on PostgreSQL) and then sees it.
    lock_for_write(session)
    session.execute(select(Member.id).where(Member.id == agent.id).with_for_update())
    earlier = earlier_reviews(session, agent, ticket)
    if earlier and not again:
        raise AlreadyReviewed(earlier)
    review = QaReview(
        agent_id=agent.id, team_id=agent.team_id, reviewer_id=reviewer.id, ticket=ticket, ticket_url=ticket_url, rubric_version=version.version,
        scores=dict(scores), comments=dict(comments), score=result.score, passed=result.passed, state="open", created_at=now,
    )  # fmt: skip
    session.add(review)
    session.flush()
    mark_reviewed(session, review, now)  # an assigned ticket's review finishes the assignment
    _tell(session, RESULT, review, [agent], now)
    return review


def check_comments(comments: Mapping[str, str]) -> None:
    """Each comment (the review's own under "", a category's under its key) at most MAX_COMMENT characters."""
    for key, text in comments.items():
        if len(text) > MAX_COMMENT:
            raise QaError(f"The {'comment' if not key else key + ' comment'} is {len(text):,} characters long; at most {MAX_COMMENT:,}.")


def leads_of(session: Session, agent: Member) -> list[Member]:
    if agent.team_id is None:
        return []
    return list(session.scalars(select(Member).where(Member.team_id == agent.team_id, Member.role == "lead", Member.active.is_(True)).order_by(Member.id)))


def dispute(session: Session, review: QaReview, by: Member, comment: str, proposed: Mapping[str, str] | None, now: datetime) -> QaDispute:
    """The agent disputes the review once, with a comment (and, if they like, the scores they propose)."""
    comment = comment.strip()
    if not comment:
        raise QaError("Say why you dispute it: a dispute needs a comment.")
    if len(comment) > MAX_COMMENT:
        raise QaError(f"The comment is {len(comment):,} characters long; at most {MAX_COMMENT:,}.")
    checked = None
    if proposed:
        rubric = rubric_for(session, review)
        checked = dict(read_scores(rubric, {**{k: str(v) for k, v in review.scores.items()}, **proposed}))
        if checked == dict(review.scores):
            raise QaError("The scores you propose are the review's own: propose the ones you think are right, or dispute with a comment only.")
    won = session.execute(
        update(QaReview).where(QaReview.id == review.id, QaReview.state == "open").values(state="disputed").execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(review)
    if not won:
        raise QaError(f"Review {review.id} is {review.state}: it can be disputed once, while it is open.")
    record = QaDispute(review_id=review.id, by_id=by.id, comment=comment, proposed=checked, created_at=now)
    session.add(record)
    session.flush()
    reviewer = session.get(Member, review.reviewer_id)
    _tell(session, DISPUTED, review, [p for p in [reviewer, *leads_of(session, by)] if p is not None and p.id != by.id], now)
    return record


def settle(session: Session, review: QaReview, by: Member, outcome: str, new_scores: Mapping[str, str] | None, note: str | None, now: datetime) -> QaDispute:
    """Accept (the proposed scores), partly accept (with new scores) or reject a dispute; the review is locked."""
    if outcome not in OUTCOMES:
        raise QaError(f"Settle as one of {', '.join(OUTCOMES)}.")
    record = session.scalar(select(QaDispute).where(QaDispute.review_id == review.id))
    if record is None or review.state != "disputed":
        raise QaError(f"Review {review.id} has no open dispute.")
    rubric = rubric_for(session, review)
    before = dict(review.scores)
    if outcome == "accepted":
        if not record.proposed:
            raise QaError("The agent proposed no scores: settle as partial with the scores you agree on, or rejected.")
        scores: dict[str, Score] = dict(record.proposed)
    elif outcome == "partial":
        if not new_scores:
            raise QaError("A partial acceptance gives the new scores, e.g. tone=4.")
        scores = dict(read_scores(rubric, {**{k: str(v) for k, v in review.scores.items()}, **new_scores}))
    else:
        scores = before
    result = score(rubric, scores)
    won = session.execute(
        update(QaReview)
        .where(QaReview.id == review.id, QaReview.state == "disputed")
        .values(state="locked", locked_at=now, scores=scores, score=result.score, passed=result.passed)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(review)
    if not won:
        raise QaError(f"Review {review.id} was settled a moment ago.")
    record.resolved_by, record.resolved_at, record.outcome, record.note, record.before = by.id, now, outcome, (note or "").strip() or None, before
    agent = session.get(Member, review.agent_id)
    _tell(session, SETTLED, review, [agent] if agent else [], now)
    return record
