"""When an SLA target falls due: a ticket's creation plus its policy's target, in business or calendar time.

- Calendar time, or a team working around the clock (no calendar): the
  target after creation on the wall clock; a day is 24 hours.
- Business hours and minutes: the instant that much of the calendar's open
  time has passed since creation (`store.business_time.add`): `8h` on a
  `mon-fri 09:00-17:00` calendar from Friday 15:00 is Tuesday 15:00.
- Business days: `3d` is three working days: 72 hours counted on the days the
  calendar opens at all (weekends and holidays do not count), then the next
  opening if the calendar is closed at that moment. So a ticket from Monday
  10:00 is due Thursday 10:00, from Friday 15:00 Wednesday 15:00, from
  Saturday noon (or Thursday 19:00, after hours) Thursday (Wednesday) at
  opening. "Three working days" in an SLA means the same time of day three
  working days later, not three times the hours of a working day.

`due_at` is the rule, one ticket at a time (the webhook). `dues` gives the
same instants for many tickets at once from the calendar's open stretches
with numpy (an import of a million tickets would otherwise spend seconds per
hundred thousand in `add`); tests/test_sla_due.py checks the two agree.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from functools import lru_cache

import numpy as np

from store.business_time import BusinessCalendar, CalendarError, add, next_open, open_intervals
from store.sla_file import SlaTarget

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_DAY = 86_400
# As store.business_time.add: a calendar closed for longer than this never opens.
_GIVE_UP_S = 400 * _DAY


@lru_cache(maxsize=256)
def working_days(cal: BusinessCalendar) -> BusinessCalendar:
    """The calendar's working days, each open all day: where business days are counted."""
    whole = ((time(0), time(0)),)  # (t, t): the whole day from t
    return BusinessCalendar(cal.zone, tuple(whole if day else () for day in cal.hours), cal.closed)


def due_at(cal: BusinessCalendar | None, business: bool, target: SlaTarget, created: datetime) -> datetime:
    """When `target` falls due for a ticket created at `created` on a team working by `cal` (None: around the clock)."""
    if not business or cal is None:
        # In UTC: aware arithmetic in a local zone would add wall-clock time (23 hours on a spring-forward day).
        return created.astimezone(timezone.utc) + timedelta(seconds=target.seconds)
    if target.in_days:
        return next_open(cal, add(working_days(cal), created, timedelta(days=target.days)))
    return add(cal, created, timedelta(seconds=target.seconds))


def _seconds(at: datetime) -> int:
    return (at - _EPOCH) // timedelta(seconds=1)


def _open(cal: BusinessCalendar, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The calendar's open stretches within [lo, hi) (epoch seconds): starts, ends, and open time up to each end."""
    found = [(_seconds(a), _seconds(b)) for a, b in open_intervals(cal, _EPOCH + timedelta(seconds=lo), _EPOCH + timedelta(seconds=hi))]
    table = np.array(found, dtype=np.int64).reshape(-1, 2)
    starts, ends = table[:, 0], table[:, 1]
    return starts, ends, np.cumsum(ends - starts)


def _closed_too_long(starts: np.ndarray, ends: np.ndarray, lo: int, hi: int) -> bool:
    """Whether [lo, hi) ends with more than 400 days without open time (where `add` and `next_open` give up)."""
    last = int(ends[-1]) if len(ends) else lo
    return hi - last > _GIVE_UP_S


def _add(cal: BusinessCalendar, created: np.ndarray, seconds: int) -> np.ndarray:
    """`add(cal, c, seconds)` for every c of `created` (epoch seconds, seconds > 0)."""
    lo, last = int(created.min()), int(created.max())
    hi = last + 2 * seconds + 14 * _DAY
    while True:
        starts, ends, until_end = _open(cal, lo, hi)
        i = np.searchsorted(starts, created, side="right") - 1
        at = np.maximum(i, 0)
        before = until_end[at] - (ends[at] - starts[at]) if len(starts) else np.zeros_like(created)
        done = np.where(i >= 0, before + np.clip(created - starts[at], 0, ends[at] - starts[at]), 0) if len(starts) else np.zeros_like(created)
        wanted = done + seconds
        if len(starts) and until_end[-1] >= wanted.max():
            j = np.searchsorted(until_end, wanted, side="left")
            return starts[j] + wanted - (until_end[j] - (ends[j] - starts[j]))
        if _closed_too_long(starts, ends, lo, hi):
            raise CalendarError(f"the calendar is closed for more than 400 days after {(_EPOCH + timedelta(seconds=last)).isoformat()}; check its closed dates")
        hi = lo + 2 * (hi - lo)


def _next_open(cal: BusinessCalendar, moments: np.ndarray) -> np.ndarray:
    """`next_open(cal, t)` for every t of `moments` (epoch seconds)."""
    lo, last = int(moments.min()), int(moments.max())
    hi = last + 14 * _DAY
    while True:
        starts, ends, _ = _open(cal, lo, hi)
        i = np.searchsorted(starts, moments, side="right") - 1
        inside = (i >= 0) & (moments < ends[np.maximum(i, 0)]) if len(starts) else np.zeros(len(moments), dtype=bool)
        if len(starts) and (inside | (i + 1 < len(starts))).all():
            return np.where(inside, moments, starts[np.minimum(i + 1, len(starts) - 1)])
        if _closed_too_long(starts, ends, lo, hi):
            raise CalendarError("the calendar does not open within 400 days; check its closed dates")
        hi = lo + 2 * (hi - lo)


def dues(cal: BusinessCalendar | None, business: bool, target: SlaTarget, created: np.ndarray) -> np.ndarray:
    """`due_at` for many tickets at once: `created` and the result are epoch seconds (int64)."""
    created = np.asarray(created, dtype=np.int64)
    if not len(created) or not business or cal is None:
        return created + target.seconds
    if target.in_days:
        return _next_open(cal, _add(working_days(cal), created, target.days * _DAY))
    return _add(cal, created, target.seconds)
