"""QA figures for the KPI engine: qa_score, qa_pass_rate, qa_reviews and qa_coverage.

- qa_reviews: reviews made (created_at) in the window that have a score; a
  review whose categories were all `na` has none and counts nowhere.
- qa_score: the mean score of those reviews, 0–1.
- qa_pass_rate: the share of them that passed (the pass mark of the rubric
  version each was scored with).
- qa_coverage: of the weekly sample's assignments due in the window
  (coaching.assignments; `qa_assigned` of them), the share reviewed. One
  skipped (given back) or rolled into the next week counts there, not here;
  one still open counts as not reviewed (yet).
A team's figures are the reviews made while the agent was on it
(`qa_reviews.team_id`). Calibration scores live in their own table, so they
can never count here. Reviews are few (a handful per agent per week), so they
are read as rows and added up in Python: the same code for every scope.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Column, ColumnElement, exists, select
from sqlalchemy.sql.visitors import replacement_traverse
from sqlalchemy.orm import Session

from coaching.models import QaAssignment, QaReview
from store.qa_rubrics import QaRubricVersion

QA_NAMES = ("qa_score", "qa_pass_rate", "qa_reviews", "qa_coverage", "qa_assigned")
R = QaReview.__table__.c
A = QaAssignment.__table__.c
# An assignment's states that count as assigned in its week (coaching.models.QaAssignment).
COUNTED = ("open", "done", "lapsed")


@dataclass
class Tally:
    scores: list[float] = field(default_factory=list)
    passed: int = 0
    assigned: int = 0
    done: int = 0

    def add(self, score: float, passed: bool | None) -> None:
        self.scores.append(score)
        self.passed += bool(passed)

    def assign(self, state: str) -> None:
        self.assigned += 1
        self.done += state == "done"

    def metrics(self) -> dict[str, float | int | None]:
        n = len(self.scores)
        return {
            "qa_score": math.fsum(self.scores) / n if n else None,
            "qa_pass_rate": self.passed / n if n else None,
            "qa_reviews": n,
            "qa_coverage": self.done / self.assigned if self.assigned else None,
            "qa_assigned": self.assigned,
        }


EMPTY: dict[str, float | int | None] = Tally().metrics()


def hidden(metrics: dict[str, float | int | None]) -> dict[str, float | int | None]:
    """`metrics` without its QA figures (None), for a reader who may not see them pooled."""
    return {**metrics, **dict.fromkeys(QA_NAMES)}


def condition(team_id: int | None, agent_id: int | None) -> list[ColumnElement[bool]]:
    """The reviews of one agent, one team, or everyone (both None)."""
    if agent_id is not None:
        return [R.agent_id == agent_id]
    if team_id is not None:
        return [R.team_id == team_id]
    return []


def _on_assignments(expression: Any) -> Any:
    """A condition or column on the reviews (agent_id, team_id) as the same on the assignments."""
    return replacement_traverse(expression, {}, lambda element: A[element.name] if isinstance(element, Column) and element.table is QaReview.__table__ else None)


def tallies(session: Session, where: Sequence[ColumnElement[bool]], start: datetime, end: datetime, by: Any = None) -> dict[Any, Tally]:
    """The scored reviews made in [start, end) and the assignments due in it, grouped by `by` (a review column) or all under None."""
    out: dict[Any, Tally] = defaultdict(Tally)
    key = [by] if by is not None else []
    stmt = select(*key, R.score, R.passed).where(*where, R.score.is_not(None), R.created_at >= start, R.created_at < end)
    for *group, score, passed in session.execute(stmt):
        out[group[0] if group else None].add(score, passed)
    assigned = select(*(_on_assignments(k) for k in key), A.state).where(
        *(_on_assignments(w) for w in where), A.state.in_(COUNTED), A.due_at >= start, A.due_at < end
    )
    for *group, state in session.execute(assigned):
        out[group[0] if group else None].assign(state)
    return out


def series(session: Session, where: Sequence[ColumnElement[bool]], bounds: Sequence[datetime]) -> list[Tally]:
    """A tally for each window [bounds[i], bounds[i + 1])."""
    out = [Tally() for _ in bounds[1:]]
    stmt = select(R.created_at, R.score, R.passed).where(*where, R.score.is_not(None), R.created_at >= bounds[0], R.created_at < bounds[-1])
    for at, score, passed in session.execute(stmt):
        out[bisect_right(bounds, at) - 1].add(score, passed)
    assigned = select(A.due_at, A.state).where(*(_on_assignments(w) for w in where), A.state.in_(COUNTED), A.due_at >= bounds[0], A.due_at < bounds[-1])
    for at, state in session.execute(assigned):
        out[bisect_right(bounds, at) - 1].assign(state)
    return out


def by_agent(session: Session, agent_ids: Collection[int], start: datetime, end: datetime) -> dict[Any, Tally]:
    return tallies(session, [R.agent_id.in_(list(agent_ids))], start, end, by=R.agent_id)


def in_use(session: Session) -> bool:
    """Whether the organisation reviews tickets at all (it has, or had, a rubric).

    Cards and tables show the QA lines only then, so a team that does no QA
    is not shown three empty rows.
    """
    return bool(session.scalar(select(exists().where(QaRubricVersion.id.is_not(None)))))
