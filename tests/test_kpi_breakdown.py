"""`/kpi team TEAM WINDOW by X` and `/kpi org WINDOW by X` through the router, on SQLite and PostgreSQL.

Rows and counts are checked against hand-made tickets: three channels and
tickets without one, priorities, two agents and unassigned tickets, and
tickets around local midnight in Berlin, so weekday and hour follow the
team's time zone and not UTC.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from statistics import median

import pytest
from sqlalchemy import insert, select

from bot.dispatch import run_action, run_command
from bot.render.text import render_text
from handlers.registry import build_router
from handlers.reply import Actions, Reply, Table
from kpi.tickets import Ticket
from store.database import Database
from store.org import Member, Team
from tests.helpers import apply_fixture_org

UTC = timezone.utc
NOW = datetime(2026, 12, 3, 10, tzinfo=UTC)  # a Thursday
WINDOW = "2026-11-23 to 2026-11-29"  # Monday to Sunday, Berlin time (UTC+1): from 2026-11-22 23:00 UTC
_serial = iter(range(10**9))


def ask(db: Database, text: str, handle: str = "bob") -> Reply:
    return run_command(db, build_router(), handle, text, now=NOW, platform="console")


def add(
    db: Database,
    created: datetime,
    *,
    team: str = "support-emea",
    agent: str | None = "alice",
    channel: str | None = "email",
    priority: str | None = "normal",
    solved_after: timedelta | None = None,
    reply_after: timedelta = timedelta(minutes=5),
    count: int = 1,
    tags: str | None = None,
) -> None:
    with db.sessions() as s, s.begin():
        team_id = s.scalar(select(Team.id).where(Team.key == team))
        agent_id = s.scalar(select(Member.id).where(Member.handle == agent)) if agent else None
        s.execute(insert(Ticket), [{
            "source": "test", "external_id": f"B{next(_serial)}", "team_id": team_id, "agent_id": agent_id,
            "status": "solved" if solved_after is not None else "open", "channel": channel, "priority": priority,
            "created_at": created, "first_reply_at": created + reply_after,
            "solved_at": created + solved_after if solved_after is not None else None, "tags": tags,
        } for _ in range(count)])  # fmt: skip


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def org_db(db: Database) -> Database:
    apply_fixture_org(db)
    with db.sessions() as s, s.begin():
        emea = s.scalar(select(Team).where(Team.key == "support-emea"))
        s.add(Member(handle="erin", name="Erin Fox", email="erin@example.com", team_id=emea.id, role="agent"))
        s.add(Team(key="by", name="Stand by Me", timezone="UTC", targets={}))
    hour = timedelta(hours=1)
    # support-emea, Berlin (UTC+1), window Mon 23 Nov - Sun 29 Nov local.
    add(db, at(22, 22, 30), channel="chat")  # Sun 23:30 local: before the window, open at its end
    add(db, at(22, 23, 30), channel="chat", priority="high", solved_after=hour)  # Mon 00:30 local
    add(db, at(24, 22, 30), channel="email", priority="high", solved_after=2 * hour)  # Tue 23:30 local
    add(db, at(24, 23, 30), channel="email", priority="low", agent="erin", solved_after=3 * hour)  # Wed 00:30 local
    add(db, at(25, 9), channel="email", priority=None, agent=None)  # Wed 10:00, open
    add(db, at(25, 10), channel="phone", priority="urgent", agent="erin", solved_after=4 * hour)  # Wed 11:00
    add(db, at(26, 12), channel=None, agent=None, solved_after=5 * hour)  # Thu 13:00
    add(db, at(27, 8), channel="", solved_after=6 * hour)  # Fri 09:00
    add(db, at(29, 22, 59), channel="chat", agent="erin")  # Sun 23:59 local, open
    add(db, at(29, 23, 0), channel="chat")  # Mon 30 Nov 00:00 local: after the window
    add(db, at(24, 10), team="support-amer", agent="carol", channel="chat", solved_after=hour)
    return db


def rows(reply: Reply) -> dict[str, dict[str, int | None]]:
    assert reply.ok, reply.error
    return {r["label"]: {k: r["metrics"][k] for k in ("tickets_created", "tickets_solved", "backlog")} for r in reply.data["rows"]}


def card(db: Database, text: str, handle: str = "bob") -> dict[str, object]:
    reply = ask(db, text, handle)
    assert reply.ok, reply.error
    return reply.data["metrics"]


def assert_adds_up(reply: Reply, metrics: dict[str, object]) -> None:
    for name in ("tickets_created", "tickets_solved", "backlog"):
        assert sum(r["metrics"][name] for r in reply.data["rows"]) == metrics[name], name
    assert reply.data["total"] == {k: metrics[k] for k in ("tickets_created", "tickets_solved", "backlog")}


def test_by_channel_one_row_per_channel_with_none_for_missing_and_empty(org_db: Database) -> None:
    reply = ask(org_db, f"/kpi team support-emea {WINDOW} by channel")
    assert reply.data["dimension"] == "channel" and reply.data["scope"] == "team" and reply.data["team"] == "support-emea"
    assert rows(reply) == {
        "email": {"tickets_created": 3, "tickets_solved": 2, "backlog": 1},
        "chat": {"tickets_created": 2, "tickets_solved": 1, "backlog": 2},  # the Sunday-before ticket is open at the end
        "(none)": {"tickets_created": 2, "tickets_solved": 2, "backlog": 0},
        "phone": {"tickets_created": 1, "tickets_solved": 1, "backlog": 0},
    }
    assert [r["label"] for r in reply.data["rows"]] == ["email", "(none)", "chat", "phone"]  # created, then solved
    assert reply.data["rows"][1]["value"] is None and reply.data["rows"][0]["n"] == 3
    email = reply.data["rows"][0]["metrics"]
    assert email["resolution_median_s"] == 2.5 * 3600 and email["n_resolution"] == 2
    assert_adds_up(reply, card(org_db, f"/kpi team support-emea {WINDOW}"))
    table = next(b for b in reply.blocks if isinstance(b, Table))
    assert table.columns[0] == "Channel" and "QA" not in " ".join(table.columns)
    text = render_text(reply)
    assert "No QA column" in text and "the rows add up" in text


def test_by_priority_and_the_words_in_any_order(org_db: Database) -> None:
    reply = ask(org_db, f"/kpi team support-emea {WINDOW} by priority")
    assert rows(reply) == {
        "normal": {"tickets_created": 3, "tickets_solved": 2, "backlog": 2},
        "high": {"tickets_created": 2, "tickets_solved": 2, "backlog": 0},
        "low": {"tickets_created": 1, "tickets_solved": 1, "backlog": 0},
        "urgent": {"tickets_created": 1, "tickets_solved": 1, "backlog": 0},
        "(none)": {"tickets_created": 1, "tickets_solved": 0, "backlog": 1},
    }
    assert [r["label"] for r in reply.data["rows"]] == ["normal", "high", "low", "urgent", "(none)"]
    assert_adds_up(reply, card(org_db, f"/kpi team support-emea {WINDOW}"))
    # `by X` anywhere after the kind; the window before or after the team.
    for text in (f"/kpi team by priority support-emea {WINDOW}", f"/kpi team {WINDOW} support-emea by priority"):
        assert rows(ask(org_db, text)) == rows(reply), text
    last_week = ask(org_db, "/kpi team support-emea last week by priority")
    assert last_week.ok and last_week.data["dimension"] == "priority" and last_week.data["team"] == "support-emea"
    assert last_week.data["window"] == ask(org_db, "/kpi team support-emea last week").data["window"]
    mine = ask(org_db, "/kpi team by channel 30d")  # bob's own team
    assert mine.ok and mine.data["team"] == "support-emea" and mine.data["dimension"] == "channel"
    assert mine.data["window"] == ask(org_db, "/kpi team 30d").data["window"]


def test_by_agent_names_agents_and_unassigned(org_db: Database) -> None:
    reply = ask(org_db, f"/kpi team support-emea {WINDOW} by agent")
    assert rows(reply) == {
        "Alice Smith": {"tickets_created": 3, "tickets_solved": 3, "backlog": 1},
        "Erin Fox": {"tickets_created": 3, "tickets_solved": 2, "backlog": 1},
        "Unassigned": {"tickets_created": 2, "tickets_solved": 1, "backlog": 1},
    }
    assert [r["value"] for r in reply.data["rows"]] == ["alice", "erin", None]
    assert_adds_up(reply, card(org_db, f"/kpi team support-emea {WINDOW}"))
    assert ask(org_db, f"/kpi team support-emea {WINDOW} by agent", "root").ok


def test_by_agent_is_refused_where_kpi_agents_is(org_db: Database) -> None:
    for handle, text in (
        ("alice", "/kpi team support-emea by agent"),  # an agent: only their own figures
        ("alice", "/kpi org by agent"),
        ("dana", "/kpi team support-emea by agent"),  # another team's manager
        ("bob", "/kpi org by agent"),  # a lead oversees one team, not the org
        ("bob", "/kpi team support-emea by agent --share"),  # each agent's figures, never in a channel
    ):
        reply = ask(org_db, text, handle)
        assert not reply.ok and reply.error.code == "forbidden", (handle, text)
        assert "Erin" not in render_text(reply)
    # The other breakdowns are as open as the team's card.
    assert ask(org_db, "/kpi team support-emea by channel", "alice").ok
    shared = ask(org_db, "/kpi team support-emea by channel --share", "alice")
    assert shared.ok and shared.visibility == "channel"
    org = ask(org_db, f"/kpi org {WINDOW} by agent", "root")
    assert org.ok and "Carol Diaz" in rows(org)


def test_by_hour_and_weekday_follow_the_teams_time_zone(org_db: Database) -> None:
    hours = ask(org_db, f"/kpi team support-emea {WINDOW} by hour")
    assert [r["label"] for r in hours.data["rows"]] == [f"{h:02d}" for h in range(24)]
    created = {r["value"]: r["metrics"]["tickets_created"] for r in hours.data["rows"] if r["metrics"]["tickets_created"]}
    # In UTC these would be 23, 22, 23, 9, 10, 12, 8, 22; in Berlin they are an hour later.
    assert created == {0: 2, 23: 2, 10: 1, 11: 1, 13: 1, 9: 1}
    solved = {r["value"]: r["metrics"]["tickets_solved"] for r in hours.data["rows"] if r["metrics"]["tickets_solved"]}
    assert solved == {0: 2, 23: 1, 11: 1, 13: 1, 9: 1}  # by the hour each was created
    assert_adds_up(hours, card(org_db, f"/kpi team support-emea {WINDOW}"))
    assert "created (Europe/Berlin time)" in render_text(hours)
    days = ask(org_db, f"/kpi team support-emea {WINDOW} by weekday")
    assert [r["label"] for r in days.data["rows"]] == ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    assert {r["label"]: r["metrics"]["tickets_created"] for r in days.data["rows"]} == {
        "Mon": 1, "Tue": 1, "Wed": 3, "Thu": 1, "Fri": 1, "Sat": 0, "Sun": 1,
    }  # fmt: skip
    # Open at the end: the Sunday-before ticket (Sun 23:30 local), one on Wednesday, one on Sunday.
    assert {r["label"]: r["metrics"]["backlog"] for r in days.data["rows"] if r["metrics"]["backlog"]} == {"Wed": 1, "Sun": 2}
    assert_adds_up(days, card(org_db, f"/kpi team support-emea {WINDOW}"))


def test_org_breakdowns_add_up_to_the_org(org_db: Database) -> None:
    org = card(org_db, f"/kpi org {WINDOW}", "root")
    for dimension in ("channel", "priority", "agent", "weekday", "hour"):  # by tag: see test_by_tag_counts_a_ticket_in_each_of_its_tags
        reply = ask(org_db, f"/kpi org {WINDOW} by {dimension}", "root")
        assert reply.ok and reply.data["scope"] == "org" and reply.data["timezone"] == "UTC", dimension
        assert_adds_up(reply, org)
    # The org's time zone (UTC): the tickets created at 22:30 and 22:59 UTC are at 22, not 23.
    hours = ask(org_db, f"/kpi org {WINDOW} by hour", "root")
    assert {r["value"]: r["metrics"]["tickets_created"] for r in hours.data["rows"]}[22] == 2


def test_top_fifteen_and_the_rest_as_other(org_db: Database) -> None:
    for i in range(20):  # channel c00 has 40 tickets, c19 has 21
        add(org_db, at(26, 6), channel=f"c{i:02d}", count=40 - i, solved_after=timedelta(minutes=10 * (i + 1)))
    reply = ask(org_db, f"/kpi team support-emea {WINDOW} by channel")
    labels = [r["label"] for r in reply.data["rows"]]
    assert labels[:15] == [f"c{i:02d}" for i in range(15)]
    other = reply.data["rows"][-1]
    assert len(labels) == 16 and other["value"] is None and other["other"] == 9  # c15-c19, email, chat, (none), phone
    assert other["metrics"]["tickets_created"] == sum(40 - i for i in range(15, 20)) + 8
    # The median over the pooled tickets, not the median of the rows' medians.
    durations = [10 * (i + 1) * 60 for i in range(15, 20) for _ in range(40 - i)] + [h * 3600 for h in (1, 2, 3, 4, 5, 6)]
    assert other["metrics"]["resolution_median_s"] == median(durations)
    assert_adds_up(reply, card(org_db, f"/kpi team support-emea {WINDOW}"))
    assert "The 15 busiest values" in render_text(reply)


def test_by_tag_counts_a_ticket_in_each_of_its_tags(db: Database) -> None:
    apply_fixture_org(db)
    hour = timedelta(hours=1)
    add(db, at(24, 9), tags="billing refund", solved_after=hour)
    add(db, at(24, 10), tags="billing", solved_after=2 * hour)
    add(db, at(24, 11), tags="billing vip")  # open at the end
    add(db, at(25, 9), solved_after=3 * hour)  # no tags
    add(db, at(20, 9), tags="refund")  # before the window, open at its end
    reply = ask(db, f"/kpi team support-emea {WINDOW} by tag")
    assert rows(reply) == {
        "billing": {"tickets_created": 3, "tickets_solved": 2, "backlog": 1},
        "refund": {"tickets_created": 1, "tickets_solved": 1, "backlog": 1},
        "vip": {"tickets_created": 1, "tickets_solved": 0, "backlog": 1},
        "(no tag)": {"tickets_created": 1, "tickets_solved": 1, "backlog": 0},
    }
    assert [r["value"] for r in reply.data["rows"]] == ["billing", "refund", "vip", None]
    billing = reply.data["rows"][0]["metrics"]
    assert billing["resolution_median_s"] == 1.5 * 3600 and billing["n_resolution"] == 2
    # The total counts each ticket once: the rows add up to more, and the card says so.
    team = card(db, f"/kpi team support-emea {WINDOW}")
    assert reply.data["total"] == {k: team[k] for k in ("tickets_created", "tickets_solved", "backlog")} == {
        "tickets_created": 4, "tickets_solved": 3, "backlog": 2,
    }  # fmt: skip
    text = render_text(reply)
    assert "counts in the row of each" in text and "add up to more than the total" in text and "the rows add up to it" not in text
    org = ask(db, f"/kpi org {WINDOW} by tag", "root")
    assert org.ok and rows(org)["billing"] == rows(reply)["billing"]


def test_by_tag_other_counts_each_ticket_once(db: Database) -> None:
    apply_fixture_org(db)
    for i in range(18):  # t00 is on 20 tickets, t17 on 3
        add(db, at(24, 9), tags=f"t{i:02d}", count=20 - i, solved_after=timedelta(minutes=10))
    add(db, at(24, 10), tags="t15 t16 t17")  # three of the other tags: one ticket, not three
    reply = ask(db, f"/kpi team support-emea {WINDOW} by tag")
    labels = [r["label"] for r in reply.data["rows"]]
    assert labels[:15] == [f"t{i:02d}" for i in range(15)] and labels[15] == "other (3 tags)" and len(labels) == 16
    other = reply.data["rows"][15]
    assert other["other"] == 3 and other["metrics"]["tickets_created"] == 5 + 4 + 3 + 1
    assert other["metrics"]["backlog"] == 1
    assert "The 15 busiest tags" in render_text(reply)


def test_sla_without_policies_and_typos_are_answered(org_db: Database) -> None:
    sla = ask(org_db, f"/kpi org {WINDOW} by sla", "root")  # no policies: every ticket in the (no policy) row
    assert sla.ok and [r["label"] for r in sla.data["rows"]] == ["(no policy)"] and sla.data["sla"] == {}
    typo = ask(org_db, "/kpi team support-emea by chanel")
    assert not typo.ok and "Did you mean by channel" in typo.error.message
    for text in ("/kpi agents support-emea by channel", "/kpi me by hour"):
        reply = ask(org_db, text)
        assert not reply.ok and "for /kpi team and /kpi org" in reply.error.message, text
    usage = render_text(ask(org_db, "/kpi help"))
    assert "by channel|priority|tag|sla|agent|weekday|hour" in usage


def test_a_team_called_by(org_db: Database) -> None:
    add(org_db, at(24, 10), team="by", channel="chat")
    assert ask(org_db, f"/kpi team by {WINDOW}").data["team"] == "by"  # a team named "by", no breakdown
    assert ask(org_db, "/kpi team by").data["team"] == "by"
    reply = ask(org_db, f'/kpi team "Stand by Me" {WINDOW} by channel')
    assert rows(reply) == {"chat": {"tickets_created": 1, "tickets_solved": 0, "backlog": 1}}
    assert ask(org_db, f"/kpi team by {WINDOW} by channel").data["team"] == "by"


def test_buttons_ask_the_breakdown_again(org_db: Database) -> None:
    router = build_router()
    reply = ask(org_db, f"/kpi team support-emea {WINDOW} by channel", "alice")
    buttons = {b.label: b for block in reply.blocks if isinstance(block, Actions) for b in block.buttons}
    assert set(buttons) == {"Share in channel", "Previous window"}
    shared = run_action(org_db, router, "alice", buttons["Share in channel"].action_id, buttons["Share in channel"].value, now=NOW, platform="slack")
    assert shared.ok and shared.visibility == "channel" and shared.data["rows"] == reply.data["rows"]
    prev = run_action(org_db, router, "alice", buttons["Previous window"].action_id, buttons["Previous window"].value, now=NOW, platform="slack")
    assert prev.ok and prev.data["dimension"] == "channel" and prev.data["window"]["end"] == reply.data["window"]["start"]
    # By agent: no share button, and a forged one is refused.
    by_agent = ask(org_db, f"/kpi team support-emea {WINDOW} by agent")
    assert [b.label for block in by_agent.blocks if isinstance(block, Actions) for b in block.buttons] == ["Previous window"]
    forged = json.dumps({"text": "/kpi team support-emea 7d by agent", "at": NOW.isoformat(), "back": 0})
    assert run_action(org_db, router, "bob", "kpi.share", forged, now=NOW, platform="slack").error.code == "forbidden"
    assert run_action(org_db, router, "alice", "kpi.previous", forged, now=NOW, platform="slack").error.code == "forbidden"
