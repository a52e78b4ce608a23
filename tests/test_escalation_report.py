"""After the fact: `/escalation report ESC-n` as a postmortem draft, and `/kpi escalations` per severity and per person.

Escalations run through the router and the tick with a moved clock, as in
tests/test_escalations.py.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from bot.dispatch import run_action
from bot.slack.notifier import SlackNotifier
from bot.tick import run_tick
from handlers.reply import File
from store.database import Database
from tests.fake_slack import FakeSlack
from tests.test_escalations import ROUTER, T0, ask, setup

UTC = timezone.utc


async def run_one_escalation(db: Database, notifier: SlackNotifier) -> None:
    """ESC-1: dana paged, no answer, gus paged at level 2, gus acknowledges at +12m, resolves at +30m."""
    assert ask(db, "alice", "/escalate #4711 customer wants a refund, charged twice", T0)["ok"]
    await run_tick(db, [notifier], T0)
    await run_tick(db, [notifier], T0 + timedelta(minutes=10))
    assert run_action(db, ROUTER, "gus", "esc.ack", json.dumps({"id": 1}), now=T0 + timedelta(minutes=12), platform="slack").ok
    assert ask(db, "gus", "/escalation resolve ESC-1 refunded the duplicate charge", T0 + timedelta(minutes=30))["ok"]


async def test_the_report_is_the_timeline_as_a_postmortem_draft(db: Database, slack: tuple[FakeSlack, SlackNotifier]) -> None:
    _, notifier = slack
    setup(db)
    await run_one_escalation(db, notifier)
    out = ask(db, "lena", "/escalation report ESC-1 --md", T0 + timedelta(hours=2))
    assert out["ok"], out
    report = out["data"]["report"]
    assert (report["to_acknowledge_s"], report["to_close_s"], report["closed_state"]) == (720, 1800, "resolved")
    assert [(p["to"], p["at"], p["where"]) for p in report["pages"]] == [
        ("dana", T0.isoformat(), "level 1"),
        ("gus", (T0 + timedelta(minutes=10)).isoformat(), "level 2"),
    ]
    (file,) = [b for b in out["reply"].blocks if isinstance(b, File)]
    assert file.filename == "esc-1-postmortem.md" and file.media_type == "text/markdown"
    text = file.content.decode()
    # Lena reads it in Berlin: 10:00 UTC+1.
    assert text.startswith("# ESC-1 · SEV3 · #4711 — postmortem draft\n")
    assert "| Acknowledged | 2026-12-07 10:12 by Gus Dayshift, 12m after opening |" in text
    assert "| Resolved | 2026-12-07 10:30 by Gus Dayshift, 30m after opening |" in text
    assert "- 2026-12-07 10:00 @dana (level 1)" in text and "- 2026-12-07 10:10 @gus (level 2)" in text
    assert "resolved: refunded the duplicate charge" in text
    assert "## To write" in text and "- Follow-ups (owner, due date):" in text
    # Without --md: the same draft in chat, no file.
    plain = ask(db, "alice", "/escalation report ESC-1", T0 + timedelta(hours=2))
    assert plain["ok"] and not [b for b in plain["reply"].blocks if isinstance(b, File)]
    assert plain["data"]["report"] == report


async def test_a_report_of_an_open_escalation_and_bad_asks(db: Database) -> None:
    setup(db)
    assert ask(db, "alice", "/escalate T-9 billing sev2 invoice is wrong", T0)["ok"]
    out = ask(db, "alice", "/escalation report ESC-1", T0 + timedelta(minutes=3))
    assert out["ok"] and out["data"]["report"]["to_acknowledge_s"] is None and out["data"]["report"]["closed_at"] is None
    for wrong in ("/escalation report", "/escalation report ESC-1 ESC-2", "/escalation report --md", "/escalation report T-9"):
        bad = ask(db, "alice", wrong, T0)
        assert not bad["ok"] and "/escalation report ESC-n [--md]" in bad["error"], wrong
    missing = ask(db, "alice", "/escalation report ESC-99", T0)
    assert not missing["ok"]


async def test_kpi_escalations_per_severity_and_who_carried_the_pages(db: Database, slack: tuple[FakeSlack, SlackNotifier]) -> None:
    _, notifier = slack
    setup(db)
    await run_one_escalation(db, notifier)
    # A SEV1 at 22:00 in Berlin: dana is paged out of her working hours (she has no team: weekdays 09-17, her zone).
    night = datetime(2026, 12, 7, 21, 0, tzinfo=UTC)
    assert ask(db, "alice", "/escalate #5000 billing sev1 refunds failing for everyone", night)["ok"]
    await run_tick(db, [notifier], night)
    later = night + timedelta(hours=1)

    lead = ask(db, "lena", "/kpi escalations 7d", later)
    assert lead["ok"], lead
    severities = lead["data"]["severities"]
    assert sorted(severities) == ["sev1", "sev3"] and (severities["sev1"]["count"], severities["sev3"]["count"]) == (1, 1)
    assert severities["sev3"]["ack_median_s"] == 720
    load = {p["handle"]: (p["pages"], p["out_of_hours"], p["escalations"]) for p in lead["data"]["load"]}
    assert load == {"dana": (2, 1, 2), "gus": (1, 0, 1)}

    # An agent sees only their own line; one never paged sees none.
    assert [p["handle"] for p in ask(db, "dana", "/kpi escalations 7d", later)["data"]["load"]] == ["dana"]
    assert ask(db, "alice", "/kpi escalations 7d", later)["data"]["load"] == []
