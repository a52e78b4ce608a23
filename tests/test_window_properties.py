"""Properties of KPI windows for any text, any moment and any time zone.

Invariant: parse_window either returns a window with start < end whose days
lie in 1970-01-01..2099-12-31 of its time zone, or refuses with WindowError
naming the valid forms. Nothing else may escape (no OverflowError, no
ValueError from a date library).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from hypothesis import example, given, settings
from hypothesis import strategies as st

from kpi.windows import WINDOW_HELP, NotStarted, Window, WindowError, parse_window
from tests.command_strategies import (
    DAY_SKIPPING_ZONES,
    DST_ZONES,
    FIRST_SUPPORTED,
    LAST_SUPPORTED,
    all_zones,
    moments,
    valid_windows,
    windows,
)

UTC = timezone.utc
zones = st.one_of(st.sampled_from(("UTC", *DST_ZONES, *DAY_SKIPPING_ZONES)), st.sampled_from(all_zones()))


def last_day(window: Window) -> date:
    return (window.end - timedelta(microseconds=1)).date()


def check(spec: str, now: datetime, tz: str) -> Window | None:
    """Parse, and check every promise a window makes; None when refused."""
    try:
        window = parse_window(spec, now, tz)
    except NotStarted as exc:
        assert "has not started yet" in str(exc), str(exc)
        return None
    except WindowError as exc:
        assert WINDOW_HELP in str(exc), str(exc)
        return None
    assert window.timezone == tz
    assert window.start.tzinfo is not None and window.end.tzinfo is not None
    # Instants compared in UTC: `==` between zones is False for an ambiguous
    # local time (PEP 495), and within one zone `<` compares wall clocks.
    start, end, at = window.start_utc, window.end_utc, now.astimezone(UTC)
    assert start < end, window
    assert FIRST_SUPPORTED <= window.start.date() and last_day(window) <= LAST_SUPPORTED, window
    kind = spec.strip().lower()
    if kind in ("today", "week", "month"):
        assert start <= at < end
    elif kind in ("yesterday", "last-week", "last-month"):
        assert end <= at
    elif window.kind == "rolling":
        assert end == at
    assert start <= at, window  # a window that has not started is refused
    if end > at and window.kind != "rolling":
        # Still running: measured so far, up to the moment asked about.
        assert window.so_far and window.cut is not None and window.until_utc == at, window
    else:
        assert not window.so_far and window.cut is None and window.until_utc == end, window
    window.label()
    window.to_json()
    before = window.previous()
    assert before.end_utc == start and before.start_utc <= before.end_utc and before.cut is None
    before.label()
    compared = window.comparison()
    assert compared.start == before.start and compared.end == before.end
    assert compared.start_utc <= compared.until_utc <= compared.end_utc, compared
    assert not compared.so_far
    if window.so_far:
        # The same elapsed wall-clock span (less where the earlier window is shorter,
        # or where a DST change moved the clocks inside it).
        elapsed = window.until.replace(tzinfo=None) - window.start.replace(tzinfo=None)
        wall = compared.until.replace(tzinfo=None) - compared.start.replace(tzinfo=None)
        assert wall <= elapsed + timedelta(hours=3), (window, compared)
        assert compared.until_utc == compared.end_utc or wall >= elapsed - timedelta(hours=3), (window, compared)
    compared.label()
    return window


@settings(max_examples=300, deadline=None)
@given(spec=windows(), now=moments(), tz=zones)
@example(spec="9999-12-31", now=datetime(2026, 3, 9, 12, tzinfo=UTC), tz="UTC")
@example(spec="0001-01-01", now=datetime(2026, 3, 9, 12, tzinfo=UTC), tz="Europe/Berlin")
@example(spec="7d", now=datetime(1, 1, 1, tzinfo=UTC), tz="America/New_York")
@example(spec="month", now=datetime(9999, 12, 31, 23, tzinfo=UTC), tz="Asia/Tokyo")
@example(spec="2011-12-30", now=datetime(2026, 3, 9, 12, tzinfo=UTC), tz="Pacific/Apia")
def test_any_window_text_at_any_moment_is_a_window_or_a_clear_refusal(spec: str, now: datetime, tz: str) -> None:
    check(spec, now, tz)


@settings(max_examples=150, deadline=None)
@given(spec=valid_windows(), days_from_edge=st.integers(0, 20000), tz=zones)
def test_valid_forms_are_accepted_well_inside_the_supported_range(spec: str, days_from_edge: int, tz: str) -> None:
    # A moment at least 2 years inside 1970..2099, so any valid form fits.
    now = datetime(1972, 1, 1, 12, tzinfo=UTC) + timedelta(days=days_from_edge)
    try:
        parse_window(spec, now, tz)
    except NotStarted:
        pass  # a date after `now`: refused as not started, checked in check()
    except WindowError as exc:
        # The only reason left: a calendar day the zone skipped (Samoa, 2011-12-30).
        assert "skipped" in str(exc), (spec, now, tz, str(exc))
    check(spec, now, tz)
