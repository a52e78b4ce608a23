"""Wall-clock times in a time zone, as schedules mean them ("09:00 in Berlin on weekdays").

Schedules are kept in local time and turned into instants only when asked,
so 09:00 stays 09:00 on both sides of a daylight-saving change.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def parse_hhmm(text: str) -> time:
    """`"09:30"` → 09:30 (the org file has checked the form already)."""
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def at_local(day: date, hhmm: str, zone: str) -> datetime:
    """The UTC instant of wall-clock `hhmm` on `day` in `zone`.

    A time the clocks skip (02:30 on the night they spring forward) is read
    with the offset before the change, which lands it as far after the gap as
    it was into it (03:30); a time that happens twice (when they fall back) is
    the first of the two.
    """
    local = datetime.combine(day, parse_hhmm(hhmm)).replace(tzinfo=ZoneInfo(zone))
    return local.astimezone(timezone.utc)


def wall_instants(day: date, at: time, zone: str) -> tuple[datetime, datetime]:
    """The first and last UTC instants the clock in `zone` shows `at` on `day`.

    They differ when the clocks go back over `at` (01:30 twice). A time
    the clocks skip (02:30 on the spring night) gives, for both, the first
    instant after the gap: the moment of the change itself (03:00), found
    exactly, to the second, never a fraction (on-call handoffs and working
    hours read wall times this way, as GoAlert does).
    """
    tz = ZoneInfo(zone)
    naive = datetime.combine(day, at)
    shown = [
        instant
        for instant in (naive.replace(tzinfo=tz, fold=fold).astimezone(timezone.utc) for fold in (0, 1))
        if instant.astimezone(tz).replace(tzinfo=None) == naive
    ]
    if shown:
        return min(shown), max(shown)
    # Skipped: read with the offsets before and after the change, it lands on
    # either side of the change; the change is at a whole second between them.
    readings = sorted(naive.replace(tzinfo=tz, fold=fold).astimezone(timezone.utc) for fold in (0, 1))
    low, high = int(readings[0].timestamp()), int(readings[1].timestamp())
    before = readings[0].astimezone(tz).utcoffset()
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, timezone.utc).astimezone(tz).utcoffset() == before:
            low = middle
        else:
            high = middle
    change = datetime.fromtimestamp(high, timezone.utc)
    return change, change


def local_date(at: datetime, zone: str) -> date:
    return at.astimezone(ZoneInfo(zone)).date()


def latest_occurrence(now: datetime, hhmm: str, days: list[int], zone: str, closed: Collection[date] = ()) -> tuple[date, datetime] | None:
    """The most recent (local date, UTC instant) at or before `now` of `hhmm` on one of `days` (Mon=0), not `closed`.

    Looks back a week, which holds an occurrence whenever `days` is not
    empty, and a month more past closed days (a holiday shutdown).
    """
    today = local_date(now, zone)
    for back in range(8 + (31 if closed else 0)):
        day = today - timedelta(days=back)
        if day.weekday() in days and day not in closed:
            instant = at_local(day, hhmm, zone)
            if instant <= now:
                return day, instant
    return None


def weekdays(spec: str) -> list[int]:
    """Parse a digest day spec (`mon-fri`, `mon,wed,fri`, `daily`) into weekday numbers (Mon=0)."""
    spec = spec.strip().lower()
    if spec in ("daily", "every day", "mon-sun"):
        return list(range(7))
    if spec == "weekdays":
        return list(range(5))
    days: set[int] = set()
    for part in spec.split(","):
        part = part.strip()
        first, dash, last = part.partition("-")
        if first not in DAY_NAMES or (dash and last not in DAY_NAMES):
            raise ValueError(f"{part!r} is not a day or range of days (mon, tue, … sun; e.g. mon-fri)")
        a = DAY_NAMES.index(first)
        b = DAY_NAMES.index(last) if dash else a
        if b < a:
            raise ValueError(f"{part!r} runs backwards; write it as e.g. mon-fri")
        days.update(range(a, b + 1))
    return sorted(days)
