"""The org file's `calendars:` section: business hours, a time zone and holidays.

    calendars:
      - key: emea-office
        timezone: Europe/Berlin
        hours: ["mon-fri 08:00-12:00,13:00-18:00", "sat 10:00-14:00"]
        holidays:
          country: DE          # public holidays of the `holidays` package
          subdiv: BE           # optional: a state or region of the country
          dates: ["2026-12-24", "2026-12-28 to 2026-12-31"]   # days of its own

The org names the calendar its teams use (`org: calendar: KEY`), a team may
name another or `none` (around the clock). Read by `store.org_file` with the
same checker, so each problem is reported at its line with the rest of the
file's; stored as written (`CalendarSpec`), and turned into a
`store.business_time.BusinessCalendar` by `store.calendars`.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any

from store.business_time import CalendarError, parse_hours
from store.quoting import clip
from store.yaml_file import LineDict, LineList

if TYPE_CHECKING:  # org_file imports this module when it reads a file
    from store.org_file import _Checker

CALENDAR_KEYS = ("key", "timezone", "hours", "holidays")
HOLIDAY_KEYS = ("country", "subdiv", "dates")
# A team's `calendar: none`: no business hours, every duration on the wall clock.
NO_CALENDAR = "none"
MAX_CALENDARS = 50
MAX_HOURS_LINES = 14
MAX_DATES = 400
# Own holiday ranges are days off, not seasons: a longer one is a typo in a year.
MAX_RANGE_DAYS = 62
_RANGE = re.compile(r"^\s*(\d{4}-\d{2}-\d{2})\s*(?:(?:to|\.\.|–|—)\s*(\d{4}-\d{2}-\d{2}))?\s*$")


@dataclass
class CalendarSpec:
    key: str
    timezone: str
    hours: list[str] = field(default_factory=list)  # as written, one weekday rule per line
    country: str | None = None
    subdiv: str | None = None
    dates: list[str] = field(default_factory=list)  # "YYYY-MM-DD" or "YYYY-MM-DD to YYYY-MM-DD"

    def as_dict(self) -> dict[str, Any]:
        """How it is stored and how `csbot org show` writes it back."""
        out: dict[str, Any] = {"key": self.key, "timezone": self.timezone, "hours": list(self.hours)}
        holidays: dict[str, Any] = {}
        if self.country:
            holidays["country"] = self.country
        if self.subdiv:
            holidays["subdiv"] = self.subdiv
        if self.dates:
            holidays["dates"] = list(self.dates)
        if holidays:
            out["holidays"] = holidays
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CalendarSpec:
        holidays = data.get("holidays") or {}
        return cls(
            key=data["key"],
            timezone=data["timezone"],
            hours=list(data.get("hours") or []),
            country=holidays.get("country"),
            subdiv=holidays.get("subdiv"),
            dates=list(holidays.get("dates") or []),
        )


@cache
def supported_countries() -> dict[str, tuple[str, ...]]:
    """Country codes the `holidays` package knows, each with its subdivisions (imported once: it is large)."""
    import holidays

    return {code: tuple(subdivs) for code, subdivs in holidays.list_supported_countries().items()}


def date_range(text: str) -> tuple[date, date]:
    """`YYYY-MM-DD` or `YYYY-MM-DD to YYYY-MM-DD` (also `..`) as (first, last), both included; ValueError says why not."""
    m = _RANGE.match(text)
    if m is None:
        raise ValueError(f"{clip(text)} is not a date YYYY-MM-DD or a range YYYY-MM-DD to YYYY-MM-DD")
    try:
        first = date.fromisoformat(m.group(1))
        last = date.fromisoformat(m.group(2)) if m.group(2) else first
    except ValueError:
        raise ValueError(f"{clip(text)} is not a date that exists") from None
    if last < first:
        raise ValueError(f"{clip(text)} ends before it starts")
    if (last - first).days + 1 > MAX_RANGE_DAYS:
        raise ValueError(f"{clip(text)} is {(last - first).days + 1} days; a range of days off is at most {MAX_RANGE_DAYS}")
    return first, last


def own_dates(texts: Collection[str]) -> frozenset[date]:
    """Every day the calendar's own `dates` close."""
    days: set[date] = set()
    for text in texts:
        first, last = date_range(text)
        days.update(first + timedelta(days=n) for n in range((last - first).days + 1))
    return frozenset(days)


def parse_calendars(check: _Checker, doc: LineDict) -> list[CalendarSpec]:
    """The calendars listed under `calendars:`; each problem reported at its line."""
    from store.org_file import _items, _timezone

    items = _items(doc, "calendars", check, CALENDAR_KEYS)
    if len(items) > MAX_CALENDARS:
        check.add(doc.key_lines["calendars"], f"calendars: {len(items)} calendars; at most {MAX_CALENDARS}")
    calendars: list[CalendarSpec] = []
    seen: dict[str, int] = {}
    for index, c in items:
        key = check.text(c, "key", f"calendars[{index}]", required=True, max_len=64)
        what = f"calendar {key!r}" if key else f"calendars[{index}]"
        check.unknown_keys(c, CALENDAR_KEYS, what)
        check.listed_key(c, key, what, "calendar", seen, {NO_CALENDAR: f"'{NO_CALENDAR}' means no calendar (around the clock); call it something else"})
        tz = _timezone(check, c, what, required=True)
        spec = CalendarSpec(key=key or "", timezone=tz or "UTC")
        spec.hours = _hours(check, c, what)
        if c.get("holidays") is not None:
            _holidays(check, c, what, spec)
        calendars.append(spec)
    return calendars


