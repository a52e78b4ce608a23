"""The written forms of an on-call rotation: shift lengths (`12h`, `1d`, `1w`) and working hours (`mon-fri 08:00-18:00`).

They live with the org file that is written in them (the file refuses a bad
one by line); `escalation.rotations` computes who is on call from them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time

from store.local_time import parse_hhmm, weekdays

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

    def cover(self, local: datetime) -> bool:
        """Whether the wall-clock moment `local` is inside these hours."""
        now = local.time()
        if self.start < self.end:
            return local.weekday() in self.days and self.start <= now < self.end
        # Past midnight: the evening belongs to its own day, the small hours to the day before.
        if now >= self.start:
            return local.weekday() in self.days
        return now < self.end and (local.weekday() - 1) % 7 in self.days


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
