"""On-call rotations and the merged timeline, checked against an independent oracle.

The oracle below reads the written forms itself (`12h`, `1d`, `mon-fri 22:00-06:00`,
`2026-03-28T09:00`) and never calls `handoff`, `shift_number`, `layer_member` or
`on_call`: day and week shifts are found by walking local calendar dates with
the instants a minute-by-minute walk finds the wall clock showing each time (a
skipped time: the first minute after it), hour shifts by elapsed UTC seconds, and
hours from the first instant showing their opening time to the last showing their
closing time. The code is then sampled every 15 minutes over
weeks that hold the 2026 daylight-saving changes in Berlin and New York.
"""

from __future__ import annotations

import itertools
import re
from bisect import bisect_right
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from escalation.oncall import Interval, timeline
from escalation.rotations import (
    Hours,
    Layer,
    Override,
    Schedule,
    Shift,
    handoff,
    on_call,
    parse_start,
)

STEP = timedelta(minutes=15)

# The 2026 changes (the UTC instant the clocks move).
DST = {
    "Europe/Berlin": (datetime(2026, 3, 29, 1, 0, tzinfo=UTC), datetime(2026, 10, 25, 1, 0, tzinfo=UTC)),
    "America/New_York": (datetime(2026, 3, 8, 7, 0, tzinfo=UTC), datetime(2026, 11, 1, 6, 0, tzinfo=UTC)),
}


# --- the oracle ---------------------------------------------------------------------------------


@cache
def _oracle_instant(day: date, clock: time, tz: ZoneInfo, latest: bool) -> datetime:
    """The first (or, `latest`, last) UTC minute whose wall clock in `tz` reads `day` `clock`;
    where the clocks skip it, the first minute whose wall clock reads later. Found by
    walking every minute of the surrounding day and a half, not by fold arithmetic."""
    naive = datetime.combine(day, clock)
    at = naive.replace(tzinfo=UTC) - timedelta(hours=18)
    shown, after = [], None
    for _ in range(36 * 60):
        wall = at.astimezone(tz).replace(tzinfo=None)
        if wall == naive:
            shown.append(at)
        elif wall > naive and after is None:
            after = at
        at += timedelta(minutes=1)
    if shown:
        return max(shown) if latest else min(shown)
    assert after is not None
    return after

_DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _oracle_days(spec: str) -> frozenset[int]:
    if spec == "daily":
        return frozenset(range(7))
    days: set[int] = set()
    for part in spec.split(","):
        first, _, last = part.partition("-")
        a = _DAY_NAMES.index(first)
        b = _DAY_NAMES.index(last or first)
        days.update(range(a, b + 1))
    return frozenset(days)


@dataclass(frozen=True)
class Spec:
    """A layer as the org file writes it."""

    members: tuple[str, ...]
    shift: str
    start: str
    hours: str | None = None


