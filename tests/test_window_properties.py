"""Properties of KPI windows for any text, any moment and any time zone.

Invariant: parse_window either returns a window with start < end whose days
lie in 1970-01-01..2099-12-31 of its time zone, or refuses with WindowError
naming the valid forms. Nothing else may escape (no OverflowError, no
ValueError from a date library).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from kpi.windows import MONTHS, WEEKDAYS, WINDOW_HELP, NotStarted, Window, WindowError, canonical, parse_window
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
    kind = canonical(spec)
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
    if window.kind == "since":
        # `since tuesday`: the same days of the week before, not the days just before.
        assert before.start.date() == window.start.date() - timedelta(days=7) and before.days == window.days <= 7, window
        assert before.end_utc <= start and before.cut is None
    else:
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


# ---------------------------------------------------------------- natural phrases and their canonical forms


def resolved(spec: str, now: datetime, tz: str) -> tuple[object, ...] | str:
    """What a window text resolves to (its instants, whether it runs), or the kind of refusal."""
    try:
        w = parse_window(spec, now, tz)
    except NotStarted:
        return "not started"
    except WindowError as exc:
        return "outside" if "outside the days" in str(exc) else "skipped" if "skipped" in str(exc) else "refused"
    return (w.start_utc, w.end_utc, w.until_utc, w.so_far, w.previous().start_utc, w.comparison().until_utc)


@st.composite
def phrase_pairs(draw: st.DrawFn) -> tuple[str, str]:
    """A natural phrase and the canonical form that must resolve to the same window (`last week`, `last-week`)."""
    first = draw(st.dates(min_value=date(1970, 1, 1), max_value=date(2099, 12, 31)))
    last = min(first + timedelta(days=draw(st.integers(0, 400))), date(2099, 12, 31))
    n = draw(st.integers(1, 400))
    return draw(st.sampled_from((
        ("last week", "last-week"), ("Last  Week", "last-week"), ("this week", "week"), ("this month", "month"),
        ("last month", "last-month"), ("since today", "today"), ("since this week", "week"), ("since this month", "month"),
        (f"{first} to {last}", f"{first}..{last}"), (f"from {first} to {last}", f"{first}..{last}"),
        (f"{first} \u2013 {last}", f"{first}..{last}"), (f"between {first} and {last}", f"{first}..{last}"),
        (f"{first}\u2013{last}", f"{first}..{last}"), (f"{MONTHS[first.month - 1][:3]} {first.year}", f"{first:%Y-%m}"),
        (f"{MONTHS[first.month - 1]} {first.year}", f"{first:%Y-%m}"), (f"last {n} days", f"{n}d"), (f"past {n} days", f"{n}d"),
    )))  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(pair=phrase_pairs(), now=moments(), tz=zones)
@example(pair=("last month", "last-month"), now=datetime(2026, 10, 31, 23, 30, tzinfo=UTC), tz="Europe/Berlin")  # Nov 1st there
@example(pair=("this week", "week"), now=datetime(2026, 3, 29, 1, 30, tzinfo=UTC), tz="Europe/Berlin")  # the DST night
def test_a_natural_phrase_resolves_to_the_same_window_as_its_canonical_form(pair: tuple[str, str], now: datetime, tz: str) -> None:
    natural, canonical_form = pair
    assert canonical(natural) == canonical(canonical_form) or canonical(natural) == canonical_form
    assert resolved(natural, now, tz) == resolved(canonical_form, now, tz), pair


@settings(max_examples=300, deadline=None)
@given(now=moments(), tz=zones, which=st.integers(0, 11), weekday=st.integers(0, 6))
@example(now=datetime(2026, 12, 1, 0, 30, tzinfo=UTC), tz="UTC", which=11, weekday=1)  # December, on its first day
@example(now=datetime(2026, 11, 30, 23, 30, tzinfo=UTC), tz="Asia/Tokyo", which=11, weekday=0)  # already December 1st there
def test_names_of_months_and_days_mean_the_most_recent_such_that_has_started(now: datetime, tz: str, which: int, weekday: int) -> None:
    try:
        today = now.astimezone(ZoneInfo(tz)).date()
    except (OverflowError, ValueError):
        return  # a moment datetime cannot show in that zone: refused, as test_any_window_text… checks
    if not date(1971, 1, 1) <= today <= date(2099, 12, 31):
        return
    month = which + 1
    year = today.year if month <= today.month else today.year - 1
    assert resolved(MONTHS[which], now, tz) == resolved(f"{year}-{month:02d}", now, tz)
    day = today - timedelta(days=(today.weekday() - weekday) % 7)
    assert resolved(WEEKDAYS[weekday], now, tz) == resolved(day.isoformat(), now, tz)
    before = day - timedelta(days=7) if day == today else day
    assert resolved(f"last {WEEKDAYS[weekday]}", now, tz) == resolved(before.isoformat(), now, tz)
    # `since D` is D to today, whatever D is (a date, a day's name).
    assert resolved(f"since {day}", now, tz) == resolved(f"{day}..{today}", now, tz)
    since = resolved(f"since {WEEKDAYS[weekday]}", now, tz)
    plain = resolved(f"{day}..{today}", now, tz)
    # The same instants (start, end, until, running); only the comparison differs: the same days a week before.
    assert since == plain if isinstance(since, str) or isinstance(plain, str) else since[:4] == plain[:4]
    window = parse_window(MONTHS[which], now, tz) if not isinstance(resolved(MONTHS[which], now, tz), str) else None
    if window is not None:
        assert window.name() == f"{MONTHS[which].capitalize()} {year}" and window.name() in window.label()


@pytest.mark.parametrize(
    ("at", "spec", "first", "last", "days_before"),
    [
        # Just after midnight on the 1st in Berlin (still the 31st in UTC): last month is the one that just ended.
        ("2026-11-01T00:30:00+01:00", "last month", "2026-10-01", "2026-10-31", 30),
        ("2026-03-01T00:30:00+01:00", "last month", "2026-02-01", "2026-02-28", 31),
        # The week that holds a DST change is still Monday to Sunday on the wall clock.
        ("2026-03-30T07:30:00+02:00", "last week", "2026-03-23", "2026-03-29", 7),
        ("2026-10-26T00:10:00+01:00", "last week", "2026-10-19", "2026-10-25", 7),
    ],
)
def test_month_ends_and_dst_changes_move_natural_windows_as_the_calendar_does(at: str, spec: str, first: str, last: str, days_before: int) -> None:
    window = parse_window(spec, datetime.fromisoformat(at), "Europe/Berlin")
    assert (window.start.date().isoformat(), last_day(window).isoformat()) == (first, last) and not window.so_far
    assert window.start.hour == window.end.hour == 0  # local midnights, whatever the offset did in between
    assert window.previous().days == days_before
