"""Recorded on-call history: written by the `oncall` tick job as the clock moves, kept when the org file changes.

Ticks run at successive instants (`run_tick(..., only="oncall")`); `/oncall history`
is asked through the router, as in chat.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select

from bot.render.text import render_text
from bot.slack.notifier import SlackNotifier
from bot.tick import run_tick
from escalation.history import record_history
from escalation.models import OncallStretch
from escalation.oncall import schedule_of, who_is_on_call
from kpi.definitions import METRIC_NAMES
from store.database import Database
from store.org_file import apply_org, parse_org
from store.queues import EscalationQueue
from tests.fake_slack import FakeSlack
from tests.test_escalations import ORG, T0, ask, setup

UTC = timezone.utc
# dana's week on billing/primary began at Monday 09:00 in Berlin; eli's begins a week later.
DANA_FROM = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
ELI_FROM = datetime(2026, 12, 14, 8, 0, tzinfo=UTC)
# The rotation edited: handoffs on Tuesdays. By the edited file fay had T0's week, dana the next.
TUESDAYS = ORG.replace('{members: [dana, eli, fay], shift: 1w, start: "2026-01-05T09:00"}', '{members: [dana, eli, fay], shift: 1w, start: "2026-01-06T09:00"}')


def stretches(db: Database, handle: str, text: str, now: datetime) -> list[tuple[str, str, str, bool]]:
    out = ask(db, handle, text, now)
    assert out["ok"], out
    return [(s["handle"], s["start"], s["end"], s["ongoing"]) for s in out["data"]["stretches"]]


def rows(db: Database) -> int:
    with db.sessions() as s:
        return s.scalar(select(func.count()).select_from(OncallStretch)) or 0


async def tick(db: Database, notifier: SlackNotifier, at: datetime) -> None:
    report = await run_tick(db, [notifier], at, only="oncall")
    assert not report.job_failures, report.job_failures


async def test_a_week_of_ticks_is_recorded_and_kept_when_the_rotation_is_edited(db: Database, slack: tuple[FakeSlack, SlackNotifier]) -> None:
    _, notifier = slack
    setup(db)
    at = T0
    while at <= T0 + timedelta(days=8):
        await tick(db, notifier, at)
        at += timedelta(hours=6)
    end = T0 + timedelta(days=8)
    # Recording began at the first tick: dana from then (not from her shift's start, which csbot did not see), then eli.
    assert stretches(db, "alice", "/oncall history billing/primary 30d", end) == [
        ("dana", T0.isoformat(), ELI_FROM.isoformat(), False),
        ("eli", ELI_FROM.isoformat(), end.isoformat(), True),
    ]
    # A 12-hour rotation in New York: every handoff recorded, one row per stretch however many ticks it spans.
    secondary = stretches(db, "alice", "/oncall history billing/secondary 30d", end)
    assert [h for h, *_ in secondary][:4] == ["ivan", "hana", "ivan", "hana"] and len(secondary) == 17
    assert all(a[2] == b[1] for a, b in zip(secondary, secondary[1:]))  # back to back, no overlaps, no holes

    # The rotation is edited: by the file as it now is, fay was on call at T0 and dana a week later ...
    assert TUESDAYS != ORG
    with db.sessions() as s, s.begin():
        apply_org(s, parse_org(TUESDAYS, METRIC_NAMES), now=end)
    later = end + timedelta(hours=6)
    await tick(db, notifier, later)
    with db.sessions() as s:
        queue = s.scalar(select(EscalationQueue).where(EscalationQueue.key == "billing"))
        assert queue is not None
        primary = schedule_of(queue, "primary")
        assert primary is not None
        assert who_is_on_call(s, queue, primary, T0) == ("fay",)
        assert who_is_on_call(s, queue, primary, ELI_FROM + timedelta(hours=1)) == ("dana",)
    # ... but the history keeps who was on call: dana, then eli, whose stretch goes on (the edited file has eli now too).
    assert stretches(db, "alice", "/oncall history billing/primary 30d", later) == [
        ("dana", T0.isoformat(), ELI_FROM.isoformat(), False),
        ("eli", ELI_FROM.isoformat(), later.isoformat(), True),
    ]
    totals = {t["handle"]: t for t in ask(db, "alice", "/oncall history billing/primary 30d", later)["data"]["totals"]}
    assert (totals["dana"]["seconds"], totals["dana"]["stretches"]) == (int((ELI_FROM - T0).total_seconds()), 1)
    assert totals["eli"]["seconds"] == int((later - ELI_FROM).total_seconds())


async def test_a_removed_cover_stays_in_the_history(db: Database, slack: tuple[FakeSlack, SlackNotifier]) -> None:
    _, notifier = slack
    setup(db)
    await tick(db, notifier, T0)
    cover = ask(db, "root", "/oncall cover @gus billing 2h", T0 + timedelta(hours=1))
    assert cover["ok"], cover
    for minutes in (61, 120, 181, 240):
        await tick(db, notifier, T0 + timedelta(minutes=minutes))
    assert ask(db, "root", f"/oncall uncover {cover['data']['cover']['id']}", T0 + timedelta(hours=5))["ok"]
    now = T0 + timedelta(hours=5)
    await tick(db, notifier, now)
    assert [p["handles"] for p in ask(db, "alice", "/oncall schedule billing/primary 1d", T0 + timedelta(hours=1, minutes=30))["data"]["timeline"][:1]] == [["dana"]]
    assert stretches(db, "alice", "/oncall history billing/primary 7d", now) == [
        ("dana", T0.isoformat(), (T0 + timedelta(hours=1)).isoformat(), False),
        ("gus", (T0 + timedelta(hours=1)).isoformat(), (T0 + timedelta(hours=3)).isoformat(), False),
        ("dana", (T0 + timedelta(hours=3)).isoformat(), now.isoformat(), True),
    ]


async def test_ticking_twice_or_out_of_order_records_nothing_twice(db: Database, slack: tuple[FakeSlack, SlackNotifier]) -> None:
    _, notifier = slack
    setup(db)
    week = T0 + timedelta(days=7)  # a week's outage is caught up whole
    for at in (T0, week, week, T0 + timedelta(days=2), T0, week):
        await tick(db, notifier, at)
    # primary: dana, eli; secondary: 14 handoffs in the week, so 15 stretches; each once.
    assert rows(db) == 2 + 15
    assert stretches(db, "alice", "/oncall history billing/primary 30d", week) == [
        ("dana", T0.isoformat(), ELI_FROM.isoformat(), False),
        ("eli", ELI_FROM.isoformat(), week.isoformat(), True),
    ]


async def test_a_missed_tick_is_caught_up_up_to_a_week_and_a_longer_outage_is_a_hole(db: Database, slack: tuple[FakeSlack, SlackNotifier]) -> None:
    _, notifier = slack
    setup(db)
    await tick(db, notifier, T0)
    # Down for 3 days: the next tick fills them in from the timeline.
    await tick(db, notifier, T0 + timedelta(days=3))
    assert stretches(db, "alice", "/oncall history billing/primary 30d", T0 + timedelta(days=3)) == [("dana", T0.isoformat(), (T0 + timedelta(days=3)).isoformat(), True)]
    # Then down for 10 days: only the last 7 are caught up, and the answer says what was not recorded.
    back = T0 + timedelta(days=13)
    await tick(db, notifier, back)
    out = ask(db, "alice", "/oncall history billing/primary 30d", back)
    assert [(s["handle"], s["start"], s["end"]) for s in out["data"]["stretches"]] == [
        ("dana", T0.isoformat(), (T0 + timedelta(days=3)).isoformat()),
        ("dana", (back - timedelta(days=7)).isoformat(), ELI_FROM.isoformat()),
        ("eli", ELI_FROM.isoformat(), back.isoformat()),
    ]
    assert [(r["start"], r["end"]) for r in out["data"]["recorded"]] == [
        (T0.isoformat(), (T0 + timedelta(days=3)).isoformat()),
        ((back - timedelta(days=7)).isoformat(), back.isoformat()),
    ]
    text = render_text(out["reply"])
    # In the reader's zone (alice's team is in Berlin): not recorded from Thursday 11:00 to Sunday 11:00.
    assert "not recorded 2026-12-10 10:00 – 2026-12-13 10:00" in text and "Times in Europe/Berlin" in text


async def test_history_through_the_router(db: Database, slack: tuple[FakeSlack, SlackNotifier]) -> None:
    _, notifier = slack
    setup(db)
    nothing = ask(db, "alice", "/oncall history billing", T0)
    assert nothing["ok"] and "Nothing recorded" in render_text(nothing["reply"]) and nothing["data"]["stretches"] == []
    await tick(db, notifier, T0)
    await tick(db, notifier, T0 + timedelta(hours=4))
    out = ask(db, "alice", "/oncall history billing", T0 + timedelta(hours=4))  # every schedule, the last 30 days
    assert out["ok"] and out["data"]["schedule"] is None
    assert {s["schedule"] for s in out["data"]["stretches"]} == {"primary", "secondary"}
    text = render_text(out["reply"])
    assert "Totals per person" in text and "@dana" in text and "now (on call)" in text
    assert "2026-12-07 10:00" in text  # T0 in Berlin
    # The share of the recorded time: dana had all of primary's four hours.
    dana = next(t for t in out["data"]["totals"] if t["handle"] == "dana")
    assert (dana["seconds"], dana["share"]) == (4 * 3600, 1.0)
    # Mistakes are answered with how to say it right.
    typo = ask(db, "alice", "/oncall history billing/primry", T0)
    assert not typo["ok"] and "Did you mean primary" in typo["error"]
    usage = ask(db, "alice", "/oncall history", T0)
    assert not usage["ok"] and "/oncall history QUEUE" in usage["error"]
    span = ask(db, "alice", "/oncall history billing 2weeks", T0)
    assert not span["ok"] and "14d or 2w" in span["error"]


async def test_a_schedule_taken_out_of_the_file_keeps_its_history_and_starts_again_when_back(db: Database, slack: tuple[FakeSlack, SlackNotifier]) -> None:
    _, notifier = slack
    setup(db)
    await tick(db, notifier, T0)
    await tick(db, notifier, T0 + timedelta(hours=2))
    without = ORG.replace(
        """        - key: secondary
          timezone: America/New_York
          layers:
            - {members: [hana, ivan], shift: 12h, start: "2026-01-05T08:00"}
