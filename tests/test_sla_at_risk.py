"""`/kpi sla [TEAM]`: the open tickets at risk of breaching now, with a moved clock, on SQLite and PostgreSQL (and once over Slack)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import insert, select

from bot.dispatch import run_action, run_command
from bot.render.text import render_text
from handlers.registry import build_router
from handlers.reply import Actions, Reply
from kpi.definitions import METRIC_NAMES
from kpi.tickets import Ticket
from store.database import Database
from store.org import Member, Team
from store.org_file import apply_org, parse_org
from store.sla_policies import SlaPolicy
from tests.helpers import FIXTURES
from tests.slack_env import Env, assert_valid_blocks, running_slack

UTC = timezone.utc
NOW = datetime(2026, 3, 10, 10, tzinfo=UTC)
M = timedelta(minutes=1)
ORG = (FIXTURES / "org.yaml").read_text() + """
sla:
  - {key: fast, name: Fast, match: {priority: [urgent]}, first_reply: 1h, resolution: 8h, time: calendar, warn_before: 15m}
  - {key: standard, name: Standard, first_reply: 4h, resolution: 2d, time: calendar, warn_before: 30m}
"""


def apply(db: Database) -> None:
    with db.sessions() as s, s.begin():
        apply_org(s, parse_org(ORG, METRIC_NAMES), now=NOW - timedelta(days=30))


def add(db: Database, external_id: str, created: datetime, *, priority: str = "normal", reply: timedelta | None = None, solve: timedelta | None = None, team: str = "support-emea", agent: str | None = "alice", policy: bool = True) -> None:
    """A ticket stamped as kpi.sla stamps one (calendar-time targets: created plus the target)."""
    with db.sessions() as s, s.begin():
        team_id = s.scalar(select(Team.id).where(Team.key == team))
        agent_id = s.scalar(select(Member.id).where(Member.handle == agent)) if agent else None
        row = s.scalar(select(SlaPolicy).where(SlaPolicy.key == ("fast" if priority == "urgent" else "standard"))) if policy else None
        due = {n: created + timedelta(seconds=row.target(n).seconds) for n in ("first_reply", "resolution")} if row else {}  # type: ignore[union-attr]
        s.execute(insert(Ticket), [{
            "source": "hd", "external_id": external_id, "team_id": team_id, "agent_id": agent_id, "priority": priority, "channel": "email",
            "status": "solved" if solve else "open", "created_at": created,
            "first_reply_at": created + reply if reply is not None else None, "solved_at": created + solve if solve is not None else None,
            "sla_policy_id": row.id if row else None, "first_reply_due_at": due.get("first_reply"), "resolution_due_at": due.get("resolution"),
        }])  # fmt: skip


@pytest.fixture
def risky(db: Database) -> Database:
    apply(db)
    add(db, "A-due-soon", NOW - 50 * M, priority="urgent")  # first reply due in 10 minutes, within the 15 of warning
    add(db, "B-not-yet", NOW - 30 * M, priority="urgent")  # due in 30 minutes: not yet
    add(db, "C-breached", NOW - 70 * M, priority="urgent", agent=None)  # first reply 10 minutes late
    add(db, "D-answered", NOW - 70 * M, priority="urgent", reply=5 * M)  # answered; resolution due in 6h 50m
    add(db, "E-resolution", NOW - timedelta(days=2) + 20 * M, reply=M)  # resolution due in 20 minutes
    add(db, "F-both-late", NOW - timedelta(days=3))  # no reply, no solve: listed once, for the first reply
    add(db, "G-solved-late", NOW - timedelta(days=3), solve=timedelta(days=2, hours=1))
    add(db, "H-no-policy", NOW - timedelta(days=3), policy=False)
    add(db, "I-other-team", NOW - 55 * M, priority="urgent", team="support-amer", agent="carol")
    return db


def ask(db: Database, text: str, handle: str = "bob", now: datetime = NOW) -> Reply:
    return run_command(db, build_router(), handle, text, now=now, platform="console")


def test_the_tickets_at_risk_now_least_time_left_first(risky: Database) -> None:
    reply = ask(risky, "/kpi sla")  # bob's own team
    assert reply.ok, reply.error
    assert reply.data["team"] == "support-emea" and reply.data["total"] == 4
    assert reply.data["at_risk"] == [
        {"ticket": "F-both-late", "url": None, "team": "support-emea", "agent": "alice", "policy": "standard", "target": "first_reply",
         "due_at": (NOW - timedelta(days=3) + timedelta(hours=4)).isoformat(), "left_s": -(3 * 86400 - 4 * 3600)},
        {"ticket": "C-breached", "url": None, "team": "support-emea", "agent": None, "policy": "fast", "target": "first_reply",
         "due_at": (NOW - 10 * M).isoformat(), "left_s": -600},
        {"ticket": "A-due-soon", "url": None, "team": "support-emea", "agent": "alice", "policy": "fast", "target": "first_reply",
         "due_at": (NOW + 10 * M).isoformat(), "left_s": 600},
        {"ticket": "E-resolution", "url": None, "team": "support-emea", "agent": "alice", "policy": "standard", "target": "resolution",
         "due_at": (NOW + 20 * M).isoformat(), "left_s": 1200},
    ]  # fmt: skip
    text = render_text(reply)
    assert "2 due within their warning time, 2 past due." in text
    assert "in 10m" in text and "breached 2d 20h ago" in text and "unassigned" in text and "Alice Smith" in text
    assert "2026-03-10 11:10" in text  # due times in the team's zone (Berlin)


def test_the_clock_moves_and_tickets_come_and_go(risky: Database) -> None:
    later = ask(risky, "/kpi sla support-emea", now=NOW + 11 * M).data["at_risk"]
    assert {r["ticket"]: r["left_s"] for r in later} == {"F-both-late": -(3 * 86400 - 4 * 3600) - 660, "C-breached": -1260, "A-due-soon": -60, "E-resolution": 540}
    # B comes within its 15 minutes of warning at 10:15.
    assert "B-not-yet" in [r["ticket"] for r in ask(risky, "/kpi sla support-emea", now=NOW + 15 * M).data["at_risk"]]
    assert "B-not-yet" not in [r["ticket"] for r in ask(risky, "/kpi sla support-emea", now=NOW + 14 * M).data["at_risk"]]


def test_whose_tickets(risky: Database) -> None:
    amer = ask(risky, "/kpi sla support-amer")
    assert [r["ticket"] for r in amer.data["at_risk"]] == ["I-other-team"] and amer.data["at_risk"][0]["agent"] == "carol"
    # Someone without a team sees every team's.
    every = ask(risky, "/kpi sla", "root")
    assert every.data["team"] is None and every.data["total"] == 5 and "every team" in every.title  # type: ignore[operator]
    assert ask(risky, "/kpi sla", "alice").ok  # agents see their team's, as /kpi team


def test_links_to_the_helpdesk(risky: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TICKET_URL_TEMPLATE", "https://acme.zendesk.com/agent/tickets/{id}")
    add(risky, "Ü 1/2?x=<b>", NOW - 55 * M, priority="urgent")
    reply = ask(risky, "/kpi sla")
    urls = {r["ticket"]: r["url"] for r in reply.data["at_risk"]}
    assert urls["A-due-soon"] == "https://acme.zendesk.com/agent/tickets/A-due-soon"
    assert urls["Ü 1/2?x=<b>"] == "https://acme.zendesk.com/agent/tickets/%C3%9C%201%2F2%3Fx%3D%3Cb%3E"
    assert "A-due-soon (https://acme.zendesk.com/agent/tickets/A-due-soon)" in render_text(reply)


def test_nothing_at_risk_says_so(db: Database) -> None:
    apply(db)
    reply = ask(db, "/kpi sla support-emea")
    assert reply.ok and reply.data["at_risk"] == [] and "No open ticket of Support EMEA is at risk" in render_text(reply)


def test_bad_input_is_answered_with_usage(risky: Database) -> None:
    for text, message in (
        ("/kpi sla 7d", "/kpi sla shows the tickets at risk now; it takes a team, not a window."),
        ("/kpi sla support-emea last week", "it takes a team, not a window"),
        ("/kpi sla --sort csat", "/kpi sla takes only a team: /kpi sla [TEAM] [--share]."),
        ("/kpi sla supprt-emea", "There is no team called 'supprt-emea'. Did you mean support-emea"),
        ("/kpi slas", "Did you mean /kpi sla"),
    ):
        reply = ask(risky, text)
        assert not reply.ok and message in reply.error.message, (text, reply.error)  # type: ignore[union-attr]


def test_share_posts_it_in_the_channel_and_the_button_does_too(risky: Database) -> None:
    shared = ask(risky, "/kpi sla --share")
    assert shared.ok and shared.visibility == "channel"
    reply = ask(risky, "/kpi sla")
    button = next(b for block in reply.blocks if isinstance(block, Actions) for b in block.buttons)
    assert button.label == "Share in channel" and json.loads(button.value)["text"] == "/kpi sla support-emea"
    clicked = run_action(risky, build_router(), "bob", button.action_id, button.value, now=NOW + timedelta(hours=1), platform="slack")
    assert clicked.ok and clicked.visibility == "channel"
    assert clicked.data["at_risk"] == reply.data["at_risk"]  # as of the moment asked, not of the click


@pytest.fixture
async def slack(db: Database) -> AsyncIterator[Env]:
    async with running_slack(db) as env:
        yield env


async def test_over_slack(slack: Env) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    with slack.db.sessions() as s, s.begin():
        apply_org(s, parse_org(ORG, METRIC_NAMES), now=now - timedelta(days=1))
    add(slack.db, "<!channel> T-9", now - 50 * M, priority="urgent")
    await slack.command("/kpi", "sla support-emea")
    answer = (await slack.wait_for("response_url"))[-1].args
    assert_valid_blocks(answer["blocks"])
    shown = json.dumps(answer["blocks"])
    assert "T-9" in shown and "<!channel>" not in shown and "Fast" in shown
