"""Time windows for KPI questions, as people say them: `7d`, `last week`, `this month`,
`november`, `since monday`, `2026-11-01 to 2026-11-15`, `2026-03-01..2026-03-31`, …

Every phrase has one canonical form (`last week` is `last-week`, `2026-11-01 to
2026-11-15` is `2026-11-01..2026-11-15`, `nov 2025` is `2025-11`), which is what
a request keeps and a button carries; both resolve to the same window.
Relative names (`november`, `monday`, `since monday`) mean the most recent such
month or day that has started, resolved at the moment asked about.

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
    "today, yesterday, this week, last week, this month, last month, a month (november, nov 2025, 2025-11), "
    "a day of the week (monday, last friday), since monday, since 2026-11-01, 7d, 30d, 90d (any number of days: 365d; "
    "last 30 days), YYYY-MM-DD, or YYYY-MM-DD to YYYY-MM-DD (also YYYY-MM-DD..YYYY-MM-DD; end date included)"
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
    kind: str  # rolling | day | week | month | range | since (a weekday to today: compared a week back)
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

    @property
    def days(self) -> int:
        """How many calendar days the window spans (a rolling one: its length in days)."""
        return _local_days(self.start, self.end)

    def name(self) -> str:
        """What the window is called: `November 2026` for a month, else its days (`2026-11-01 – 2026-11-15`)."""
        if self.kind == "month":
            return f"{MONTHS[self.start.month - 1].capitalize()} {self.start.year}"
        last = (self.end - timedelta(microseconds=1)).date() if self.kind != "rolling" else self.end.date()
        first = self.start.date()
        return first.isoformat() if first == last else f"{first.isoformat()} – {last.isoformat()}"

    def label(self) -> str:
        when = self.name()
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
        if self.kind == "since":
            # `since tuesday` on a Thursday: Tuesday to Thursday of the week before, not
            # the weekend just before (support traffic has a weekly rhythm).
            first = self.start.date() - timedelta(days=7)
            end = first + timedelta(days=days)
            return _days_window(_range_spec(first, end), first, end, tz, "since")
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
    """Whether one normalised word is a window in its canonical form."""
    return bool(
        spec in KEYWORDS
        or _DAYS.match(spec)
        or _RANGE.match(spec)
        or _DATE.match(spec)
        or _YEAR_MONTH.match(spec)
    )


# ---------------------------------------------------------------- phrases as people say them

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december")
_WEEKDAY_WORDS = {name: i for i, name in enumerate(WEEKDAYS)} | {
    "mon": 0, "tue": 1, "tues": 1, "wed": 2, "weds": 2, "thu": 3, "thur": 3, "thurs": 3, "fri": 4, "sat": 5, "sun": 6,
}  # fmt: skip
_MONTH_WORDS = {name: i + 1 for i, name in enumerate(MONTHS)} | {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9, "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip
_YEAR_MONTH = re.compile(r"^(\d{4})-(\d{2})$", re.ASCII)
_YEAR = re.compile(r"^\d{4}$", re.ASCII)
_COUNT_WORD = re.compile(r"^\d{1,6}$", re.ASCII)
# What people put between two dates to mean the days from one to the other.
RANGE_JOINERS = frozenset({"to", "-", "\u2013", "\u2014", "~", "..", "until", "till", "through", "thru"})
# One word holding two dates: `2026-11-01–2026-11-30`, `2026-11-01-2026-11-30`, `2026-11-01to2026-11-30`.
_JOINED_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:[-\u2013\u2014~]|to)(\d{4}-\d{2}-\d{2})$", re.ASCII)
# Words a window phrase starts with, never a window alone (`since` what?).
LEADING_WORDS = frozenset({"since", "from", "between", "last", "this", "past"})
MAX_PHRASE_WORDS = 4  # `from 2026-11-01 to 2026-11-15`, `between … and …`


def _word(word: str) -> str | None:
    """The canonical form of a one-word window, or None."""
    if word in ("this-week", "this-month"):
        return word.removeprefix("this-")
    if _has_window_form(word):
        return word
    if word in _WEEKDAY_WORDS:
        return WEEKDAYS[_WEEKDAY_WORDS[word]]
    if word in _MONTH_WORDS:
        return MONTHS[_MONTH_WORDS[word] - 1]
    if m := _JOINED_RANGE.match(word):
        return f"{m.group(1)}..{m.group(2)}"
    return None


def _anchored(spec: str) -> bool:
    """Whether `since SPEC` means something: a window that starts on a whole day (not 7d, not a range)."""
    return not (_DAYS.match(spec) or _RANGE.match(spec) or spec.startswith("since "))


def _phrase(words: tuple[str, ...]) -> str | None:
    """The canonical form of a window said in normalised `words`, or None when they are not one."""
    n = len(words)
    if n == 1:
        return _word(words[0])
    head, rest = words[0], words[1:]
    if head in ("this", "last") and n == 2 and rest[0] in ("week", "month"):
        return rest[0] if head == "this" else f"last-{rest[0]}"
    if head == "last" and n == 2 and rest[0] in _WEEKDAY_WORDS:
        return f"last {WEEKDAYS[_WEEKDAY_WORDS[rest[0]]]}"
    if n == 2 and head in _MONTH_WORDS and _YEAR.match(rest[0]):
        return f"{rest[0]}-{_MONTH_WORDS[head]:02d}"  # `nov 2025` is 2025-11
    if n == 3 and head in ("last", "past") and _COUNT_WORD.match(rest[0]) and rest[1] in ("day", "days", "week", "weeks"):
        return f"{int(rest[0]) * (7 if rest[1].startswith('week') else 1)}d"  # `last 30 days` is 30d
    if n == 3 and _DATE.match(head) and rest[0] in RANGE_JOINERS and _DATE.match(rest[1]):
        return f"{head}..{rest[1]}"
    if n == 4 and ((head == "from" and rest[1] in RANGE_JOINERS) or (head == "between" and rest[1] == "and")):
        if _DATE.match(rest[0]) and _DATE.match(rest[2]):
            return f"{rest[0]}..{rest[2]}"
    if head in ("since", "from") and n <= 3:
        inner = _phrase(rest)
        if inner in ("today", "week", "month"):
            return inner  # `since today` is today, `since this week` the week so far
        if inner is not None and _anchored(inner):
            return f"since {inner}"
    return None


def canonical(text: str) -> str | None:
    """The canonical form of the window `text` says (`Last  Week` → `last-week`), or None when it says none."""
    words = tuple(_normalise(text).split())
    if not words or len(words) > MAX_PHRASE_WORDS:
        return None
    return _phrase(words)


def is_window(text: str) -> bool:
    """Whether `text` has the form of a window (it may still be refused, e.g. 2026-02-30)."""
    return canonical(text) is not None


@dataclass(frozen=True)
class Found:
    """A window phrase among a command's words: `words[first:stop]` say `spec`."""

    spec: str
    first: int
    stop: int


