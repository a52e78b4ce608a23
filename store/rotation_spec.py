"""The written forms of an on-call rotation: shift lengths (`12h`, `1d`, `1w`) and working hours (`mon-fri 08:00-18:00`).

They live with the org file that is written in them (the file refuses a bad
one by line); `escalation.rotations` computes who is on call from them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from store.local_time import parse_hhmm, wall_instants, weekdays

_SHIFT = re.compile(r"^\s*([1-9]\d{0,3})\s*([hdw])\s*$", re.IGNORECASE)
_HOURS = re.compile(r"^\s*(\S+)\s+([0-2]?\d:[0-5]\d)\s*-\s*([0-2]?\d:[0-5]\d)\s*$")
_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


class RotationError(ValueError):
    """A shift length, hours or start that cannot be read; the message says how to write it."""


@dataclass(frozen=True)
class Shift:
    count: int
    unit: str  # h | d | w

    @classmethod
    def parse(cls, text: str) -> Shift:
        m = _SHIFT.match(text)
        if m is None:
            raise RotationError(f"shift {text!r} is not a length: write Nh (exact hours), Nd or Nw, e.g. 12h, 1d, 1w")
        return cls(int(m.group(1)), m.group(2).lower())

    @property
    def days(self) -> int:
        """Calendar days per shift (0 for hour shifts)."""
        return {"h": 0, "d": 1, "w": 7}[self.unit] * self.count


@dataclass(frozen=True)
class Hours:
    """When a layer has someone: these weekdays (Mon=0), from `start` to `end` local time (past midnight when end <= start)."""

    days: frozenset[int]
    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> Hours:
        m = _HOURS.match(text)
        if m is None:
            raise RotationError(f"hours {text!r} are not DAYS HH:MM-HH:MM, e.g. mon-fri 08:00-18:00")
        try:
            days = frozenset(weekdays(m.group(1)))
        except ValueError as exc:
            raise RotationError(f"hours {text!r}: {exc}") from None
        for part in (m.group(2), m.group(3)):
            if not _HHMM.match(part):
                raise RotationError(f"hours {text!r}: {part} is not a time on the 24-hour clock")
        start, end = parse_hhmm(m.group(2)), parse_hhmm(m.group(3))
        if start == end:
            raise RotationError(f"hours {text!r} start and end at the same time; leave hours out for all day")
        return cls(days, start, end)

    def span(self, day: date, zone: str) -> tuple[datetime, datetime] | None:
        """The hours opened on `day` as UTC instants [opens, closes), or None when `day` is not one of theirs.

        Decided by instants, as GoAlert does: they open at the first instant
        the clock shows `start` on that day and close at the last one it
        shows `end` (the next day's, past midnight). So hours that open or
        close inside the hour the clocks repeat hold all of it, and a time
        the clocks skip is the first instant after the gap
        (store.local_time.wall_instants).
        """
        if day.weekday() not in self.days:
            return None
        opens = wall_instants(day, self.start, zone)[0]
        closes = wall_instants(day if self.start < self.end else day + timedelta(days=1), self.end, zone)[1]
        return (opens, closes) if opens < closes else None

    def covers(self, at: datetime, zone: str) -> bool:
        """Whether the instant `at` is inside these hours in `zone`."""
        today = at.astimezone(ZoneInfo(zone)).date()
        # Yesterday's may run past midnight; around a change at midnight, a neighbour's may reach today.
        for day in (today - timedelta(days=1), today, today + timedelta(days=1)):
            span = self.span(day, zone)
            if span is not None and span[0] <= at < span[1]:
                return True
        return False


# Rotations start in this century; far-off years only overflow date arithmetic.
FIRST_YEAR, LAST_YEAR = 2000, 2099
_START = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}$")


def parse_start(text: str) -> datetime:
    """A layer's `start`: a local wall-clock time `YYYY-MM-DDTHH:MM` (no offset: the schedule's zone says where)."""
    if not _START.match(text.strip()):
        raise RotationError(f"start {text!r} is not a local time YYYY-MM-DDTHH:MM, e.g. 2026-01-05T09:00 (the schedule's zone applies)")
    try:
        start = datetime.fromisoformat(text.strip().replace(" ", "T"))
    except ValueError:
        raise RotationError(f"start {text!r} is not a date and time that exists") from None
    if not FIRST_YEAR <= start.year <= LAST_YEAR:
        raise RotationError(f"start {text!r}: the year must be from {FIRST_YEAR} to {LAST_YEAR}")
    return start
