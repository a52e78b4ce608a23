"""Time windows for KPI questions: `7d`, `week`, `last-month`, `2026-03-01..2026-03-31`, …

A window is [start, end) computed on the wall clock of a time zone (the
team's, the agent's or the org's), then turned into UTC instants. Days are
calendar days, so a window across a DST change is 23 or 25 hours longer or
shorter, as a person in that zone would expect.

Window text is whatever a person typed, so parsing never lets a date library
exception escape: every window is either resolved inside the supported days
(1970-01-01 to 2099-12-31 in its time zone, the span tickets may have) or
refused with a WindowError that names the valid forms.

A window that is still running (`today`, `week`, `month`, a range ending
later) is measured "so far": up to now, and compared with the same elapsed
span of the window before it (week-to-date against last week up to the same
weekday and time), never with a whole window.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

WINDOW_HELP = (
    "today, yesterday, 7d, 30d, 90d (any number of days: 365d, 1000d), week, last-week, month, last-month, "
    "YYYY-MM-DD, or YYYY-MM-DD..YYYY-MM-DD (end date included)"
)
DEFAULT_WINDOW = "7d"
KEYWORDS = ("today", "yesterday", "week", "last-week", "month", "last-month")
# The days csbot answers for: the span tickets may have (kpi.tickets stores
# 1970 to the start of 2100). Keeping windows inside it also keeps every date
# computed here far from datetime's own limits (years 1 and 9999).
FIRST_DAY = date(1970, 1, 1)
LAST_DAY = date(2099, 12, 31)
# "now" may be a day either side of the supported days (its local date may differ).
_EARLIEST_NOW = datetime.combine(FIRST_DAY - timedelta(days=1), time(), timezone.utc)
_LATEST_NOW = datetime.combine(LAST_DAY + timedelta(days=2), time(), timezone.utc)

# ASCII digits only: other scripts' digits are folded to ASCII first (_normalise).
# Up to six digits: anything longer than 1970 to today is refused by its dates.
_DAYS = re.compile(r"^(\d{1,6})d$", re.ASCII)
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$", re.ASCII)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)


class WindowError(ValueError):
    """The window text is not one csbot understands; the message says which are."""


class NotStarted(WindowError):
    """A real window that lies entirely in the future: there is nothing to measure yet."""


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
    # Where measuring stops when the window is still running ("so far"): the
    # moment asked about, or the same elapsed span of a comparison window.
    cut: datetime | None = None
    # True for the window asked about while it runs ("so far"); False for a
    # comparison window cut to the same span ("up to").
    running: bool = False

    @property
    def start_utc(self) -> datetime:
        return self.start.astimezone(timezone.utc)

    @property
    def end_utc(self) -> datetime:
        return self.end.astimezone(timezone.utc)

    @property
    def until(self) -> datetime:
        """Where figures stop: the cut of a running window, else its end."""
        return self.cut if self.cut is not None else self.end

    @property
    def until_utc(self) -> datetime:
        return self.until.astimezone(timezone.utc)

    @property
    def so_far(self) -> bool:
        return self.running

    def label(self) -> str:
        last = (self.end - timedelta(microseconds=1)).date() if self.kind != "rolling" else self.end.date()
        first = self.start.date()
        when = first.isoformat() if first == last else f"{first.isoformat()} – {last.isoformat()}"
        if self.kind == "rolling":
            return f"{self.spec} ({self.start:%Y-%m-%d %H:%M} – {self.end:%Y-%m-%d %H:%M} {self.timezone})"
        if self.cut is not None:
            how = "so far, to" if self.running else "up to"
            return f"{when} {how} {self.cut:%a %Y-%m-%d %H:%M} ({self.timezone})"
        return f"{when} ({self.timezone})"

    def comparison(self) -> Window:
        """The window to compare this one with: the one before, over the same elapsed span.

        A running window (week so far, Monday 07:30) is compared with the window
        before it up to the same wall-clock point (last Monday 07:30); a month
        on the 23rd with last month up to its 23rd (or its end, when shorter).
        """
        before = self.previous()
        if self.cut is None:
            return before
        tz = ZoneInfo(self.timezone)
        cut = _wall(before.start.replace(tzinfo=None) + self.elapsed(), tz)
        if cut.astimezone(timezone.utc) >= before.end_utc:
            return before  # the earlier window is shorter than the span so far: all of it (see like_for_like)
        return replace(before, cut=cut)

    def elapsed(self) -> timedelta:
        """The wall-clock span measured: from the start to where figures stop."""
        return self.until.replace(tzinfo=None) - self.start.replace(tzinfo=None)

    def like_for_like(self, other: Window) -> bool:
        """Whether `other` spans as much wall-clock time as this window, so counts compare fairly.

        Not so on the 31st of a running month compared with all of February: a
        count over 30 days is not "better" than one over 28.
        """
        return self.elapsed() == other.elapsed()

    def previous(self) -> Window:
        """The whole window of the same length just before this one (what "Previous window" shows)."""
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

    def to_json(self) -> dict[str, str | bool]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "timezone": self.timezone,
            "so_far": self.so_far,
            "until": self.until.isoformat(),
        }


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
        what = span if window.spec == span else f"{window.spec} is {span}"
        raise _refuse(f"{what}, outside the days csbot answers for, {FIRST_DAY} to {LAST_DAY}.")
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
    and for windows outside the supported days (see check_supported), and
    NotStarted for a window that starts after `now` (it has no figures yet).
    A window still running at `now` is cut there ("so far").
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    window = check_supported(_resolve(text, now, ZoneInfo(tz_name)))
    if window.start_utc >= now:
        # At its very first instant a window holds nothing yet either: no card of zeros.
        local_now = now.astimezone(window.start.tzinfo)
        raise NotStarted(
            f"{window.spec} has not started yet: it starts {window.start:%Y-%m-%d %H:%M} and it is "
            f"{local_now:%Y-%m-%d %H:%M} now ({window.timezone}). Ask about a window up to now."
        )
    if window.end_utc > now:
        return replace(window, cut=now.astimezone(window.start.tzinfo), running=True)
    return window


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
        if days < 1:
            raise _refuse(f"{spec}: a window is at least 1d.")
        if days > (today - FIRST_DAY).days + 3660:  # keeps the subtraction inside datetime's years
            raise _refuse(f"{spec} reaches back before {FIRST_DAY}, the first day csbot answers for.")
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
        return _days_window(_range_spec(first, last + timedelta(days=1)), first, last + timedelta(days=1), tz, "range")
    day = _parse_date(spec)  # the one form left (_has_window_form)
    return _days_window(day.isoformat(), day, day + timedelta(days=1), tz, "day")


# Text that was meant as a window but is not one: `1w`, `7days`, `-5d`, `30`,
# `2026-11`, `2026/11/01`, `11/01`, `last_week`, `this-month`, `a..b`.
_MEANT = re.compile(
    r"^([-+]?\d+[-_ ]?[a-z]*|\d{4}[-/.]\S*|\d{1,2}[/.]\d{1,2}([/.]\d{2,4})?|(last|this|next|past|prev|previous)[-_ ]?\S*|\S*\.\.\S*)$",
    re.ASCII,
)
_UNIT_DAYS = {
    "d": 1, "day": 1, "days": 1, "w": 7, "wk": 7, "wks": 7, "week": 7, "weeks": 7,
    "mo": 30, "mos": 30, "month": 30, "months": 30, "y": 365, "yr": 365, "year": 365, "years": 365,
}  # fmt: skip
_COUNT = re.compile(r"^[-+]?(\d{1,6})[-_ ]?([a-z]*)$", re.ASCII)
_MONTH = re.compile(r"^(\d{4})[-/.](\d{1,2})$", re.ASCII)
_SLASHED_DATE = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$", re.ASCII)
# Two dates joined the way people write a span: `2026-11-01–2026-11-30`, `2026-11-01-2026-11-30`.
_DASHED_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:[-\u2013\u2014~]|to)(\d{4}-\d{2}-\d{2})$", re.ASCII)
_WORDY = re.compile(r"^(last|this|past|prev|previous)[-_ ]?(\d*)[-_ ]?(day|days|d|week|weeks|w|month|months)$", re.ASCII)


def looks_like_window(text: str) -> bool:
    """Whether `text` has a window's form (`7d`, `month`, a date or a range), whether or not it is a valid one."""
    return _has_window_form(_normalise(text)) or meant_as_window(text)


