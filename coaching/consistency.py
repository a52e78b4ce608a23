"""Reviewer consistency over a window: how far calibration reviewers agree, who drifts from the consensus,
and who scores ordinary reviews harder or softer than their team.

Calibrations count once revealed (their scores are final then), by when they
were revealed. Agreement is Krippendorff's alpha (`coaching.agreement`):
ordinal for a numeric scale, nominal for pass-fail, ordinal over the review
scores for the whole rubric. A calibration kept its rubric version, so a
category is taken with the scale it was scored on: one whose scale changed
between versions is reported once per scale.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from coaching.agreement import Alpha, Deviation, Level, Value, alpha, deviations
from coaching.calibration import rubric_for
from coaching.models import QaCalibration, QaCalibrationScore, QaReview
from coaching.rubric import NA, PASS_FAIL, Rubric


@dataclass(frozen=True)
class CategoryAgreement:
    key: str
    name: str
    scale: str  # `0-2`, `1-5`, `pass-fail`
    level: Level
    alpha: Alpha


@dataclass(frozen=True)
class CalibrationReport:
    calibrations: int  # revealed in the window (and, for a scope, with one of its reviewers)
    categories: tuple[CategoryAgreement, ...]
    overall: Alpha  # over each reviewer's score for the whole rubric
    reviewers: tuple[Deviation, ...]  # coder: the reviewer's member id; largest drift first


def revealed_between(session: Session, start: datetime, until: datetime, reviewers: Collection[int] | None = None) -> list[QaCalibration]:
    """Calibrations revealed in [start, until); with `reviewers`, only those at least one of them took part in."""
    query = select(QaCalibration).where(QaCalibration.revealed_at.is_not(None), QaCalibration.revealed_at >= start, QaCalibration.revealed_at < until)
    if reviewers is not None:
        query = query.where(QaCalibration.id.in_(select(QaCalibrationScore.calibration_id).where(QaCalibrationScore.reviewer_id.in_(list(reviewers)))))
    return list(session.scalars(query.order_by(QaCalibration.id)))


def _value(scores: dict[str, int | str] | None, key: str) -> Value | None:
    """A reviewer's value for a category: None when they did not score, or scored `na` (no judgement on the scale)."""
    if scores is None:
        return None
    v = scores.get(key, NA)
    return None if v == NA else v


def calibration_report(session: Session, start: datetime, until: datetime, reviewers: Collection[int] | None = None) -> CalibrationReport:
    """Agreement per category and overall, and each reviewer's deviation, over the calibrations revealed in the window.

    With `reviewers`, the calibrations are those any of them took part in (alpha
    is over every score in them: agreement is between all who scored), and the
    deviations listed are theirs only.
    """
    found = revealed_between(session, start, until, reviewers)
    rubrics: dict[int, Rubric] = {}
    units: dict[tuple[str, str], list[list[Value | None]]] = {}
    names: dict[tuple[str, str], str] = {}
    items: list[tuple[dict[Hashable, Value | None], Value, Value]] = []
    overall: list[list[Value | None]] = []
    # Every reviewer's entry of every calibration in one read, not one per calibration.
    by_calibration: dict[int, list[QaCalibrationScore]] = {}
    ids = [r.id for r in found]
    for entry in session.scalars(select(QaCalibrationScore).where(QaCalibrationScore.calibration_id.in_(ids)).order_by(QaCalibrationScore.id)) if ids else ():
        by_calibration.setdefault(entry.calibration_id, []).append(entry)
    for record in found:
        if record.rubric_version not in rubrics:
            rubrics[record.rubric_version] = rubric_for(session, record)
        rubric = rubrics[record.rubric_version]
        scored = by_calibration.get(record.id, [])
        for c in rubric.categories:
            given: dict[Hashable, Value | None] = {e.reviewer_id: _value(e.scores, c.key) for e in scored}
            units.setdefault((c.key, c.scale.text), []).append(list(given.values()))
            names.setdefault((c.key, c.scale.text), c.name)
            items.append((given, c.scale.low, c.scale.high))
        # The whole rubric's score (None when every category was na, or not scored): fractions of 1, ranked.
        overall.append([Fraction(e.score) if e.score is not None else None for e in scored])
    categories = tuple(
        CategoryAgreement(key, names[(key, scale)], scale, level, alpha(found_units, level))
        for (key, scale), found_units in units.items()
        for level in ["nominal" if scale == PASS_FAIL else "ordinal"]
    )
    drift = [d for d in deviations(items) if reviewers is None or d.coder in reviewers]
    drift.sort(key=lambda d: (-d.mean_absolute, str(d.coder)))
    return CalibrationReport(len(found), categories, alpha(overall, "ordinal"), tuple(drift))


@dataclass(frozen=True)
class Distribution:
    """Reviews with a score in the window: how many, their mean score, and the share that did not pass."""

    n: int
    mean: float | None
    fail_share: float | None


@dataclass(frozen=True)
class ReviewerScores:
    team_id: int | None
    reviewer_id: int
    reviewer: Distribution
    team: Distribution  # every reviewer's reviews of that team's agents, this one's included


def _distribution(n: int, total: float | None, fails: int | None) -> Distribution:
    return Distribution(n, (total or 0.0) / n if n else None, (fails or 0) / n if n else None)


def reviewer_scores(session: Session, start: datetime, until: datetime, teams: Collection[int] | None = None) -> list[ReviewerScores]:
    """Each reviewer's reviews per team (the agent's team when reviewed) against all that team's reviews in [start, until).

    Reviews without a score (every category `na`) count nowhere, as in the QA KPIs.
    """
    fails = func.sum(case((QaReview.passed.is_(False), 1), else_=0))
    base = select(QaReview.team_id, func.count(QaReview.id), func.sum(QaReview.score), fails).where(
        QaReview.score.is_not(None), QaReview.created_at >= start, QaReview.created_at < until
    )
    if teams is not None:
        base = base.where(QaReview.team_id.in_(list(teams)))
    per_team = {team: _distribution(n, total, failed) for team, n, total, failed in session.execute(base.group_by(QaReview.team_id)).all()}
    per_reviewer = session.execute(base.add_columns(QaReview.reviewer_id).group_by(QaReview.team_id, QaReview.reviewer_id)).all()
    return [ReviewerScores(team, reviewer, _distribution(n, total, failed), per_team[team]) for team, n, total, failed, reviewer in per_reviewer]
