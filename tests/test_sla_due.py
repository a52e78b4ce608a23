"""When SLA targets fall due: hand-worked business hours and working days, and the batch path equal to the one-ticket rule."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kpi.sla_due import due_at, dues
from store.business_time import BusinessCalendar
from store.sla_file import SlaTarget
from tests.test_business_time import BERLIN, PROPERTY, at, calendars, instants

UTC = timezone.utc
# Berlin office with a lunch break; Wednesday 2026-03-04 is a holiday.
OFFICE = BusinessCalendar.parse(["mon-fri 08:00-12:00,13:00-18:00"], BERLIN, [date(2026, 3, 4)])


def due(created: str, target: str, cal: BusinessCalendar | None = OFFICE, business: bool = True) -> str:
    when = due_at(cal, business, SlaTarget.parse(target), at(created))
    batch = dues(cal, business, SlaTarget.parse(target), np.array([int(at(created).timestamp())]))
    assert int(batch[0]) == int(when.timestamp())
    return when.astimezone(BERLIN).strftime("%a %Y-%m-%d %H:%M")


def test_business_hours_count_open_time_only() -> None:
    # Friday 15:00: three hours on Friday, four on Monday morning, then one after lunch.
    assert due("2026-02-27 15:00", "8h") == "Mon 2026-03-02 14:00"
    assert due("2026-02-28 11:00", "1h") == "Mon 2026-03-02 09:00"  # a Saturday ticket waits for Monday
    assert due("2026-03-02 11:30", "1h") == "Mon 2026-03-02 13:30"  # the lunch break does not count
    assert due("2026-03-03 17:00", "2h") == "Thu 2026-03-05 09:00"  # Wednesday is a holiday
    assert due("2026-03-02 11:00", "60m") == due("2026-03-02 11:00", "1h") == "Mon 2026-03-02 12:00"  # ends as the stretch ends


def test_business_days_are_working_days_at_the_same_time() -> None:
    assert due("2026-03-09 10:00", "3d") == "Thu 2026-03-12 10:00"
    assert due("2026-03-06 15:00", "3d") == "Wed 2026-03-11 15:00"  # the weekend does not count
    assert due("2026-03-07 12:00", "3d") == "Thu 2026-03-12 08:00"  # from Saturday: three days from Monday's start
    assert due("2026-03-05 19:00", "3d") == "Wed 2026-03-11 08:00"  # after hours: the next opening
    assert due("2026-03-09 12:30", "3d") == "Thu 2026-03-12 13:00"  # at lunch three days on: after lunch
    assert due("2026-03-02 10:00", "3d") == "Fri 2026-03-06 10:00"  # the Wednesday holiday does not count
    assert due("2026-03-02 10:00", "1d") == "Tue 2026-03-03 10:00"


def test_calendar_time_and_no_calendar_are_the_wall_clock() -> None:
    assert due("2026-03-06 15:00", "3d", business=False) == "Mon 2026-03-09 15:00"
    assert due("2026-03-06 15:00", "8h", business=False) == "Fri 2026-03-06 23:00"
    assert due("2026-03-06 15:00", "3d", cal=None) == "Mon 2026-03-09 15:00"
    # Across the spring-forward night a calendar day is still 24 hours.
    assert due("2026-03-28 12:00", "1d", business=False) == "Sun 2026-03-29 13:00"


def test_targets_as_written() -> None:
    assert SlaTarget.parse("90 minutes") == SlaTarget(5400) and SlaTarget(5400).text() == "90m"
    assert SlaTarget.parse("24h").text() == "24h" and SlaTarget.parse("1d").text() == "1d"
    assert SlaTarget.parse("1.5h") == SlaTarget(5400)
    for bad, why in (("1.5d", "whole number of days; write '36h'"), ("30s", "from 1m"), ("366d", "from 1d to 365d"), ("soon", "not a duration"), (3600, "not a duration")):
        with pytest.raises(ValueError, match=why):
            SlaTarget.parse(bad)


targets = st.one_of(st.integers(1, 3000).map(lambda m: SlaTarget(m * 60)), st.integers(1, 6).map(lambda d: SlaTarget(d * 86400, True)))


@PROPERTY
@given(st.data())
def test_the_batch_gives_what_the_one_ticket_rule_gives(data: st.DataObject) -> None:
    cal, ranges, anchor = data.draw(calendars())
    if not ranges:
        return  # a calendar that never opens: the org file refuses one
    target = data.draw(targets)
    created = data.draw(st.lists(instants(anchor), min_size=1, max_size=12))
    epochs = np.array([int(c.timestamp()) for c in created], dtype=np.int64)
    want = [int(due_at(cal, True, target, c).timestamp()) for c in created]
    assert dues(cal, True, target, epochs).tolist() == want
