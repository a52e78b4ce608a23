"""A queue's schedules as rotations, their overrides, and the effective on-call timeline over a span.

`timeline` is the one computation behind `/oncall`, `/oncall schedule`,
`/oncall gaps`, the calendar export and the pages: the instants where
anything can change (handoffs, the edges of working hours, overrides)
split the span, each piece gets whoever `rotations.on_call` says, and
neighbours with the same person are merged.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from escalation.models import OncallOverride, OncallPlan
from escalation.rotations import Hours, Layer, Override, Plan, Schedule, Shift, handoff, on_call_all, parse_start, regimes, shift_number
from store.business_time import open_intervals
from store.calendar_file import CalendarSpec
from store.calendars import business_calendar
from store.org import Member
from store.queues import EscalationQueue

# How far `/oncall` looks for the end of a shift and the next person.
LOOKAHEAD = timedelta(days=62)


@dataclass(frozen=True)
class Interval:
    start: datetime
    end: datetime
    handles: tuple[str, ...]  # sorted; empty for a gap

    def to_json(self) -> dict[str, object]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "handles": list(self.handles)}


def schedules_of(queue: EscalationQueue) -> list[Schedule]:
    """The queue's schedules as the org file wrote them (it checked every field)."""
    return [
        Schedule(
            s["key"],
            s["timezone"],
            tuple(
                Layer(
                    tuple(layer["members"]),
                    Shift.parse(layer["shift"]),
                    parse_start(layer["start"]),
                    Hours.parse(layer["hours"]) if layer.get("hours") else None,
                    business_calendar(CalendarSpec.from_dict(layer["calendar"])) if layer.get("calendar") else None,
                    layer.get("mode", "rotate"),
                    current_of(layer.get("current")),
                )
                for layer in s["layers"]
            ),
        )
        for s in queue.schedules
    ]


def current_of(stored: dict[str, str] | None) -> tuple[str, datetime] | None:
    """A layer's stored `current` ({"handle", "since"}) as rotations read it."""
    return (stored["handle"], parse_start(stored["since"])) if stored else None


def schedule_of(queue: EscalationQueue, key: str) -> Schedule | None:
    return next((s for s in schedules_of(queue) if s.key == key), None)


def covers_in_force(queue_id: int, schedule: str, start: datetime, end: datetime) -> tuple[Any, ...]:
    """The conditions of a schedule's covers in force that overlap [start, end)."""
    return (
        OncallOverride.queue_id == queue_id,
        OncallOverride.schedule == schedule,
        OncallOverride.removed_at.is_(None),
        OncallOverride.end_at > start,
        OncallOverride.start_at < end,
    )


def overrides(session: Session, queue_id: int, schedule: str, start: datetime, end: datetime) -> list[Override]:
    """The covers in force for the schedule that overlap [start, end), oldest first (applied in that order)."""
    rows = session.execute(
        select(OncallOverride.start_at, OncallOverride.end_at, Member.handle, OncallOverride.kind)
        .join(Member, Member.id == OncallOverride.member_id)
        .where(*covers_in_force(queue_id, schedule, start, end))
        .order_by(OncallOverride.id)
    ).all()
    return [Override(handle, s, e, kind) for s, e, handle, kind in rows]


def _handoffs(layer: Layer, zone: str, start: datetime, end: datetime) -> Iterable[datetime]:
    n = shift_number(layer, zone, start)
    n = 0 if n is None else n
    while (at := handoff(layer, zone, n)) < end:
        yield at
        n += 1


def _layer_edges(layer: Layer, zone: str, start: datetime, end: datetime) -> Iterable[datetime]:
    before, later, since = regimes(layer, zone)
    if later is None or since is None:
        yield from _handoffs(layer, zone, start, end)
    else:  # the handoffs of the old order until `current` takes over, then of the new
        yield from _handoffs(before, zone, start, min(end, since))
        yield since
        yield from _handoffs(later, zone, max(start, since), end)
    if layer.hours is not None:
        # Hours are instants (Hours.span): their edges are exact, whatever the clocks do.
        day = start.astimezone(ZoneInfo(zone)).date() - timedelta(days=1)
        last = end.astimezone(ZoneInfo(zone)).date() + timedelta(days=1)
        while day <= last:
            if (span := layer.hours.span(day, zone)) is not None:
                yield from span
            day += timedelta(days=1)
    if layer.calendar is not None:
        for opens, closes in open_intervals(layer.calendar, start, end):
            yield opens
            yield closes


def plans(session: Session, queue_id: int, schedule: Schedule, start: datetime, end: datetime) -> list[Plan]:
    """The temporary plans in force for the schedule that overlap [start, end)."""
    rows = session.scalars(
        select(OncallPlan).where(
            OncallPlan.queue_id == queue_id, OncallPlan.schedule == schedule.key, OncallPlan.removed_at.is_(None),
            OncallPlan.end_at > start, OncallPlan.start_at < end,
        ).order_by(OncallPlan.id)
    )  # fmt: skip
    return [plan_of(row, schedule.timezone) for row in rows]


def plan_of(row: OncallPlan, zone: str) -> Plan:
    """A stored plan as rotations read it: its members take turns from its start (on the schedule's wall clock)."""
    wall = row.start_at.astimezone(ZoneInfo(zone)).replace(tzinfo=None)
    return Plan(row.start_at, row.end_at, Layer(tuple(row.members), Shift.parse(row.shift), wall))


