"""Who is on call: a schedule's layers of rotating shifts, their hours, and overrides.

A layer's shifts follow one another from its `start` (a wall-clock time in
the schedule's zone), members taking turns in list order. `Nh` shifts are
exact hours; `Nd` and `Nw` shifts hand off at the same local wall-clock
time, so a day across a daylight-saving change is 23 or 25 hours long (a
handoff at a time the clocks skip is at the first instant after the gap, one
at a repeated time at the first of the two). A
layer with `hours` (`mon-fri 08:00-18:00`) has nobody outside them; one with
a `calendar` nobody outside the calendar's hours or on its holidays.

Who is on call at an instant: an override covering it (the latest made
wins), else the current member of the latest layer that has someone then,
else nobody. Plain data in, a handle out: no database and no clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from store.business_time import BusinessCalendar, is_open
from store.local_time import wall_instants
from store.rotation_spec import Hours, RotationError, Shift, parse_start

__all__ = ["Hours", "Layer", "Override", "RotationError", "Schedule", "Shift", "handoff", "layer_member", "on_call", "parse_start", "shift_number"]

@dataclass(frozen=True)
class Layer:
    members: tuple[str, ...]
    shift: Shift
    start: datetime  # naive: wall-clock time in the schedule's zone
    hours: Hours | None = None
    # A business calendar instead of hours: its hours, and nobody on its holidays.
    calendar: BusinessCalendar | None = None


@dataclass(frozen=True)
class Schedule:
    key: str
    timezone: str
    layers: tuple[Layer, ...]


@dataclass(frozen=True)
class Override:
    member: str
    start: datetime  # aware
    end: datetime  # aware, exclusive


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


def layer_member(layer: Layer, zone: str, at: datetime) -> str | None:
    """The layer's member on shift at `at`, or None (before its start, outside its hours, no members)."""
    if not layer.members:
        return None
    if layer.hours is not None and not layer.hours.covers(at, zone):
        return None
    if layer.calendar is not None and not is_open(layer.calendar, at):
        return None
    n = shift_number(layer, zone, at)
    return None if n is None else layer.members[n % len(layer.members)]


def on_call(schedule: Schedule, at: datetime, overrides: Sequence[Override] = ()) -> str | None:
    """Who is on call for `schedule` at the instant `at`: an override, else the latest layer with someone, else nobody."""
    if at.tzinfo is None:
        raise ValueError("an instant needs a time zone")
    covering = [o for o in overrides if o.start <= at < o.end]
    if covering:
        return covering[-1].member
    for layer in reversed(schedule.layers):
        member = layer_member(layer, schedule.timezone, at)
        if member is not None:
            return member
    return None