def find_window(words: list[str], *, literal: frozenset[int] = frozenset()) -> Found | None:
    """The window phrase that ends `words`, else the one that starts them; the longest one.

    `/kpi team emea last week` and `/kpi team last week emea` both name the team
    "emea". A word in `literal` (typed in quotes) or holding a space (a quoted
    name) is never part of a window, so `"Week Shift"` and `"November"` stay names.
    """

    def says(first: int, stop: int) -> str | None:
        if any(i in literal or len(words[i].split()) != 1 for i in range(first, stop)):
            return None
        return canonical(" ".join(words[first:stop]))

    n = len(words)
    for size in range(min(MAX_PHRASE_WORDS, n), 0, -1):
        if (spec := says(n - size, n)) is not None:
            return Found(spec, n - size, n)
    for size in range(min(MAX_PHRASE_WORDS, n - 1), 0, -1):
        if (spec := says(0, size)) is not None:
            return Found(spec, 0, size)
    return None


def parse_window(text: str | None, now: datetime, tz_name: str) -> Window:
    """Resolve `text` (default 7d) to a window ending at or around `now` in `tz_name`.

    `text` is any form of WINDOW_HELP, natural phrases included. Raises
    WindowError, naming the valid forms, for text that is not a window and for
    windows outside the supported days (see check_supported), and NotStarted
    for a window that starts after `now` (it has no figures yet). A window
    still running at `now` is cut there ("so far").
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    window = check_supported(_resolve(text, now, ZoneInfo(tz_name)))
    if window.start_utc >= now:
        # At its very first instant a window holds nothing yet either: no card of zeros.
        local_now = now.astimezone(window.start.tzinfo)
        raise NotStarted(
            f"{window.name()} has not started yet: it starts {window.start:%Y-%m-%d %H:%M} and it is "
            f"{local_now:%Y-%m-%d %H:%M} now ({window.timezone}). Ask about a window up to now."
        )
    if window.end_utc > now:
        return replace(window, cut=now.astimezone(window.start.tzinfo), running=True)
    return window


def _resolve(text: str | None, now: datetime, tz: ZoneInfo) -> Window:
    spec = canonical(text or DEFAULT_WINDOW)
    if spec is None:
        raise WindowError(f"{text!r} is not a window. Use {WINDOW_HELP}.")
    if not _EARLIEST_NOW <= now < _LATEST_NOW:
        raise _refuse(f"{now.isoformat()} is outside the days csbot answers for, {FIRST_DAY} to {LAST_DAY}.")
    local_now = now.astimezone(tz)
    if spec.startswith("since "):
        return _since(spec, _resolve_one(spec.removeprefix("since "), local_now, tz), local_now.date(), tz)
    return _resolve_one(spec, local_now, tz)


def _since(spec: str, anchor: Window, today: date, tz: ZoneInfo) -> Window:
    """From the start of `anchor` to the end of today: `since monday`, `since 2026-11-01`, `since last week`."""
    first = anchor.start.date()
    if first > today or anchor.end >= _midnight(today + timedelta(days=1), tz):
        return anchor  # not started yet (refused as such), or already up to today: `since today` is today
    end = today + timedelta(days=1)
    # From a weekday: compared with the same days a week before, while they fit in a week.
    kind = "since" if spec.removeprefix("since ").removeprefix("last ") in WEEKDAYS and (end - first).days <= 7 else "range"
    return _days_window(spec if kind == "since" else _range_spec(first, end), first, end, tz, kind)


def _resolve_one(spec: str, local_now: datetime, tz: ZoneInfo) -> Window:
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
        return _month(first, tz)
    if spec.removeprefix("last ") in WEEKDAYS:
        # The most recent such day that has started (today on that day); `last friday`: the one before today.
        back = (today.weekday() - WEEKDAYS.index(spec.removeprefix("last "))) % 7
        if spec.startswith("last ") and back == 0:
            back = 7
        day = today - timedelta(days=back)
        return _days_window(day.isoformat(), day, day + timedelta(days=1), tz, "day")
    if spec in MONTHS:
        # The most recent such month that has started: in December, `november` is this year's.
        month = MONTHS.index(spec) + 1
        return _month(date(today.year if month <= today.month else today.year - 1, month, 1), tz)
    if m := _YEAR_MONTH.match(spec):
        year, month = int(m.group(1)), int(m.group(2))
        if not 1 <= month <= 12:
            raise _refuse(f"{spec!r} is not a real month (YYYY-MM).")
        if not FIRST_DAY.year <= year <= LAST_DAY.year:
            raise _refuse(f"{spec} is outside the days csbot answers for, {FIRST_DAY} to {LAST_DAY}.")
        return _month(date(year, month, 1), tz)
    if m := _RANGE.match(spec):
        first, last = _parse_date(m.group(1)), _parse_date(m.group(2))
        if last < first:
            raise _refuse(f"{spec}: the end date is before the start date.")
        return _days_window(_range_spec(first, last + timedelta(days=1)), first, last + timedelta(days=1), tz, "range")
    day = _parse_date(spec)  # the one form left (_phrase)
    return _days_window(day.isoformat(), day, day + timedelta(days=1), tz, "day")


def _month(first: date, tz: ZoneInfo) -> Window:
    nxt = (first + timedelta(days=32)).replace(day=1)
    return _days_window(f"{first:%Y-%m}", first, nxt, tz, "month")


# Text that was meant as a window but is not one: `1w`, `7days`, `-5d`, `30`,
# `2026/11/01`, `11/01`, `last_week`, `a..b`, `since`.
_MEANT = re.compile(
    r"^([-+]?\d+[-_ ]?[a-z]*|\d{4}[-/.]\S*|\d{1,2}[/.]\d{1,2}([/.]\d{2,4})?|(last|this|next|past|prev|previous)[-_ ]?\S*|\S*\.\.\S*"
    r"|since|from|between|until|till)$",
    re.ASCII,
)
_UNIT_DAYS = {
    "d": 1, "day": 1, "days": 1, "w": 7, "wk": 7, "wks": 7, "week": 7, "weeks": 7,
    "mo": 30, "mos": 30, "month": 30, "months": 30, "y": 365, "yr": 365, "year": 365, "years": 365,
}  # fmt: skip
_COUNT = re.compile(r"^[-+]?(\d{1,6})[-_ ]?([a-z]*)$", re.ASCII)
_MONTH_ONLY = re.compile(r"^(\d{4})[-/.](\d{1,2})$", re.ASCII)
_SLASHED_DATE = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$", re.ASCII)
_WORDY = re.compile(r"^(last|this|past|prev|previous)[-_ ]?(\d*)[-_ ]?(day|days|d|week|weeks|w|month|months)$", re.ASCII)
# The words window phrases are made of, for correcting a misspelt one (`last weak`, `novmber`).
_VOCABULARY = (*KEYWORDS, *WEEKDAYS, *MONTHS, "since", "from", "between", "and", "to", "until", "last", "this", "past", "day", "days", "weeks")
_WINDOWISH = re.compile(r"^(\d+|\d{4}[-/.]\S*|\S*\.\.\S*)$", re.ASCII)


def looks_like_window(text: str) -> bool:
    """Whether `text` has a window's form (`7d`, `last week`, a date or a range), whether or not it is a valid one."""
    return is_window(text) or meant_as_window(text)


