"""Who is on call: a schedule's layers of rotating shifts, their hours, and overrides.

A layer's shifts follow one another from its `start` (a wall-clock time in
the schedule's zone), members taking turns in list order. `Nh` shifts are
exact hours; `Nd` and `Nw` shifts hand off at the same local wall-clock
time, so a day across a daylight-saving change is 23 or 25 hours long (a
handoff at a time the clocks skip is at the first instant after the gap, one
at a repeated time at the first of the two). A
layer with `hours` (`mon-fri 08:00-18:00`) has nobody outside them; one with
a `calendar` nobody outside the calendar's hours or on its holidays.

Who is on call at an instant: a temporary plan in force gives its own
rotation's member (its layers set aside, as GoAlert's temporary schedules);
else the latest layer that has someone then gives
its current member (or, with `mode: all`, all of its members at once, as
GoAlert's rules do), else nobody; then the covers in force apply in the
order they were made: a cover puts its person on call instead (`replace`),
adds them beside whoever is on call (`add`) or takes them off (`remove`).
Plain data in, handles out: no database and no clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from store.business_time import BusinessCalendar, is_open
from store.local_time import wall_instants
from store.rotation_spec import Hours, RotationError, Shift, parse_start

__all__ = [
    "Hours", "Layer", "Override", "Plan", "RotationError", "Schedule", "Shift",
    "handoff", "layer_member", "layer_members", "on_call", "on_call_all", "parse_start", "regimes", "shift_number",
]  # fmt: skip
MODES = ("rotate", "all")
COVER_KINDS = ("replace", "add", "remove")

@dataclass(frozen=True)
class Layer:
    members: tuple[str, ...]
    shift: Shift
    start: datetime  # naive: wall-clock time in the schedule's zone
    hours: Hours | None = None
    # A business calendar instead of hours: its hours, and nobody on its holidays.
    calendar: BusinessCalendar | None = None
    mode: str = "rotate"  # rotate: one member at a time, in turn; all: every member at once
    # (handle, since): from `since` (naive, the schedule's wall clock) the layer's shifts start over
    # there with `handle`, in list order: who is on call stays who it was when members were reordered.
    current: tuple[str, datetime] | None = None


@dataclass(frozen=True)
class Schedule:
    key: str
    timezone: str
    layers: tuple[Layer, ...]


@dataclass(frozen=True)
class Plan:
    """A temporary schedule: over [start, end) its own rotation replaces the schedule's layers (covers still apply)."""

    start: datetime  # aware
    end: datetime  # aware, exclusive
    layer: Layer


@dataclass(frozen=True)
class Override:
    member: str
    start: datetime  # aware
    end: datetime  # aware, exclusive
    kind: str = "replace"  # replace: instead of whoever is on call; add: beside them; remove: taken off


def _wall(day: date, at: time, zone: str) -> datetime:
    """A wall-clock time as an instant: a repeated one is the first, a skipped one the first instant after the gap."""
    return wall_instants(day, at, zone)[0]


def handoff(layer: Layer, zone: str, n: int) -> datetime:
    """When the layer's shift number `n` (0 = the first) begins, as a UTC instant."""
    if layer.shift.unit == "h":
        return _wall(layer.start.date(), layer.start.time(), zone) + timedelta(hours=layer.shift.count * n)
    day = layer.start.date() + timedelta(days=layer.shift.days * n)
    return _wall(day, layer.start.time(), zone)


def shift_number(layer: Layer, zone: str, at: datetime) -> int | None:
    """Which shift of the layer holds `at` (None before the first begins)."""
    first = handoff(layer, zone, 0)
    if at < first:
        return None
    if layer.shift.unit == "h":
        return int((at - first) // timedelta(hours=layer.shift.count))
    local_day: date = at.astimezone(ZoneInfo(zone)).date()
    n = (local_day - layer.start.date()).days // layer.shift.days
    # The local date may be the handoff's before its time of day: step back to the shift that holds `at`.
    while n > 0 and handoff(layer, zone, n) > at:
        n -= 1
    while handoff(layer, zone, n + 1) <= at:
        n += 1
    return n


def since_instant(layer: Layer, zone: str) -> datetime | None:
    """When a layer's `current` takes over, as an instant (None without one)."""
    return _wall(layer.current[1].date(), layer.current[1].time(), zone) if layer.current else None


def regimes(layer: Layer, zone: str) -> tuple[Layer, Layer | None, datetime | None]:
    """The layer as it runs before its `current` takes over, the layer from then on, and when."""
    if layer.current is None or layer.current[0] not in layer.members:
        return layer, None, None
    handle, since = layer.current
    i = layer.members.index(handle)
    later = replace(layer, members=layer.members[i:] + layer.members[:i], start=since, current=None)
    return replace(layer, current=None), later, since_instant(layer, zone)


def layer_members(layer: Layer, zone: str, at: datetime) -> tuple[str, ...]:
    """The layer's members on call at `at`: none before its start, outside its hours or without members."""
    before, later, since = regimes(layer, zone)
    if later is not None and since is not None and at >= since:
        layer = later
    else:
        layer = before
    if not layer.members:
        return ()
    if layer.hours is not None and not layer.hours.covers(at, zone):
        return ()
    if layer.calendar is not None and not is_open(layer.calendar, at):
        return ()
    n = shift_number(layer, zone, at)
    if n is None:
        return ()
    return layer.members if layer.mode == "all" else (layer.members[n % len(layer.members)],)


def layer_member(layer: Layer, zone: str, at: datetime) -> str | None:
    """The layer's (first) member on call at `at`, or None."""
    members = layer_members(layer, zone, at)
    return members[0] if members else None


def on_call_all(schedule: Schedule, at: datetime, overrides: Sequence[Override] = (), plans: Sequence[Plan] = ()) -> tuple[str, ...]:
    """Everyone on call for `schedule` at the instant `at`, sorted: a temporary plan's rotation, else the latest
    layer with someone; then the covers in the order made."""
    if at.tzinfo is None:
        raise ValueError("an instant needs a time zone")
    people: list[str] = []
    plan = next((p for p in plans if p.start <= at < p.end), None)
    if plan is not None:
        people = list(layer_members(plan.layer, schedule.timezone, at))
    else:
        for layer in reversed(schedule.layers):
            if members := layer_members(layer, schedule.timezone, at):
                people = list(members)
                break
    for cover in overrides:
        if not cover.start <= at < cover.end:
            continue
        if cover.kind == "add":
            people = people if cover.member in people else [*people, cover.member]
        elif cover.kind == "remove":
            people = [p for p in people if p != cover.member]
        else:
            people = [cover.member]
    return tuple(sorted(set(people)))


def on_call(schedule: Schedule, at: datetime, overrides: Sequence[Override] = ()) -> str | None:
    """One person on call at `at` (the first, where a schedule has several at once), or None."""
    people = on_call_all(schedule, at, overrides)
    return people[0] if people else None
