"""Blind QA calibration: several reviewers score the same ticket; nobody sees the others' scores until all
have scored or the deadline passes; then everyone gets the per-category spread.

The reveal is a compare-and-set on `revealed_at`, done by the last scorer's
transaction or by the sweep at the deadline (the `coaching` tick job),
whichever comes first, so it happens once. Scores live in their own table
and never count in a KPI.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from coaching.models import QaCalibration, QaCalibrationScore
from coaching.qa import check_comments
from coaching.rubric import Rubric, read_scores, rubric_of, score
from store.database import Database
from store.org import Member
from store.outbox import Planned, member_recipients, plan
from store.qa_rubrics import QaRubricVersion

ASKED, REVEALED = "qa_calibrate", "qa_calibrated"  # outbox kinds: the request to each reviewer; the spread to everyone
KINDS = (ASKED, REVEALED)
MIN_REVIEWERS, MAX_REVIEWERS = 2, 10
DEFAULT_SPAN = timedelta(days=7)


class CalibrationError(ValueError):
    """The calibration cannot be started or scored as asked; the message says why."""


def rubric_for(session: Session, calibration: QaCalibration) -> Rubric:
    version = session.scalar(select(QaRubricVersion).where(QaRubricVersion.version == calibration.rubric_version))
    assert version is not None
    return rubric_of(version)


def start(
    session: Session, by: Member, reviewers: Sequence[Member], version: QaRubricVersion, *, ticket: str, ticket_url: str | None, deadline: datetime, now: datetime
) -> QaCalibration:
    unique = list({r.id: r for r in reviewers}.values())
    if len(unique) < MIN_REVIEWERS:
        raise CalibrationError(f"A calibration needs at least {MIN_REVIEWERS} different reviewers.")
    if len(unique) > MAX_REVIEWERS:
        raise CalibrationError(f"{len(unique)} reviewers; at most {MAX_REVIEWERS}.")
    if deadline <= now:
        raise CalibrationError("The deadline has passed: give a later date.")
    record = QaCalibration(ticket=ticket, ticket_url=ticket_url, created_by=by.id, rubric_version=version.version, deadline=deadline, created_at=now)
    session.add(record)
    session.flush()
    session.add_all(QaCalibrationScore(calibration_id=record.id, reviewer_id=r.id, comments={}) for r in unique)
    session.flush()
    _tell(session, ASKED, record, unique, now, record.deadline)
    return record


def _tell(session: Session, kind: str, record: QaCalibration, people: Sequence[Member], now: datetime, until: datetime) -> None:
    rows = [Planned(kind, f"calibration-{record.id}", r, "0", now, max(until, now + timedelta(hours=1))) for p in people for r in member_recipients(p.slack_id, p.teams_id)]
    plan(session, rows, now)


def entries(session: Session, record: QaCalibration) -> list[QaCalibrationScore]:
    return list(session.scalars(select(QaCalibrationScore).where(QaCalibrationScore.calibration_id == record.id).order_by(QaCalibrationScore.id)))


def entry_of(session: Session, record: QaCalibration, member: Member) -> QaCalibrationScore | None:
    return session.scalar(select(QaCalibrationScore).where(QaCalibrationScore.calibration_id == record.id, QaCalibrationScore.reviewer_id == member.id))


def submit(session: Session, record: QaCalibration, reviewer: Member, given: Mapping[str, str], comments: Mapping[str, str], now: datetime) -> bool:
    """Score blind, once, before the reveal (RubricError lists problems with the scores); True when this revealed it."""
    # The calibration's row is locked first, so of two last scores at once the
    # second waits and then sees the first: one of them reveals, never neither.
    session.execute(select(QaCalibration.id).where(QaCalibration.id == record.id).with_for_update())
    session.refresh(record)
    entry = entry_of(session, record, reviewer)
    if entry is None:
        raise CalibrationError(f"You are not one of calibration {record.id}'s reviewers.")
    if record.revealed_at is not None:
        raise CalibrationError(f"Calibration {record.id} is closed: its scores were revealed.")
    if now >= record.deadline:
        raise CalibrationError(f"Calibration {record.id} is closed: its deadline passed.")
    check_comments(comments)
    rubric = rubric_for(session, record)
    scores = read_scores(rubric, given)
    won = session.execute(
        update(QaCalibrationScore)
        .where(QaCalibrationScore.id == entry.id, QaCalibrationScore.scored_at.is_(None))
        .values(scores=dict(scores), comments=dict(comments), score=score(rubric, scores).score, scored_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not won:
        raise CalibrationError(f"You have scored calibration {record.id} already: a blind score is given once.")
    session.flush()
    if all(e.scored_at is not None for e in _fresh(session, record)):
        return reveal(session, record, now)
    return False


def _fresh(session: Session, record: QaCalibration) -> list[QaCalibrationScore]:
    found = entries(session, record)
    for e in found:
        session.refresh(e)
    return found


def reveal(session: Session, record: QaCalibration, now: datetime) -> bool:
    """Open the scores to everyone (once) and tell the reviewers and whoever asked."""
    won = session.execute(
        update(QaCalibration).where(QaCalibration.id == record.id, QaCalibration.revealed_at.is_(None)).values(revealed_at=now).execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(record)
    if not won:
        return False
    people = [session.get(Member, e.reviewer_id) for e in entries(session, record)] + [session.get(Member, record.created_by)]
    _tell(session, REVEALED, record, list({p.id: p for p in people if p is not None}.values()), now, now + timedelta(days=1))
    return True


def reveal_due(db: Database, now: datetime) -> int:
    """The sweep: reveal every calibration whose deadline has passed, or that everyone has scored."""
    done = 0
    with db.sessions() as session, session.begin():
        waiting = select(QaCalibrationScore.calibration_id).where(QaCalibrationScore.scored_at.is_(None))
        due = session.scalars(
            select(QaCalibration).where(QaCalibration.revealed_at.is_(None), or_(QaCalibration.deadline <= now, QaCalibration.id.not_in(waiting)))
        )
        for record in list(due):
            done += reveal(session, record, now)
    return done


@dataclass(frozen=True)
class Spread:
    """One category across the reviewers who scored it: the values given and the range as a share of the scale."""

    key: str
    name: str
    values: dict[str, int | str]  # reviewer handle -> value or "na"
    spread: float | None  # (max - min) / (scale max - scale min) of the scored values; None when fewer than two scored


def spreads(session: Session, record: QaCalibration) -> list[Spread]:
    rubric = rubric_for(session, record)
    scored = [(session.get(Member, e.reviewer_id), e) for e in entries(session, record) if e.scores is not None]
    out = []
    for c in rubric.categories:
        values = {m.handle if m else "?": e.scores.get(c.key, "na") for m, e in scored if e.scores is not None}
        numbers = [v for v in values.values() if isinstance(v, int)]
        span = c.scale.high - c.scale.low
        out.append(Spread(c.key, c.name, values, (max(numbers) - min(numbers)) / span if len(numbers) >= 2 and span else None))
    return out
