"""Temporary schedules (`/oncall plan`): a holiday plan replaces a schedule's layers over its window; covers still apply.

billing/primary (tests/test_escalations.py's org) is a weekly Berlin rotation
of dana, eli and fay handing over on Mondays at 09:00: fay has the week of
21 December.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from store.database import Database
from tests.test_escalations import T0, ask, setup

UTC = timezone.utc
BERLIN = ZoneInfo("Europe/Berlin")


def at(day: int, hour: int = 0) -> str:
    return datetime(2026, 12, day, hour, tzinfo=BERLIN).astimezone(UTC).isoformat()


def pieces(db: Database, start: str, days: int = 5) -> list[tuple[str, list[str]]]:
    out = ask(db, "alice", f"/oncall schedule billing/primary {days}d", datetime.fromisoformat(start))
    return [(p["start"], p["handles"]) for p in out["data"]["timeline"]]


def test_a_holiday_plan_replaces_the_layers_over_its_window(db: Database) -> None:
    setup(db)
    out = ask(db, "root", "/oncall plan billing/primary 2026-12-24..2026-12-26 @eli @gus", T0)
    assert out["ok"], out
    assert out["data"]["plan"]["members"] == ["eli", "gus"] and out["data"]["plan"]["shift"] == "1d"
    assert pieces(db, at(23, 12)) == [
        (at(23, 12), ["fay"]),
        (at(24), ["eli"]),
        (at(25), ["gus"]),
        (at(26), ["eli"]),
        (at(27), ["fay"]),  # the window is over: the rotation again
        (at(28, 9), ["dana"]),
    ]
    # Pages during the plan go to its person.
    esc = ask(db, "alice", "/escalate #9 billing sev2 refund stuck", datetime.fromisoformat(at(25, 10)))
    assert esc["data"]["escalation"]["paged"] == ["gus"]
    # A cover still wins over the plan.
    assert ask(db, "root", "/oncall cover @dana billing 2026-12-25T12:00..2026-12-25T14:00", T0)["ok"]
    assert pieces(db, at(25), 1)[:3] == [(at(25), ["gus"]), (at(25, 12), ["dana"]), (at(25, 14), ["gus"])]


def test_turns_of_any_length_and_the_list_and_removal(db: Database) -> None:
    setup(db)
    out = ask(db, "root", "/oncall plan billing 2026-12-24T08:00..2026-12-25T08:00 @eli @gus 12h", T0)
    assert out["ok"] and out["data"]["plan"]["shift"] == "12h"
    assert pieces(db, at(24), 2)[:4] == [(at(24), ["fay"]), (at(24, 8), ["eli"]), (at(24, 20), ["gus"]), (at(25, 8), ["fay"])]
    listed = ask(db, "alice", "/oncall plans", T0)
    assert [p["id"] for p in listed["data"]["plans"]] == [1]
    clash = ask(db, "root", "/oncall plan billing 2026-12-24..2026-12-24 @dana", T0)
    assert not clash["ok"] and "Plan 1 of Billing specialists / primary already covers" in clash["error"]
    gone = ask(db, "root", "/oncall unplan 1", T0)
    assert gone["ok"] and gone["data"]["removed"]
    assert pieces(db, at(24), 2)[:1] == [(at(24), ["fay"])] and len(pieces(db, at(24), 2)) == 1
    assert ask(db, "alice", "/oncall plans", T0)["data"]["plans"] == []
    assert not ask(db, "root", "/oncall unplan 1", T0)["ok"]


def test_who_may_plan_and_bad_plans(db: Database) -> None:
    setup(db)
    out = ask(db, "dana", "/oncall plan billing 2026-12-24..2026-12-26 @eli", T0)
    assert not out["ok"] and "arranged by its leads, managers and admins" in out["error"]
    assert ask(db, "root", "/oncall plan billing 2026-12-24..2026-12-26 @eli", T0)["ok"]
    assert not ask(db, "dana", "/oncall unplan 1", T0)["ok"]
    for wrong in (
        "/oncall plan billing 2026-12-24..2026-12-26",  # nobody
        "/oncall plan billing @eli",  # no window
        "/oncall plan billing 2026-12-26..2026-12-24 @eli",  # backwards
        "/oncall plan billing 2026-12-01..2026-12-02 @eli",  # over
        "/oncall plan billing 2026-12-24..2027-06-30 @eli",  # too long
        "/oncall plan billing 2026-12-27..2026-12-28 @nobody",
        "/oncall plan billing/nosuch 2026-12-27..2026-12-28 @eli",
    ):
        assert not ask(db, "root", wrong, T0 + timedelta(minutes=1))["ok"], wrong