def timeline(schedule: Schedule, covers: Sequence[Override], start: datetime, end: datetime, temporary: Sequence[Plan] = ()) -> list[Interval]:
    """Consecutive intervals covering [start, end), each with who is on call (merged where it does not change)."""
    edges = {start, end}
    for layer in schedule.layers:
        edges.update(e for e in _layer_edges(layer, schedule.timezone, start, end) if start < e < end)
    for plan in temporary:
        edges.update(e for e in (plan.start, plan.end) if start < e < end)
        edges.update(e for e in _layer_edges(plan.layer, schedule.timezone, max(start, plan.start), min(end, plan.end)) if start < e < end)
    for cover in covers:
        edges.update(e for e in (cover.start, cover.end) if start < e < end)
    points = sorted(edges)
    out: list[Interval] = []
    for a, b in zip(points, points[1:]):
        handles = on_call_all(schedule, a, covers, temporary)
        if out and out[-1].handles == handles:
            out[-1] = Interval(out[-1].start, b, handles)
        else:
            out.append(Interval(a, b, handles))
    return out


def queue_timeline(session: Session, queue: EscalationQueue, schedule: Schedule, start: datetime, end: datetime) -> list[Interval]:
    return timeline(schedule, overrides(session, queue.id, schedule.key, start, end), start, end, plans(session, queue.id, schedule, start, end))


@dataclass(frozen=True)
class Now:
    """Who is on call for a schedule now, until when, and who comes next from when."""

    schedule: str
    handle: str | None  # the first of `handles`
    until: datetime | None  # None: beyond the lookahead
    next_handle: str | None
    next_from: datetime | None
    handles: tuple[str, ...] = ()  # everyone on call now (several with `mode: all` or a cover that adds someone)
    next_handles: tuple[str, ...] = ()


def now_and_next(session: Session, queue: EscalationQueue, schedule: Schedule, at: datetime) -> Now:
    pieces = queue_timeline(session, queue, schedule, at, at + LOOKAHEAD)
    current = pieces[0] if pieces else Interval(at, at + LOOKAHEAD, ())
    handle = current.handles[0] if current.handles else None
    until = current.end if len(pieces) > 1 else None
    following = next((p for p in pieces[1:] if p.handles and p.handles != current.handles), None)
    return Now(
        schedule.key, handle, until, following.handles[0] if following else None, following.start if following else None,
        current.handles, following.handles if following else (),
    )  # fmt: skip


# How far `stretch_of` looks past a clipped piece for the stretch's true bounds: a week first
# (most stretches are shorter), then further; never more than MAX_REACH ahead or MAX_BACK back.
FIRST_REACH = timedelta(days=8)
MAX_REACH, MAX_BACK = timedelta(days=366), timedelta(days=2 * 366)


def _earliest(session: Session, queue: EscalationQueue, schedule: Schedule) -> datetime:
    """Before this instant nobody was ever on call for the schedule (its layers' first shifts, its first cover)."""
    firsts = [handoff(layer, schedule.timezone, 0) for layer in schedule.layers]
    cover = session.scalar(
        select(func.min(OncallOverride.start_at)).where(
            OncallOverride.queue_id == queue.id, OncallOverride.schedule == schedule.key, OncallOverride.removed_at.is_(None)
        )
    )
    return min([*firsts, *([cover] if cover is not None else [])], default=datetime.max.replace(tzinfo=timezone.utc))


def stretch_of(session: Session, queue: EscalationQueue, schedule: Schedule, piece: Interval, start: datetime, end: datetime) -> Interval:
    """The whole stretch on call that `piece`, of a timeline clipped to [start, end), is part of.

    A stretch in progress at `start` began before it, and one at `end` goes
    on after it: its true bounds are what name it (a calendar event's UID),
    whatever window it is seen through.
    """
    first, last = piece.start, piece.end
    if piece.handles and first == start:
        limit = min(MAX_BACK, max(start - _earliest(session, queue, schedule), timedelta(0)))
        reach = min(FIRST_REACH, limit)
        while reach > timedelta(0):
            held = queue_timeline(session, queue, schedule, start - reach, start + timedelta(seconds=1))[-1]
            first = held.start
            if held.start > start - reach or reach >= limit:  # its beginning is found, or nothing is earlier
                break
            reach = min(reach * 4, limit)
    if piece.handles and last == end:
        reach = FIRST_REACH
        while True:
            held = queue_timeline(session, queue, schedule, end - timedelta(seconds=1), end + reach)[0]
            if held.end < end + reach:
                last = held.end
                break
            if reach >= MAX_REACH:  # no end in sight: it ends, as far as anyone can tell, with the window
                break
            reach = min(reach * 4, MAX_REACH)
    return Interval(first, last, piece.handles)


def who_is_on_call(session: Session, queue: EscalationQueue, schedule: Schedule, at: datetime) -> tuple[str, ...]:
    """Everyone on call for the schedule at `at` (several where a layer has `mode: all` or a cover adds someone)."""
    moment = (at, at + timedelta(seconds=1))
    return on_call_all(schedule, at, overrides(session, queue.id, schedule.key, *moment), plans(session, queue.id, schedule, *moment))
