"""KPI windows: the exact inputs that once crashed or misbehaved, each a plain regression test."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from kpi.windows import FIRST_DAY, LAST_DAY, WINDOW_HELP, WindowError, check_supported, is_window, parse_window

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
    assert parse_window(f"{LAST_DAY}", early, "UTC").end == datetime(2100, 1, 1, tzinfo=UTC)


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
    "spec", ["0d", "731d", "99999999999999999999d", "-5d", "1e3d", "2026-02-30", "2026-13-01", "2026-03-10..2026-03-01",
             "1970-01-01..2099-12-31", "frobnicate", "\u00bd" + "d"],
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
