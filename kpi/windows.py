"""Time windows for KPI questions: `7d`, `week`, `last-month`, `2026-03-01..2026-03-31`, …

A window is [start, end) computed on the wall clock of a time zone (the
team's, the agent's or the org's), then turned into UTC instants. Days are
calendar days, so a window across a DST change is 23 or 25 hours longer or
shorter, as a person in that zone would expect.

Window text is whatever a person typed, so parsing never lets a date library
exception escape: every window is either resolved inside the supported days
(1970-01-01 to 2099-12-31 in its time zone, the span tickets may have) or
refused with a WindowError that names the valid forms.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

WINDOW_HELP = (
    "today, yesterday, 7d, 30d, 90d (or any Nd up to 730d), week, last-week, month, last-month, "
    "YYYY-MM-DD, or YYYY-MM-DD..YYYY-MM-DD (end date included)"
)
DEFAULT_WINDOW = "7d"
MAX_DAYS = 730
# The days csbot answers for: the span tickets may have (kpi.tickets stores
# 1970 to the start of 2100). Keeping windows inside it also keeps every date
# computed here far from datetime's own limits (years 1 and 9999).
FIRST_DAY = date(1970, 1, 1)
LAST_DAY = date(2099, 12, 31)
# "now" may be a day either side of the supported days (its local date may differ).
_EARLIEST_NOW = datetime.combine(FIRST_DAY - timedelta(days=1), time(), timezone.utc)
_LATEST_NOW = datetime.combine(LAST_DAY + timedelta(days=2), time(), timezone.utc)

# ASCII digits only: other scripts' digits are folded to ASCII first (_normalise).
_DAYS = re.compile(r"^(\d{1,4})d$", re.ASCII)
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$", re.ASCII)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)


class WindowError(ValueError):
    """The window text is not one csbot understands; the message says which are."""


def _refuse(problem: str) -> WindowError:
    return WindowError(f"{problem} Windows: {WINDOW_HELP}.")


def _normalise(text: str) -> str:
    """Lower-case window text with full-width forms and any script's digits as ASCII.

    Input methods type `７ｄ` and Arabic keyboards `٣d`; both mean 3 or 7 days.
    """
    folded = unicodedata.normalize("NFKC", text)
    folded = "".join(str(unicodedata.decimal(ch)) if ch.isdecimal() else ch for ch in folded)
    return folded.strip().lower()


@dataclass(frozen=True)
class Window:
    spec: str  # what was asked, normalised (e.g. "7d", "2026-03-01..2026-03-31")
    start: datetime  # aware, in `timezone`
    end: datetime  # aware, in `timezone`; exclusive
    timezone: str
    kind: str  # rolling | day | week | month | range

    @property
    def start_utc(self) -> datetime:
        return self.start.astimezone(timezone.utc)

    @property
    def end_utc(self) -> datetime:
        return self.end.astimezone(timezone.utc)

    def label(self) -> str:
        last = (self.end - timedelta(microseconds=1)).date() if self.kind != "rolling" else self.end.date()
        first = self.start.date()
        when = first.isoformat() if first == last else f"{first.isoformat()} – {last.isoformat()}"
        if self.kind == "rolling":
            return f"{self.spec} ({self.start:%Y-%m-%d %H:%M} – {self.end:%Y-%m-%d %H:%M} {self.timezone})"
        return f"{when} ({self.timezone})"

    def previous(self) -> Window:
        """The window of the same length just before this one."""
        tz = ZoneInfo(self.timezone)
        if self.kind == "month":
            first = self.start.date().replace(day=1)
            prev_first = (first - timedelta(days=1)).replace(day=1)
            return _days_window(f"{prev_first:%Y-%m}", prev_first, first, tz, "month")
        days = _local_days(self.start, self.end)
        if self.kind == "rolling":
            start = _wall(self.start.replace(tzinfo=None) - timedelta(days=days), tz)
            return Window(self.spec, start, self.start, self.timezone, "rolling")
        first = self.start.date() - timedelta(days=days)
        return _days_window(_range_spec(first, self.start.date()), first, self.start.date(), tz, self.kind)

    def to_json(self) -> dict[str, str]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "timezone": self.timezone}


def _local_days(start: datetime, end: datetime) -> int:
    return (end.replace(tzinfo=None).date() - start.replace(tzinfo=None).date()).days or 1


def _wall(naive: datetime, tz: ZoneInfo) -> datetime:
    """Attach `tz` to a wall-clock time; a time skipped by DST moves forward."""
    aware = naive.replace(tzinfo=tz)
    # Round-trip through UTC normalises nonexistent local times (spring forward).
    return aware.astimezone(timezone.utc).astimezone(tz)


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return _wall(datetime.combine(day, time()), tz)


def _range_spec(first: date, end_exclusive: date) -> str:
    last = end_exclusive - timedelta(days=1)
    return first.isoformat() if first == last else f"{first.isoformat()}..{last.isoformat()}"


def _days_window(spec: str, first: date, end_exclusive: date, tz: ZoneInfo, kind: str) -> Window:
    return Window(spec, _midnight(first, tz), _midnight(end_exclusive, tz), tz.key, kind)


def _parse_date(text: str) -> date:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise _refuse(f"{text!r} is not a real date (YYYY-MM-DD).") from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise _refuse(f"{text} is outside the days csbot answers for, {FIRST_DAY} to {LAST_DAY}.")
    return day


def check_supported(window: Window) -> Window:
    """`window` itself when csbot can answer for it; WindowError when it is empty or out of range."""
    if window.start_utc >= window.end_utc:  # in UTC: within one zone `>=` compares wall clocks
        raise _refuse(f"{window.spec} is empty in {window.timezone}: the clocks skipped that time.")
    first, last = window.start.date(), (window.end - timedelta(microseconds=1)).date()
    if first < FIRST_DAY or last > LAST_DAY:
        span = first.isoformat() if first == last else f"{first}..{last}"
        raise _refuse(f"{window.spec} is {span}, outside the days csbot answers for, {FIRST_DAY} to {LAST_DAY}.")
    return window


def _has_window_form(spec: str) -> bool:
    return bool(
        spec in ("today", "yesterday", "week", "last-week", "month", "last-month")
        or _DAYS.match(spec)
        or _RANGE.match(spec)
        or _DATE.match(spec)
    )


def is_window(text: str) -> bool:
    """Whether `text` has the form of a window (it may still be refused, e.g. 2026-02-30)."""
    return _has_window_form(_normalise(text))


def parse_window(text: str | None, now: datetime, tz_name: str) -> Window:
    """Resolve `text` (default 7d) to a window ending at or around `now` in `tz_name`.

    Raises WindowError, naming the valid forms, for text that is not a window
    and for windows outside the supported days (see check_supported).
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return check_supported(_resolve(text, now, ZoneInfo(tz_name)))


