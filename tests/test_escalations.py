"""Escalations end to end: /escalate → page → no ack → next level → ack → resolve, through the outbox and the Slack stand-in.

The clock is moved (`now` passed to every command and tick), never waited for.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from bot.dispatch import run_action, run_command
from bot.slack.notifier import SlackNotifier
from bot.tick import run_tick
from escalation.models import Escalation, EscalationEvent
from handlers.registry import build_router
from kpi.definitions import METRIC_NAMES
from store.database import Database, open_database
from store.engine import write_transaction
from store.org_file import apply_org, parse_org
from store.outbox import OutboxRow
from tests.fake_slack import FakeSlack

UTC = timezone.utc
ROUTER = build_router()
# Monday 2026-12-07 10:00 in Berlin: dana's week on `primary`, gus on the day layer from 08:00.
T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)

ORG = """
org: {name: Acme Support, timezone: Europe/Berlin}
teams:
  - {key: support, name: Support, timezone: Europe/Berlin, channels: {slack: CSUP}}
  - {key: support-apac, name: Support APAC, timezone: Asia/Singapore}
members:
  - {handle: alice, name: Alice Agent, team: support, role: agent, slack_id: UALICE}
  - {handle: lena, name: Lena Lead, team: support, role: lead, slack_id: ULENA}
  - {handle: dana, name: Dana Specialist, role: agent, slack_id: UDANA}
  - {handle: eli, name: Eli Specialist, role: agent, slack_id: UELI}
  - {handle: fay, name: Fay Specialist, role: agent, slack_id: UFAY}
  - {handle: gus, name: Gus Dayshift, role: agent, slack_id: UGUS}
  - {handle: hana, name: Hana Secondary, role: agent, slack_id: UHANA}
  - {handle: ivan, name: Ivan Secondary, role: agent}
  - {handle: root, name: Riley Admin, role: admin}
escalation:
  default_queue: tier2
  queues:
    - key: billing
      name: Billing specialists
      channels: {slack: CBILL}
      schedules:
        - key: primary
          timezone: Europe/Berlin
          layers:
            - {members: [dana, eli, fay], shift: 1w, start: "2026-01-05T09:00"}
        - key: secondary
          timezone: America/New_York
          layers:
            - {members: [hana, ivan], shift: 12h, start: "2026-01-05T08:00"}
      policy:
        repeat: 1
        levels:
          - {notify: [schedule:primary], wait: 10m}
          - {notify: [schedule:secondary, member:gus], how: all, wait: 15m}
          - {notify: [channel], wait: 15m}
    - key: tier2
      name: Tier 2
      channels: {slack: CTIER2}
      policy:
        levels:
          - {notify: [member:eli, member:fay], how: round_robin, wait: 5m}
  routes:
    - {match: {priority: [urgent]}, queue: tier2}
    - {match: {keywords: [refund, chargeback, invoice]}, queue: billing}
    - {match: {team: support-apac}, queue: tier2}
