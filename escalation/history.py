"""Recorded on-call history: who was actually on call, whatever the org file says later.

The effective timeline (escalation.oncall) is computed from the org file and
the covers as they are now, so it cannot say who *was* on call once a
rotation is reordered, a schedule edited or a cover removed. `record`
writes it down as time passes instead: each pass appends, per queue and
schedule, the timeline from where the last pass stopped up to `now`
(extending a stretch that runs on, so one stretch is one row), and moves
that mark. It is the `oncall` job of `csbot tick`; doing it twice, or for
an earlier moment, records nothing twice (the mark is already there).

- A schedule seen for the first time is recorded from that pass on
  (`begin` lets the demo seed its past); nothing before is made up.
- A pass missed while csbot was down is caught up from the timeline as it
  is at the catch-up, at most CATCHUP back: a longer outage leaves a hole
  (a new recorded span starts), which `/oncall history` names as not recorded.
- A schedule that leaves the file (or whose queue does) stops being
  recorded; if it comes back, recording starts again from then.
- Passes are serialised (SQLite's write lock; a PostgreSQL advisory lock),
  so two replicas never both append the same stretch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from escalation.models import OncallRecorded, OncallStretch
from escalation.oncall import Interval, queue_timeline, schedules_of
from store.database import Database
from store.engine import write_transaction
from store.locks import lock_key
from store.org import Member
from store.queues import EscalationQueue

# How far back a pass fills in time nobody recorded (csbot down, the job off): a week of
# outage is caught up from the timeline as it then is; anything older stays a hole.
CATCHUP = timedelta(days=7)


def record_history(db: Database, now: datetime, *, begin: datetime | None = None) -> int:
    """Record every active queue's on-call history up to `now`; how many stretches were added or extended."""
    with write_transaction(db.sessions) as session:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(select(func.pg_advisory_xact_lock(lock_key("oncall-history"))))
        return record(session, now, begin=begin)


def record(session: Session, now: datetime, *, begin: datetime | None = None) -> int:
    """`record_history` inside the caller's write transaction (which must hold the lock)."""
    changed = 0
    present: set[tuple[int, str]] = set()
    for queue in session.scalars(select(EscalationQueue).where(EscalationQueue.active.is_(True)).order_by(EscalationQueue.id)):
        for schedule in schedules_of(queue):
            present.add((queue.id, schedule.key))
            span = session.scalar(
                select(OncallRecorded)
                .where(OncallRecorded.queue_id == queue.id, OncallRecorded.schedule == schedule.key)
                .order_by(OncallRecorded.start_at.desc())
                .limit(1)
            )
            if span is not None and span.end_at >= now:
                continue  # recorded this far already: a second pass, or one for an earlier moment
            if span is None or span.closed or span.end_at < now - CATCHUP:
                span = _new_span(session, queue.id, schedule.key, _first(span, now, begin))
            if span.end_at < now:
                changed += _append(session, queue.id, schedule.key, queue_timeline(session, queue, schedule, span.end_at, now), span.end_at)
                span.end_at = now
    # A schedule no longer in the file (or its queue gone) had nobody on call by it: what comes later is not its to fill.
    for span in session.scalars(select(OncallRecorded).where(OncallRecorded.closed.is_(False))):
        if (span.queue_id, span.schedule) not in present:
            span.closed = True
    session.flush()
    return changed


def _first(span: OncallRecorded | None, now: datetime, begin: datetime | None) -> datetime:
    """Where a new recorded span starts: now for a schedule seen for the first time (or `begin`, to seed a
    demo's past) or back again in the file; the start of the catch-up after an outage longer than it."""
    if span is None:
        return min(begin, now) if begin is not None else now
    if span.closed:
        return now
    return now - CATCHUP


def _new_span(session: Session, queue_id: int, schedule: str, start: datetime) -> OncallRecorded:
    span = OncallRecorded(queue_id=queue_id, schedule=schedule, start_at=start, end_at=start, closed=False)
    session.add(span)
    session.flush()
    return span


