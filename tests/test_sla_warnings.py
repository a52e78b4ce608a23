"""SLA breach warnings: a tick job through the outbox, with a moved clock, on SQLite and PostgreSQL.

Tickets get their policy and due times the way csbot gives them (kpi.sla's
stamps, or the real webhook); Slack and Teams are the local stand-ins.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import insert, select, update

from bot.config import load_settings
from bot.slack.notifier import SlackNotifier
from bot.teams.app import make_adapter
from bot.teams.delivery import TeamsNotifier
from bot.tick import TickReport, run_tick
from bot.web import create_app
from bot.webhooks import sign
from kpi.definitions import METRIC_NAMES
from kpi.sla import PolicyBook, stamp_dicts
from kpi.sla_warnings import SlaWarning, slot_of
from kpi.tickets import Ticket
from store.clock import system_clock
from store.database import Database, open_database
from store.org import Member, Team
from store.org_file import apply_org, parse_org
from store.outbox import OutboxRow
from tests.fake_slack import FakeSlack
from tests.helpers import FIXTURES, serve

UTC = timezone.utc
T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)  # a Tuesday, 09:00 in Berlin
CHANNEL = "C0123ABCD"  # support-emea's Slack channel
ALICE_DM = "D0123ABCD"  # the stand-in's DM with alice (U0123ABCD)
BOB_DM = "D0123ABCE"  # bob, support-emea's lead
SLA = """
sla:
  - {key: urgent, name: Urgent, match: {priority: [urgent]}, first_reply: 1h, resolution: 8h, warn_before: 15m}
  - {key: standard, name: Standard, first_reply: 4h, resolution: 2d, warn_before: 30m}
