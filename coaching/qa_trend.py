"""An agent's QA scores over time, per rubric category: the figures behind `/qa trend`.

Each review is read with the rubric version it keeps (a category's fraction
is its score over its range, as `coaching.rubric.score` weighs it), so a
rubric change never moves an old point. Reviews are bucketed by the local
week they were made in (Monday first), in the viewer's zone. A category a
review scored `na` is left out of that category's mean, never counted as 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from coaching.models import QaReview
from coaching.rubric import Rubric, rubric_of, score
from store.local_time import local_date
from store.qa_rubrics import QaRubricVersion


@dataclass
class Mean:
    total: float = 0.0
    n: int = 0

    def add(self, value: float) -> None:
        self.total += value
        self.n += 1

    @property
    def value(self) -> float | None:
        return self.total / self.n if self.n else None


@dataclass
class Bucket:
    week: date  # the Monday the week starts on, local
    overall: Mean = field(default_factory=Mean)
    categories: dict[str, Mean] = field(default_factory=dict)


@dataclass(frozen=True)
class QaTrend:
    categories: tuple[tuple[str, str], ...]  # (key, name) in the current rubric's order, then any only older versions had
    buckets: tuple[Bucket, ...]  # every week of the window, oldest first, empty ones included (a gap, not a zero)
    reviews: int
    whole: Bucket  # the window as one: each category's mean over it


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def trend(session: Session, agent_id: int, start: datetime, until: datetime, zone: str) -> QaTrend:
    """The agent's reviews made in [start, until): per local week, the mean score and each category's mean fraction."""
    rubrics: dict[int, Rubric] = {}
    for version in session.scalars(select(QaRubricVersion).order_by(QaRubricVersion.version)):
        rubrics[version.version] = rubric_of(version)
    names: dict[str, str] = {}
    if rubrics:  # the newest rubric's order first: what the team scores on today
        names.update((c.key, c.name) for c in rubrics[max(rubrics)].categories)
    query = select(QaReview).where(QaReview.agent_id == agent_id, QaReview.created_at >= start, QaReview.created_at < until).order_by(QaReview.created_at, QaReview.id)
    first, last = monday(local_date(start, zone)), monday(local_date(until - timedelta(seconds=1), zone))
    weeks = {first + timedelta(weeks=i): Bucket(first + timedelta(weeks=i)) for i in range((last - first).days // 7 + 1)}
    whole = Bucket(first)
    count = 0
    for review in session.scalars(query):
        rubric = rubrics.get(review.rubric_version)
        if rubric is None:
            continue
        count += 1
        bucket = weeks[monday(local_date(review.created_at, zone))]
        result = score(rubric, dict(review.scores))
        # The stored score, not a recomputation: a settled dispute changed it and the scores together.
        if review.score is not None:
            bucket.overall.add(review.score)
            whole.overall.add(review.score)
        for c in rubric.categories:
            names.setdefault(c.key, c.name)
            fraction = result.per_category.get(c.key)
            if fraction is not None:
                bucket.categories.setdefault(c.key, Mean()).add(fraction)
                whole.categories.setdefault(c.key, Mean()).add(fraction)
    return QaTrend(tuple(names.items()), tuple(weeks.values()), count, whole)
