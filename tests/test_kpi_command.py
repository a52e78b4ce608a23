"""The /kpi command through the router, as every surface runs it."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from bot.demo import seed_demo
from coaching.models import QaAssignment, QaReview
from bot.dispatch import run_action, run_command
from bot.render.slack import render_slack
from bot.render.teams import render_adaptive_card
from handlers.registry import build_router
from handlers.reply import Actions, Reply
from kpi.tickets import Ticket
from kpi.windows import parse_window
from store.database import Database
from store.org import Member, Team
from tests.helpers import apply_fixture_org, assert_no_traceback
from tests.kpi_oracle import R, T, assert_same, oracle, stored_tickets

NOW = datetime(2026, 3, 9, 12, 0, tzinfo=timezone.utc)


# The demo these tests read (test_kpi_trend's and test_kpi_export's too): seeded once per test process, then copied.
DEMO = "seed_demo(now=2026-03-09T12:00Z, tickets=3000, days=60, seed=7)"


def seed_the_demo(db: Database) -> None:
    seed_demo(db, now=NOW, tickets=3000, days=60, seed=7)


@pytest.fixture
def demo_db(db: Database, seeded: Callable[[Database, str, Callable[[Database], object]], None]) -> Database:
    seeded(db, DEMO, seed_the_demo)
    return db


@pytest.fixture
def org_db(db: Database) -> Database:
    apply_fixture_org(db)
    return db


def ask(db: Database, text: str, handle: str) -> Reply:
    return run_command(db, build_router(), handle, text, now=NOW, platform="console")


def handles_by_role(db: Database) -> dict[str, list[Member]]:
    with db.sessions() as s:
        out: dict[str, list[Member]] = {}
        for m in s.scalars(select(Member).order_by(Member.id)):
            out.setdefault(m.role, []).append(m)
        return out


def tickets_of(db: Database, **where: int) -> list[T]:
    """The scope's tickets for the oracle, each with its team's business hours (read from the org's calendars by hand)."""
    with db.sessions() as s:
        return stored_tickets(s, select(Ticket).filter_by(**where))


def reviews_of(db: Database, **where: int) -> list[R]:
    """The QA reviews of the same scope (the demo has a few), for the QA figures."""
    with db.sessions() as s:
        return [R(r.created_at, r.score, r.passed) for r in s.scalars(select(QaReview).filter_by(**where))]


def assignments_of(db: Database, **where: int) -> list[QaAssignment]:
    """The weekly QA sample's assignments of the same scope (the demo draws one week), for QA coverage."""
    with db.sessions() as s:
        found = list(s.scalars(select(QaAssignment).filter_by(**where)))
        s.expunge_all()
        return found


def test_team_kpis_match_an_independent_computation_on_generated_data(demo_db: Database) -> None:
    lead = handles_by_role(demo_db)["lead"][0]
    for window in ("7d", "30d", "last-week", "month", "2026-02-01..2026-02-28", "yesterday"):
        reply = ask(demo_db, f"/kpi team {window}", lead.handle)
        assert reply.ok, reply.error
        data = reply.data
        assert data["scope"] == "team" and data["team"]
        with demo_db.sessions() as s:
            team = s.scalar(select(Team).where(Team.key == data["team"]))
        tickets = tickets_of(demo_db, team_id=team.id)
        w = parse_window(window, NOW, team.timezone)
        assert data["window"] == w.to_json()
        assert data["window"]["so_far"] == (window == "month")  # March 9th: the month is still running
        assert_same(data["metrics"], oracle(tickets, w.start_utc, w.until_utc, reviews_of(demo_db, team_id=team.id)))
        prev = w.comparison()
        grace = min(timedelta(days=1), (prev.until_utc - prev.start_utc) / 30)  # a quiet start still counts
        if min(t.created_at for t in tickets) <= prev.start_utc + grace:
            assert data["compared_with"] == prev.to_json()
            assert_same(data["previous"], oracle(tickets, prev.start_utc, prev.until_utc, reviews_of(demo_db, team_id=team.id)))
        else:  # the earlier window starts well before the team's first ticket
            assert data["previous"] is None and data["compared_with"] is None, window
        assert data["targets"] == {k: v for k, v in team.targets.items()}


def test_agent_and_org_scopes_match_the_oracle(demo_db: Database) -> None:
    roles = handles_by_role(demo_db)
    admin = roles["admin"][0]
    agent = roles["agent"][3]
    reply = ask(demo_db, f"/kpi agent @{agent.handle} 30d", admin.handle)
    assert reply.ok and reply.data["scope"] == "agent" and reply.data["agent"] == agent.handle
    w = parse_window("30d", NOW, reply.data["window"]["timezone"])
    expected = oracle(tickets_of(demo_db, agent_id=agent.id), w.start_utc, w.end_utc, reviews_of(demo_db, agent_id=agent.id), assignments_of(demo_db, agent_id=agent.id))
    assert_same(reply.data["metrics"], expected)
    org = ask(demo_db, "/kpi org 30d", admin.handle)
    w = parse_window("30d", NOW, "UTC")
    assert org.data["scope"] == "org"
    assert_same(org.data["metrics"], oracle(tickets_of(demo_db), w.start_utc, w.end_utc, reviews_of(demo_db), assignments_of(demo_db)))
    # An agent gets the same figures without the pooled QA ones (one review can be the whole figure).
    pooled = ask(demo_db, "/kpi org 30d", agent.handle).data["metrics"]
    assert pooled == {**org.data["metrics"], "qa_score": None, "qa_pass_rate": None, "qa_reviews": None, "qa_coverage": None, "qa_assigned": None}


def test_teams_table_and_sorting(demo_db: Database) -> None:
    agent = handles_by_role(demo_db)["agent"][0]
    reply = ask(demo_db, "/kpi teams 30d --sort csat", agent.handle)
    assert reply.ok
    rows = reply.data["rows"]
    assert len(rows) == 5
    csat = [r["metrics"]["csat"] for r in rows]
    assert csat == sorted(csat, reverse=True)
    backlog_sorted = ask(demo_db, "/kpi teams 30d --sort backlog", agent.handle).data["rows"]
    backlogs = [r["metrics"]["backlog"] for r in backlog_sorted]
    assert backlogs == sorted(backlogs)  # lower is better, best first
    with demo_db.sessions() as s:
        team = s.scalar(select(Team).where(Team.key == rows[0]["team"]))
    w = parse_window("30d", NOW, "UTC")
    expected = oracle(tickets_of(demo_db, team_id=team.id), w.start_utc, w.end_utc, reviews_of(demo_db, team_id=team.id))
    assert_same(rows[0]["metrics"], {**expected, "qa_score": None, "qa_pass_rate": None, "qa_reviews": None, "qa_coverage": None, "qa_assigned": None})  # an agent: no pooled QA
    admin = handles_by_role(demo_db)["admin"][0]
    by_admin = {r["team"]: r["metrics"] for r in ask(demo_db, "/kpi teams 30d --sort csat", admin.handle).data["rows"]}
    assert_same(by_admin[team.key], expected)
    assert ask(demo_db, "/kpi teams --sort happiness", agent.handle).error.code == "usage"


def test_who_sees_what(org_db: Database) -> None:
    # alice: agent (emea), bob: lead (emea), carol: agent (amer), dana: manager (amer), root: admin
    assert ask(org_db, "/kpi me", "alice").ok
    assert ask(org_db, "/kpi agent alice", "alice").ok
    refused = ask(org_db, "/kpi agent carol", "alice")
    assert refused.error.code == "forbidden" and "private" in refused.error.message
    assert ask(org_db, "/kpi agent alice", "bob").ok  # lead, same team
    assert ask(org_db, "/kpi agent carol", "bob").error.code == "forbidden"  # lead, other team
    assert ask(org_db, "/kpi agent carol", "dana").ok  # manager of carol's team
    assert ask(org_db, "/kpi agent alice", "dana").error.code == "forbidden"
    assert ask(org_db, "/kpi agent alice", "root").ok
    assert ask(org_db, "/kpi team support-amer", "alice").ok  # team figures are open to all
    assert ask(org_db, "/kpi teams", "alice").ok


def test_sharing_and_buttons(org_db: Database) -> None:
    router = build_router()
    reply = ask(org_db, "/kpi team support-emea 7d", "alice")
    assert reply.visibility == "ephemeral"
    buttons = {b.label: b for block in reply.blocks if isinstance(block, Actions) for b in block.buttons}
    assert set(buttons) == {"Share in channel", "Previous window"}
    shared = run_action(org_db, router, "alice", buttons["Share in channel"].action_id, buttons["Share in channel"].value, now=NOW + timedelta(hours=1), platform="slack")
    assert shared.ok and shared.visibility == "channel"
    assert shared.data["window"] == reply.data["window"]  # the same card, not "7d from the click"
    prev = run_action(org_db, router, "alice", buttons["Previous window"].action_id, buttons["Previous window"].value, now=NOW, platform="slack")
    assert prev.data["window"]["end"] == reply.data["window"]["start"]
    prev_buttons = {b.label: b for block in prev.blocks if isinstance(block, Actions) for b in block.buttons}
    prev2 = run_action(org_db, router, "alice", PREVIOUS := prev_buttons["Previous window"].action_id, prev_buttons["Previous window"].value, now=NOW, platform="slack")
    assert prev2.data["window"]["end"] == prev.data["window"]["start"] and PREVIOUS == "kpi.previous"
    assert ask(org_db, "/kpi team --share", "alice").visibility == "channel"
    # Someone else's agent figures cannot be shared, by flag or by button.
    lead_view = ask(org_db, "/kpi agent alice", "bob")
    assert lead_view.ok
    assert not any(b.label == "Share in channel" for block in lead_view.blocks if isinstance(block, Actions) for b in block.buttons)
    assert ask(org_db, "/kpi agent alice --share", "bob").error.code == "forbidden"
    forged = json.dumps({"text": "/kpi agent alice 7d", "at": NOW.isoformat(), "back": 0})
    assert run_action(org_db, router, "bob", "kpi.share", forged, now=NOW, platform="slack").error.code == "forbidden"
    # A button pressed by someone who may not see the figures is refused too.
    assert run_action(org_db, router, "carol", "kpi.previous", forged, now=NOW, platform="slack").error.code == "forbidden"
    assert run_action(org_db, router, "alice", "kpi.share", "not json", now=NOW, platform="slack").error.code == "usage"


def test_unknown_names_get_suggestions(org_db: Database) -> None:
    reply = ask(org_db, "/kpi team suport-emea", "alice")
    assert reply.error.code == "not_found" and "support-emea" in reply.error.message
    reply = ask(org_db, '/kpi team "Support Emae"', "alice")
    assert reply.error.code == "not_found" and "support-emea" in reply.error.message
    reply = ask(org_db, "/kpi agent @alcie", "root")
    assert reply.error.code == "not_found" and "@alice" in reply.error.message


def test_team_by_name_quoted_or_not_and_slack_mentions(org_db: Database) -> None:
    assert ask(org_db, '/kpi team "support emea" 30d', "alice").data["team"] == "support-emea"
    assert ask(org_db, "/kpi team Support EMEA 30d", "alice").data["team"] == "support-emea"
    assert ask(org_db, "/kpi 30d", "alice").data["team"] == "support-emea"
    assert ask(org_db, "/kpi agent <@U0123ABCD|alice> 7d", "bob").data["agent"] == "alice"
    assert ask(org_db, "/kpi team", "root").error.code == "not_found"  # an admin without a team must name one


@pytest.mark.parametrize(
    "text",
    ["/kpi team support-emea 8x", "/kpi me 2026-02-30", "/kpi me 2026-03-10..2026-03-01", "/kpi me 99999d", "/kpi frobnicate", "/kpi agent", "/kpi me --sort csat", "/kpi teams tomorrow"],
)
def test_bad_input_gets_usage(org_db: Database, text: str) -> None:
    reply = ask(org_db, text, "alice")
    assert not reply.ok and reply.error.code == "usage", (text, reply.error)


def test_targets_status_in_the_card(org_db: Database) -> None:
    reply = ask(org_db, "/kpi team support-emea", "alice")
    table = next(b for b in reply.blocks if b.__class__.__name__ == "Table")
    rows = {r[0]: r for r in table.rows}
    assert rows["CSAT"][3] == "90.0%"  # the target is shown
    assert rows["CSAT"][1] == "—" and rows["CSAT"][4] == ""  # no value, no verdict
    assert rows["Tickets created"][1] == "0"


def test_buttons_name_the_team_or_member_so_they_mean_the_same_for_everyone(org_db: Database) -> None:
    router = build_router()
    reply = ask(org_db, "/kpi team --share", "alice")  # Alice's team, shared in a channel
    previous = next(b for block in reply.blocks if isinstance(block, Actions) for b in block.buttons if b.action_id == "kpi.previous")
    assert json.loads(previous.value)["text"].startswith("/kpi team support-emea")
    clicked = run_action(org_db, router, "carol", previous.action_id, previous.value, now=NOW, platform="slack")
    assert clicked.data["team"] == "support-emea"  # not Carol's own team
    mine = ask(org_db, "/kpi me", "alice")
    mine_prev = next(b for block in mine.blocks if isinstance(block, Actions) for b in block.buttons if b.action_id == "kpi.previous")
    assert json.loads(mine_prev.value)["text"].startswith("/kpi agent alice")
    assert run_action(org_db, router, "carol", mine_prev.action_id, mine_prev.value, now=NOW, platform="slack").error.code == "forbidden"


def test_leads_see_their_agents_not_other_leads_or_managers(org_db: Database) -> None:
    assert ask(org_db, "/kpi agent alice", "bob").ok  # bob leads alice's team
    assert ask(org_db, "/kpi agent dana", "root").ok  # admins see everyone
    assert ask(org_db, "/kpi agent bob", "dana").error.code == "forbidden"  # a manager of another team


def test_dates_and_moments_outside_the_supported_days_are_a_usage_refusal(org_db: Database) -> None:
    # Each used to overflow datetime and answer "Something went wrong on our side".
    for text in ("/kpi me 9999-12-31", "/kpi me 0001-01-01", "/kpi org 0001-01-01..0001-01-03", "/kpi teams 9999-12-31",
                 "/kpi team support-emea 9999-12-25..9999-12-31", "/kpi me 1969-12-31", "/kpi org 2100-01-01"):
        reply = ask(org_db, text, "alice")
        assert reply.error is not None and reply.error.code == "usage", (text, reply.error)
        assert "1970-01-01 to 2099-12-31" in reply.error.message
    # `csbot ask --at 0001-01-01` reaches the router with that "now".
    for at in (datetime(1, 1, 1, tzinfo=timezone.utc), datetime(9999, 12, 31, 23, tzinfo=timezone.utc)):
        reply = run_command(org_db, build_router(), "alice", "/kpi me", now=at, platform="console")
        assert reply.error is not None and reply.error.code == "usage", (at, reply.error)


def click(db: Database, value: str, action_id: str = "kpi.previous") -> Reply:
    return run_action(db, build_router(), "alice", action_id, value, now=NOW, platform="teams")


DAMAGED_VALUES = (
    '{"text": "/kpi team support-emea 7d", "at": "2026-01-01T00:00:00+00:00", "back": Infinity}',
    '{"text": "/kpi team support-emea 7d", "at": "2026-01-01T00:00:00+00:00", "back": -Infinity}',
    '{"text": "/kpi team support-emea 7d", "at": "2026-01-01T00:00:00+00:00", "back": NaN}',
    '{"text": "/kpi team support-emea 7d", "at": "2026-01-01T00:00:00+00:00", "back": "3"}',
    '{"text": "/kpi team support-emea 7d", "at": "2026-01-01T00:00:00+00:00", "back": true}',
    '{"text": "/kpi team support-emea 7d", "at": "2026-01-01T00:00:00+00:00", "back": 121}',
    '{"text": "/kpi team support-emea 7d", "at": "2026-01-01T00:00:00", "back": 0}',
    '{"text": "/kpi team support-emea 7d", "at": 5, "back": 0}',
    '{"text": "/csbot whoami", "at": "2026-01-01T00:00:00+00:00", "back": 0}',
    '{"text": "/kpi team \\"support", "at": "2026-01-01T00:00:00+00:00", "back": 0}',
    '{"text": ["/kpi"], "at": "2026-01-01T00:00:00+00:00", "back": 0}',
    "[" * 5000,
    '{"text":' * 2000,
    "1" * 5000,
    "null",
)


def test_a_damaged_or_forged_button_is_a_usage_refusal(org_db: Database, caplog: pytest.LogCaptureFixture) -> None:
    # Infinity used to escape int() and deep nesting json.loads, as internal errors.
    for value in DAMAGED_VALUES:
        for action_id in ("kpi.previous", "kpi.share"):
            reply = click(org_db, value, action_id)
            assert reply.error is not None and reply.error.code == "usage", (value[:80], reply.error)
            assert "damaged" in reply.error.message
    assert_no_traceback(caplog.records)


def test_a_button_for_a_moment_outside_the_supported_days_is_a_usage_refusal(org_db: Database) -> None:
    for at in ("0001-01-01T00:00:00+00:00", "9999-12-31T23:00:00-14:00", "1970-01-02T00:00:00+00:00"):
        reply = click(org_db, json.dumps({"text": "/kpi team support-emea 7d", "at": at, "back": 0}))
        assert reply.error is not None and reply.error.code == "usage", (at, reply.error)
        assert "1970-01-01 to 2099-12-31" in reply.error.message


def test_previous_window_stops_at_the_first_supported_day(org_db: Database) -> None:
    # 120 clicks back from a two-year window in 1990 would reach 1750.
    value = {"text": "/kpi org 730d", "at": "1990-01-01T00:00:00+00:00", "back": 9}
    assert click(org_db, json.dumps(value)).data["window"]["start"].startswith("1970-01-06")
    reply = click(org_db, json.dumps(value | {"back": 10}))
    assert reply.error is not None and reply.error.code == "usage" and "outside the days" in reply.error.message


def test_buttons_work_however_the_agent_was_named(org_db: Database) -> None:
    # A Slack mention whose label holds an escaped quote resolved to Alice, but
    # its buttons carried the mention and could never be parsed again.
    router = build_router()
    for named in ('<@U0123ABCD|a\\"b>', "<@U0123ABCD|Alice Smith>", '"Alice Smith"', "alice@example.com", "@ALICE"):
        reply = ask(org_db, f"/kpi agent {named} 30d", "bob")
        assert reply.ok and reply.data["agent"] == "alice", (named, reply.error)
        previous = next(b for block in reply.blocks if isinstance(block, Actions) for b in block.buttons)
        assert json.loads(previous.value)["text"] == "/kpi agent alice 30d"
        clicked = run_action(org_db, router, "bob", previous.action_id, previous.value, now=NOW, platform="slack")
        assert clicked.ok and clicked.data["agent"] == "alice", (named, clicked.error)


def test_previous_window_is_offered_only_when_there_is_one(org_db: Database) -> None:
    # A button that can only answer "outside the days" or "damaged" should not be there.
    def labels(reply: Reply) -> list[str]:
        return [b.label for block in reply.blocks if isinstance(block, Actions) for b in block.buttons]

    early = datetime(1970, 1, 12, 12, tzinfo=timezone.utc)
    router = build_router()
    first_week = run_command(org_db, router, "alice", "/kpi org 1970-01-01..1970-01-07", now=early, platform="slack")
    assert first_week.ok and labels(first_week) == ["Share in channel"]
    shared = run_command(org_db, router, "alice", "/kpi org 1970-01-01..1970-01-07 --share", now=early, platform="slack")
    assert shared.ok and not any(isinstance(block, Actions) for block in shared.blocks)  # no empty button row
    render_slack(shared)
    render_adaptive_card(shared)
    second_week = run_command(org_db, router, "alice", "/kpi org 1970-01-08..1970-01-14", now=early, platform="slack")
    assert labels(second_week) == ["Share in channel", "Previous window"]
    last_click = click(org_db, json.dumps({"text": "/kpi org 7d", "at": NOW.isoformat(), "back": 119}))
    assert "Previous window" in labels(last_click)
    previous = next(b for block in last_click.blocks if isinstance(block, Actions) for b in block.buttons if b.label == "Previous window")
    at_the_limit = click(org_db, previous.value)
    assert at_the_limit.ok and "Previous window" not in labels(at_the_limit)
