"""Who is on call: rotating layers, wall-clock handoffs across daylight saving, hours, overrides."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from escalation.rotations import Hours, Layer, Override, RotationError, Schedule, Shift, handoff, on_call

UTC = timezone.utc
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def local(text: str, zone: ZoneInfo = BERLIN) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=zone)


# The example: dana, eli, fay a week each from Monday 2026-01-05 09:00;
# gus on days, but only on working hours; each later layer wins where it has someone.
PRIMARY = Schedule(
    "primary",
    "Europe/Berlin",
    (
        Layer(("dana", "eli", "fay"), Shift.parse("1w"), datetime(2026, 1, 5, 9, 0)),
        Layer(("gus",), Shift.parse("1d"), datetime(2026, 1, 5, 8, 0), Hours.parse("mon-fri 08:00-18:00")),
    ),
)


def test_weekly_turns_in_list_order_with_working_hours_layered_on_top() -> None:
    assert on_call(PRIMARY, local("2026-01-05T08:59")) == "gus"  # gus's hours, before dana's first shift
    assert on_call(PRIMARY, local("2026-01-05T07:59")) is None  # before anyone's start
    assert on_call(PRIMARY, local("2026-01-05T18:00")) == "dana"  # gus's hours end at 18:00
    assert on_call(PRIMARY, local("2026-01-10T12:00")) == "dana"  # Saturday: no gus
    assert on_call(PRIMARY, local("2026-01-12T08:59")) == "gus"
    assert on_call(PRIMARY, local("2026-01-12T20:00")) == "eli"
    assert on_call(PRIMARY, local("2026-01-19T20:00")) == "fay"
    assert on_call(PRIMARY, local("2026-01-26T20:00")) == "dana"  # round again


@pytest.mark.parametrize(
    ("monday", "utc_hour"),
    [("2026-03-23", 8), ("2026-03-30", 7), ("2026-10-19", 7), ("2026-10-26", 8)],  # either side of both changes
)
def test_weekly_handoffs_stay_at_nine_local_across_daylight_saving(monday: str, utc_hour: int) -> None:
    layer = PRIMARY.layers[0]
    n = (datetime.fromisoformat(monday).date() - layer.start.date()).days // 7
    at = handoff(layer, "Europe/Berlin", n)
    assert at.hour == utc_hour and at.astimezone(BERLIN).strftime("%a %H:%M") == "Mon 09:00"
    weekly = Schedule("w", "Europe/Berlin", (layer,))
    before, after = on_call(weekly, at - timedelta(seconds=1)), on_call(weekly, at)
    assert before != after and after == layer.members[n % 3]


def test_a_day_shift_across_the_change_is_23_or_25_hours_and_an_hour_shift_is_exact() -> None:
    daily = Layer(("a", "b"), Shift.parse("1d"), datetime(2026, 3, 27, 9, 0))
    starts = [handoff(daily, "Europe/Berlin", n) for n in range(4)]
    assert [b - a for a, b in zip(starts, starts[1:])] == [timedelta(hours=24), timedelta(hours=23), timedelta(hours=24)]
    autumn = Layer(("a", "b"), Shift.parse("1d"), datetime(2026, 10, 24, 9, 0))
    assert handoff(autumn, "Europe/Berlin", 1) - handoff(autumn, "Europe/Berlin", 0) == timedelta(hours=25)
    hourly = Layer(("hana", "ivan"), Shift.parse("12h"), datetime(2026, 3, 7, 8, 0))  # New York springs forward on the 8th
    schedule = Schedule("s", "America/New_York", (hourly,))
    # 12 exact hours: after the change the handoffs are at 09:00 and 21:00 local.
    assert handoff(hourly, "America/New_York", 2).astimezone(NEW_YORK).strftime("%d %H:%M") == "08 09:00"
    assert on_call(schedule, local("2026-03-08T08:59", NEW_YORK)) == "ivan"
    assert on_call(schedule, local("2026-03-08T09:00", NEW_YORK)) == "hana"


def test_hours_that_run_past_midnight_belong_to_the_day_they_start() -> None:
    nights = Hours.parse("fri 22:00-06:00")
    berlin = "Europe/Berlin"
    assert nights.covers(local("2026-01-09T23:00"), berlin)  # Friday night
    assert nights.covers(local("2026-01-10T05:59"), berlin)  # Saturday early: Friday's night
    assert not nights.covers(local("2026-01-10T06:00"), berlin)
    assert not nights.covers(local("2026-01-10T23:00"), berlin)  # Saturday night is not listed


def test_an_override_wins_and_its_end_is_exclusive_and_the_latest_of_two_wins() -> None:
    start, end = local("2026-01-06T20:00"), local("2026-01-07T08:00")
    covers = [Override("zoe", start, end), Override("yan", local("2026-01-07T00:00"), end)]
    assert on_call(PRIMARY, local("2026-01-06T21:00"), covers) == "zoe"
    assert on_call(PRIMARY, local("2026-01-07T01:00"), covers) == "yan"  # made later: the swap wins
    assert on_call(PRIMARY, local("2026-01-07T08:00"), covers) == "gus"  # the override has ended


def test_a_time_the_clocks_skip_starts_the_shift_just_after_the_gap() -> None:
    layer = Layer(("a", "b"), Shift.parse("1d"), datetime(2026, 3, 28, 2, 30))
    assert handoff(layer, "Europe/Berlin", 1) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)  # 03:00 summer time: the change itself


@pytest.mark.parametrize("text", ["0h", "1m", "week", "10000d", "-1d", ""])
def test_a_shift_that_is_not_a_length_is_refused(text: str) -> None:
    with pytest.raises(RotationError, match="not a length"):
        Shift.parse(text)


@pytest.mark.parametrize(("text", "says"), [("weekdays", "DAYS HH:MM-HH:MM"), ("funday 08:00-18:00", "not a day"), ("mon 08:00-08:00", "same time"), ("mon 25:00-26:00", "24-hour")])
def test_hours_that_cannot_be_read_are_refused(text: str, says: str) -> None:
    with pytest.raises(RotationError, match=says):
        Hours.parse(text)


def test_an_instant_needs_a_zone() -> None:
    with pytest.raises(ValueError):
        on_call(PRIMARY, datetime(2026, 1, 5, 9))