def _hours(check: _Checker, c: LineDict, what: str) -> list[str]:
    raw = c.get("hours")
    example = 'hours: ["mon-fri 08:00-12:00,13:00-18:00", "sat 10:00-14:00"]'
    if raw is None:
        check.add(c.line, f"{what}: hours are required, e.g. {example}")
        return []
    if isinstance(raw, str):
        raw_lines, lines_at = LineList([raw]), [c.key_lines["hours"]]
    elif isinstance(raw, LineList):
        raw_lines, lines_at = raw, raw.item_lines
    else:
        check.add(c.key_lines["hours"], f"{what}: hours must be a list of lines, e.g. {example}")
        return []
    if not raw_lines:
        check.add(c.key_lines["hours"], f"{what}: hours list no open time; leave the team's calendar out (or write calendar: none) for around the clock")
        return []
    if len(raw_lines) > MAX_HOURS_LINES:
        check.add(c.key_lines["hours"], f"{what}: {len(raw_lines)} lines of hours; at most {MAX_HOURS_LINES}")
        return []
    good: list[str] = []
    for number, (line_text, at) in enumerate(zip(raw_lines, lines_at, strict=True), start=1):
        if not isinstance(line_text, str) or len(line_text) > 200:
            check.add(at, f"{what}: hours line {number} {clip(line_text)} is not a line like mon-fri 08:00-18:00")
            continue
        try:
            parse_hours([line_text])
        except CalendarError as exc:
            # Read alone it is "line 1"; say which line of the list it is.
            check.add(at, f"{what}: {str(exc).replace('hours line 1 ', f'hours line {number} ', 1)}")
            continue
        good.append(line_text.strip())
    if len(good) == len(raw_lines):
        try:
            parse_hours(good)  # lines that overlap each other
        except CalendarError as exc:
            check.add(c.key_lines["hours"], f"{what}: {exc}")
    return good


def _holidays(check: _Checker, c: LineDict, what: str, spec: CalendarSpec) -> None:
    from store.org_file import _read_misspellings

    section = check.mapping(c["holidays"], c.key_lines["holidays"], f"{what}: holidays")
    if section is None:
        return
    section = _read_misspellings(section, HOLIDAY_KEYS)
    check.unknown_keys(section, HOLIDAY_KEYS, f"{what}: holidays")
    country = check.text(section, "country", f"{what}: holidays", max_len=8) if section.get("country") is not None else None
    if country is not None:
        known = supported_countries()
        if country.upper() not in known:
            check.add(section.key_lines["country"], f"{what}: holidays: {clip(country)} is not a country code the holidays package knows (two letters, e.g. DE, US, GB)")
        else:
            spec.country = country.upper()
    if section.get("subdiv") is not None:
        subdiv = check.text(section, "subdiv", f"{what}: holidays", max_len=16)
        if country is None:
            check.add(section.key_lines["subdiv"], f"{what}: holidays: subdiv needs a country")
        elif spec.country is not None and subdiv is not None:
            subdivs = supported_countries()[spec.country]
            match = next((s for s in subdivs if s.upper() == subdiv.upper()), None)
            if match is None:
                listed = ", ".join(subdivs[:40]) + (", …" if len(subdivs) > 40 else "")
                check.add(section.key_lines["subdiv"], f"{what}: holidays: {clip(subdiv)} is not a subdivision of {spec.country} ({listed or 'it has none'})")
            else:
                spec.subdiv = match
    if section.get("dates") is not None:
        raw = section["dates"]
        if not isinstance(raw, LineList):
            check.add(section.key_lines["dates"], f'{what}: holidays: dates must be a list, e.g. dates: ["2026-12-24", "2026-12-28 to 2026-12-31"]')
            return
        if len(raw) > MAX_DATES:
            check.add(section.key_lines["dates"], f"{what}: holidays: {len(raw)} dates; at most {MAX_DATES}")
            return
        for item, at in zip(raw, raw.item_lines, strict=True):
            # YAML reads an unquoted 2026-12-24 as a date: take it as written.
            text = item.isoformat() if isinstance(item, date) else item
            if not isinstance(text, str):
                check.add(at, f"{what}: holidays: {clip(item)} is not a date YYYY-MM-DD or a range YYYY-MM-DD to YYYY-MM-DD")
                continue
            try:
                date_range(text)
            except ValueError as exc:
                check.add(at, f"{what}: holidays: {exc}")
                continue
            spec.dates.append(text.strip())