def meant_as_window(text: str) -> bool:
    """Whether `text` is not a window but was surely meant as one (so "not a window" is the answer)."""
    spec = _normalise(text)
    if _has_window_form(spec):
        return False
    return bool(_MEANT.match(spec)) or window_suggestion(text) is not None


def window_suggestion(text: str) -> str | None:
    """The window a mistyped one most likely meant (`1w` → `7d`, `last_week` → `last-week`), if any."""
    spec = _normalise(text)
    if m := _COUNT.match(spec):
        n, unit = int(m.group(1)), m.group(2)
        if unit in ("", *_UNIT_DAYS) and n:
            days = n * _UNIT_DAYS.get(unit, 1)
            if days > 36_500:
                return None  # no window reaches back that far
            return f"{days}d" + (" or week" if days == 7 else "")
        return None
    if m := _MONTH.match(spec):
        year, month = int(m.group(1)), int(m.group(2))
        if 1 <= month <= 12 and FIRST_DAY.year <= year <= LAST_DAY.year:
            first = date(year, month, 1)
            last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
            return f"{first}..{last}"
        return None
    if m := _DASHED_RANGE.match(spec):
        return f"{m.group(1)}..{m.group(2)}"
    if m := _SLASHED_DATE.match(spec):
        try:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3))).isoformat()
        except ValueError:
            return None
    if m := _WORDY.match(spec):
        which, count, unit = m.group(1), m.group(2), m.group(3)
        if count:
            days = int(count) * _UNIT_DAYS.get(unit, 30)  # a month of days is 30
            return f"{days}d" if 0 < days <= 36_500 else None
        kind = "week" if unit.startswith("w") else "month" if unit.startswith("month") else "day"
        if which == "this":
            return {"week": "week", "month": "month", "day": "today"}[kind]
        return {"week": "last-week", "month": "last-month", "day": "yesterday"}[kind]
    close = difflib.get_close_matches(spec.replace("_", "-").replace(" ", "-"), KEYWORDS, n=1, cutoff=0.75)
    return close[0] if close else None


def not_a_window(text: str) -> str:
    """The answer to text meant as a window: what was wrong, the likely fix, and the valid forms."""
    hint = window_suggestion(text)
    did_you_mean = f" Did you mean {hint}?" if hint else ""
    return f"{text!r} is not a window.{did_you_mean} Windows: {WINDOW_HELP}."