"""


def setup(db: Database, text: str = ORG) -> None:
    with db.sessions() as s, s.begin():
        apply_org(s, parse_org(text, METRIC_NAMES))


def ask(db: Database, handle: str, text: str, now: datetime) -> dict:
    reply = run_command(db, ROUTER, handle, text, now=now, platform="console")
    return {"ok": reply.ok, "data": reply.data, "error": reply.error.message if reply.error else None, "reply": reply}


def posts(fake: FakeSlack, method: str = "chat.postMessage") -> list[dict]:
    return [c.args for c in fake.calls if c.method == method]


def events(db: Database, number: int) -> list[tuple[str, list[str]]]:
    with db.sessions() as s:
        return [(e.event, list(e.targets)) for e in s.scalars(select(EscalationEvent).where(EscalationEvent.escalation_id == number).order_by(EscalationEvent.id))]


async def test_escalate_pages_then_moves_up_then_ack_then_resolve(db: Database, slack: tuple[FakeSlack, SlackNotifier]) -> None:
    fake, notifier = slack
    setup(db)
    out = ask(db, "alice", "/escalate #4711 customer wants a refund, charged twice", T0)
    assert out["ok"], out
    esc = out["data"]["escalation"]
    assert (esc["id"], esc["queue"], esc["state"], esc["paged"], esc["level"]) == ("ESC-1", "billing", "open", ["dana"], 1)
    assert esc["next_action_at"] == (T0 + timedelta(minutes=10)).isoformat()

    report = await run_tick(db, [notifier], T0)
    sent = {(o.kind, o.recipient) for o in report.outcomes if o.status == "sent"}
    assert ("esc_page", "slack:user:UDANA") in sent and ("esc_status", "slack:channel:CBILL") in sent
    page = next(p for p in posts(fake) if p["channel"] == "DDANA" and "ESC-1" in p["text"].split("\n")[0])  # (dana also gets her handoff note)
    assert "#4711" in page["text"] and "refund" in json.dumps(page["blocks"])
    # Nothing more until the level's wait is over.
    assert [o for o in (await run_tick(db, [notifier], T0 + timedelta(minutes=9))).outcomes if o.kind == "esc_page"] == []

    # No ack in 10 minutes: level 2 pages the secondary on call and gus, together. At 04:10 in New York
    # the secondary's 12-hour night shift is ivan's, who has no chat id: the timeline says so, gus is paged.
    report = await run_tick(db, [notifier], T0 + timedelta(minutes=10))
    paged = sorted(o.recipient for o in report.outcomes if o.kind == "esc_page" and o.status == "sent")
    assert paged == ["slack:user:UGUS"]
    out = ask(db, "eli", "/escalation ESC-1", T0 + timedelta(minutes=11))
    assert out["data"]["escalation"]["level"] == 2 and out["data"]["escalation"]["paged"] == ["gus"]
    assert "ivan: no Slack or Teams id" in out["data"]["escalation"]["timeline"][-1]["note"]

    # gus acknowledges from the page: one owner, paging stops, every copy of the page is edited, alice is told.
    reply = run_action(db, ROUTER, "gus", "esc.ack", json.dumps({"id": 1}), now=T0 + timedelta(minutes=12), platform="slack")
    assert reply.ok and reply.replace_original and reply.data["escalation"]["owner"] == "gus"
    before = len(fake.calls)
    report = await run_tick(db, [notifier], T0 + timedelta(minutes=12))
    updates = [c for c in fake.calls[before:] if c.method == "chat.update"]
    assert {c.args["channel"] for c in updates} == {"DDANA", "DGUS", "CBILL"}
    assert all("Acknowledged by Gus Dayshift" in c.args["text"] or "Acknowledged" in json.dumps(c.args["blocks"]) for c in updates)
    told = [p for p in posts(fake) if p["channel"] == "DALICE"]
    assert told and "acknowledged" in told[-1]["text"].lower()
    # Level 3 never comes.
    later = await run_tick(db, [notifier], T0 + timedelta(hours=2))
    assert not [o for o in later.outcomes if o.kind == "esc_page"]

    out = ask(db, "gus", "/escalation resolve ESC-1 refunded the duplicate charge", T0 + timedelta(minutes=30))
    assert out["ok"] and out["data"]["escalation"]["state"] == "resolved"
    assert [e for e, _ in events(db, 1)] == ["created", "paged", "paged", "acknowledged", "resolved"]
    # The thread of the channel's status message holds the timeline.
    await run_tick(db, [notifier], T0 + timedelta(minutes=30))
    status_ts = next(p for p in fake.calls if p.method == "chat.postMessage" and p.args["channel"] == "CBILL" and "thread_ts" not in p.args)
    threaded = [c.args for c in fake.calls if c.method == "chat.postMessage" and c.args.get("thread_ts")]
    assert threaded and all(t["channel"] == "CBILL" for t in threaded)
    assert any("resolved" in t["text"] for t in threaded), [t["text"] for t in threaded]
    assert status_ts is not None


async def test_nobody_acknowledges_the_policy_repeats_then_gives_up(db: Database, slack: tuple[FakeSlack, SlackNotifier]) -> None:
    fake, notifier = slack
    setup(db)
    assert ask(db, "alice", "/escalate T-9 billing sev2 invoice is wrong", T0)["ok"]
    at = T0
    for _ in range(10):
        await run_tick(db, [notifier], at)
        at += timedelta(minutes=16)
    with db.sessions() as s:
        esc = s.get(Escalation, 1)
        assert esc is not None and esc.state == "exhausted" and esc.next_action_at is None
    kinds = [e for e, _ in events(db, 1)]
    # Two rounds of three levels (repeat: 1), then gave up.
    assert kinds.count("paged") == 6 and kinds[-1] == "exhausted"
    with db.sessions() as s:
        pages = s.scalars(select(OutboxRow).where(OutboxRow.kind == "esc_page")).all()
        # Each page once per (round, level, recipient): dana, gus (ivan's night shift cannot be reached), the channel.
        assert sorted((p.occurrence, p.recipient) for p in pages) == sorted(
            [(f"{loop}.0", "slack:user:UDANA") for loop in (0, 1)]
            + [(f"{loop}.1", "slack:user:UGUS") for loop in (0, 1)]
            + [(f"{loop}.2", "slack:channel:CBILL") for loop in (0, 1)]
        )
    assert any(p["channel"] == "DALICE" and "gave up" in p["text"] for p in posts(fake))


async def test_two_people_acknowledge_at_once_one_owns_it(db: Database) -> None:
    setup(db)
    assert ask(db, "alice", "/escalate #1 refund please", T0)["ok"]

    def ack(handle: str) -> object:
        return run_action(db, ROUTER, handle, "esc.ack", json.dumps({"id": 1}), now=T0 + timedelta(minutes=1), platform="slack")

    replies = await asyncio.gather(*(asyncio.to_thread(ack, h) for h in ("dana", "eli", "fay", "lena")))
    winners = [r for r in replies if r.ok]
    assert len(winners) == 1
    owner = winners[0].data["escalation"]["owner"]
    for loser in (r for r in replies if not r.ok):
        assert "already acknowledged by" in loser.error.message
    with db.sessions() as s:
        assert s.scalar(select(Escalation.owner_id)) is not None
    assert [e for e, _ in events(db, 1)].count("acknowledged") == 1
    assert owner in ("dana", "eli", "fay", "lena")


def test_routes_the_same_ticket_twice_and_bad_input(db: Database) -> None:
    setup(db)
    first = ask(db, "alice", "/escalate #77 chargeback from the bank", T0)
    assert first["data"]["escalation"]["queue"] == "billing"
    again = ask(db, "lena", "/escalate #77 billing still waiting", T0 + timedelta(minutes=1))
    assert again["ok"] and again["data"]["created"] is False and again["data"]["escalation"]["id"] == "ESC-1"
    # No route matches: the default queue, whose round robin takes turns across escalations.
    one = ask(db, "alice", "/escalate #78 app crashes on login", T0)["data"]["escalation"]
    two = ask(db, "alice", "/escalate #79 app crashes on logout", T0)["data"]["escalation"]
    assert (one["queue"], two["queue"]) == ("tier2", "tier2")
    assert {one["paged"][0], two["paged"][0]} == {"eli", "fay"}
    # An unreadable ticket gets usage; an unknown queue named in the form gets suggestions.
    bad = ask(db, "alice", "/escalate yesterday's thing is broken", T0)
    assert not bad["ok"] and "not a ticket reference" in bad["error"]
    unknown = ask(db, "lena", "/escalation reassign ESC-1 biling", T0)
    assert not unknown["ok"] and "billing" in unknown["error"]
    assert not ask(db, "alice", "/escalation ack ESC-1", T0)["ok"]  # the requester may not take their own
    assert "ESC-99" in ask(db, "alice", "/escalation ESC-99", T0)["error"]
    missing = ask(db, "alice", "/escalate #80", T0)
    assert missing["ok"] and missing["reply"].form is not None and missing["reply"].form.fields[0].initial == "#80"


async def test_snooze_repages_the_same_level_after(db: Database, slack: tuple[FakeSlack, SlackNotifier]) -> None:
    fake, notifier = slack
    setup(db)
    assert ask(db, "alice", "/escalate #5 refund stuck", T0)["ok"]
    await run_tick(db, [notifier], T0)
    reply = run_action(db, ROUTER, "dana", "esc.snooze", json.dumps({"id": 1, "for": "1h"}), now=T0 + timedelta(minutes=2), platform="slack")
    assert reply.ok
    # Level 2 would have come at +10m; the snooze holds everything until +62m, then dana is paged again.
    quiet = await run_tick(db, [notifier], T0 + timedelta(minutes=30))
    assert not [o for o in quiet.outcomes if o.kind == "esc_page"]
    snoozed = [c.args for c in fake.calls if c.method == "chat.update"]
    assert {c["channel"] for c in snoozed} == {"DDANA", "CBILL"} and all("Snoozed: pages @dana again at" in json.dumps(c["blocks"]) for c in snoozed)
    before = len(fake.calls)
    again = await run_tick(db, [notifier], T0 + timedelta(minutes=62))
    assert [o.recipient for o in again.outcomes if o.kind == "esc_page"] == ["slack:user:UDANA"]
    assert [e for e, _ in events(db, 1)][-2:] == ["snoozed", "repaged"]
    # The snooze is over: the first page and the status message no longer say "Snoozed".
    woke = [c.args for c in fake.calls[before:] if c.method == "chat.update"]
    assert {c["channel"] for c in woke} == {"DDANA", "CBILL"}
    assert all("Paging @dana (level 1); level 2 follows at" in json.dumps(c["blocks"]) and "Snoozed" not in json.dumps(c["blocks"]) for c in woke)


async def test_reassign_to_a_member_and_to_a_queue(db: Database, slack: tuple[FakeSlack, SlackNotifier]) -> None:
    fake, notifier = slack
    setup(db)
    assert ask(db, "alice", "/escalate #6 refund stuck", T0)["ok"]
    out = ask(db, "dana", "/escalation reassign ESC-1 @fay", T0 + timedelta(minutes=1))
    assert out["ok"] and out["data"]["escalation"]["paged"] == ["fay"]
    report = await run_tick(db, [notifier], T0 + timedelta(minutes=1))
    assert "slack:user:UFAY" in [o.recipient for o in report.outcomes if o.kind == "esc_page"]
    out = ask(db, "fay", "/escalation reassign ESC-1 tier2", T0 + timedelta(minutes=2))
    esc = out["data"]["escalation"]
    assert (esc["queue"], esc["level"], esc["state"]) == ("tier2", 1, "open")
    assert ask(db, "alice", "/escalation list mine", T0)["data"]["escalations"][0]["id"] == "ESC-1"
    told = [p for p in posts(fake) if p["channel"] == "DALICE"]
    await run_tick(db, [notifier], T0 + timedelta(minutes=3))
    told = [p for p in posts(fake) if p["channel"] == "DALICE"]
    assert len(told) >= 2 and all("reassigned" in p["text"] for p in told)


def test_policy_snapshot_survives_a_policy_edit(db: Database) -> None:
    setup(db)
    assert ask(db, "alice", "/escalate #7 refund stuck", T0)["ok"]
    setup(db, ORG.replace("{notify: [schedule:primary], wait: 10m}", "{notify: [member:gus], wait: 1h}"))
    with db.sessions() as s:
        esc = s.get(Escalation, 1)
        assert esc is not None and esc.policy["levels"][0]["notify"] == ["schedule:primary"] and esc.policy["levels"][0]["wait_s"] == 600
    new = ask(db, "alice", "/escalate #8 refund stuck", T0)["data"]["escalation"]
    assert new["paged"] == ["gus"]


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ("members: [dana, eli, fay]", "members: [dana, eli, zed]"),
        ("shift: 1w", "shift: 1 fortnight"),
        ("queue: billing}", "queue: billling}"),
        ("wait: 10m}", "wait: 10 parsecs}"),
    ],
)
def test_org_file_refuses_bad_escalation_config_by_line(change: str, problem: str) -> None:
    from store.org_file import OrgFileError

    with pytest.raises(OrgFileError) as refused:
        parse_org(ORG.replace(change, problem, 1), METRIC_NAMES)
    line = next(i for i, text in enumerate(ORG.replace(change, problem, 1).splitlines(), 1) if problem in text)
    assert any(f"org.yaml:{line}:" in p for p in refused.value.problems), refused.value.problems


def test_org_file_refuses_a_policy_with_no_levels_and_hours_that_are_not_hours() -> None:
    from store.org_file import OrgFileError

    text = ORG.replace(
        """      policy:
        levels:
          - {notify: [member:eli, member:fay], how: round_robin, wait: 5m}""",
        """      policy: {levels: []}""",
    ).replace('start: "2026-01-05T09:00"}', 'start: "2026-01-05T09:00", hours: "mon-fri 8-18"}')
    with pytest.raises(OrgFileError) as refused:
        parse_org(text, METRIC_NAMES)
    problems = " ".join(refused.value.problems)
    assert "at least one level" in problems and "hours" in problems


async def test_the_incoming_person_gets_a_handoff_and_the_channel_a_daily_gap_warning(db: Database, slack: tuple[FakeSlack, SlackNotifier]) -> None:
    fake, notifier = slack
    # The primary rotation only covers working hours: every night and weekend is a gap.
    setup(db, ORG.replace('{members: [dana, eli, fay], shift: 1w, start: "2026-01-05T09:00"}', '{members: [dana, eli, fay], shift: 1w, start: "2026-01-05T09:00", hours: "mon-fri 09:00-18:00"}'))
    assert ask(db, "alice", "/escalate #9 refund stuck", T0)["ok"]  # open while dana comes on call
    handoff = datetime(2026, 12, 8, 8, 0, tzinfo=UTC)  # Tuesday 09:00 in Berlin: dana's working day starts
    report = await run_tick(db, [notifier], handoff + timedelta(seconds=30))
    sent = [(o.kind, o.recipient) for o in report.outcomes if o.kind.startswith("oncall_")]
    assert ("oncall_handoff", "slack:user:UDANA") in sent
    dm = next(p for p in posts(fake) if p["channel"] == "DDANA" and "You are on call" in json.dumps(p["blocks"]))
    assert "ESC-1" in json.dumps(dm["blocks"]) and "18:00" in json.dumps(dm["blocks"])
    # 09:00 Berlin is also when the queue's channel hears of the gaps in the next 7 days, once a day.
    assert ("oncall_gaps", "slack:channel:CBILL") in sent
    warning = next(p for p in posts(fake) if p["channel"] == "CBILL" and "Nobody on call" in p["text"])
    assert "primary" in json.dumps(warning["blocks"])
    again = await run_tick(db, [notifier], handoff + timedelta(minutes=1))
    assert not [o for o in again.outcomes if o.kind.startswith("oncall_")]
    # A stretch that began long ago is not announced (a restart, or a newly applied file).
    later = await run_tick(db, [notifier], handoff + timedelta(hours=8))
    assert not [o for o in later.outcomes if o.kind == "oncall_handoff" and o.recipient == "slack:user:UDANA"]


def test_kpi_escalations_against_an_independent_count(db: Database) -> None:
    setup(db)
    # ESC-1: acked by dana after 4 minutes, resolved after an hour. ESC-2: acked at level 2. ESC-3: never acked.
    assert ask(db, "alice", "/escalate #1 refund one", T0)["ok"]
    assert ask(db, "dana", "/escalation ack ESC-1", T0 + timedelta(minutes=4))["ok"]
    assert ask(db, "dana", "/escalation resolve ESC-1 done", T0 + timedelta(hours=1))["ok"]
    assert ask(db, "alice", "/escalate #2 refund two", T0)["ok"]
    with db.sessions() as s, s.begin():
        from escalation import engine

        engine.sweep(s, T0 + timedelta(minutes=10))
    assert ask(db, "gus", "/escalation ack ESC-2", T0 + timedelta(minutes=12))["ok"]
    assert ask(db, "alice", "/escalate #3 crashes", T0)["ok"]
    out = ask(db, "alice", "/kpi escalations billing 2026-12-07", T0 + timedelta(hours=2))
    data = out["data"]
    assert out["ok"] and (data["count"], data["acknowledged"], data["resolved"], data["open"]) == (2, 2, 1, 1)
    assert data["ack_median_s"] == (4 * 60 + 12 * 60) / 2 and data["resolve_median_s"] == 3600
    assert data["first_level_ack_rate"] == 0.5 and data["exhausted"] == 0
    every = ask(db, "alice", "/kpi escalations 2026-12-07", T0 + timedelta(hours=2))["data"]
    assert every["count"] == 3 and {q["queue"]: q["count"] for q in every["queues"]} == {"billing": 2, "tier2": 1}
    assert not ask(db, "alice", "/kpi escalations billing tier2", T0)["ok"]


def test_the_scorecard_lists_the_team_s_open_escalations_with_their_age(db: Database) -> None:
    setup(db)
    assert ask(db, "alice", "/escalate #11 refund stuck", T0)["ok"]
    card = ask(db, "lena", "/scorecard support today", T0 + timedelta(hours=2, minutes=5))
    assert card["ok"], card["error"]
    assert card["data"]["open_escalations"] == [{"id": "ESC-1", "ticket": "#11", "queue": "billing", "state": "open", "age_s": 7500}]
    assert ask(db, "root", "/escalation resolve ESC-1", T0 + timedelta(hours=3))["ok"]
    assert ask(db, "lena", "/scorecard support today", T0 + timedelta(hours=3))["data"]["open_escalations"] == []


# ---------------------------------------------------------------- restarts, two sweepers, tick twice


def page_posts(fake: FakeSlack) -> list[tuple[str, str]]:
    """(channel, first line) of every page posted: one per recipient and level when nothing is sent twice."""
    return [(p["channel"], p["text"].split("\n")[0]) for p in posts(fake) if "thread_ts" not in p and p["channel"].startswith("D") and "ESC-" in p["text"].split("\n")[0]]


async def test_a_restart_past_every_deadline_sends_each_due_page_once(db: Database, slack: tuple[FakeSlack, SlackNotifier]) -> None:
    fake, notifier = slack
    setup(db)
    for n in range(3):
        assert ask(db, "alice", f"/escalate #{100 + n} refund number {n}", T0)["ok"]
    # The process died after opening them: pages written, nothing sent. A second process had claimed
    # some rows (and died too) before sending: their claim runs out after two minutes.
    from store.outbox import claim_due

    with write_transaction(db.sessions) as s:
        assert claim_due(s, T0, kinds=("esc_page",), limit=2)
    # Back 40 minutes later: each escalation's first page goes out late, once; the levels move on
    # one step per sweep (the next level is paged now, not every level at once).
    first = await run_tick(db, [notifier], T0 + timedelta(minutes=40))
    assert sorted(o.occurrence for o in first.outcomes if o.kind == "esc_page" and o.status == "sent") == ["0.0"] * 3 + ["0.1"] * 3
    for _ in range(3):
        await run_tick(db, [notifier], T0 + timedelta(minutes=41))
    pages = page_posts(fake)
    assert len(pages) == len(set(pages)) == 6  # dana and gus, for each of three escalations


async def test_two_sweepers_at_once_page_each_level_once(db: Database, slack: tuple[FakeSlack, SlackNotifier]) -> None:
    fake, notifier = slack
    setup(db)
    for n in range(5):
        assert ask(db, "alice", f"/escalate #{200 + n} refund number {n}", T0)["ok"]
    await run_tick(db, [notifier], T0)
    other = open_database(db.engine.url.render_as_string(hide_password=False))  # a second replica's connections
    try:
        later = T0 + timedelta(minutes=11)
        await asyncio.gather(run_tick(db, [notifier], later), run_tick(other, [notifier], later), run_tick(db, [notifier], later))
    finally:
        other.dispose()
    with db.sessions() as s:
        assert [e.level for e in s.scalars(select(Escalation).order_by(Escalation.id))] == [1] * 5
        paged = [e for e, _ in (ev for n in range(1, 6) for ev in events(db, n))].count("paged")
    assert paged == 10
    pages = page_posts(fake)
    assert len(pages) == len(set(pages)) == 10


def test_csbot_tick_at_the_same_moment_twice_does_nothing_twice(db: Database, db_url: str, tmp_path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    from bot.cli import main
    from tests.helpers import in_clean_directory

    setup(db)
    assert ask(db, "alice", "/escalate #300 refund", T0)["ok"]
    in_clean_directory(tmp_path, monkeypatch, db_url)
    at = (T0 + timedelta(minutes=10)).isoformat()
    assert main(["tick", "--at", at, "--only", "escalations", "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert main(["tick", "--at", at, "--only", "escalations", "--json"]) == 0
    second = json.loads(capsys.readouterr().out)
    assert first["planned"] == 1 and second["planned"] == 0 and second["deliveries"] == []
    assert [e for e, _ in events(db, 1)] == ["created", "paged", "paged"]


def test_org_show_gives_back_the_escalation_section_and_applying_it_changes_nothing(db: Database) -> None:
    from store.org_file import dump_org, org_document

    setup(db)
    with db.sessions() as s:
        shown = dump_org(org_document(s))
    assert "escalation:" in shown and "round_robin" in shown
    with db.sessions() as s, s.begin():
        result = apply_org(s, parse_org(shown, METRIC_NAMES))
    assert not result.changed, result.summary()


def test_the_demo_has_queues_and_the_console_commands_work_end_to_end(db: Database) -> None:
    from bot.demo import seed_demo

    now = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)  # a Tuesday
    seed_demo(db, now=now, tickets=300, days=14)
    oncall = ask(db, "lena", "/oncall", now)
    assert oncall["ok"] and [q["queue"] for q in oncall["data"]["queues"]] == ["billing", "tier2"]
    assert all(s["on_call"] for q in oncall["data"]["queues"] for s in q["schedules"])
    opened = ask(db, "lena", "/escalate D-000123 the customer was charged twice, refund please", now)
    esc = opened["data"]["escalation"]
    assert opened["ok"] and esc["queue"] == "billing" and len(esc["paged"]) == 1
    asyncio.run(run_tick(db, [], now + timedelta(minutes=11)))
    shown = ask(db, "lena", "/escalation ESC-1", now + timedelta(minutes=11))["data"]["escalation"]
    assert shown["level"] == 2 and [e["event"] for e in shown["timeline"]] == ["created", "paged", "paged"]
    assert ask(db, "rachel", "/escalation ack ESC-1", now + timedelta(minutes=12))["data"]["escalation"]["owner"] == "rachel"


async def test_healthz_and_metrics_report_escalations_the_sweep_left_overdue(db: Database) -> None:
    import aiohttp

    from bot.config import load_settings
    from bot.web import create_app
    from tests.helpers import serve

    setup(db)
    assert ask(db, "alice", "/escalate #21 refund stuck", T0)["ok"]  # level 2 is due at +10 minutes
    for at, overdue in ((T0 + timedelta(minutes=10, seconds=5), 0), (T0 + timedelta(minutes=30), 1)):
        runner, base = await serve(create_app(db, load_settings({}), clock=lambda at=at: at))
        try:
            async with aiohttp.ClientSession() as http:
                async with http.get(f"{base}/healthz") as resp:
                    body = await resp.json()
                    assert resp.status == 200 and body["escalations"] == {"overdue": overdue, "sweep_seconds": 5}
                    assert body["status"] == ("degraded" if overdue else "ok")
                async with http.get(f"{base}/metrics") as resp:
                    assert f"csbot_escalations_overdue {float(overdue)}" in await resp.text()
        finally:
            await runner.cleanup()
