"""A window cut into local days or weeks, and every metric for each: `/kpi trend` and the KPI export.

A bucket is a window of whole local days in the scope's time zone, the very
window `/kpi team TEAM FIRST..LAST` answers (the last one cut at "now" while
it runs), so a trend's point or an export's row says exactly what the card
says for those days. Weeks run Monday to Sunday. A trend draws whole weeks
(a week cut short at the window's start would read as a dip); an export cuts
its first and last week to the days asked for, so its rows add up to the
range.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal

from sqlalchemy.orm import Session

from kpi.engine import Metrics, Scope, compute_series
from kpi.windows import NotStarted, Window, parse_window

Step = Literal["day", "week"]


@dataclass(frozen=True)
class Bucket:
    """One point of a trend, one row of an export: its days and every metric over them."""

    first: date
    last: date  # included
    window: Window
    metrics: Metrics
    engine: Metrics | None = None  # the engine's figures, both clocks, when `metrics` are those shown on one


def covered_days(window: Window) -> tuple[date, date]:
    """The local days a window covers, first and last included.

    A rolling window (`90d`, asked at 14:00) starts in the middle of a day:
    its days are the N days that end today (today so far), not N + 1 with a
    sliver of the first.
    """
    first = window.start.date()
    if window.kind == "rolling" and window.end.time() != time():
        first += timedelta(days=1)
    last = (window.until - timedelta(microseconds=1)).date()
    return first, max(first, last)


def day_ranges(first: date, last: date, step: Step, *, whole_weeks: bool) -> list[tuple[date, date]]:
    """The buckets' days from `first` to `last`: one day each, or Monday-to-Sunday weeks.

    With `whole_weeks`, the first and last week keep all their days; without,
    they are cut to `first` and `last`.
    """
    if step == "day":
        return [(first + timedelta(days=i), first + timedelta(days=i)) for i in range((last - first).days + 1)]
    monday = first - timedelta(days=first.weekday())
    ranges = []
    while monday <= last:
        sunday = monday + timedelta(days=6)
        ranges.append((monday, sunday) if whole_weeks else (max(monday, first), min(sunday, last)))
        monday += timedelta(days=7)
    return ranges


def bucket_windows(ranges: list[tuple[date, date]], zone: str, now: datetime) -> list[tuple[date, date, Window]]:
    """Each range's window as a card asks for it (`FIRST..LAST`); ranges that have not started are left out.

    Raises kpi.windows.WindowError for days outside those csbot answers for.
    """
    out = []
    for first, last in ranges:
        try:
            window = parse_window(f"{first.isoformat()}..{last.isoformat()}", now, zone)
        except NotStarted:
            break  # this one and every later one lie after `now`
        out.append((first, last, window))
    return out


def series(session: Session, scope: Scope, buckets: list[tuple[date, date, Window]]) -> list[Bucket]:
    """Every metric of `scope` for each bucket (contiguous, in order), each equal to the card's for its window."""
    if not buckets:
        return []
    bounds = [w.start_utc for _, _, w in buckets] + [buckets[-1][2].until_utc]
    found = compute_series(session, scope, bounds)
    return [Bucket(first, last, window, metrics) for (first, last, window), metrics in zip(buckets, found, strict=True)]


def point_count(first: date, last: date, step: Step) -> int:
    """How many buckets `day_ranges` makes from `first` to `last` (without making them: a span may be decades)."""
    if step == "day":
        return (last - first).days + 1
    return (last - (first - timedelta(days=first.weekday()))).days // 7 + 1
