"""Days off read from an iCalendar file (a company's holiday calendar exported from Outlook or Google).

`csbot holidays import FILE.ics` prints them as a calendar's `holidays: dates:`
list for the org file (which stays the one place calendars are written), each
day or run of days with the event's name. Each event's days are the local dates
it covers: an all-day event from DTSTART up to its exclusive DTEND (or
DURATION; one day when neither is given), a timed event the dates it touches.
A recurring event (RRULE) is expanded over the years asked for. Anything else
in the file (to-dos, time zones) is ignored; an event that cannot be read is
a problem listed with the others, and nothing is printed then.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from store.calendar_file import MAX_RANGE_DAYS

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_DAYS = 2000


@dataclass(frozen=True)
class DaysOff:
    first: date
    last: date  # included
    summary: str

    @property
    def text(self) -> str:
        """As a calendar's `dates:` item."""
        return self.first.isoformat() if self.first == self.last else f"{self.first.isoformat()} to {self.last.isoformat()}"


class HolidayFileError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def read_days_off(path: Path, years: range) -> list[DaysOff]:
    """The days off of `path` within `years`, in date order, runs of days merged per event; HolidayFileError lists every problem."""
    import icalendar

    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise HolidayFileError([f"{path}: {path.stat().st_size:,} bytes; a holiday calendar is at most {MAX_FILE_BYTES // (1024 * 1024)} MB"])
        raw = path.read_bytes()
    except OSError as exc:
        raise HolidayFileError([f"{path}: cannot read it ({type(exc).__name__}: {exc})"]) from None
    try:
        cal = icalendar.Calendar.from_ical(raw)
    except (ValueError, IndexError, KeyError) as exc:
        raise HolidayFileError([f"{path}: not an iCalendar file ({exc})"]) from None
    problems: list[str] = []
    days: dict[date, str] = {}
    for number, event in enumerate(cal.walk("VEVENT"), start=1):
        summary = " ".join(str(event.get("SUMMARY", "")).split())[:80] or f"event {number}"
        try:
            for day in _event_days(event, years):
                days.setdefault(day, summary)
        except ValueError as exc:
            problems.append(f"{path}: event {number} ({summary}): {exc}")
        if len(days) > MAX_DAYS:
            problems.append(f"{path}: more than {MAX_DAYS:,} days off in {years.start}–{years.stop - 1}; is this a holiday calendar?")
            break
    if problems:
        raise HolidayFileError(problems)
    return _runs(days)


def _event_days(event: object, years: range) -> list[date]:
    start = _date_of(event, "DTSTART")  # type: ignore[arg-type]
    if start is None:
        raise ValueError("it has no DTSTART")
    all_day = not isinstance(event["DTSTART"].dt, datetime)  # type: ignore[index]
    end = _date_of(event, "DTEND")  # type: ignore[arg-type]
    if end is None and event.get("DURATION") is not None:  # type: ignore[attr-defined]
        end = start + event["DURATION"].dt  # type: ignore[index]
    if end is None:
        length = 1
    elif all_day:
        length = (end - start).days  # DTEND is the day after the last
    else:
        # A timed event covers each date it touches; one ending at midnight ends the day before.
        end_dt = event["DTEND"].dt if event.get("DTEND") is not None else event["DTSTART"].dt + event["DURATION"].dt  # type: ignore[index,attr-defined]
        length = (end_dt.date() - start).days + (0 if end_dt.time() == datetime.min.time() and end_dt.date() > start else 1)
    if length < 1:
        raise ValueError("it ends before it starts")
    if length > MAX_RANGE_DAYS:
        raise ValueError(f"it lasts {length} days; days off are at most {MAX_RANGE_DAYS} at a time")
    starts = [start]
    if event.get("RRULE") is not None:  # type: ignore[attr-defined]
        starts = _recurrences(event, start, years)
    return [s + timedelta(days=n) for s in starts for n in range(length) if (s + timedelta(days=n)).year in years]


def _date_of(event: object, name: str) -> date | None:
    prop = event.get(name)  # type: ignore[attr-defined]
    if prop is None:
        return None
    value = prop.dt
    return value.date() if isinstance(value, datetime) else value


def _recurrences(event: object, start: date, years: range) -> list[date]:
    from dateutil.rrule import rrulestr

    rule = event["RRULE"].to_ical().decode()  # type: ignore[index]
    try:
        dates = rrulestr(rule, dtstart=datetime.combine(start, datetime.min.time()), ignoretz=True)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"its RRULE {rule!r} cannot be read ({exc})") from None
    until = datetime(years.stop, 1, 1)
    out: list[date] = []
    for at in dates:
        if at >= until or len(out) > MAX_DAYS:
            break
        out.append(at.date())
    excluded = {d.dt.date() if isinstance(d.dt, datetime) else d.dt for ex in _as_list(event.get("EXDATE")) for d in ex.dts}  # type: ignore[attr-defined]
    return [d for d in out if d not in excluded]


def _as_list(value: object) -> list[object]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _runs(days: dict[date, str]) -> list[DaysOff]:
    """Consecutive days of the same event as one range (at most MAX_RANGE_DAYS long)."""
    runs: list[DaysOff] = []
    for day in sorted(days):
        name = days[day]
        last = runs[-1] if runs else None
        if last is not None and last.summary == name and last.last + timedelta(days=1) == day and (day - last.first).days < MAX_RANGE_DAYS:
            runs[-1] = DaysOff(last.first, day, name)
        else:
            runs.append(DaysOff(day, day, name))
    return runs
