"""One person's shifts on call across every queue and schedule, and which of them a cover made.

The same effective timeline as `/oncall schedule` (escalation.oncall: layers,
hours, calendars and covers applied), kept where the person is on call:

- `shifts_of`: the rows of `/oncall me`, split where the reason changes, so a
  row is either the rotation's or one cover's (the latest cover in force wins,
  as in `rotations.on_call`);
- `stretches_of`: the personal calendar's events, each a whole stretch as the
  queue calendar has it (escalation.ics), so one stretch has one UID in both;
- `cover_at`: the cover that puts someone on call at an instant, for the
  handoff message.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from escalation.models import OncallOverride
from escalation.oncall import Interval, covers_in_force, plans, schedules_of, stretch_of, timeline
from escalation.rotations import Override, Schedule
from store.org import Member
from store.queues import EscalationQueue


@dataclass(frozen=True)
class Cover:
    """A cover in force: who is on call, and who added it."""

    id: int
    handle: str
    start: datetime
    end: datetime
    by_handle: str
    by_name: str
    kind: str = "replace"  # replace | add | remove (escalation.rotations)
    swap_id: int | None = None  # made by an accepted swap (escalation.swaps); `by` accepted it

    def to_json(self) -> dict[str, object]:
        return {"id": self.id, "by": self.by_handle, "kind": self.kind, **({"swap": self.swap_id} if self.swap_id else {})}


@dataclass(frozen=True)
class MyShift:
    """A stretch of one person on call for one schedule, with one reason: the rotation (cover None) or a cover."""

    queue: str
    queue_name: str
    schedule: str
    start: datetime
    end: datetime
    handle: str
    cover: Cover | None

    def to_json(self) -> dict[str, object]:
        # The keys of `/oncall schedule`'s timeline entries, and where the shift comes from.
        return {
            "queue": self.queue,
            "schedule": self.schedule,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "handles": [self.handle],
            "cover": self.cover.to_json() if self.cover else None,
        }


@dataclass(frozen=True)
class Stretch:
    """A whole stretch on call (as the queue calendar names it) and the covers that made parts of it."""

    queue: EscalationQueue
    schedule: str
    interval: Interval
    covers: tuple[Cover, ...]


def covers_for(session: Session, queue_id: int, schedule: str, start: datetime, end: datetime) -> list[Cover]:
    """The schedule's covers in force that overlap [start, end), oldest first (as escalation.oncall.overrides orders them)."""
    person, adder = aliased(Member), aliased(Member)
    rows = session.execute(
        select(OncallOverride.id, person.handle, OncallOverride.start_at, OncallOverride.end_at, adder.handle, adder.name, OncallOverride.kind, OncallOverride.swap_id)
        .join(person, person.id == OncallOverride.member_id)
        .join(adder, adder.id == OncallOverride.created_by)
        .where(*covers_in_force(queue_id, schedule, start, end))
        .order_by(OncallOverride.id)
    ).all()
    return [Cover(*row) for row in rows]


def _winner(covers: Sequence[Cover], at: datetime, handle: str) -> Cover | None:
    """The latest cover in force at `at` that puts `handle` on call (instead of someone, or beside them)."""
    covering = [c for c in covers if c.start <= at < c.end and c.handle == handle and c.kind != "remove"]
    return covering[-1] if covering else None


def _split(piece: Interval, handle: str, covers: Sequence[Cover]) -> list[tuple[datetime, datetime, Cover | None]]:
    """`piece` (the person on call throughout) cut where the reason changes: the rotation, or which cover."""
    edges = sorted({piece.start, piece.end, *(e for c in covers for e in (c.start, c.end) if piece.start < e < piece.end)})
    out: list[tuple[datetime, datetime, Cover | None]] = []
    for a, b in zip(edges, edges[1:]):
        reason = _winner(covers, a, handle)
        if out and out[-1][2] == reason:
            out[-1] = (out[-1][0], b, reason)
        else:
            out.append((a, b, reason))
    return out


def _schedules_with(session: Session, handle: str, member_id: int) -> list[tuple[EscalationQueue, Schedule]]:
    """The active queues' schedules the person can be on call for: on one of its layers, or covering for it some time."""
    covered = set(
        session.execute(
            select(OncallOverride.queue_id, OncallOverride.schedule).where(OncallOverride.member_id == member_id, OncallOverride.removed_at.is_(None))
        ).all()
    )
    out = []
    queues = session.scalars(select(EscalationQueue).where(EscalationQueue.active.is_(True)).order_by(EscalationQueue.position, EscalationQueue.id))
    for queue in queues:
        for schedule in schedules_of(queue):
            if (queue.id, schedule.key) in covered or any(handle in layer.members for layer in schedule.layers):
                out.append((queue, schedule))
    return out


def _pieces(session: Session, queue: EscalationQueue, schedule: Schedule, handle: str, start: datetime, end: datetime) -> tuple[list[Interval], list[Cover]]:
    covers = covers_for(session, queue.id, schedule.key, start, end)
    overrides = [Override(c.handle, c.start, c.end, c.kind) for c in covers]
    # Theirs alone: where others come and go beside them (mode: all, a cover adding someone), their stretch goes on.
    mine: list[Interval] = []
    for piece in timeline(schedule, overrides, start, end, plans(session, queue.id, schedule, start, end)):
        if handle not in piece.handles:
            continue
        if mine and mine[-1].end == piece.start:
            mine[-1] = Interval(mine[-1].start, piece.end, (handle,))
        else:
            mine.append(Interval(piece.start, piece.end, (handle,)))
    return mine, covers


def shifts_of(session: Session, member: Member, start: datetime, end: datetime) -> list[MyShift]:
    """The person's shifts in [start, end) across every queue, clipped to it, in time order."""
    out: list[MyShift] = []
    for queue, schedule in _schedules_with(session, member.handle, member.id):
        pieces, covers = _pieces(session, queue, schedule, member.handle, start, end)
        for piece in pieces:
            out += [MyShift(queue.key, queue.name, schedule.key, a, b, member.handle, why) for a, b, why in _split(piece, member.handle, covers)]
    out.sort(key=lambda s: (s.start, s.queue, s.schedule))
    return out


def stretches_of(session: Session, member: Member, start: datetime, end: datetime) -> list[Stretch]:
    """The person's whole stretches on call that overlap [start, end), each with the covers that made any of it."""
    out: list[Stretch] = []
    for queue, schedule in _schedules_with(session, member.handle, member.id):
        pieces, _ = _pieces(session, queue, schedule, member.handle, start, end)
        for piece in pieces:
            whole = stretch_of(session, queue, schedule, piece, start, end)
            covers = covers_for(session, queue.id, schedule.key, whole.start, whole.end)
            made = {why.id: why for _, _, why in _split(Interval(whole.start, whole.end, (member.handle,)), member.handle, covers) if why is not None}
            out.append(Stretch(queue, schedule.key, Interval(whole.start, whole.end, (member.handle,)), tuple(made.values())))
    out.sort(key=lambda s: (s.interval.start, s.queue.key, s.schedule))
    return out


def cover_at(session: Session, queue: EscalationQueue, schedule: str, handle: str, at: datetime) -> Cover | None:
    """The cover that has `handle` on call for the schedule at `at`, if a cover is why."""
    return _winner(covers_for(session, queue.id, schedule, at, at + timedelta(seconds=1)), at, handle)


__all__ = ["Cover", "MyShift", "Stretch", "cover_at", "covers_for", "shifts_of", "stretches_of"]