""",
        "",
    ).replace("{notify: [schedule:secondary, member:gus], how: all, wait: 15m}", "{notify: [member:gus], wait: 15m}")
    setup(db, without)
    await tick(db, notifier, T0 + timedelta(hours=3))
    # Gone from the file, still in the history (a queue alone lists it too).
    gone = ask(db, "alice", "/oncall history billing/secondary 7d", T0 + timedelta(hours=3))
    assert [(s["handle"], s["start"], s["end"]) for s in gone["data"]["stretches"]] == [("ivan", T0.isoformat(), (T0 + timedelta(hours=2)).isoformat())]
    # Back two days later: recorded from then on, the days it was not in the file left unrecorded rather than filled in.
    setup(db)
    back = T0 + timedelta(days=2)
    await tick(db, notifier, back)
    await tick(db, notifier, back + timedelta(hours=1))
    out = ask(db, "alice", "/oncall history billing/secondary 7d", back + timedelta(hours=1))
    assert [(r["start"], r["end"]) for r in out["data"]["recorded"]] == [
        (T0.isoformat(), (T0 + timedelta(hours=2)).isoformat()),
        (back.isoformat(), (back + timedelta(hours=1)).isoformat()),
    ]
    assert [s["start"] for s in out["data"]["stretches"]] == [T0.isoformat(), back.isoformat()]
    assert "not recorded" in render_text(out["reply"])


async def test_two_recorders_at_once_record_each_stretch_once(db: Database) -> None:
    setup(db)
    record_history(db, T0)
    later = T0 + timedelta(days=2)
    # Two replicas' passes for the same moment, and one for a moment between, all at once: they take turns.
    await asyncio.gather(*(asyncio.to_thread(record_history, db, at) for at in (later, later, T0 + timedelta(days=1), later)))
    assert stretches(db, "alice", "/oncall history billing/primary 7d", later) == [("dana", T0.isoformat(), later.isoformat(), True)]
    assert rows(db) == 1 + 5  # dana; ivan, hana, ivan, hana, ivan on the 12-hour secondary
