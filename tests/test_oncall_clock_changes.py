"""On-call across clock changes at the exact instants GoAlert's own test cases give (issue 22), on SQLite and PostgreSQL.

Working hours are instants: they open at the first instant the clock shows
their opening time and close at the last it shows their closing time, and a
time the clocks skip is the first instant after the gap, for hours and
handoffs alike.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from bot.dispatch import run_command
from bot.render.text import render_text
from escalation.oncall import Interval, timeline
from escalation.rotations import Hours, Layer, Schedule, Shift, handoff, on_call, parse_start
from handlers.registry import build_router
from kpi.definitions import METRIC_NAMES
from store.database import Database
from store.local_time import wall_instants
from store.org_file import apply_org, parse_org

CHICAGO = "America/Chicago"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def weekly(hours: str, members: tuple[str, ...] = ("ann",), start: str = "2021-11-01T00:00") -> Schedule:
    return Schedule("s", CHICAGO, (Layer(members, Shift.parse("1w"), parse_start(start), Hours.parse(hours)),))


def test_hours_closing_inside_the_repeated_hour_hold_all_of_it() -> None:
    # Chicago falls back at 07:00Z on 2021-11-07: 01:00-02:00 local happens twice (06:00Z-08:00Z).
    schedule = weekly("sat 20:00-01:30")
    assert timeline(schedule, (), utc("2021-11-06T18:00"), utc("2021-11-07T12:00")) == [
        Interval(utc("2021-11-06T18:00"), utc("2021-11-07T01:00"), ()),
        Interval(utc("2021-11-07T01:00"), utc("2021-11-07T07:30"), ("ann",)),  # to the second 01:30, no break at 06:30Z
        Interval(utc("2021-11-07T07:30"), utc("2021-11-07T12:00"), ()),
    ]
    assert on_call(schedule, utc("2021-11-07T06:45")) == "ann"
    assert on_call(schedule, utc("2021-11-07T07:29:59")) == "ann"
    assert on_call(schedule, utc("2021-11-07T07:30")) is None


def test_hours_opening_inside_the_repeated_hour_open_at_the_first_and_leave_no_gap() -> None:
    schedule = weekly("sun 01:30-05:00")
    assert timeline(schedule, (), utc("2021-11-07T00:00"), utc("2021-11-07T12:00")) == [
        Interval(utc("2021-11-07T00:00"), utc("2021-11-07T06:30"), ()),
        Interval(utc("2021-11-07T06:30"), utc("2021-11-07T11:00"), ("ann",)),  # no gap 07:00Z-07:30Z
        Interval(utc("2021-11-07T11:00"), utc("2021-11-07T12:00"), ()),
    ]
    assert on_call(schedule, utc("2021-11-07T07:15")) == "ann"


def test_a_handoff_and_hours_at_a_skipped_time_agree_on_the_first_instant_after_the_gap() -> None:
    # Chicago springs forward at 08:00Z on 2021-03-14: 02:00-03:00 local does not happen.
    assert wall_instants(date(2021, 3, 14), time(2, 30), CHICAGO) == (utc("2021-03-14T08:00"), utc("2021-03-14T08:00"))
    layer = Layer(("ann", "bob"), Shift.parse("1d"), parse_start("2021-03-13T02:30"), Hours.parse("daily 02:30-06:00"))
    assert handoff(layer, CHICAGO, 1) == utc("2021-03-14T08:00")  # 03:00 CDT, not 03:30
    schedule = Schedule("s", CHICAGO, (layer,))
    # The day's hours open when bob's shift begins: ann is not kept on for half an hour.
    assert timeline(schedule, (), utc("2021-03-14T06:00"), utc("2021-03-14T12:00")) == [
        Interval(utc("2021-03-14T06:00"), utc("2021-03-14T08:00"), ()),
        Interval(utc("2021-03-14T08:00"), utc("2021-03-14T11:00"), ("bob",)),
        Interval(utc("2021-03-14T11:00"), utc("2021-03-14T12:00"), ()),
    ]
    assert on_call(schedule, utc("2021-03-14T07:59:59")) is None and on_call(schedule, utc("2021-03-14T08:00")) == "bob"


def test_every_edge_across_a_change_is_a_whole_second() -> None:
    # Edges once came from a bisection that stopped within a second (08:00:00.219727Z).
    for hours in ("daily 08:00-17:00", "daily 02:30-06:00", "daily 22:00-01:30", "sat,sun 01:00-02:00"):
        for start in (utc("2021-03-10T00:00"), utc("2021-11-03T00:00")):
            pieces = timeline(weekly(hours, ("ann", "bob"), "2021-03-01T09:00"), (), start, start + timedelta(days=10))
            assert all(p.start.microsecond == 0 and p.start.second == 0 for p in pieces), hours


CHICAGO_ORG = """
org: {name: Acme, timezone: America/Chicago}
teams:
  - {key: tier2, name: Tier 2, timezone: America/Chicago}
members:
  - {handle: lena, name: Lena Lead, team: tier2, role: lead}
  - {handle: dana, name: Dana, team: tier2, role: agent}
escalation:
  queues:
    - key: nights
      name: Nights
      schedules:
        - key: primary
          timezone: America/Chicago
          layers:
            - {members: [dana], shift: 1w, start: "2021-11-01T00:00", hours: "sat 20:00-01:30"}
      policy: {levels: [{notify: [schedule:primary], wait: 10m}]}
"""


def test_oncall_and_its_gaps_through_the_router_on_the_autumn_night(db: Database) -> None:
    with db.sessions() as s, s.begin():
        apply_org(s, parse_org(CHICAGO_ORG, METRIC_NAMES))
    router = build_router()
    now = run_command(db, router, "lena", "/oncall nights", now=utc("2021-11-07T06:45"), platform="test")
    assert now.ok, render_text(now)
    assert "dana" in render_text(now).lower() and "nobody" not in render_text(now).lower()
    gaps = run_command(db, router, "lena", "/oncall gaps nights 1d", now=utc("2021-11-07T00:00"), platform="test")
    assert gaps.ok, render_text(gaps)
    # The one gap of the day begins when the hours close at the second 01:30: none between 06:30Z and 07:30Z.
    assert [(g["start"], g["end"]) for g in gaps.data["gaps"]][:2] == [
        ("2021-11-07T00:00:00+00:00", "2021-11-07T01:00:00+00:00"),
        ("2021-11-07T07:30:00+00:00", "2021-11-08T00:00:00+00:00"),
    ]