"""
ORG = (FIXTURES / "org.yaml").read_text() + SLA


def apply(db: Database, text: str = ORG) -> dict[str, int]:
    with db.sessions() as s, s.begin():
        apply_org(s, parse_org(text, METRIC_NAMES), now=T0 - timedelta(days=1))
    with db.sessions() as s:
        return dict(s.execute(select(Team.key, Team.id)).all()) | dict(s.execute(select(Member.handle, Member.id)).all())


def add(db: Database, ids: dict[str, int], *tickets: dict[str, Any]) -> None:
    """Record tickets as an import or the demo does: each matched to its policy, its due times stamped."""
    rows = []
    for t in tickets:
        row = {"source": "helpdesk", "status": "open", "priority": "urgent", "subject": "Refund not received", "created_at": T0, **t}
        row["team_id"] = ids[row.pop("team", "support-emea")]
        agent = row.pop("agent", "alice")
        row["agent_id"] = ids[agent] if agent else None
        rows.append(row)
    with db.sessions() as s, s.begin():
        stamp_dicts(PolicyBook(s), rows)
        s.execute(insert(Ticket), rows)


def set_ticket(db: Database, external_id: str, **values: Any) -> None:
    with db.sessions() as s, s.begin():
        s.execute(update(Ticket).where(Ticket.external_id == external_id).values(**values))


def posts(fake: FakeSlack, channel: str) -> list[dict[str, Any]]:
    return [c.args for c in fake.of("chat.postMessage") if c.args.get("channel") == channel and "SLA" in c.args.get("text", "")]


def shown(post: dict[str, Any]) -> str:
    return post["text"] + json.dumps(post.get("blocks"), ensure_ascii=False)


def listed(post: dict[str, Any]) -> list[str]:
    """The tickets a post lists, in its order (the fallback text has every line)."""
    return re.findall(r"^[🔴🟠✅] (.+?) · ", post["text"], re.MULTILINE)


def recorded(db: Database) -> list[tuple[str, str, str]]:
    with db.sessions() as s:
        rows = s.execute(select(Ticket.external_id, SlaWarning.target, SlaWarning.kind).join(Ticket, SlaWarning.ticket_id == Ticket.id))
        return sorted((a, b, c) for a, b, c in rows)


async def tick(db: Database, notifiers: list[Any], at: datetime) -> TickReport:
    return await run_tick(db, notifiers, at, only="sla")


def test_slots_are_five_minutes_on_the_clock() -> None:
    assert slot_of(datetime(2026, 12, 1, 8, 44, 59, tzinfo=UTC)) == datetime(2026, 12, 1, 8, 40, tzinfo=UTC)
    assert slot_of(datetime(2026, 12, 1, 8, 45, tzinfo=UTC)) == datetime(2026, 12, 1, 8, 45, tzinfo=UTC)


# ---------------------------------------------------------------- once, and only while it matters


async def test_a_ticket_is_warned_once_and_its_breach_announced_once(db: Database, slack: tuple[FakeSlack, SlackNotifier]) -> None:
    fake, notifier = slack
    ids = apply(db)
    add(db, ids, {"external_id": "4711"})  # urgent: first reply due 09:00 UTC (10:00 in Berlin), resolution 16:00
    for minutes in (0, 30, 39, 40, 41, 44, 45, 50, 55, 59, 60, 61, 65, 70, 90):
        await tick(db, [notifier], T0 + timedelta(minutes=minutes))
    warning, breach = posts(fake, CHANNEL)
    assert warning["text"].startswith("⏰ SLA · Support EMEA: 1 due soon")
    # Checked in the 08:40 slot, as of its end (08:45): due within 15 minutes of that, so 20 minutes left at 08:40.
    assert "4711 · first reply due 10:00 (20m left) · Alice Smith · Urgent · “Refund not received”" in shown(warning)
    assert breach["text"].startswith("⏰ SLA · Support EMEA: 1 breached")
    assert "4711 · first reply overdue since 10:00 (under a minute)" in shown(breach)
    assert recorded(db) == [("4711", "first_reply", "breach"), ("4711", "first_reply", "warning")]
    # Alice, the assignee, is told by direct message; in the channel nobody is mentioned.
    mine = posts(fake, ALICE_DM)
    assert [p["text"].split(":")[0] for p in mine] == ["⏰ Your tickets · SLA · Support EMEA"] * 2
    assert not posts(fake, BOB_DM)  # the lead reads the channel
    assert all("<@" not in shown(p) for p in posts(fake, CHANNEL))
    # The resolution target (16:00) is still hours away: nothing more until then.
    report = await tick(db, [notifier], T0 + timedelta(hours=7, minutes=40))
    assert [o.kind for o in report.outcomes] == ["sla_warning", "sla_assignee"]
    assert "resolution due 17:00 (20m left)" in shown(posts(fake, CHANNEL)[-1])


async def test_a_reply_before_the_warning_means_none_and_a_solve_after_it_no_breach(db: Database, slack: tuple[FakeSlack, SlackNotifier]) -> None:
    fake, notifier = slack
    ids = apply(db)
    add(db, ids, {"external_id": "1"}, {"external_id": "2"}, {"external_id": "3", "agent": None})
    set_ticket(db, "1", first_reply_at=T0 + timedelta(minutes=30))  # replied in time
    await tick(db, [notifier], T0 + timedelta(minutes=40))
    (warning,) = posts(fake, CHANNEL)
    assert listed(warning) == ["2", "3"] and "3 · first reply due 10:00 (20m left) · unassigned ·" in shown(warning)
    set_ticket(db, "2", status="solved", first_reply_at=T0 + timedelta(minutes=50), solved_at=T0 + timedelta(minutes=50))
    await tick(db, [notifier], T0 + timedelta(minutes=60))
    (breach,) = posts(fake, CHANNEL)[1:]
    assert listed(breach) == ["3"]
    # Ticket 1's resolution (16:00) is warned and breached like any target; ticket 2, solved, never again.
    for minutes in range(60, 8 * 60 + 30, 5):
        await tick(db, [notifier], T0 + timedelta(minutes=minutes))
    assert recorded(db) == [
        ("1", "resolution", "breach"), ("1", "resolution", "warning"),
        ("2", "first_reply", "warning"),
        ("3", "first_reply", "breach"), ("3", "first_reply", "warning"), ("3", "resolution", "breach"), ("3", "resolution", "warning"),
    ]  # fmt: skip
    assert len(posts(fake, CHANNEL)) == 4  # 08:40, 09:00, then both resolutions together at 15:40 and 16:00


async def test_two_ticks_at_once_post_once(db: Database, slack: tuple[FakeSlack, SlackNotifier]) -> None:
    fake, notifier = slack
    ids = apply(db)
    add(db, ids, {"external_id": "4711"})
    other = open_database(db.engine.url.render_as_string(hide_password=False))  # a second process's connections
    try:
        at = T0 + timedelta(minutes=41)
        await asyncio.gather(tick(db, [notifier], at), tick(other, [notifier], at), tick(db, [notifier], at + timedelta(seconds=30)))
    finally:
        other.dispose()
    assert len(posts(fake, CHANNEL)) == 1 and len(posts(fake, ALICE_DM)) == 1
    with db.sessions() as s:
        assert [r.status for r in s.scalars(select(OutboxRow))] == ["sent", "sent"]


async def test_after_downtime_the_breaches_are_announced_together_once(db: Database, slack: tuple[FakeSlack, SlackNotifier]) -> None:
    fake, notifier = slack
    ids = apply(db)
    await tick(db, [notifier], T0)
    # First replies due at 09:00, 11:00 and 13:00 UTC, all while csbot is down until 15:00.
    add(db, ids, *({"external_id": f"E{n}", "created_at": T0 + timedelta(hours=2 * n)} for n in range(3)))
    report = await tick(db, [notifier], T0 + timedelta(hours=7))  # the catch-up window (6 h) reaches back to 09:00
    (post,) = posts(fake, CHANNEL)
    assert post["text"].startswith("⏰ SLA · Support EMEA: 2 breached")
    assert listed(post) == ["E1", "E2"]  # E0 fell due at the very edge of the window: history, not news
    assert "E1 · first reply overdue since 12:00 (4h)" in shown(post) and "E2 · first reply overdue since 14:00 (2h)" in shown(post)
    assert [o.status for o in report.outcomes] == ["sent", "sent"]
    for minutes in (1, 5, 10):
        await tick(db, [notifier], T0 + timedelta(hours=7, minutes=minutes))
    assert len(posts(fake, CHANNEL)) == 1


async def test_warn_before_is_the_policys_as_the_file_says_now(db: Database, slack: tuple[FakeSlack, SlackNotifier]) -> None:
    fake, notifier = slack
    ids = apply(db)
    add(db, ids, {"external_id": "early"})
    apply(db, ORG.replace("warn_before: 15m", "warn_before: 45m"))  # changed in place: the tickets that have the policy too
    await tick(db, [notifier], T0 + timedelta(minutes=10))  # 08:15 + 45m reaches the 09:00 due time
    assert "early · first reply due 10:00 (50m left)" in shown(posts(fake, CHANNEL)[0])
    apply(db, ORG.replace("resolution: 8h", "resolution: 6h"))  # a new version: older tickets keep theirs, and are still watched
    await tick(db, [notifier], T0 + timedelta(minutes=60))
    assert "early · first reply overdue" in shown(posts(fake, CHANNEL)[1])


async def test_a_due_time_after_the_weekend_is_warned_that_morning_not_on_friday(db: Database, slack: tuple[FakeSlack, SlackNotifier]) -> None:
    fake, notifier = slack
    text = ORG.replace(
        "org: {name: Acme Support, timezone: UTC}",
        'org: {name: Acme Support, timezone: UTC, calendar: office}\ncalendars:\n  - {key: office, timezone: Europe/Berlin, hours: ["mon-fri 09:00-17:00"]}',
    )
    ids = apply(db, text)
    friday = datetime(2026, 12, 4, 15, 5, tzinfo=UTC)  # 16:05 in Berlin: 55 business minutes on Friday, 5 on Monday
    add(db, ids, {"external_id": "weekend", "created_at": friday})
    with db.sessions() as s:
        assert s.scalar(select(Ticket.first_reply_due_at)) == datetime(2026, 12, 7, 8, 5, tzinfo=UTC)  # Monday 09:05
    # warn_before is wall-clock time before the due instant, as /kpi sla counts it: nothing on Friday or over the weekend.
    moments = [friday + timedelta(minutes=m) for m in range(0, 60, 5)] + [datetime(2026, 12, 5, 12, tzinfo=UTC), datetime(2026, 12, 7, 7, 40, tzinfo=UTC)]
    for at in moments:
        await tick(db, [notifier], at)
    assert posts(fake, CHANNEL) == []
    await tick(db, [notifier], datetime(2026, 12, 7, 7, 45, tzinfo=UTC))  # Monday 08:45: its end (08:50) is 15 minutes from 09:05
    (warning,) = posts(fake, CHANNEL)
    assert "weekend · first reply due 09:05 (20m left)" in shown(warning)
    await tick(db, [notifier], datetime(2026, 12, 7, 8, 5, tzinfo=UTC))
    assert "weekend · first reply overdue since 09:05 (under a minute)" in shown(posts(fake, CHANNEL)[1])


# ---------------------------------------------------------------- where it goes


async def test_a_team_without_a_channel_warns_its_leads_and_one_with_nobody_is_recorded_as_unreachable(db: Database, slack: tuple[FakeSlack, SlackNotifier]) -> None:
    fake, notifier = slack
    org = """
