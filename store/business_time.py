"""Business time: how much of a stretch fell in a team's open hours, and when N open hours run out.

A calendar is weekly wall-clock hours in a time zone (`mon-fri 08:00-12:00,13:00-18:00`,
`fri 22:00-02:00`) and a set of closed dates (holidays). A range whose end is
at or before its start runs past midnight into the next day and belongs to the
day it starts on; a closed date cancels the ranges that start on it. `24:00`
may be written as an end and means midnight.

Daylight saving is decided by instants, so an hour is a real hour:

- A start or end at a wall time the clocks skip (02:30 on the night they spring
  forward) is the first instant after the gap (03:00), as GoAlert does. A range
  that lies wholly in the gap is empty. (`store.local_time.at_local` lands a
  digest's 02:30 on 03:30 instead; opening hours should not start late.)
- A wall time that occurs twice (01:30 on the night they fall back): a start is
  its first occurrence, an end its last. So `01:00-04:00` holds 4 real hours
  that night and 2 on the spring-forward night, and `sat 20:00-01:30` followed
  by `sun 01:30-05:00` stays one stretch through the repeated hour instead of
  showing a false gap (the two ranges overlap by an hour in instants; the
  overlap counts once).

`None` for a calendar means 24/7 on the wall clock, as does
`BusinessCalendar.always()`.

Speed: each calendar's open stretches are resolved once per UTC month into
sorted instants with running totals (cached, keyed on the calendar, which is
hashable for that), so `elapsed` and `add` are a couple of binary searches per
month touched, never a walk through days or minutes. Measured with
`bench/business_time_bench.py` (Berlin mon-fri 08:00-12:00,13:00-18:00 with
holidays, 100,000 random calls each, 2 shared vCPUs under load, cache warm):
elapsed 4-5 µs per call for ends up to 10 days later, 11-13 µs up to a year
later, 15-16 µs for exactly a year; add 3-4.5 µs for up to 40 business hours.
A calendar's first year costs ~2.7 ms once (resolving its days into instants).

`elapsed_seconds` does `elapsed` for whole arrays of epoch seconds at once (the
KPI engine's first reply and resolution in business hours, a million tickets
at a time): the months' stretches laid end to end with running totals, and
one `np.searchsorted` per array instead of a call per ticket.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from typing import NamedTuple
from zoneinfo import ZoneInfo

import numpy as np

from store.local_time import DAY_NAMES, parse_hhmm, weekdays

UTC = timezone.utc

# Per weekday (Mon=0), sorted (start, end) wall times; end <= start runs past midnight.
WeeklyHours = tuple[tuple[tuple[time, time], ...], ...]

_LINE = re.compile(r"^\s*(.*?)\s+(\d.*?)\s*$")
_RANGE = re.compile(r"^\s*(\S+?)\s*-\s*(\S+)\s*$")
_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_EXAMPLE = "e.g. mon-fri 08:00-12:00,13:00-18:00"
_MINUTES_PER_DAY = 24 * 60

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_ONE_US = timedelta(microseconds=1)
_DAY_US = 86_400_000_000
_ONE_DAY = timedelta(days=1)
# A calendar with open hours in its week opens again within days; only closed
# dates can hold it shut longer, and this long a shutdown means a mistake.
_GIVE_UP_US = 400 * _DAY_US
# Date arithmetic overflows near the ends of datetime's range.
_LAST_MONTH = 9998 * 12


class CalendarError(ValueError):
    """Hours that cannot be read, or a calendar that never opens; the message says how to write it."""


def parse_hours(lines: list[str]) -> WeeklyHours:
    """Read hours lines (`mon-fri 08:00-12:00,13:00-18:00`, `sat 10:00-14:00`) into weekly hours.

    Refuses, naming the line and why: a line that is not DAYS HH:MM-HH:MM[,...],
    a time not on the 24-hour clock (24:00 is allowed as an end, meaning
    midnight), a range that starts and ends at the same time, and ranges that
    overlap on the same day (a range past midnight included, against the next
    day's ranges).
    """
    week: list[list[tuple[int, int, int]]] = [[] for _ in range(7)]  # (start min, end min, line no)
    for number, text in enumerate(lines, start=1):
        where = f"hours line {number} {text!r}"
        m = _LINE.match(text) if isinstance(text, str) else None
        if m is None:
            raise CalendarError(f"{where} is not DAYS HH:MM-HH:MM[,HH:MM-HH:MM...], {_EXAMPLE}")
        try:
            days = weekdays(m.group(1))
        except ValueError as exc:
            raise CalendarError(f"{where}: {exc}") from None
        for part in m.group(2).split(","):
            r = _RANGE.match(part)
            if r is None:
                raise CalendarError(f"{where}: {part.strip()!r} is not a range HH:MM-HH:MM, {_EXAMPLE}")
            first, last = r.group(1), r.group(2)
            if not _HHMM.match(first):
                raise CalendarError(f"{where}: {first} is not a time on the 24-hour clock (00:00 to 23:59)")
            if not _HHMM.match(last) and last != "24:00":
                raise CalendarError(f"{where}: {last} is not a time on the 24-hour clock (00:00 to 24:00 for an end)")
            start = _minutes(first)
            end = _MINUTES_PER_DAY if last == "24:00" else _minutes(last)
            if start == end:
                raise CalendarError(f"{where}: {first}-{last} starts and ends at the same time; for a whole day write 00:00-24:00")
            if end < start:
                end += _MINUTES_PER_DAY  # past midnight, still the start day's range
            for day in days:
                week[day].append((start, end, number))
    _refuse_overlaps(week, lines)
    return tuple(
        tuple((_clock(s), _clock(e % _MINUTES_PER_DAY)) for s, e, _ in sorted(ranges)) for ranges in week
    )


def _minutes(hhmm: str) -> int:
    t = parse_hhmm(hhmm)
    return t.hour * 60 + t.minute


def _clock(minutes: int) -> time:
    return time(minutes // 60, minutes % 60)


def _refuse_overlaps(week: list[list[tuple[int, int, int]]], lines: list[str]) -> None:
    def show(number: int) -> str:
        return f"line {number} {lines[number - 1]!r}"

    for day, ranges in enumerate(week):
        # The previous day's ranges past midnight are part of this day's morning.
        spill = [(0, e - _MINUTES_PER_DAY, n) for _, e, n in week[(day - 1) % 7] if e > _MINUTES_PER_DAY]
        ordered = sorted(ranges + spill)
        for (s1, e1, n1), (s2, e2, n2) in zip(ordered, ordered[1:]):
            if s2 < e1:
                a, b = sorted((n1, n2))
                what = f"{show(b)} overlaps {show(a)}" if a != b else f"{show(a)} has ranges that overlap"
                raise CalendarError(
                    f"hours {what} on {DAY_NAMES[day]}; give each day's ranges without overlap, {_EXAMPLE}"
                )


def _full_day() -> tuple[tuple[time, time], ...]:
    return ((time(0), time(0)),)


@dataclass(frozen=True)
class BusinessCalendar:
    """Open hours in a zone: `hours[weekday]` sorted (start, end) wall times, none on `closed` dates.

    A range (t, t) is a whole day from t (parse_hours writes 00:00-24:00 so).
    Hashable, so results per calendar can be cached.
    """

    zone: ZoneInfo
    hours: WeeklyHours
    closed: frozenset[date] = frozenset()
    _hash: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.zone, str):
            object.__setattr__(self, "zone", ZoneInfo(self.zone))
        if len(self.hours) != 7:
            raise CalendarError(f"weekly hours need 7 days (Mon to Sun), got {len(self.hours)}")
        hours = tuple(tuple(sorted(day)) for day in self.hours)
        object.__setattr__(self, "hours", hours)
        object.__setattr__(self, "closed", frozenset(self.closed))
        # Hashing a week of tuples on every cache look-up would cost more than the look-up.
        object.__setattr__(self, "_hash", hash((self.zone, hours, self.closed)))

    def __hash__(self) -> int:
        return self._hash

    @classmethod
    def parse(cls, lines: list[str], zone: str | ZoneInfo, closed: Iterable[date] = ()) -> BusinessCalendar:
        """A calendar from hours lines (see `parse_hours`), a zone name and closed dates."""
        return cls(zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone), parse_hours(lines), frozenset(closed))

    @classmethod
    def always(cls, zone: str | ZoneInfo = "UTC") -> BusinessCalendar:
        """Open around the clock: business time is wall-clock time (same as passing `None`)."""
        return cls(zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone), (_full_day(),) * 7)


# --- instants ------------------------------------------------------------------------------------


def _us(at: datetime, name: str) -> int:
    """Microseconds since the epoch: exact, and cheap to compare and add."""
    if not isinstance(at, datetime):
        raise TypeError(f"{name} must be a datetime, not {type(at).__name__}")
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{name} {at.isoformat()} has no time zone; pass an aware datetime, e.g. with tzinfo=timezone.utc")
    # Subtracting from a UTC epoch converts any zone to UTC first (same-zone subtraction would not).
    return (at - _EPOCH) // _ONE_US


def _at(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


def _month_of(us: int) -> int:
    day = date.fromordinal(us // _DAY_US + _EPOCH_ORDINAL)
    return day.year * 12 + day.month - 1


def _month_start(month: int) -> int:
    year, index = divmod(month, 12)
    return (date(year, index + 1, 1).toordinal() - _EPOCH_ORDINAL) * _DAY_US


def _resolve(zone: ZoneInfo, day: date, clock: time, is_start: bool) -> int:
    """The instant of wall time `clock` on `day`, by the module's daylight-saving rules."""
    naive = datetime.combine(day, clock)
    before = naive.replace(tzinfo=zone).utcoffset()
    after = naive.replace(tzinfo=zone, fold=1).utcoffset()
    assert before is not None and after is not None
    first = (naive - before - _EPOCH.replace(tzinfo=None)) // _ONE_US
    if before == after:
        return first
    second = (naive - after - _EPOCH.replace(tzinfo=None)) // _ONE_US
    early, late = min(first, second), max(first, second)
    if _at(early).astimezone(zone).replace(tzinfo=None) == naive:
        return early if is_start else late  # the wall time happens twice
    return _transition(zone, early, late)  # the wall time is skipped


def _transition(zone: ZoneInfo, early: int, late: int) -> int:
    """The instant the offset changes, between `early` (old offset) and `late` (new): the end of a gap."""
    low, high = early // 1_000_000, -(-late // 1_000_000)
    old = datetime.fromtimestamp(low, zone).utcoffset()
    while high - low > 1:  # zone transitions fall on whole seconds
        mid = (low + high) // 2
        if datetime.fromtimestamp(mid, zone).utcoffset() == old:
            low = mid
        else:
            high = mid
    return high * 1_000_000


def _day_spans(cal: BusinessCalendar, day: date) -> list[tuple[int, int]]:
    """The open ranges that start on local `day`, as instants."""
    if day in cal.closed:
        return []
    spans = []
    for start, end in cal.hours[day.weekday()]:
        a = _resolve(cal.zone, day, start, True)
        b = _resolve(cal.zone, day if end > start else day + _ONE_DAY, end, False)
        if b > a:
            spans.append((a, b))
    return spans


class _Month(NamedTuple):
    """A calendar's merged open stretches within one UTC month [lo, hi), with running totals."""

    lo: int
    hi: int
    starts: list[int]
    ends: list[int]
    before: list[int]  # before[i]: open time of stretches 0..i-1; before[-1] is the month's total


@lru_cache(maxsize=4096)
def _month(cal: BusinessCalendar, month: int) -> _Month:
    lo, hi = _month_start(month), _month_start(month + 1)
    # Days whose ranges can reach into the month: a range ends within two days
    # of its start day's midnight, and zones sit within a day of UTC.
    day = _at(lo).astimezone(cal.zone).date() - 2 * _ONE_DAY
    last = _at(hi).astimezone(cal.zone).date() + _ONE_DAY
    spans: list[tuple[int, int]] = []
    while day <= last:
        spans.extend(_day_spans(cal, day))
        day += _ONE_DAY
    spans.sort()
    starts: list[int] = []
    ends: list[int] = []
    for a, b in spans:
        a, b = max(a, lo), min(b, hi)
        if b <= a:
            continue
        if ends and a <= ends[-1]:  # touching or overlapping: one stretch
            ends[-1] = max(ends[-1], b)
        else:
            starts.append(a)
            ends.append(b)
    before = [0]
    for a, b in zip(starts, ends):
        before.append(before[-1] + b - a)
    return _Month(lo, hi, starts, ends, before)


def _open_until(m: _Month, x: int) -> int:
    """Open time in month `m` from its start to instant `x` (lo <= x <= hi)."""
    i = bisect_right(m.starts, x)
    if i == 0:
        return 0
    return m.before[i - 1] + min(m.ends[i - 1], x) - m.starts[i - 1]


def _never_opens(cal: BusinessCalendar) -> bool:
    return not any(cal.hours)


# --- the arithmetic --------------------------------------------------------------------------------


def open_intervals(cal: BusinessCalendar | None, start: datetime, end: datetime) -> Iterator[tuple[datetime, datetime]]:
    """The open stretches overlapping [start, end), clipped to it, as UTC instants; touching ones merged."""
    s, e = _us(start, "start"), _us(end, "end")
    return _stretches(cal, s, e)


def _stretches(cal: BusinessCalendar | None, s: int, e: int) -> Iterator[tuple[datetime, datetime]]:
    if e <= s:
        return
    if cal is None:
        yield _at(s), _at(e)
        return
    pending: tuple[int, int] | None = None
    for month in range(_month_of(s), _month_of(e) + 1):
        m = _month(cal, month)
        i = max(bisect_right(m.starts, s) - 1, 0)
        while i < len(m.starts) and m.starts[i] < e:
            a, b = max(m.starts[i], s), min(m.ends[i], e)
            i += 1
            if b <= a:
                continue
            if pending is not None and a <= pending[1]:  # a stretch crossing the month boundary
                pending = (pending[0], max(pending[1], b))
                continue
            if pending is not None:
                yield _at(pending[0]), _at(pending[1])
            pending = (a, b)
    if pending is not None:
        yield _at(pending[0]), _at(pending[1])


def elapsed(cal: BusinessCalendar | None, start: datetime, end: datetime) -> timedelta:
    """Business time between two aware instants (zero when end <= start)."""
    s, e = _us(start, "start"), _us(end, "end")
    if e <= s:
        return timedelta(0)
    if cal is None:
        return timedelta(microseconds=e - s)
    total = 0
    for month in range(_month_of(s), _month_of(e) + 1):
        m = _month(cal, month)
        total += _open_until(m, min(e, m.hi)) - _open_until(m, max(s, m.lo))
    return timedelta(microseconds=total)


def add(cal: BusinessCalendar | None, start: datetime, duration: timedelta) -> datetime:
    """The instant (UTC) at which `duration` of business time has passed since `start`.

    A zero duration is `start` itself; a duration that runs out exactly at the
    end of an open stretch gives that end, not the next opening. Raises
    CalendarError when the calendar has no open hours within 400 days.
    """
    s = _us(start, "start")
    if duration < timedelta(0):
        raise ValueError(f"duration {duration} is negative; business time only runs forward")
    left = duration // _ONE_US
    if left == 0:
        return _at(s)
    if cal is None:
        return _at(s + left)
    if _never_opens(cal):
        raise CalendarError("the calendar has no open hours; give it hours, e.g. mon-fri 08:00-18:00")
    month, quiet_since = _month_of(s), s
    while True:
        m = _month(cal, month)
        position = max(s, m.lo)
        done = _open_until(m, position)
        target = done + left
        if target <= m.before[-1]:
            j = bisect_left(m.before, target, 1)
            return _at(m.starts[j - 1] + target - m.before[j - 1])
        if m.before[-1] > done:
            left -= m.before[-1] - done
            quiet_since = m.hi
        elif m.hi - quiet_since > _GIVE_UP_US:
            raise CalendarError(f"the calendar is closed for more than 400 days after {_at(quiet_since).isoformat()}; check its closed dates")
        month += 1
        if month > _LAST_MONTH:
            raise CalendarError("the business time runs past the year 9998")


def is_open(cal: BusinessCalendar | None, instant: datetime) -> bool:
    """Whether the calendar is open at `instant` (ranges include their start, not their end)."""
    x = _us(instant, "instant")
    if cal is None:
        return True
    m = _month(cal, _month_of(x))
    i = bisect_right(m.starts, x) - 1
    return i >= 0 and x < m.ends[i]


def next_open(cal: BusinessCalendar | None, instant: datetime) -> datetime:
    """The first instant at or after `instant` when the calendar is open (UTC); CalendarError if none within 400 days."""
    x = _us(instant, "instant")
    if cal is None:
        return _at(x)
    if _never_opens(cal):
        raise CalendarError("the calendar has no open hours; give it hours, e.g. mon-fri 08:00-18:00")
    month = _month_of(x)
    while True:
        m = _month(cal, month)
        i = bisect_right(m.starts, x) - 1
        if i >= 0 and x < m.ends[i]:
            return _at(x)
        if i + 1 < len(m.starts):
            return _at(m.starts[i + 1])
        if m.hi - x > _GIVE_UP_US:
            raise CalendarError(f"the calendar is closed for more than 400 days after {_at(x).isoformat()}; check its closed dates")
        month += 1
        if month > _LAST_MONTH:
            raise CalendarError("the calendar does not open again before the year 9998")


# --- many at once ------------------------------------------------------------------------------------

_US_PER_S = 1_000_000
_FAR_PAST = -(2**62)  # before any instant: the table's first row, a stretch of no length


@lru_cache(maxsize=64)
def _open_table(cal: BusinessCalendar, first_month: int, last_month: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(opens, closes, before) in epoch seconds for the months [first_month, last_month].

    Row 0 is an empty stretch before everything, so every instant has a row
    at or before it. Stretches cut at a month's end stay cut: the running
    total is the same either way. Every boundary is a whole second (wall
    times in minutes, zone offsets and their changes in whole seconds).
    """
    months = [_month(cal, m) for m in range(first_month, last_month + 1)]
    opens = np.array([_FAR_PAST, *(a for m in months for a in m.starts)], dtype=np.int64)
    closes = np.array([_FAR_PAST, *(b for m in months for b in m.ends)], dtype=np.int64)
    opens[1:] //= _US_PER_S
    closes[1:] //= _US_PER_S
    before = np.zeros(len(opens), dtype=np.int64)  # before[i]: open seconds of rows 0..i-1
    before[1:] = np.cumsum(closes[:-1] - opens[:-1])
    return opens, closes, before


def _open_since_table(table: tuple[np.ndarray, np.ndarray, np.ndarray], at: np.ndarray) -> np.ndarray:
    """Open seconds from the table's start to each instant of `at`."""
    opens, closes, before = table
    row = np.searchsorted(opens, at, side="right") - 1
    return before[row] + np.minimum(at, closes[row]) - opens[row]


def elapsed_seconds(cal: BusinessCalendar | None, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """`elapsed` for each (start, end) pair of epoch seconds at once, in whole seconds (int64; 0 where end <= start).

    Exactly what `elapsed` gives for the same instants: both count the same
    monthly stretches, whose boundaries are whole seconds.
    """
    starts = np.asarray(starts, dtype=np.int64)
    ends = np.asarray(ends, dtype=np.int64)
    if starts.shape != ends.shape:
        raise ValueError(f"starts and ends differ in shape: {starts.shape} and {ends.shape}")
    if cal is None or not starts.size:
        return np.maximum(ends - starts, 0)
    low = int(min(starts.min(), ends.min()))
    high = int(max(starts.max(), ends.max()))
    table = _open_table(cal, _month_of(low * _US_PER_S), _month_of(high * _US_PER_S))
    return np.maximum(_open_since_table(table, ends) - _open_since_table(table, starts), 0)
