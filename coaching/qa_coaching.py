"""From a QA score to coaching: which reviews call for a session, reviews cited by sessions and notes, QA before and after.

A session or note cites a review by saying `review 123` in its text (the
Start coaching form writes it there), so a citation needs no extra column
and reads the same in chat as in the record. Only a review of the same
agent counts as cited: `review 9` in a note about Alice is just words when
review 9 is about Bob.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from coaching.models import QaReview
from coaching.rubric import Rubric, Score, score

_CITE = re.compile(r"\breview\s+#?(\d{1,9})\b", re.IGNORECASE)


@dataclass(frozen=True)
class Shortfall:
    """Why a review calls for coaching: below the pass mark, critical categories failed, and the weak categories."""

    below_pass: bool
    critical_failed: tuple[str, ...]
    low: tuple[str, ...]  # categories scored below half their range (critical or not)

    @property
    def calls_for_coaching(self) -> bool:
        return self.below_pass or bool(self.critical_failed)


def shortfall(rubric: Rubric, scores: dict[str, Score]) -> Shortfall:
    """What in a review's scores calls for coaching (nothing when it passed with no critical category failed)."""
    result = score(rubric, scores)
    low = tuple(k for k, fraction in result.per_category.items() if fraction is not None and fraction < 0.5)
    return Shortfall(result.passed is False, result.critical_failed, low)


def cited_numbers(texts: Iterable[str]) -> list[int]:
    """The review numbers `review 123` (or `review #123`) names in `texts`, in order, each once."""
    found: list[int] = []
    for text in texts:
        for match in _CITE.finditer(text or ""):
            number = int(match.group(1))
            if number not in found:
                found.append(number)
    return found


def cited_reviews(session: Session, agent_id: int, texts: Iterable[str]) -> list[QaReview]:
    """The reviews of `agent_id` that `texts` cite, oldest first."""
    numbers = cited_numbers(texts)
    if not numbers:
        return []
    query = select(QaReview).where(QaReview.id.in_(numbers), QaReview.agent_id == agent_id).order_by(QaReview.id)
    return list(session.scalars(query))


@dataclass(frozen=True)
class QaSpan:
    mean: float | None  # the mean review score, None with no scored review
    n: int


def qa_between(session: Session, agent_id: int, start: datetime, end: datetime) -> QaSpan:
    """The agent's mean QA score over reviews made in [start, end): the figure `qa_score` is, with its n."""
    stmt = select(func.avg(QaReview.score), func.count(QaReview.score)).where(
        QaReview.agent_id == agent_id, QaReview.created_at >= start, QaReview.created_at < end, QaReview.score.is_not(None)
    )
    mean, n = session.execute(stmt).one()
    return QaSpan(float(mean) if mean is not None else None, int(n))


def categories_text(rubric: Rubric, keys: Sequence[str]) -> str:
    names = {c.key: c.name for c in rubric.categories}
    return ", ".join(names.get(k, k) for k in keys)