def meant_as_window(text: str) -> bool:
    """Whether `text` is not a window but was surely meant as one (so "not a window" is the answer)."""
    if is_window(text):
        return False
    words = _normalise(text).split()
    if len(words) > 1:
        # `next week`, `since 2026/11/01`, `from 1 to 2`: a leading word and window words only.
        if words[0] in LEADING_WORDS | {"next"} and len(words) <= MAX_PHRASE_WORDS:
            if all(w in _VOCABULARY or w in RANGE_JOINERS or w in _WEEKDAY_WORDS or w in _MONTH_WORDS or _WINDOWISH.match(w) for w in words[1:]):
                return True
        return window_suggestion(text) is not None
    return bool(_MEANT.match(_normalise(text))) or window_suggestion(text) is not None


def _corrected(word: str) -> str:
    """`word`, or the window word it is a slip for (`weak` → `week`, `novmber` → `november`)."""
    if word in _VOCABULARY or word in _WEEKDAY_WORDS or word in _MONTH_WORDS or _WINDOWISH.match(word) or word in RANGE_JOINERS:
        return word
    close = difflib.get_close_matches(word, _VOCABULARY, n=1, cutoff=0.75)
    if not close:
        return word
    # A day or month name only for a slip of a letter in a long word, never for a
    # person's name (`marc` is not March, `augustin` not August).
    name = close[0] in WEEKDAYS or close[0] in MONTHS
    if not name or (len(word) >= 5 and word[0] == close[0][0] and abs(len(close[0]) - len(word)) <= 1 and not close[0].startswith(word)):
        return close[0]
    return word


