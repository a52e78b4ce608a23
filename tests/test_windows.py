"""KPI windows: the exact inputs that once crashed or misbehaved, each a plain regression test."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from kpi.windows import (
    FIRST_DAY,
    LAST_DAY,
    WINDOW_HELP,
    NotStarted,
    WindowError,
    check_supported,
    is_window,
    meant_as_window,
    not_a_window,
    parse_window,
)

UTC = timezone.utc
NOW = datetime(2026, 3, 9, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    "spec",
    ["9999-12-31", "0001-01-01", "0001-01-01..0001-01-03", "9999-12-25..9999-12-31", "1969-12-31", "2100-01-01"],
)
def test_dates_outside_the_supported_days_are_refused_not_an_overflow(spec: str) -> None:
    # 9999-12-31 + 1 day and 0001-01-01 - 1 day used to raise OverflowError.
    with pytest.raises(WindowError, match="outside the days csbot answers for") as refused:
        parse_window(spec, NOW, "Europe/Berlin")
    assert WINDOW_HELP in str(refused.value)


@pytest.mark.parametrize(
    "now",
    [
        datetime(1, 1, 1, tzinfo=UTC),
        datetime(9999, 12, 31, 23, tzinfo=UTC),
        datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-14))),
        datetime(1969, 12, 30, tzinfo=UTC),
        datetime(2100, 1, 3, tzinfo=UTC),
    ],
)
def test_a_moment_far_outside_the_supported_days_is_refused(now: datetime) -> None:
    for spec in ("7d", "today", "month", "last-week"):
        with pytest.raises(WindowError, match="outside the days csbot answers for"):
            parse_window(spec, now, "America/New_York")


def test_windows_reaching_before_1970_or_after_2099_are_refused() -> None:
    early = datetime(1970, 1, 5, 12, tzinfo=UTC)
    with pytest.raises(WindowError, match="1969-12-06..1970-01-05, outside"):
        parse_window("30d", early, "UTC")
    assert parse_window("4d", early, "UTC").start == datetime(1970, 1, 1, 12, tzinfo=UTC)
    with pytest.raises(WindowError, match="outside"):
        parse_window("today", datetime(1970, 1, 1, 3, tzinfo=UTC), "America/New_York")  # still 1969 there
    late = datetime(2099, 12, 31, 23, 30, tzinfo=UTC)
    assert parse_window("today", late, "UTC").start.date() == LAST_DAY
    with pytest.raises(WindowError, match="outside"):
        parse_window("today", late, "Europe/Berlin")  # already 2100 there
    assert parse_window("month", late, "UTC").end == datetime(2100, 1, 1, tzinfo=UTC)
    with pytest.raises(WindowError, match="outside"):
        parse_window("week", late, "UTC")  # Monday 2099-12-28 to Sunday 2100-01-03
    first = parse_window(f"{FIRST_DAY}..{FIRST_DAY + timedelta(days=6)}", late, "UTC")
    assert first.start == datetime(1970, 1, 1, tzinfo=UTC)
    assert parse_window(f"{LAST_DAY}", late, "UTC").end == datetime(2100, 1, 1, tzinfo=UTC)


def test_a_day_the_calendar_skipped_is_refused_not_an_empty_window() -> None:
    # Samoa jumped from 2011-12-29 to 2011-12-31: the 30th has no time in it.
    with pytest.raises(WindowError, match="skipped"):
        parse_window("2011-12-30", NOW, "Pacific/Apia")
    with pytest.raises(WindowError, match="skipped"):
        parse_window("yesterday", datetime(2011, 12, 30, 12, tzinfo=UTC), "Pacific/Apia")  # 02:00 on the 31st there
    around = parse_window("2011-12-29..2011-12-31", NOW, "Pacific/Apia")
    assert around.end_utc - around.start_utc == timedelta(days=2)  # two days happened, not three


@pytest.mark.parametrize("spec", ["\uff17d", "\uff17\uff44", "\u0667d", "\u096dd"])
def test_digits_of_other_scripts_mean_the_same_number(spec: str) -> None:
    # Full-width (Japanese and Chinese input methods), Arabic-Indic, Devanagari.
    assert is_window(spec)
    assert parse_window(spec, NOW, "UTC").spec == "7d"
    assert parse_window("\uff12\uff10\uff12\uff16-\uff10\uff13-\uff10\uff11", NOW, "UTC").start.date() == date(2026, 3, 1)


@pytest.mark.parametrize(
    "spec", ["0d", "99999999999999999999d", "999999d", "-5d", "1e3d", "2026-02-30", "2026-13-01", "2026-03-10..2026-03-01",
             "frobnicate", "\u00bd" + "d"],
)
def test_near_misses_are_refused_naming_the_valid_forms(spec: str) -> None:
    with pytest.raises(WindowError) as refused:
        parse_window(spec, NOW, "UTC")
    assert WINDOW_HELP in str(refused.value)


def test_stepping_back_month_by_month_stops_at_the_first_supported_day() -> None:
    window = parse_window("last-month", NOW, "UTC")
    assert check_supported(window) is window
    before = window
    with pytest.raises(WindowError, match="1969-12-01..1969-12-31, outside"):
        for _ in range(700):
            before = check_supported(before.previous())
    assert before.start.date() == FIRST_DAY and before.kind == "month"


BERLIN = ZoneInfo("Europe/Berlin")


def local(text: str, tz: ZoneInfo = BERLIN) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=tz)


def test_week_so_far_on_a_monday_morning_is_compared_with_last_monday_morning() -> None:
    now = local("2026-11-30T07:30")  # a Monday
    week = parse_window("week", now, "Europe/Berlin")
    assert week.so_far and week.start == local("2026-11-30T00:00") and week.until == now
    assert week.end == local("2026-12-07T00:00")  # the calendar week, for labels and buttons
    assert "so far" in week.label() and "07:30" in week.label()
    before = week.comparison()
    assert before.start == local("2026-11-23T00:00") and before.until == local("2026-11-23T07:30")
    assert before.cut is not None and not before.so_far and "up to Mon 2026-11-23 07:30" in before.label()
    assert week.previous().cut is None  # "Previous window" shows the whole week
    assert week.to_json()["so_far"] is True and week.to_json()["until"] == now.isoformat()


def test_month_so_far_on_the_23rd_is_compared_with_last_month_up_to_its_23rd() -> None:
    now = local("2026-11-23T10:15")
    month = parse_window("month", now, "Europe/Berlin")
    assert month.so_far and month.until == now
    before = month.comparison()
    assert (before.start, before.until) == (local("2026-10-01T00:00"), local("2026-10-23T10:15"))
    # On the 31st, February has no 31st: compared with the whole of February, which is not like for like.
    march = parse_window("month", local("2026-03-31T12:00"), "Europe/Berlin")
    february = march.comparison()
    assert (february.start, february.until, february.cut) == (local("2026-02-01T00:00"), local("2026-03-01T00:00"), None)
    assert not march.like_for_like(february) and "up to" not in february.label()
    assert parse_window("month", local("2026-03-28T12:00"), "Europe/Berlin").like_for_like(february) is False
    on_the_27th = parse_window("month", local("2026-03-27T12:00"), "Europe/Berlin")
    assert on_the_27th.like_for_like(on_the_27th.comparison())


def test_today_and_ranges_ending_later_are_so_far_and_finished_windows_are_not() -> None:
    now = local("2026-11-30T14:00")
    today = parse_window("today", now, "Europe/Berlin")
    assert today.so_far and today.comparison().until == local("2026-11-29T14:00")
    running = parse_window("2026-11-01..2026-12-31", now, "Europe/Berlin")
    assert running.so_far and running.until == now
    assert running.comparison().start == local("2026-09-01T00:00")
    assert running.comparison().until == local("2026-09-30T14:00")  # 29 days and 14 hours in, like now
    for finished in ("7d", "30d", "yesterday", "last-week", "last-month", "2026-11-01..2026-11-29", "2026-11-29"):
        window = parse_window(finished, now, "Europe/Berlin")
        assert not window.so_far and window.comparison() == window.previous(), finished


def test_week_so_far_across_a_dst_change_keeps_the_wall_clock() -> None:
    # Berlin springs forward on Sunday 2026-03-29: Monday the 30th, 07:30, against Monday the 23rd, 07:30.
    week = parse_window("week", local("2026-03-30T07:30"), "Europe/Berlin")
    assert week.comparison().until == local("2026-03-23T07:30")
    month = parse_window("month", local("2026-11-02T09:00"), "Europe/Berlin")  # October had 25-hour day
    assert month.comparison().until == local("2026-10-02T09:00")


def test_a_window_that_starts_later_is_refused_as_not_started() -> None:
    now = local("2026-11-30T14:00")
    for spec in ("2026-12-01", "2026-12-24..2026-12-26", "2027-01-01"):
        with pytest.raises(NotStarted, match="has not started yet"):
            parse_window(spec, now, "Europe/Berlin")
    # Midnight on the 1st: the month has only just started, with nothing in it yet.
    with pytest.raises(NotStarted):
        parse_window("month", local("2026-12-01T00:00"), "Europe/Berlin")
    second = parse_window("month", local("2026-12-01T00:00:01"), "Europe/Berlin")
    assert second.so_far and second.until == local("2026-12-01T00:00:01")


def test_windows_of_any_length_the_calendar_allows_are_answered() -> None:
    now = local("2026-11-30T14:00")
    assert parse_window("365d", now, "Europe/Berlin").start == local("2025-11-30T14:00")
    three_years = parse_window("2023-01-01..2025-12-31", now, "Europe/Berlin")
    assert three_years.start == local("2023-01-01T00:00") and three_years.end == local("2026-01-01T00:00")
    assert parse_window("20000d", now, "UTC").start.year == 1972
    for too_long in ("21000d", "25000d"):
        with pytest.raises(WindowError, match="1970-01-01"):
            parse_window(too_long, now, "UTC")


@pytest.mark.parametrize(
    ("typed", "meant"),
    [("last_week", "last-week"), ("1w", "7d"), ("7days", "7d"), ("2026/11", "2026-11"),
     ("2026/11/01", "2026-11-01"), ("-5d", "5d"), ("yesterdy", "yesterday"), ("last weak", "last week"),
     ("novmber", "november"), ("sinse monday", "since monday"), ("last fridya", "last friday")],
)
def test_mistyped_windows_are_recognised_with_the_likely_fix(typed: str, meant: str) -> None:
    assert meant_as_window(typed) and not is_window(typed)
    assert f"Did you mean {meant}" in not_a_window(typed)
    assert WINDOW_HELP in not_a_window(typed)


@pytest.mark.parametrize("name", ["support-emea", "tier2", "alice", "Support EMEA", "apac"])
def test_team_and_member_names_are_not_taken_for_windows(name: str) -> None:
    assert not meant_as_window(name)
