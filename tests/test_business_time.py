"""Business-time arithmetic: hand-worked cases, refusals, and properties against a minute-by-minute count."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from store.business_time import (
    BusinessCalendar,
    CalendarError,
    add,
    elapsed,
    elapsed_seconds,
    is_open,
    next_open,
    open_intervals,
    parse_hours,
)

UTC = timezone.utc
BERLIN = ZoneInfo("Europe/Berlin")
CHICAGO = ZoneInfo("America/Chicago")
H = timedelta(hours=1)


def at(text: str, zone: ZoneInfo = BERLIN) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=zone)


def cal(*lines: str, zone: ZoneInfo = BERLIN, closed: tuple[date, ...] = ()) -> BusinessCalendar:
    return BusinessCalendar.parse(list(lines), zone, closed)


def stretches(c: BusinessCalendar | None, start: datetime, end: datetime, zone: ZoneInfo = BERLIN) -> list[tuple[str, str]]:
    return [(a.astimezone(zone).isoformat(), b.astimezone(zone).isoformat()) for a, b in open_intervals(c, start, end)]


# --- hand-worked cases -------------------------------------------------------------------------------

OFFICE = cal("mon-fri 08:00-18:00")


def test_friday_evening_plus_one_hour_is_monday_morning() -> None:
    friday = at("2026-03-06T17:30")  # a Friday
    due = add(OFFICE, friday, H)
    assert due.tzinfo is not None and due.utcoffset() == timedelta(0)
    assert due == at("2026-03-09T08:30")
    assert elapsed(OFFICE, friday, due) == H
    assert elapsed(OFFICE, friday, at("2026-03-09T08:00")) == timedelta(minutes=30)


def test_lunch_break_is_not_business_time() -> None:
    split = cal("mon-fri 08:00-12:00,13:00-18:00")
    assert add(split, at("2026-03-04T11:30"), H) == at("2026-03-04T13:30")
    assert elapsed(split, at("2026-03-04T11:00"), at("2026-03-04T14:00")) == 2 * H
    assert elapsed(split, at("2026-03-04T00:00"), at("2026-03-05T00:00")) == 9 * H
    assert not is_open(split, at("2026-03-04T12:30"))
    assert next_open(split, at("2026-03-04T12:30")) == at("2026-03-04T13:00")
    # Running out exactly at the lunch break gives 12:00, not 13:00.
    assert add(split, at("2026-03-04T11:00"), H) == at("2026-03-04T12:00")


def test_a_holiday_is_skipped() -> None:
    easter_monday = date(2026, 4, 6)
    holidays = cal("mon-fri 08:00-18:00", closed=(easter_monday,))
    friday = at("2026-04-03T17:30")
    assert add(holidays, friday, H) == at("2026-04-07T08:30")
    assert elapsed(holidays, friday, at("2026-04-08T08:00")) == timedelta(minutes=30) + 10 * H
    assert not is_open(holidays, at("2026-04-06T10:00"))
    assert next_open(holidays, at("2026-04-06T10:00")) == at("2026-04-07T08:00")


def test_a_range_past_midnight_belongs_to_its_start_day() -> None:
    late = cal("fri 22:00-02:00")
    assert elapsed(late, at("2026-03-06T00:00"), at("2026-03-08T00:00")) == 4 * H
    assert add(late, at("2026-03-06T23:00"), 2 * H) == at("2026-03-07T01:00")
    assert add(late, at("2026-03-06T23:00"), 3 * H) == at("2026-03-07T02:00")  # the end, not next Friday
    assert add(late, at("2026-03-06T23:00"), 4 * H) == at("2026-03-13T23:00")
    assert is_open(late, at("2026-03-07T01:59"))
    assert not is_open(late, at("2026-03-07T02:00"))
    assert not is_open(late, at("2026-03-06T01:00"))  # Thursday night has no range
    assert next_open(late, at("2026-03-07T03:00")) == at("2026-03-13T22:00")
    # A closed date cancels the ranges that start on it, not those running into it.
    assert is_open(cal("fri 22:00-02:00", closed=(date(2026, 3, 7),)), at("2026-03-07T01:00"))
    assert not is_open(cal("fri 22:00-02:00", closed=(date(2026, 3, 6),)), at("2026-03-07T01:00"))


def test_midnight_and_next_days_start_are_one_stretch() -> None:
    night = cal("mon 20:00-24:00", "tue 00:00-04:00", "wed 20:00-00:00")
    assert stretches(night, at("2026-03-02T00:00"), at("2026-03-05T00:00")) == [
        ("2026-03-02T20:00:00+01:00", "2026-03-03T04:00:00+01:00"),
        ("2026-03-04T20:00:00+01:00", "2026-03-05T00:00:00+01:00"),
    ]
    # Clipped to the question's bounds.
    assert stretches(night, at("2026-03-02T21:00"), at("2026-03-03T01:00")) == [
        ("2026-03-02T21:00:00+01:00", "2026-03-03T01:00:00+01:00"),
    ]


def test_spring_forward_start_in_the_gap_is_the_first_instant_after_it() -> None:
    # Berlin, Sunday 2026-03-29: 02:00 CET jumps to 03:00 CEST.
    gap = cal("sun 02:30-05:00")
    sunday, monday = at("2026-03-29T00:00"), at("2026-03-30T00:00")
    assert stretches(gap, sunday, monday) == [("2026-03-29T03:00:00+02:00", "2026-03-29T05:00:00+02:00")]
    assert elapsed(gap, sunday, monday) == 2 * H
    assert next_open(gap, sunday) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    across = cal("sun 01:00-04:00")
    assert elapsed(across, sunday, monday) == 2 * H  # 01:00 CET to 04:00 CEST
    assert add(across, sunday, H + timedelta(minutes=30)) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    # Wholly inside the gap: nothing.
    assert elapsed(cal("sun 02:10-02:50"), sunday, monday) == timedelta(0)


def test_fall_back_counts_the_repeated_hour() -> None:
    # Berlin, Sunday 2026-10-25: 03:00 CEST falls back to 02:00 CET.
    across = cal("sun 01:00-04:00")
    sunday, monday = at("2026-10-25T00:00"), at("2026-10-26T00:00")
    assert elapsed(across, sunday, monday) == 4 * H
    assert add(across, sunday, 4 * H) == datetime(2026, 10, 25, 3, 0, tzinfo=UTC)  # 04:00 CET
    # A range ending in the repeated hour ends at its last occurrence, one starting there at its first.
    assert elapsed(cal("sun 00:00-02:30"), sunday, monday) == timedelta(hours=3, minutes=30)
    assert elapsed(cal("sun 02:30-06:00"), sunday, monday) == timedelta(hours=4, minutes=30)


def test_chicago_fall_back_has_no_false_gap_between_ranges() -> None:
    # America/Chicago, Sunday 2021-11-07: 02:00 CDT falls back to 01:00 CST.
    night = cal("sat 20:00-01:30", "sun 01:30-05:00", zone=CHICAGO)
    saturday, monday = at("2021-11-06T00:00", CHICAGO), at("2021-11-08T00:00", CHICAGO)
    assert list(open_intervals(night, saturday, monday)) == [
        (datetime(2021, 11, 7, 1, 0, tzinfo=UTC), datetime(2021, 11, 7, 11, 0, tzinfo=UTC)),
    ]
    assert elapsed(night, saturday, monday) == 10 * H  # 20:00 CDT to 05:00 CST, the overlap counted once
    for minutes in range(0, 600, 10):
        assert is_open(night, datetime(2021, 11, 7, 1, 0, tzinfo=UTC) + timedelta(minutes=minutes))


def test_lord_howe_moves_its_clocks_half_an_hour() -> None:
    lord_howe = ZoneInfo("Australia/Lord_Howe")
    back, forward = at("2026-04-05T00:00", lord_howe), at("2026-10-04T00:00", lord_howe)
    day = timedelta(days=1)
    # Back 02:00 -> 01:30: the repeated half hour counts; an end in it is its last occurrence.
    assert elapsed(cal("sun 01:00-04:00", zone=lord_howe), back, back + day) == timedelta(hours=3, minutes=30)
    assert elapsed(cal("sun 00:00-01:45", zone=lord_howe), back, back + day) == timedelta(hours=2, minutes=15)
    # Forward 02:00 -> 02:30: a start in the skipped half hour is 02:30.
    assert elapsed(cal("sun 01:00-04:00", zone=lord_howe), forward, forward + day) == timedelta(hours=2, minutes=30)
    late_start = cal("sun 02:15-03:00", zone=lord_howe)
    assert stretches(late_start, forward, forward + day, lord_howe) == [
        ("2026-10-04T02:30:00+11:00", "2026-10-04T03:00:00+11:00"),
    ]


def test_no_calendar_and_always_are_the_wall_clock() -> None:
    start, end = at("2026-03-28T12:00"), at("2026-03-30T12:00")  # across spring forward
    for c in (None, BusinessCalendar.always(), BusinessCalendar.always("Europe/Berlin")):
        assert elapsed(c, start, end) == 47 * H
        assert add(c, start, 47 * H) == end
        assert is_open(c, start)
        assert next_open(c, start) == start
        assert [(a, b) for a, b in open_intervals(c, start, end)] == [(start, end)]


def test_zero_and_backwards() -> None:
    start = at("2026-03-07T10:00")  # a Saturday: closed
    assert add(OFFICE, start, timedelta(0)) == start
    assert elapsed(OFFICE, at("2026-03-06T12:00"), at("2026-03-06T11:00")) == timedelta(0)
    assert list(open_intervals(OFFICE, at("2026-03-06T12:00"), at("2026-03-06T11:00"))) == []


def test_long_spans_cross_months_and_years() -> None:
    year = elapsed(OFFICE, at("2026-01-01T00:00"), at("2027-01-01T00:00"))
    assert year == 261 * 10 * H  # 261 weekdays in 2026
    assert add(OFFICE, at("2026-01-01T00:00"), year) == at("2026-12-31T18:00")


def test_refusals() -> None:
    naive = datetime(2026, 3, 6, 12, 0)
    with pytest.raises(ValueError, match="no time zone"):
        elapsed(OFFICE, naive, at("2026-03-06T13:00"))
    with pytest.raises(ValueError, match="no time zone"):
        add(None, naive, H)
    with pytest.raises(ValueError, match="no time zone"):
        is_open(OFFICE, naive)
    with pytest.raises(ValueError, match="negative"):
        add(OFFICE, at("2026-03-06T12:00"), -H)
    never = BusinessCalendar(BERLIN, ((),) * 7)
    with pytest.raises(CalendarError, match="no open hours"):
        add(never, at("2026-03-06T12:00"), H)
    with pytest.raises(CalendarError, match="no open hours"):
        next_open(never, at("2026-03-06T12:00"))
    assert elapsed(never, at("2026-03-06T12:00"), at("2026-04-06T12:00")) == timedelta(0)
    shutdown = cal("mon-fri 08:00-18:00", closed=tuple(date(2026, 1, 1) + timedelta(days=n) for n in range(500)))
    with pytest.raises(CalendarError, match="closed for more than 400 days"):
        add(shutdown, at("2026-01-01T00:00"), H)
    with pytest.raises(CalendarError, match="closed for more than 400 days"):
        next_open(shutdown, at("2026-01-01T00:00"))


# --- reading hours -----------------------------------------------------------------------------------


def test_parse_hours() -> None:
    week = parse_hours(["mon-fri 08:00-12:00, 13:00-18:00", "sat 10:00-14:00", "fri 22:00-24:00", "sun 0:00-2:00"])
    assert week[0] == ((time(8), time(12)), (time(13), time(18)))
    assert week[4] == ((time(8), time(12)), (time(13), time(18)), (time(22), time(0)))
    assert week[5] == ((time(10), time(14)),)
    assert week[6] == ((time(0), time(2)),)
    assert parse_hours(["daily 00:00-24:00"]) == (((time(0), time(0)),),) * 7
    assert parse_hours([]) == ((),) * 7


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (["mon-fri"], r"hours line 1 'mon-fri' is not DAYS HH:MM-HH:MM\[,HH:MM-HH:MM...\], e.g. mon-fri 08:00-12:00,13:00-18:00"),
        (["08:00-18:00"], r"hours line 1 '08:00-18:00' is not DAYS HH:MM-HH:MM"),
        (["mon-fri 8-18"], r"hours line 1 'mon-fri 8-18': 8 is not a time on the 24-hour clock \(00:00 to 23:59\)"),
        (["mon-fri 08:00"], r"hours line 1 'mon-fri 08:00': '08:00' is not a range HH:MM-HH:MM"),
        (["monday 08:00-18:00"], r"hours line 1 'monday 08:00-18:00': 'monday' is not a day or range of days"),
        (["fri-mon 08:00-18:00"], r"'fri-mon' runs backwards"),
        (["mon 08:00-18:00", "tue 25:00-26:00"], r"hours line 2 'tue 25:00-26:00': 25:00 is not a time on the 24-hour clock"),
        (["mon 24:00-02:00"], r"24:00 is not a time on the 24-hour clock \(00:00 to 23:59\)"),
        (["mon 08:00-24:30"], r"24:30 is not a time on the 24-hour clock \(00:00 to 24:00 for an end\)"),
        (["mon 08:60-09:00"], r"08:60 is not a time on the 24-hour clock"),
        (["mon 09:00-09:00"], r"hours line 1 'mon 09:00-09:00': 09:00-09:00 starts and ends at the same time; for a whole day write 00:00-24:00"),
        (["mon 00:00-00:00"], r"starts and ends at the same time"),
        (["mon 08:00-12:00,11:00-13:00"], r"hours line 1 'mon 08:00-12:00,11:00-13:00' has ranges that overlap on mon"),
        (
            ["mon-fri 08:00-12:00", "wed 11:30-13:00"],
            r"hours line 2 'wed 11:30-13:00' overlaps line 1 'mon-fri 08:00-12:00' on wed; give each day's ranges without overlap",
        ),
        (["fri 22:00-02:00", "sat 01:00-05:00"], r"hours line 2 'sat 01:00-05:00' overlaps line 1 'fri 22:00-02:00' on sat"),
        (["mon 06:00-10:00", "sun 22:00-07:00"], r"hours line 2 'sun 22:00-07:00' overlaps line 1 'mon 06:00-10:00' on mon"),
    ],
)
def test_parse_hours_refusals(lines: list[str], message: str) -> None:
    with pytest.raises(CalendarError, match=message):
        parse_hours(lines)


def test_ranges_may_touch() -> None:
    parse_hours(["fri 22:00-02:00", "sat 02:00-05:00", "mon 08:00-12:00,12:00-13:00"])


def test_calendar_is_hashable_and_equal_by_value() -> None:
    a = cal("mon-fri 08:00-18:00", closed=(date(2026, 4, 6),))
    b = cal("mon-fri 08:00-18:00", closed=(date(2026, 4, 6),))
    assert a == b and hash(a) == hash(b)
    assert a != cal("mon-fri 08:00-18:00")


# --- properties against an independent count ------------------------------------------------------

# Each zone with its daylight-saving changes in the window the properties look at
# (UTC midnight of the local Sunday); the zones without any get a few dates anyway.
ZONES = {
    ZoneInfo("Europe/Berlin"): [datetime(2026, 3, 29, tzinfo=UTC), datetime(2026, 10, 25, tzinfo=UTC)],
    ZoneInfo("America/Chicago"): [datetime(2026, 3, 8, tzinfo=UTC), datetime(2021, 11, 7, tzinfo=UTC)],
    # Lord Howe moves its clocks by half an hour: back 02:00 -> 01:30, forward 02:00 -> 02:30.
    ZoneInfo("Australia/Lord_Howe"): [datetime(2026, 4, 5, tzinfo=UTC), datetime(2026, 10, 4, tzinfo=UTC)],
    ZoneInfo("Asia/Kolkata"): [datetime(2026, 3, 29, tzinfo=UTC), datetime(2026, 12, 31, tzinfo=UTC)],
    ZoneInfo("UTC"): [datetime(2026, 2, 28, tzinfo=UTC), datetime(2026, 10, 25, tzinfo=UTC)],
}
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
QUARTERS = 96  # 15-minute steps in a day
WEEK = 7 * QUARTERS
WINDOW_MINUTES = 14 * 24 * 60


@st.composite
def calendars(draw: st.DrawFn) -> tuple[BusinessCalendar, list[tuple[int, int, int]], datetime]:
    """A calendar, the ranges it was written from (weekday, start minute, end minute), and a DST change to look near."""
    zone = draw(st.sampled_from(sorted(ZONES, key=str)))
    anchor = draw(st.sampled_from(ZONES[zone]))
    # Non-overlapping ranges on a weekly line of quarter hours; one reaching past the
    # end of its day becomes a range past midnight, the last may wrap into Monday.
    # Every change above happens on a Sunday night, so boundaries crowd there
    # (Saturday evening to Sunday 05:00), where the daylight-saving rules matter.
    point = st.one_of(
        st.integers(0, WEEK + QUARTERS - 1),
        st.integers(5 * QUARTERS + 80, 6 * QUARTERS + 20),
        st.integers(6 * QUARTERS + 4, 6 * QUARTERS + 12),
    )
    points = sorted(draw(st.lists(point, min_size=2, max_size=30)))
    ranges: list[tuple[int, int, int]] = []
    for a, b in zip(points[::2], points[1::2]):
        b = min(b, a + QUARTERS - 1)  # shorter than a day
        if a >= WEEK or b == a:
            continue
        if ranges and b - WEEK > ranges[0][1] // 15 + ranges[0][0] * QUARTERS:
            b = WEEK + ranges[0][0] * QUARTERS + ranges[0][1] // 15  # a wrap may only touch Monday's first range
            if b <= a:
                continue
        ranges.append((a // QUARTERS, (a % QUARTERS) * 15, (b % QUARTERS) * 15))
    lines = []
    for day, start, end in ranges:
        end_text = "24:00" if end == 0 and draw(st.booleans()) else f"{end // 60:02d}:{end % 60:02d}"
        lines.append(f"{DAY_NAMES[day]} {start // 60:02d}:{start % 60:02d}-{end_text}")
    first_day = anchor.date() - timedelta(days=16)
    closed = draw(st.frozensets(st.integers(0, 32).map(lambda n: first_day + timedelta(days=n)), max_size=6))
    return BusinessCalendar.parse(lines, zone, closed), ranges, anchor


def instants(anchor: datetime) -> st.SearchStrategy[datetime]:
    """Minutes within two weeks of the change, mostly within three days of it."""
    near = st.integers(-3 * 24 * 60, 3 * 24 * 60)
    return st.one_of(st.integers(-WINDOW_MINUTES, WINDOW_MINUTES), near, near).map(lambda m: anchor + timedelta(minutes=m))


def wall_instants(zone: ZoneInfo, wall: datetime, is_start: bool) -> datetime:
    """The UTC instant of a wall time by the documented rules, found by trying every offset on the quarter hour."""
    shows = [
        u
        for k in range(-14 * 4, 14 * 4 + 1)
        if (u := (wall - timedelta(minutes=15 * k)).replace(tzinfo=UTC)).astimezone(zone).replace(tzinfo=None) == wall
    ]
    if shows:
        return min(shows) if is_start else max(shows)
    # Skipped: walk from the last quarter hour before it, a minute at a time, to the first instant after.
    u = max(
        u
        for k in range(-14 * 4, 14 * 4 + 1)
        if (u := (wall - timedelta(minutes=15 * k)).replace(tzinfo=UTC)).astimezone(zone).replace(tzinfo=None) < wall
    )
    while u.astimezone(zone).replace(tzinfo=None) < wall:
        u += timedelta(minutes=1)
    return u


def oracle_ranges(c: BusinessCalendar, ranges: list[tuple[int, int, int]], first: date, last: date) -> list[tuple[datetime, datetime]]:
    out = []
    day = first
    while day <= last:
        if day not in c.closed:
            for weekday, start, end in ranges:
                if weekday != day.weekday():
                    continue
                begin = datetime.combine(day, time(start // 60, start % 60))
                stop_day = day if end > start else day + timedelta(days=1)
                stop = datetime.combine(stop_day, time(end // 60, end % 60))
                out.append((wall_instants(c.zone, begin, True), wall_instants(c.zone, stop, False)))
        day += timedelta(days=1)
    return out


def minute_count(c: BusinessCalendar, ranges: list[tuple[int, int, int]], start: datetime, end: datetime) -> timedelta:
    """Business time from start to end, a UTC minute at a time: is this minute inside an open range?"""
    first = start.astimezone(c.zone).date() - timedelta(days=2)
    last = end.astimezone(c.zone).date() + timedelta(days=1)
    spans = [(a, b) for a, b in oracle_ranges(c, ranges, first, last) if a < end and b > start]
    minutes = 0
    m = start
    while m < end:
        if any(a <= m < b for a, b in spans):
            minutes += 1
        m += timedelta(minutes=1)
    return timedelta(minutes=minutes)


PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(data=st.data())
def test_elapsed_equals_a_minute_by_minute_count(data: st.DataObject) -> None:
    c, ranges, anchor = data.draw(calendars())
    start = data.draw(instants(anchor))
    end = start + timedelta(minutes=data.draw(st.integers(0, 3 * 24 * 60)))
    expected = minute_count(c, ranges, start, end)
    assert elapsed(c, start, end) == expected
    assert elapsed_seconds(c, np.array([start.timestamp()]), np.array([end.timestamp()])).tolist() == [expected // timedelta(seconds=1)]
    assert sum((b - a for a, b in open_intervals(c, start, end)), timedelta(0)) == expected
    assert is_open(c, start) == (minute_count(c, ranges, start, start + timedelta(minutes=1)) > timedelta(0))


@PROPERTY
@given(data=st.data())
def test_add_inverts_elapsed_and_is_monotonic(data: st.DataObject) -> None:
    c, _, anchor = data.draw(calendars())
    assume(any(c.hours))
    start = data.draw(instants(anchor))
    d1, d2 = sorted(timedelta(minutes=data.draw(st.integers(0, 6000))) for _ in range(2))
    due1, due2 = add(c, start, d1), add(c, start, d2)
    assert elapsed(c, start, due1) == d1
    assert elapsed(c, start, due2) == d2
    assert start <= due1 <= due2
    if d1 > timedelta(0):
        # The earliest such instant: a minute less would not be enough.
        assert elapsed(c, start, due1 - timedelta(minutes=1)) < d1
        assert is_open(c, due1 - timedelta(minutes=1))
    assert next_open(c, start) == add(c, start, timedelta(microseconds=1)) - timedelta(microseconds=1)


@PROPERTY
@given(data=st.data())
def test_elapsed_is_additive(data: st.DataObject) -> None:
    c, _, anchor = data.draw(calendars())
    a, b, cc = sorted(data.draw(instants(anchor)) for _ in range(3))
    assert elapsed(c, a, cc) == elapsed(c, a, b) + elapsed(c, b, cc)
    stretches_ = list(open_intervals(c, a, cc))
    for (_, end1), (start2, _) in zip(stretches_, stretches_[1:]):
        assert end1 < start2  # touching stretches are merged


@PROPERTY
@given(data=st.data())
def test_elapsed_seconds_is_elapsed_for_every_pair_at_once(data: st.DataObject) -> None:
    """Many pairs in one call (odd seconds, spans of months, ends before starts) give what `elapsed` gives each."""
    c, _, anchor = data.draw(calendars())
    base = int(anchor.timestamp())
    pairs = data.draw(
        st.lists(st.tuples(st.integers(-40 * 86400, 40 * 86400), st.integers(-86400, 70 * 86400)), min_size=1, max_size=40)
    )
    starts = np.array([base + a for a, _ in pairs], dtype=np.int64)
    ends = np.array([base + a + d for a, d in pairs], dtype=np.int64)
    expected = [elapsed(c, datetime.fromtimestamp(s, UTC), datetime.fromtimestamp(e, UTC)) // timedelta(seconds=1) for s, e in zip(starts.tolist(), ends.tolist())]
    assert elapsed_seconds(c, starts, ends).tolist() == expected
    assert elapsed_seconds(None, starts, ends).tolist() == [max(e - s, 0) for s, e in zip(starts.tolist(), ends.tolist())]


def test_elapsed_seconds_of_nothing_and_of_mismatched_arrays() -> None:
    assert elapsed_seconds(OFFICE, np.array([], dtype=np.int64), np.array([], dtype=np.int64)).tolist() == []
    with pytest.raises(ValueError, match="shape"):
        elapsed_seconds(OFFICE, np.array([1, 2]), np.array([3]))
