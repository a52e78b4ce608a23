"""Several people on call at once: a layer with `mode: all`, and covers that add (+@x) or remove (-@x) someone.

As GoAlert's rules and its add / remove overrides do; through the router,
the escalation engine and the tick, with a moved clock.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from bot.slack.notifier import SlackNotifier
from bot.tick import run_tick
from kpi.definitions import METRIC_NAMES
from store.database import Database
from store.org_file import OrgFileError, apply_org, dump_org, org_document, parse_org
from tests.fake_slack import FakeSlack
from tests.test_escalations import ORG, T0, ask, setup

UTC = timezone.utc
# The tier2 queue gets a schedule where eli and fay are both on call in Berlin office hours.
TOGETHER = ORG.replace(
    """      channels: {slack: CTIER2}
      policy:
        levels:
          - {notify: [member:eli, member:fay], how: round_robin, wait: 5m}""",
    """      channels: {slack: CTIER2}
      schedules:
        - key: day
          timezone: Europe/Berlin
          layers:
            - {members: [eli, fay], mode: all, start: "2026-01-05T00:00", hours: "mon-fri 09:00-17:00"}
      policy:
        levels:
          - {notify: [schedule:day], wait: 5m}
          - {notify: [channel], wait: 5m}""",
)


def pages(report: object) -> list[str]:
    return sorted(o.recipient for o in report.outcomes if o.kind == "esc_page" and o.status == "sent")  # type: ignore[attr-defined]


async def test_a_layer_with_mode_all_puts_everyone_on_call_and_pages_them_all(db: Database, slack: tuple[FakeSlack, SlackNotifier]) -> None:
    fake, notifier = slack
    assert "mode: all" in TOGETHER
    setup(db, TOGETHER)
    now = ask(db, "alice", "/oncall tier2", T0)  # Monday 10:00 in Berlin
    assert [h["handle"] for h in now["data"]["schedules"][0]["on_call"]] == ["eli", "fay"]
    timeline = ask(db, "alice", "/oncall schedule tier2/day 1d", T0)["data"]["timeline"]
    assert [(p["start"], p["handles"]) for p in timeline] == [
        (T0.isoformat(), ["eli", "fay"]),
        (datetime(2026, 12, 7, 16, 0, tzinfo=UTC).isoformat(), []),
        (datetime(2026, 12, 8, 8, 0, tzinfo=UTC).isoformat(), ["eli", "fay"]),
    ]
    out = ask(db, "alice", "/escalate #77 tier2 sev2 the API is timing out", T0)
    assert out["ok"] and sorted(out["data"]["escalation"]["paged"]) == ["eli", "fay"]
    assert pages(await run_tick(db, [notifier], T0)) == ["slack:user:UELI", "slack:user:UFAY"]
    # 18:00 on Monday: nobody on the layer; a new escalation goes straight to the channel.
    evening = datetime(2026, 12, 7, 17, 0, tzinfo=UTC)
    late = ask(db, "alice", "/escalate #78 tier2 sev2 the API is slow", evening)
    assert late["data"]["escalation"]["paged"] == ["channel"]


async def test_both_people_coming_on_call_together_get_a_handoff(db: Database, slack: tuple[FakeSlack, SlackNotifier]) -> None:
    fake, notifier = slack
    setup(db, TOGETHER)
    monday_nine = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
    report = await run_tick(db, [notifier], monday_nine, only="oncall")
    handoffs = sorted(o.recipient for o in report.outcomes if o.kind == "oncall_handoff" and o.status == "sent" and o.subject == "tier2/day")
    assert handoffs == ["slack:user:UELI", "slack:user:UFAY"]


async def test_covers_add_and_remove_people(db: Database, slack: tuple[FakeSlack, SlackNotifier]) -> None:
    _, notifier = slack
    setup(db)  # billing/primary: dana this week
    added = ask(db, "root", "/oncall cover +@gus billing 2h", T0)
    assert added["ok"] and added["data"]["cover"]["kind"] == "add" and "is on call too" in str(added["reply"].blocks)
    assert [h["handle"] for h in ask(db, "alice", "/oncall billing", T0)["data"]["schedules"][0]["on_call"]] == ["dana", "gus"]
    out = ask(db, "alice", "/escalate #4711 customer wants a refund", T0 + timedelta(minutes=1))
    assert sorted(out["data"]["escalation"]["paged"]) == ["dana", "gus"]
    assert pages(await run_tick(db, [notifier], T0 + timedelta(minutes=1))) == ["slack:user:UDANA", "slack:user:UGUS"]

    removed = ask(db, "root", "/oncall cover -@dana billing 1h", T0 + timedelta(minutes=5))
    assert removed["ok"] and removed["data"]["cover"]["kind"] == "remove"
    assert [h["handle"] for h in ask(db, "alice", "/oncall billing", T0 + timedelta(minutes=6))["data"]["schedules"][0]["on_call"]] == ["gus"]
    # The removal ends after an hour; the addition after two; then dana alone.
    timeline = ask(db, "alice", "/oncall schedule billing/primary 1d", T0 + timedelta(minutes=6))["data"]["timeline"]
    assert [p["handles"] for p in timeline[:3]] == [["gus"], ["dana", "gus"], ["dana"]]
    covers = ask(db, "alice", "/oncall covers", T0 + timedelta(minutes=6))
    assert "-@dana" in str(covers["reply"].blocks) and "+@gus" in str(covers["reply"].blocks)


def test_who_may_add_or_remove(db: Database) -> None:
    setup(db)
    # A specialist may add themselves, as they may cover for themselves ...
    assert ask(db, "eli", "/oncall cover +@eli billing 2h", T0)["ok"]
    # ... but taking anyone off call, themselves included, is for those who arrange on-call.
    for who, target in (("dana", "-@dana"), ("eli", "-@dana"), ("eli", "+@fay")):
        out = ask(db, who, f"/oncall cover {target} billing 1h", T0)
        assert not out["ok"] and "Forbidden" not in out["error"] and "arranged by" in out["error"], (who, target)


def test_a_layer_mode_is_checked_and_written_back(db: Database) -> None:
    bad = TOGETHER.replace("mode: all", "mode: everyone")
    with pytest.raises(OrgFileError) as caught:
        parse_org(bad, METRIC_NAMES)
    assert "mode must be rotate (one member at a time) or all (every member at once), got 'everyone'" in str(caught.value)
    setup(db, TOGETHER)
    with db.sessions() as s:
        again = parse_org(dump_org(org_document(s)), METRIC_NAMES)
    assert [q.schedules for q in again.escalation.queues] == [q.schedules for q in parse_org(TOGETHER, METRIC_NAMES).escalation.queues]