def _runs(pieces: Sequence[Interval]) -> dict[str, list[tuple[datetime, datetime]]]:
    """Each person's unbroken stretches over the pieces (a stretch goes on while others come and go beside them)."""
    runs: dict[str, list[tuple[datetime, datetime]]] = {}
    for piece in pieces:
        for handle in piece.handles:
            mine = runs.setdefault(handle, [])
            if mine and mine[-1][1] == piece.start:
                mine[-1] = (mine[-1][0], piece.end)
            else:
                mine.append((piece.start, piece.end))
    return runs


def _append(session: Session, queue_id: int, schedule: str, pieces: Sequence[Interval], since: datetime) -> int:
    runs = _runs(pieces)
    if not runs:
        return 0
    ids = dict(session.execute(select(Member.handle, Member.id).where(Member.handle.in_(runs))).all())
    changed = 0
    for handle, stretches in runs.items():
        member_id = ids.get(handle)
        if member_id is None:
            continue  # the file names only its members; a handle csbot does not know cannot be recorded
        for start, end in stretches:
            going_on = None
            if start == since:
                going_on = session.scalar(
                    select(OncallStretch).where(
                        OncallStretch.queue_id == queue_id, OncallStretch.schedule == schedule,
                        OncallStretch.member_id == member_id, OncallStretch.end_at == since,
                    )
                )  # fmt: skip
            if going_on is not None:
                going_on.end_at = end
            else:
                session.add(OncallStretch(queue_id=queue_id, schedule=schedule, member_id=member_id, start_at=start, end_at=end))
            changed += 1
    return changed


@dataclass(frozen=True)
class Recorded:
    """One person's recorded stretch on call, clipped to the window asked about."""

    schedule: str
    handle: str
    name: str
    start: datetime
    end: datetime
    ongoing: bool  # still on call when history was last recorded

    @property
    def seconds(self) -> int:
        return int((self.end - self.start).total_seconds())

    def to_json(self) -> dict[str, object]:
        return {
            "schedule": self.schedule, "handle": self.handle, "start": self.start.isoformat(), "end": self.end.isoformat(),
            "seconds": self.seconds, "ongoing": self.ongoing,
        }  # fmt: skip


@dataclass(frozen=True)
class History:
    stretches: list[Recorded]
    spans: list[tuple[str, datetime, datetime]]  # (schedule, start, end): when history was recorded, within the window


def history(session: Session, queue: EscalationQueue, schedules: Sequence[str] | None, start: datetime, end: datetime) -> History:
    """The recorded stretches of the queue's schedules (all when None) that overlap [start, end), oldest first."""
    query = (
        select(OncallStretch, Member.handle, Member.name)
        .join(Member, Member.id == OncallStretch.member_id)
        .where(OncallStretch.queue_id == queue.id, OncallStretch.end_at > start, OncallStretch.start_at < end)
        .order_by(OncallStretch.start_at, OncallStretch.schedule, Member.handle)
    )
    spans_query = select(OncallRecorded).where(OncallRecorded.queue_id == queue.id, OncallRecorded.end_at > start, OncallRecorded.start_at < end)
    if schedules is not None:
        query = query.where(OncallStretch.schedule.in_(schedules))
        spans_query = spans_query.where(OncallRecorded.schedule.in_(schedules))
    marks = dict(
        session.execute(
            select(OncallRecorded.schedule, func.max(OncallRecorded.end_at)).where(OncallRecorded.queue_id == queue.id).group_by(OncallRecorded.schedule)
        ).all()
    )
    stretches = [
        Recorded(row.schedule, handle, name, max(row.start_at, start), min(row.end_at, end), row.end_at >= marks.get(row.schedule, row.end_at))
        for row, handle, name in session.execute(query)
    ]
    spans = [
        (s.schedule, max(s.start_at, start), min(s.end_at, end))
        for s in session.scalars(spans_query.order_by(OncallRecorded.schedule, OncallRecorded.start_at))
        if min(s.end_at, end) > max(s.start_at, start)
    ]
    return History(stretches, spans)


def recorded_schedules(session: Session, queue: EscalationQueue) -> list[str]:
    """Every schedule of the queue with recorded history, those the file no longer has included."""
    return list(session.scalars(select(OncallRecorded.schedule).where(OncallRecorded.queue_id == queue.id).distinct().order_by(OncallRecorded.schedule)))


__all__ = ["CATCHUP", "History", "Recorded", "history", "record", "record_history", "recorded_schedules"]