org: {name: Acme Support, timezone: UTC}
teams:
  - {key: quiet, name: Quiet, timezone: UTC}
  - {key: lonely, name: Lonely, timezone: UTC}
members:
  - {handle: lee, name: Lee Lead, team: quiet, role: lead, slack_id: U0LEAD}
  - {handle: ann, name: Ann Agent, team: quiet, role: agent, slack_id: U0ANN}
  - {handle: otto, name: Otto Agent, team: lonely, role: agent}
""" + SLA
    ids = apply(db, org)
    add(db, ids, {"external_id": "Q1", "team": "quiet", "agent": "ann"}, {"external_id": "Q2", "team": "quiet", "agent": "lee"}, {"external_id": "L1", "team": "lonely", "agent": "otto"})
    report = await tick(db, [notifier], T0 + timedelta(minutes=40))
    (to_lee,) = posts(fake, "D0LEAD")  # the team's message; Lee's own ticket is in it, so no second one
    assert "Q1 ·" in shown(to_lee) and "Q2 ·" in shown(to_lee) and "Sent to you as a lead of Quiet" in shown(to_lee)
    (to_ann,) = posts(fake, "D0ANN")
    assert "Q1 ·" in shown(to_ann) and "Q2 ·" not in shown(to_ann)
    with db.sessions() as s:
        (lonely,) = s.scalars(select(OutboxRow).where(OutboxRow.subject == "lonely"))
    assert (lonely.recipient, lonely.status) == ("none:team:lonely", "skipped")
    assert any(line.startswith("  skipped: sla_warning × 1 for 1 team: not reachable") for line in report.lines())


async def test_user_text_in_a_warning_pings_nobody(db: Database, slack: tuple[FakeSlack, SlackNotifier]) -> None:
    fake, notifier = slack
    ids = apply(db)
    add(db, ids, {"external_id": "<!channel>", "subject": "<!channel> @here *urgent* <https://evil.example|click> <@U0123ABCE>"})
    await tick(db, [notifier], T0 + timedelta(minutes=40))
    (post,) = posts(fake, CHANNEL)
    blocks = json.dumps(post["blocks"], ensure_ascii=False)
    for raw in ("<!channel>", "<@U0123ABCE>", "<https://", "@here"):
        assert raw not in blocks and raw not in post["text"], raw


async def test_tickets_linked_with_the_ticket_url_template(db: Database, slack: tuple[FakeSlack, SlackNotifier], monkeypatch: pytest.MonkeyPatch) -> None:
    fake, notifier = slack
    monkeypatch.setenv("TICKET_URL_TEMPLATE", "https://acme.zendesk.com/agent/tickets/{id}")
    ids = apply(db)
    add(db, ids, {"external_id": "4711"}, {"external_id": "a b/c", "priority": "normal", "created_at": T0 - timedelta(hours=3)})
    await tick(db, [notifier], T0 + timedelta(minutes=40))
    (post,) = posts(fake, CHANNEL)
    # Both fall due at 09:00 (the standard one 4 hours after 05:00): the same time left, so by id.
    assert listed(post) == ["4711 (https://acme.zendesk.com/agent/tickets/4711)", "a b/c (https://acme.zendesk.com/agent/tickets/a%20b%2Fc)"]


# ---------------------------------------------------------------- the webhook keeps it current


SECRET = "test-webhook-secret-0123456789"


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
async def webhook(db: Database) -> AsyncIterator[tuple[str, Clock]]:
    apply(db)
    clock = Clock(T0)
    runner, base = await serve(create_app(db, load_settings({"CSBOT_WEBHOOK_SECRET": SECRET}), clock=clock))
    yield f"{base}/webhooks/tickets", clock
    await runner.cleanup()


async def send_event(url: str, clock: Clock, event_id: str, kind: str, at: datetime, external_id: str, **ticket: Any) -> None:
    import time

    import aiohttp

    clock.at = at
    body = json.dumps({"id": event_id, "type": kind, "source": "zendesk", "at": at.isoformat(), "ticket": {"external_id": external_id, **ticket}}).encode()
    stamp = str(int(time.time()))
    headers = {"Content-Type": "application/json", "X-Csbot-Timestamp": stamp, "X-Csbot-Signature": sign(SECRET, stamp, body)}
    async with aiohttp.ClientSession() as http, http.post(url, data=body, headers=headers) as resp:
        assert resp.status == 200, await resp.text()


async def test_webhook_events_stop_the_warning_and_the_breach(db: Database, slack: tuple[FakeSlack, SlackNotifier], webhook: tuple[str, Clock]) -> None:
    fake, notifier = slack
    url, clock = webhook
    for n in (1, 2):
        await send_event(url, clock, f"c{n}", "created", T0, f"T-{n}", team="support-emea", agent="alice", priority="urgent", subject="Cannot log in")
    await send_event(url, clock, "r1", "agent_replied", T0 + timedelta(minutes=30), "T-1")  # answered before its warning
    await tick(db, [notifier], T0 + timedelta(minutes=40))
    (warning,) = posts(fake, CHANNEL)
    assert "T-2 · first reply due 10:00" in shown(warning) and "T-1" not in shown(warning)
    await send_event(url, clock, "s2", "solved", T0 + timedelta(minutes=50), "T-2")  # solved after its warning
    for minutes in range(55, 8 * 60 + 10, 5):
        await tick(db, [notifier], T0 + timedelta(minutes=minutes))
    # T-1's resolution is warned and breached; T-2, solved, never again.
    assert recorded(db) == [("T-1", "resolution", "breach"), ("T-1", "resolution", "warning"), ("T-2", "first_reply", "warning")]


# ---------------------------------------------------------------- Teams, and the demo


async def test_the_teams_stand_in_receives_the_warning_in_the_channel_and_the_assignees_chat(db: Database, slack: tuple[FakeSlack, SlackNotifier]) -> None:
    from tests.teams_env import CHANNEL as TEAMS_CHANNEL
    from tests.teams_env import start_env

    fake, notifier = slack
    ids = apply(db)
    e, runners = await start_env(db)
    try:
        await e.post(e.activity("csbot whoami", who="alice", where="personal"))  # alice's 1:1 chat with csbot
        await e.post(e.activity("csbot whoami", who="alice", where="channel"))  # csbot meets support-emea's channel
        add(db, ids, {"external_id": "4711"})
        settings = load_settings({"TEAMS_AUTH_DISABLED": "true"})
        assert settings.teams is not None
        teams = TeamsNotifier(make_adapter(settings.teams), settings.teams.app_id, db, system_clock)
        report = await tick(db, [notifier, teams], T0 + timedelta(minutes=40))
        assert sorted((o.kind, o.recipient.split(":")[0], o.status) for o in report.outcomes) == [
            ("sla_assignee", "slack", "sent"), ("sla_assignee", "teams", "sent"), ("sla_warning", "slack", "sent"), ("sla_warning", "teams", "sent"),
        ]  # fmt: skip
        in_channel = [s for s in e.connector.messages() if s.conversation_id == TEAMS_CHANNEL and "SLA" in e.card_texts(s)]
        assert len(in_channel) == 1 and "4711 · first reply due 10:00 (20m left) · Alice Smith" in e.card_texts(in_channel[0])
        personal = [s for s in e.connector.messages() if "personal" in s.conversation_id and "Your tickets" in e.card_texts(s)]
        assert len(personal) == 1
        await tick(db, [notifier, teams], T0 + timedelta(minutes=45))
        assert len([s for s in e.connector.messages() if "SLA" in e.card_texts(s)]) == 2
    finally:
        for r in runners:
            await r.cleanup()


async def test_a_fresh_demos_first_tick_posts_warnings_to_every_team(db: Database, slack: tuple[FakeSlack, SlackNotifier]) -> None:
    from bot.demo import seed_demo

    fake, notifier = slack
    now = datetime(2026, 12, 2, 14, 2, tzinfo=UTC)
    seed_demo(db, now=now, tickets=500, days=10)
    await tick(db, [notifier], now)
    with db.sessions() as s:
        teams = s.execute(select(Team.id, Team.slack_channel)).all()
        chats = {
            team_id: set(s.scalars(select(Ticket.external_id).where(Ticket.team_id == team_id, Ticket.created_at.in_([now - timedelta(minutes=7), now - timedelta(minutes=12)]))))
            for team_id, _ in teams
        }
    for team_id, channel in teams:
        # The demo's two unanswered chats per team: one due at 14:05, warned; one due at 14:00, breached.
        (post,) = posts(fake, channel)
        assert "breached" in post["text"] and "due soon" in post["text"], post["text"]
        assert len(chats[team_id]) == 2 and chats[team_id] <= {t.split(" ")[0] for t in listed(post)}