def phrase_slip(text: str) -> str | None:
    """The window phrase `text` says with a word or two misspelt (`last weak` → `last week`), if it is one."""
    words = _normalise(text).split()
    if not 0 < len(words) <= MAX_PHRASE_WORDS:
        return None
    fixed = tuple(_corrected(w) for w in words)
    return " ".join(fixed) if fixed != tuple(words) and _phrase(fixed) is not None else None


def window_suggestion(text: str) -> str | None:
    """The window a mistyped one most likely meant (`1w` → `7d`, `last weak` → `last week`), if any."""
    spec = _normalise(text)
    if m := _COUNT.match(spec):
        n, unit = int(m.group(1)), m.group(2)
        if unit in ("", *_UNIT_DAYS) and n:
            days = n * _UNIT_DAYS.get(unit, 1)
            if days > 36_500:
                return None  # no window reaches back that far
            return f"{days}d" + (" or week" if days == 7 else "")
        return None
    if m := _MONTH_ONLY.match(spec):
        year, month = int(m.group(1)), int(m.group(2))
        if 1 <= month <= 12 and FIRST_DAY.year <= year <= LAST_DAY.year:
            return f"{year}-{month:02d}"  # `2026/11`, `2026-1`
        return None
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
    if slip := phrase_slip(spec):
        return slip
    close = difflib.get_close_matches(spec.replace("_", "-").replace(" ", "-"), KEYWORDS, n=1, cutoff=0.75)
    return close[0] if close else None


def not_a_window(text: str) -> str:
    """The answer to text meant as a window: what was wrong, the likely fix, and the valid forms."""
    hint = window_suggestion(text)
    did_you_mean = f" Did you mean {hint}?" if hint else ""
    return f"{text!r} is not a window.{did_you_mean} Windows: {WINDOW_HELP}."