class OracleLayer:
    def __init__(self, spec: Spec, zone: str, horizon: datetime) -> None:
        self.members = spec.members
        self.tz = ZoneInfo(zone)
        m = re.fullmatch(r"(\d+)([hdw])", spec.shift)
        assert m is not None
        count, unit = int(m.group(1)), m.group(2)
        y, mo, d, hh, mm = (int(x) for x in re.fullmatch(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d)", spec.start).groups())  # type: ignore[union-attr]
        day0, clock = date(y, mo, d), time(hh, mm)
        self.unit = unit
        if unit == "h":
            self.first_ts = _oracle_instant(day0, clock, self.tz, False).timestamp()
            self.period_s = count * 3600
        else:
            # Every handoff: the same wall-clock time on each step's calendar date. Found as far as
            # the instants asked about need (finding each up to the horizon up front was most of the
            # random schedules' time, for cases that span a few days).
            self.step = timedelta(days=count * (7 if unit == "w" else 1))
            self.clock = clock
            self.next_day = day0
            self.bounds: list[datetime] = []
        self.horizon = horizon
        self.hours: tuple[frozenset[int], time, time] | None = None
        if spec.hours:
            days, span = spec.hours.split(" ")
            a, b = span.split("-")
            self.hours = (_oracle_days(days), time.fromisoformat(a), time.fromisoformat(b))

    def index(self, at: datetime) -> int | None:
        if self.unit == "h":
            elapsed = at.timestamp() - self.first_ts
            return None if elapsed < 0 else int(elapsed // self.period_s)
        assert at <= self.horizon, "horizon too short"
        while not self.bounds or self.bounds[-1] <= at:  # every handoff up to `at` is known, and one after it
            self.bounds.append(_oracle_instant(self.next_day, self.clock, self.tz, False))
            self.next_day += self.step
        i = bisect_right(self.bounds, at) - 1
        return None if i < 0 else i

    def in_hours(self, at: datetime) -> bool:
        if self.hours is None:
            return True
        days, opens, closes = self.hours
        today = at.astimezone(self.tz).date()
        # The hours opened on the local date or (past midnight) the day before, as instants:
        # from the first instant the clock shows the opening time to the last it shows the closing one.
        for day in (today - timedelta(days=1), today):
            if day.weekday() not in days:
                continue
            start = _oracle_instant(day, opens, self.tz, False)
            end = _oracle_instant(day if closes > opens else day + timedelta(days=1), closes, self.tz, True)
            if start <= at < end:
                return True
        return False

    def member(self, at: datetime) -> str | None:
        if not self.members or not self.in_hours(at):
            return None
        i = self.index(at)
        return None if i is None else self.members[i % len(self.members)]


class Oracle:
    def __init__(self, zone: str, specs: tuple[Spec, ...], covers: tuple[Override, ...], horizon: datetime) -> None:
        self.layers = [OracleLayer(s, zone, horizon) for s in specs]
        self.covers = covers

    def __call__(self, at: datetime) -> str | None:
        for cover in reversed(self.covers):  # the latest made wins
            if cover.start.timestamp() <= at.timestamp() < cover.end.timestamp():
                return cover.member
        for layer in reversed(self.layers):
            who = layer.member(at)
            if who is not None:
                return who
        return None


def build(zone: str, specs: tuple[Spec, ...]) -> Schedule:
    return Schedule(
        "s",
        zone,
        tuple(Layer(s.members, Shift.parse(s.shift), parse_start(s.start), Hours.parse(s.hours) if s.hours else None) for s in specs),
    )


def grid(start: datetime, end: datetime) -> list[datetime]:
    out, at = [], start
    while at < end:
        out.append(at)
        at += STEP
    return out


def check_timeline(pieces: list[Interval], start: datetime, end: datetime, oracle: Oracle, samples: list[datetime]) -> None:
    assert pieces, "an empty timeline for a non-empty span"
    assert pieces[0].start == start and pieces[-1].end == end
    for a, b in itertools.pairwise(pieces):
        assert a.end == b.start, f"not consecutive: {a} then {b}"
        assert a.handles != b.handles, f"neighbours not merged: {a} then {b}"
    for p in pieces:
        assert p.start < p.end
        assert p.handles == tuple(sorted(p.handles)) and len(p.handles) <= 1
    starts = [p.start for p in pieces]
    probes = sorted(set(samples) | set(starts) | {p.end - timedelta(seconds=1) for p in pieces})
    for at in probes:
        piece = pieces[bisect_right(starts, at) - 1]
        assert piece.start <= at < piece.end
        who = oracle(at)
        assert piece.handles == ((who,) if who else ()), f"at {at.isoformat()}: timeline says {piece.handles}, expected {who!r}"


# --- the sampled weeks --------------------------------------------------------------------------

# Ten days around each change: from four days before the change's local date.
WINDOWS = {
    zone: tuple((datetime.combine(c.date() - timedelta(days=4), time(), tzinfo=UTC), datetime.combine(c.date() + timedelta(days=6), time(), tzinfo=UTC)) for c in changes)
    for zone, changes in DST.items()
}
HORIZON = datetime(2027, 1, 1, tzinfo=UTC)
TEAM = ("ann", "bob", "cy")

SCENARIOS: dict[str, tuple[Spec, ...]] = {
    "12h": (Spec(TEAM, "12h", "2026-01-05T09:00"),),
    "8h": (Spec(TEAM, "8h", "2026-02-01T07:45"),),
    "1d": (Spec(TEAM, "1d", "2026-01-05T09:00"),),
    "2d": (Spec(("ann", "bob"), "2d", "2026-02-02T18:30"),),
    "1w": (Spec(TEAM, "1w", "2026-01-05T09:00"),),
    "1d-in-the-gap": (Spec(TEAM, "1d", "2026-02-01T02:30"),),  # handoff at a skipped (spring) / repeated (Berlin autumn) time
    "1d-in-the-repeat": (Spec(TEAM, "1d", "2026-02-01T01:30"),),  # repeated in New York's autumn
    "2d-in-the-gap": (Spec(TEAM, "2d", "2026-02-02T02:15"),),
    "12h-in-the-gap": (Spec(TEAM, "12h", "2026-02-01T02:30"),),
    "12h-daytime": (Spec(TEAM, "12h", "2026-01-05T08:00", "mon-fri 08:00-18:00"),),
    "1d-nights": (Spec(TEAM, "1d", "2026-01-05T22:00", "mon-fri 22:00-06:00"),),
    "1w-weekend-nights": (Spec(TEAM, "1w", "2026-01-03T20:00", "fri-sun 20:00-04:00"),),
    "8h-weekend": (Spec(("ann", "bob"), "8h", "2026-01-03T00:00", "sat,sun 00:00-12:00"),),
    "two-layers": (
        Spec(TEAM, "1w", "2026-01-05T09:00"),
        Spec(("dee", "eve"), "1d", "2026-01-05T08:00", "mon-fri 08:00-18:00"),
    ),
    "three-layers": (
        Spec(TEAM, "12h", "2026-01-05T09:00"),
        Spec(("dee", "eve"), "1d", "2026-01-05T22:00", "mon-fri 22:00-06:00"),
        Spec(("fay",), "8h", "2026-01-03T01:00", "sat,sun 09:00-17:00"),
    ),
    "later-layer-starts-mid-window": (
        Spec(TEAM, "2d", "2026-01-05T09:00"),
        Spec(("dee", "eve"), "12h", "2026-03-06T21:00"),  # New York: two days before the change
        Spec(("fay", "gus"), "1d", "2026-10-26T09:00"),  # Berlin: the day after the change
    ),
    "empty-top-layer": (
        Spec(TEAM, "1d", "2026-01-05T09:00"),
        Spec((), "12h", "2026-01-05T09:00"),
    ),
}

# Hours whose edges are wall-clock times the clocks skip or repeat: timeline() once missed these (its
# hours edges were one instant per boundary, while on_call reads the wall clock).
EDGE_HOURS_SCENARIOS: dict[str, tuple[Spec, ...]] = {
    "hours-open-in-the-gap": (Spec(TEAM, "1d", "2026-01-05T09:00", "daily 02:30-06:00"),),
    "hours-close-in-the-gap": (Spec(TEAM, "1d", "2026-01-05T09:00", "daily 22:00-02:30"),),
    "hours-open-in-the-ny-repeat": (Spec(TEAM, "12h", "2026-01-05T09:00", "daily 01:30-05:00"),),
    "hours-close-in-the-ny-repeat": (Spec(TEAM, "1d", "2026-01-05T09:00", "daily 21:00-01:30"),),
}


def covers_for(zone: str) -> tuple[Override, ...]:
    """Covers around both changes, oldest first: straddling handoffs, overlapping, nested both ways."""
    out: list[Override] = []
    for change in DST[zone]:
        h = timedelta(hours=1)
        out += [
            Override("xena", change - 3.5 * h, change + 5 * h),  # straddles the change and (for 1d at 02:30) a handoff
            Override("yuri", change + 2 * h, change + 30 * h),  # overlaps xena's end: yuri wins from +2h
            Override("zoe", change + 10 * h, change + 11 * h),  # inside yuri, made later: zoe wins
            Override("walt", change - 60 * h, change - 20 * h),  # straddles several handoffs
            Override("vic", change - 40 * h, change - 39.25 * h),  # inside walt, made later
            Override("uma", change + 70 * h, change + 100 * h),
        ]
        out.insert(len(out) - 1, Override("tom", change + 80 * h, change + 90 * h))  # inside uma, made earlier: never shows
    return tuple(out)


@cache
def sampled(name: str, zone: str, with_covers: bool) -> tuple[Schedule, tuple[Override, ...], Oracle]:
    specs = SCENARIOS.get(name) or EDGE_HOURS_SCENARIOS[name]
    covers = covers_for(zone) if with_covers else ()
    return build(zone, specs), covers, Oracle(zone, specs, covers, HORIZON)


ZONES = tuple(DST)
ALL_SCENARIOS = (*SCENARIOS, *EDGE_HOURS_SCENARIOS)


@pytest.mark.parametrize("with_covers", [False, True], ids=["layers", "covers"])
@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("name", ALL_SCENARIOS)
def test_on_call_matches_the_oracle_every_quarter_hour_across_the_changes(name: str, zone: str, with_covers: bool) -> None:
    schedule, covers, oracle = sampled(name, zone, with_covers)
    tz = ZoneInfo(zone)
    wrong = []
    for start, end in WINDOWS[zone]:
        for at in grid(start, end):
            got = on_call(schedule, at, covers)
            if got != oracle(at):
                wrong.append((at.isoformat(), at.astimezone(tz).strftime("%a %H:%M%z"), oracle(at), got))
            # The same instant written in the schedule's zone gives the same answer.
            assert on_call(schedule, at.astimezone(tz), covers) == got
    assert not wrong, f"{len(wrong)} wrong, e.g. (at, local, expected, got): {wrong[:5]}"


@pytest.mark.parametrize("with_covers", [False, True], ids=["layers", "covers"])
@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("name", SCENARIOS)
def test_timeline_is_consecutive_merged_and_agrees_with_the_oracle(name: str, zone: str, with_covers: bool) -> None:
    schedule, covers, oracle = sampled(name, zone, with_covers)
    for start, end in WINDOWS[zone]:
        check_timeline(timeline(schedule, covers, start, end), start, end, oracle, grid(start, end))
    # A span that starts and ends off the quarter-hour grid, mid-shift and inside a cover.
    start, end = WINDOWS[zone][0][0] + timedelta(hours=55, minutes=7), WINDOWS[zone][0][1] - timedelta(hours=30, minutes=11)
    check_timeline(timeline(schedule, covers, start, end), start, end, oracle, grid(start, end))


def _edge_hours_mismatches(name: str, zone: str, change: int) -> list[tuple[str, tuple[str, ...], tuple[str, ...]]]:
    schedule, _, oracle = sampled(name, zone, False)
    # (on_call itself agrees with the oracle here: these scenarios are in the on_call test above.)
    day = DST[zone][change]
    start, end = day - timedelta(hours=12), day + timedelta(hours=12)
    pieces = timeline(schedule, (), start, end)
    starts = [p.start for p in pieces]
    out = []
    for at in grid(start, end):
        piece = pieces[bisect_right(starts, at) - 1]
        who = oracle(at)
        if piece.handles != ((who,) if who else ()):
            out.append((at.isoformat(), (who,) if who else (), piece.handles))
    return out


@pytest.mark.parametrize(
    ("name", "zone"),
    [
        ("hours-open-in-the-gap", "Europe/Berlin"),
        ("hours-close-in-the-gap", "Europe/Berlin"),
        ("hours-open-in-the-gap", "America/New_York"),
        ("hours-close-in-the-gap", "America/New_York"),
    ],
)
def test_timeline_follows_hours_whose_edge_the_clocks_skip(name: str, zone: str) -> None:
    assert _edge_hours_mismatches(name, zone, 0) == []


@pytest.mark.parametrize(
    ("name", "zone"),
    [
        ("hours-open-in-the-gap", "Europe/Berlin"),  # 02:30 is repeated in Berlin's autumn
        ("hours-close-in-the-gap", "Europe/Berlin"),
        ("hours-open-in-the-ny-repeat", "America/New_York"),
        ("hours-close-in-the-ny-repeat", "America/New_York"),
    ],
)
def test_timeline_follows_hours_whose_edge_the_clocks_repeat(name: str, zone: str) -> None:
    assert _edge_hours_mismatches(name, zone, 1) == []


# --- specific facts -----------------------------------------------------------------------------

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_a_day_shift_hands_off_at_nine_local_and_the_day_before_the_spring_change_is_23_hours() -> None:
    layer = Layer(("a", "b"), Shift.parse("1d"), parse_start("2026-03-28T09:00"))
    starts = [handoff(layer, "Europe/Berlin", n) for n in range(3)]
    assert starts == [_utc("2026-03-28T08:00"), _utc("2026-03-29T07:00"), _utc("2026-03-30T07:00")]
    assert [s.astimezone(BERLIN).strftime("%m-%d %H:%M %Z") for s in starts] == ["03-28 09:00 CET", "03-29 09:00 CEST", "03-30 09:00 CEST"]
    # The shift that ends at 09:00 on the 29th (a's, holding the change) is 23 hours; the next is 24.
    assert starts[1] - starts[0] == timedelta(hours=23)
    assert starts[2] - starts[1] == timedelta(hours=24)
    schedule = Schedule("s", "Europe/Berlin", (layer,))
    assert on_call(schedule, _utc("2026-03-29T06:59:59")) == "a"
    assert on_call(schedule, _utc("2026-03-29T07:00")) == "b"
    assert on_call(schedule, _utc("2026-03-28T07:59:59")) is None
    assert timeline(schedule, (), _utc("2026-03-28T00:00"), _utc("2026-03-30T12:00")) == [
        Interval(_utc("2026-03-28T00:00"), _utc("2026-03-28T08:00"), ()),
        Interval(_utc("2026-03-28T08:00"), _utc("2026-03-29T07:00"), ("a",)),
        Interval(_utc("2026-03-29T07:00"), _utc("2026-03-30T07:00"), ("b",)),
        Interval(_utc("2026-03-30T07:00"), _utc("2026-03-30T12:00"), ("a",)),
    ]


def test_a_day_shift_holding_the_autumn_change_is_25_hours() -> None:
    layer = Layer(("a", "b"), Shift.parse("1d"), parse_start("2026-10-24T09:00"))
    starts = [handoff(layer, "Europe/Berlin", n) for n in range(3)]
    assert starts == [_utc("2026-10-24T07:00"), _utc("2026-10-25T08:00"), _utc("2026-10-26T08:00")]
    assert starts[1] - starts[0] == timedelta(hours=25)
    ny = Layer(("a", "b"), Shift.parse("1d"), parse_start("2026-10-31T09:00"))
    assert handoff(ny, "America/New_York", 1) - handoff(ny, "America/New_York", 0) == timedelta(hours=25)
    assert handoff(ny, "America/New_York", 1) == _utc("2026-11-01T14:00")


def test_hour_shifts_are_exact_so_their_local_handoff_times_move_by_an_hour() -> None:
    layer = Layer(("a", "b"), Shift.parse("12h"), parse_start("2026-03-28T09:00"))
    starts = [handoff(layer, "Europe/Berlin", n) for n in range(4)]
    assert all(b - a == timedelta(hours=12) for a, b in itertools.pairwise(starts))
    assert [s.astimezone(BERLIN).strftime("%d %H:%M") for s in starts] == ["28 09:00", "28 21:00", "29 10:00", "29 22:00"]
    schedule = Schedule("s", "Europe/Berlin", (layer,))
    assert on_call(schedule, datetime(2026, 3, 29, 9, 59, tzinfo=BERLIN)) == "b"
    assert on_call(schedule, datetime(2026, 3, 29, 10, 0, tzinfo=BERLIN)) == "a"
    # And back in the autumn, New York: 09:00/21:00 EDT become 08:00/20:00 EST.
    ny = Layer(("a", "b"), Shift.parse("12h"), parse_start("2026-10-31T09:00"))
    assert [handoff(ny, "America/New_York", n).astimezone(NEW_YORK).strftime("%d %H:%M") for n in range(4)] == ["31 09:00", "31 21:00", "01 08:00", "01 20:00"]


def test_a_week_shift_across_the_spring_change_is_167_hours_and_hands_off_on_monday_nine_local() -> None:
    layer = Layer(("a", "b"), Shift.parse("1w"), parse_start("2026-03-02T09:00"))
    first, second = handoff(layer, "America/New_York", 0), handoff(layer, "America/New_York", 1)
    assert (first, second) == (_utc("2026-03-02T14:00"), _utc("2026-03-09T13:00"))
    assert second - first == timedelta(hours=167)
    assert second.astimezone(NEW_YORK).strftime("%a %H:%M") == "Mon 09:00"


def test_a_handoff_at_a_skipped_time_is_the_first_instant_after_the_gap() -> None:
    layer = Layer(("a", "b"), Shift.parse("1d"), parse_start("2026-03-28T02:30"))
    starts = [handoff(layer, "Europe/Berlin", n) for n in range(3)]
    assert [s.astimezone(BERLIN).strftime("%d %H:%M") for s in starts] == ["28 02:30", "29 03:00", "30 02:30"]
    assert [b - a for a, b in itertools.pairwise(starts)] == [timedelta(hours=23, minutes=30), timedelta(hours=23, minutes=30)]


def test_past_midnight_hours_belong_to_the_day_they_start() -> None:
    layer = Layer(("a",), Shift.parse("1w"), parse_start("2026-01-05T00:00"), Hours.parse("mon-fri 22:00-06:00"))
    schedule = Schedule("s", "Europe/Berlin", (layer,))
    at = lambda text: datetime.fromisoformat(text).replace(tzinfo=BERLIN)
    assert on_call(schedule, at("2026-01-05T05:59")) is None  # Monday small hours: Sunday's night, not in hours
    assert on_call(schedule, at("2026-01-05T22:00")) == "a"
    assert on_call(schedule, at("2026-01-10T05:59")) == "a"  # Saturday small hours: Friday's night
    assert on_call(schedule, at("2026-01-10T06:00")) is None
    assert on_call(schedule, at("2026-01-10T22:00")) is None  # Saturday evening


# --- random schedules ---------------------------------------------------------------------------

SAFE_HOURS = [None, "mon-fri 08:00-18:00", "mon-fri 22:00-06:00", "daily 09:30-17:45", "sat,sun 00:00-12:00", "tue,thu 18:00-08:00", "daily 23:45-00:15"]
POOL = ("ann", "bob", "cy", "dee")


@st.composite
def specs(draw: st.DrawFn) -> Spec:
    unit = draw(st.sampled_from("hdw"))
    count = draw(st.integers(1, 48 if unit == "h" else 3 if unit == "d" else 2))
    day = date(2026, 1, 1) + timedelta(days=draw(st.integers(0, 330)))
    clock = time(draw(st.integers(0, 23)), draw(st.sampled_from([0, 15, 30, 45])))
    members = tuple(draw(st.lists(st.sampled_from(POOL), min_size=0, max_size=4)))
    return Spec(members, f"{count}{unit}", f"{day.isoformat()}T{clock.strftime('%H:%M')}", draw(st.sampled_from(SAFE_HOURS)))


@st.composite
def cases(draw: st.DrawFn) -> tuple[str, tuple[Spec, ...], tuple[Override, ...], datetime, datetime]:
    zone = draw(st.sampled_from(ZONES))
    change = draw(st.sampled_from(DST[zone]))
    start = change.replace(hour=0) + timedelta(days=draw(st.integers(-3, 1)), minutes=15 * draw(st.integers(0, 95)))
    end = start + timedelta(hours=draw(st.integers(1, 96)))
    layers = tuple(draw(st.lists(specs(), min_size=1, max_size=3)))
    covers = []
    for i in range(draw(st.integers(0, 3))):
        a = start + STEP * draw(st.integers(-20, 400))
        covers.append(Override(f"cover{i}", a, a + STEP * draw(st.integers(1, 200))))
    return zone, layers, tuple(covers), start, end


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_random_schedules_agree_with_the_oracle(case: tuple[str, tuple[Spec, ...], tuple[Override, ...], datetime, datetime]) -> None:
    zone, layers, covers, start, end = case
    schedule = build(zone, layers)
    oracle = Oracle(zone, layers, covers, HORIZON)
    samples = grid(start, end)
    for at in samples:
        assert on_call(schedule, at, covers) == oracle(at), at.isoformat()
    check_timeline(timeline(schedule, covers, start, end), start, end, oracle, samples)