def _resolve(text: str | None, now: datetime, tz: ZoneInfo) -> Window:
    spec = _normalise(text or DEFAULT_WINDOW)
    if not _has_window_form(spec):
        raise WindowError(f"{text!r} is not a window. Use {WINDOW_HELP}.")
    if not _EARLIEST_NOW <= now < _LATEST_NOW:
        raise _refuse(f"{now.isoformat()} is outside the days csbot answers for, {FIRST_DAY} to {LAST_DAY}.")
    local_now = now.astimezone(tz)
    today = local_now.date()
    if m := _DAYS.match(spec):
        days = int(m.group(1))
        if not 1 <= days <= MAX_DAYS:
            raise _refuse(f"{spec}: use between 1d and {MAX_DAYS}d.")
        start = _wall(local_now.replace(tzinfo=None) - timedelta(days=days), tz)
        return Window(f"{days}d", start, local_now, tz.key, "rolling")
    if spec == "today":
        return _days_window(today.isoformat(), today, today + timedelta(days=1), tz, "day")
    if spec == "yesterday":
        y = today - timedelta(days=1)
        return _days_window(y.isoformat(), y, today, tz, "day")
    if spec in ("week", "last-week"):
        monday = today - timedelta(days=today.weekday())
        if spec == "last-week":
            monday -= timedelta(days=7)
        return _days_window(_range_spec(monday, monday + timedelta(days=7)), monday, monday + timedelta(days=7), tz, "week")
    if spec in ("month", "last-month"):
        first = today.replace(day=1)
        if spec == "last-month":
            first = (first - timedelta(days=1)).replace(day=1)
        nxt = (first + timedelta(days=32)).replace(day=1)
        return _days_window(f"{first:%Y-%m}", first, nxt, tz, "month")
    if m := _RANGE.match(spec):
        first, last = _parse_date(m.group(1)), _parse_date(m.group(2))
        if last < first:
            raise _refuse(f"{spec}: the end date is before the start date.")
        if (last - first).days + 1 > MAX_DAYS:
            raise _refuse(f"{spec}: a window can span at most {MAX_DAYS} days.")
        return _days_window(_range_spec(first, last + timedelta(days=1)), first, last + timedelta(days=1), tz, "range")
    day = _parse_date(spec)  # the one form left (_has_window_form)
    return _days_window(day.isoformat(), day, day + timedelta(days=1), tz, "day")
