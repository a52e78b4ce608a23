"""/kpi answers a lead can trust: honest comparisons, sample sizes, the agent table,
refusals with their real reason, former members, accents, and any window length.

Every test runs through the router, as every surface does, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, select

from bot.dispatch import run_command
from bot.render.slack import render_slack
from bot.render.teams import render_adaptive_card
from bot.render.text import render_text
from handlers.registry import build_router
from handlers.reply import Reply, Table
from kpi.definitions import METRIC_NAMES
from kpi.tickets import Ticket
from store.database import Database
from store.org import Member, Team
from store.org_file import apply_org, parse_org
from tests.helpers import apply_fixture_org

FIXTURES = Path(__file__).parent / "fixtures"
UTC = timezone.utc
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def org_db(db: Database) -> Database:
    apply_fixture_org(db)
    return db


def ask(db: Database, text: str, handle: str, now: datetime) -> Reply:
    return run_command(db, build_router(), handle, text, now=now, platform="console")


def ids(db: Database) -> tuple[dict[str, int], dict[str, int]]:
    with db.sessions() as s:
        return dict(s.execute(select(Team.key, Team.id)).all()), dict(s.execute(select(Member.handle, Member.id)).all())


_serial = iter(range(10**9))


def add(db: Database, *, team: str = "support-emea", agent: str | None = "alice", created: datetime, reply_s: int | None = None,
        solved_s: int | None = None, csat: str | None = None, count: int = 1) -> None:
    teams, members = ids(db)
    created = created.astimezone(UTC)
    rows = []
    for _ in range(count):
        rows.append({
            "source": "test",
            "external_id": f"T{next(_serial)}",
            "team_id": teams[team],
            "agent_id": members[agent] if agent else None,
            "status": "solved" if solved_s is not None else "open",
            "created_at": created,
            "first_reply_at": created + timedelta(seconds=reply_s) if reply_s is not None else None,
            "solved_at": created + timedelta(seconds=solved_s) if solved_s is not None else None,
            "csat": csat,
        })
    with db.sessions() as s, s.begin():
        s.execute(insert(Ticket), rows)


def card_rows(reply: Reply) -> dict[str, tuple[str, ...]]:
    table = next(b for b in reply.blocks if isinstance(b, Table))
    return {row[0]: row for row in table.rows}


def every_text(reply: Reply) -> dict[str, str]:
    """The reply as each surface shows it: plain text, Block Kit JSON and Adaptive Card JSON."""
    return {
        "text": render_text(reply),
        "slack": json.dumps(render_slack(reply), ensure_ascii=False),
        "teams": json.dumps(render_adaptive_card(reply), ensure_ascii=False),
    }


# ---------------------------------------------------------------- comparisons


def test_week_so_far_on_monday_morning_compares_with_last_monday_morning(org_db: Database) -> None:
    monday = datetime(2026, 11, 30, 7, 30, tzinfo=BERLIN)
    add(org_db, created=datetime(2026, 11, 1, 10, tzinfo=BERLIN))  # earlier data exists
    add(org_db, created=datetime(2026, 11, 23, 5, 0, tzinfo=BERLIN), reply_s=600)  # last Monday, before 07:30
    add(org_db, created=datetime(2026, 11, 23, 9, 0, tzinfo=BERLIN), count=4, reply_s=60)  # last Monday, after 07:30
    add(org_db, created=datetime(2026, 11, 30, 6, 0, tzinfo=BERLIN), count=2, reply_s=300)  # this Monday, so far
    reply = ask(org_db, "/kpi team support-emea week", "bob", monday)
    assert reply.ok, reply.error
    assert reply.data["window"]["so_far"] is True
    assert reply.data["metrics"]["tickets_created"] == 2
    assert reply.data["compared_with"]["until"] == datetime(2026, 11, 23, 7, 30, tzinfo=BERLIN).isoformat()
    assert reply.data["previous"]["tickets_created"] == 1  # not the 5 of the whole of last Monday
    rows = card_rows(reply)
    assert rows["Tickets created"][2] == "▲ 1"  # demand: no better or worse
    assert rows["First reply (median)"][2] == "▼ 5m better"
    note = render_text(reply)
    assert "so far, to Mon 2026-11-30 07:30" in note and "up to Mon 2026-11-23 07:30" in note


def test_month_so_far_on_the_23rd_compares_with_last_month_up_to_the_23rd(org_db: Database) -> None:
    now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    add(org_db, team="support-amer", agent="carol", created=datetime(2026, 9, 1, tzinfo=UTC))
    add(org_db, team="support-amer", agent="carol", created=datetime(2026, 10, 10, tzinfo=UTC), solved_s=3600, csat="good", count=3)
    add(org_db, team="support-amer", agent="carol", created=datetime(2026, 10, 28, tzinfo=UTC), solved_s=3600, csat="good", count=7)
    add(org_db, team="support-amer", agent="carol", created=datetime(2026, 11, 5, tzinfo=UTC), solved_s=3600, csat="bad", count=2)
    reply = ask(org_db, "/kpi team support-amer month", "dana", now)
    assert reply.data["metrics"]["tickets_solved"] == 2 and reply.data["previous"]["tickets_solved"] == 3
    assert reply.data["changes"]["tickets_solved"] == "worse" and reply.data["changes"]["csat"] == "worse"
    rows = card_rows(reply)
    assert rows["CSAT"][1] == "0.0% (n=2)" and rows["CSAT"][2] == "▼ 100.0 pts worse"


def test_a_window_before_the_first_ticket_has_no_earlier_data(org_db: Database) -> None:
    now = datetime(2026, 11, 30, 12, tzinfo=UTC)
    add(org_db, created=now - timedelta(days=10), count=6019)
    reply = ask(org_db, "/kpi team support-emea 30d", "alice", now)
    assert reply.data["metrics"]["tickets_created"] == 6019
    assert reply.data["previous"] is None and reply.data["compared_with"] is None and reply.data["changes"] is None
    assert all(row[2] == "—" for row in card_rows(reply).values())
    assert "no earlier data" in render_text(reply) and "6,019" not in card_rows(reply)["Tickets created"][2]
    # A scope with no tickets at all has nothing earlier either, and says it has no data yet.
    empty = ask(org_db, "/kpi team support-amer 7d", "alice", now)
    assert empty.data["previous"] is None and "no earlier data" in render_text(empty)
    assert "There are no tickets and no QA reviews for Support Americas yet" in render_text(empty)
    # Once the earlier window lies within the data, the comparison is back.
    assert ask(org_db, "/kpi team support-emea 3d", "alice", now).data["previous"] is not None


def test_a_window_that_has_not_started_is_a_clear_message_not_zeros(org_db: Database) -> None:
    now = datetime(2026, 11, 30, 12, tzinfo=UTC)
    for text in ("/kpi team support-emea 2026-12-24", "/kpi org 2026-12-24..2026-12-26", "/kpi me 2027-01-01"):
        reply = ask(org_db, text, "alice", now)
        assert reply.error is not None and reply.error.code == "invalid", text
        assert "has not started yet" in reply.error.message and not reply.data


def test_better_and_worse_survive_every_surface(org_db: Database) -> None:
    now = datetime(2026, 11, 30, 12, tzinfo=UTC)
    add(org_db, created=now - timedelta(days=30), reply_s=60)
    add(org_db, created=now - timedelta(days=10), reply_s=7200, solved_s=9000, csat="good", count=4)
    add(org_db, created=now - timedelta(days=3), reply_s=600, solved_s=9000, csat="bad", count=2)
    reply = ask(org_db, "/kpi team support-emea 7d", "alice", now)
    rows = card_rows(reply)
    assert rows["First reply (median)"][2] == "▼ 1h 50m better"
    assert rows["CSAT"][2] == "▼ 100.0 pts worse"
    assert rows["Backlog"][2] == "= same"
    for surface, text in every_text(reply).items():
        for words in ("▼ 1h 50m better", "▼ 100.0 pts worse", "0.0% (n=2)", "10m (n=2)"):
            assert words in text, (surface, words)


def test_rates_and_medians_show_their_sample_size_in_cards_and_json(org_db: Database) -> None:
    now = datetime(2026, 11, 30, 12, tzinfo=UTC)
    add(org_db, created=now - timedelta(days=2), reply_s=120, solved_s=3600, csat="good", count=5)
    add(org_db, created=now - timedelta(days=2), reply_s=120, solved_s=3600, csat="bad", count=1)
    add(org_db, created=now - timedelta(days=2), count=3)  # open, no reply yet
    reply = ask(org_db, "/kpi team support-emea 7d", "bob", now)
    rows = card_rows(reply)
    assert rows["CSAT"][1] == "83.3% (n=6)"
    assert rows["First reply (median)"][1] == "2m (n=6)"
    assert rows["Tickets created"][1] == "9"  # a count is its own sample
    data = reply.data["metrics"]
    assert (data["n_csat"], data["n_first_reply"], data["n_resolution"], data["n_sla"]) == (6, 6, 6, 0)
    assert reply.data["status"]["csat"] == "missed"  # 83.3% against a 90% target


# ---------------------------------------------------------------- the lead's view


def _agents_org(db: Database) -> None:
    """The fixture org plus a second EMEA agent, a teamless manager and an EMEA lead."""
    text = (FIXTURES / "org.yaml").read_text() + (
        "  - {handle: chloe, name: Chloé Martin, email: chloe@example.com, team: support-emea, role: agent}\n"
        "  - {handle: mona, name: Mona Overall, team: null, role: manager}\n"
        "  - {handle: katrin, name: Katrin Vogel, team: support-emea, role: lead}\n"
    )
    spec = parse_org(text, METRIC_NAMES)
    with db.sessions() as s, s.begin():
        apply_org(s, spec)


def test_agents_table_rows_match_each_agents_own_card(org_db: Database) -> None:
    _agents_org(org_db)
    now = datetime(2026, 11, 30, 12, tzinfo=UTC)
    add(org_db, agent="alice", created=now - timedelta(days=20))
    add(org_db, agent="alice", created=now - timedelta(days=3), reply_s=60, solved_s=600, csat="good", count=4)
    add(org_db, agent="chloe", created=now - timedelta(days=3), reply_s=7200, solved_s=9000, csat="bad", count=2)
    add(org_db, agent="bob", created=now - timedelta(days=3), reply_s=60, count=9)  # the lead's own tickets
    reply = ask(org_db, "/kpi agents support-emea 7d --sort frt", "bob", now)
    assert reply.ok, reply.error
    rows = reply.data["rows"]
    assert [r["agent"] for r in rows] == ["alice", "chloe"]  # agents only, best first reply first
    for row in rows:
        own = ask(org_db, f"/kpi agent {row['agent']} 7d", "bob", now)
        assert row["metrics"] == own.data["metrics"]
    assert rows[0]["status"]["first_reply_median_s"] == "met" and rows[1]["status"]["csat"] == "missed"
    table = next(b for b in reply.blocks if isinstance(b, Table))
    assert table.columns[0] == "Agent" and "First reply (median)" in table.columns
    assert table.rows[0][0] == "Alice Smith" and "100.0% (n=4) ✅" in table.rows[0]
    assert "0.0% (n=2) ❌" in table.rows[1]
    assert "sorted by First reply (median), best first" in render_text(reply)
    # Default team: the caller's own; default sort: by name.
    mine = ask(org_db, "/kpi agents 7d", "bob", now)
    assert mine.data["team"] == "support-emea" and [r["name"] for r in mine.data["rows"]] == ["Alice Smith", "Chloé Martin"]


def test_agents_table_privacy_per_role(org_db: Database) -> None:
    _agents_org(org_db)
    now = datetime(2026, 11, 30, 12, tzinfo=UTC)
    allowed = {("bob", "support-emea"), ("katrin", "support-emea"), ("dana", "support-amer"), ("root", "support-emea"),
               ("root", "support-amer"), ("mona", "support-emea"), ("mona", "support-amer")}
    for handle in ("alice", "bob", "carol", "dana", "root", "mona", "katrin", "chloe"):
        for team in ("support-emea", "support-amer"):
            reply = ask(org_db, f"/kpi agents {team} 7d", handle, now)
            if (handle, team) in allowed:
                assert reply.ok, (handle, team, reply.error)
            else:
                assert reply.error is not None and reply.error.code == "forbidden", (handle, team)
    assert "/kpi me" in ask(org_db, "/kpi agents", "alice", now).error.message
    assert "not Support Americas" in ask(org_db, "/kpi agents support-amer", "bob", now).error.message
    shared = ask(org_db, "/kpi agents support-emea --share", "bob", now)
    assert shared.error.code == "forbidden" and "not shared" in shared.error.message


def test_refusals_name_the_real_reason(org_db: Database) -> None:
    _agents_org(org_db)
    now = datetime(2026, 11, 30, 12, tzinfo=UTC)
    lead = ask(org_db, "/kpi agent katrin", "bob", now).error
    assert lead.code == "forbidden" and "Katrin Vogel is a lead, not an agent; /kpi agent shows agents" in lead.message
    other_team = ask(org_db, "/kpi agent carol", "bob", now).error
    assert "Carol Diaz is on Support Americas, not your team (Support EMEA)" in other_team.message
    private = ask(org_db, "/kpi agent chloe", "alice", now).error
    assert "private" in private.message and "not on your team" not in private.message
    assert "is a manager, not an agent" in ask(org_db, "/kpi agent dana", "bob", now).error.message
    assert ask(org_db, "/kpi agent carol", "mona", now).ok  # a manager without a team oversees everyone
    assert ask(org_db, "/kpi agent katrin", "root", now).ok  # admins see everyone


def test_deactivated_agents_keep_their_history(org_db: Database) -> None:
    now = datetime(2026, 11, 30, 12, tzinfo=UTC)
    add(org_db, agent="alice", created=now - timedelta(days=40), reply_s=60, solved_s=600, count=3)
    text = (FIXTURES / "org.yaml").read_text()
    start, end = text.index("  - handle: alice"), text.index("  - handle: bob")
    spec = parse_org(text[:start] + text[end:], METRIC_NAMES)
    with org_db.sessions() as s, s.begin():
        result = apply_org(s, spec, now=datetime(2026, 11, 2, 9, tzinfo=UTC))
    assert "member alice" in result.deactivated
    card = ask(org_db, "/kpi agent @alice 60d", "bob", now)
    assert card.ok, card.error
    assert card.data["metrics"]["tickets_solved"] == 3 and card.data["agent_active"] is False
    assert "inactive since 2026-11-02" in render_text(card)
    assert ask(org_db, "/kpi agent alice 60d", "carol", now).error.code == "forbidden"  # privacy still holds
    assert ask(org_db, "/kpi agent Alice Smith 60d", "root", now).ok  # by name too
    table = ask(org_db, "/kpi agents support-emea 60d", "bob", now)
    assert [(r["agent"], r["active"]) for r in table.data["rows"]] == [("alice", False)]
    assert ask(org_db, "/kpi agents support-emea 7d", "bob", now).data["rows"] == []  # no work in that window
    # Re-listing her in the org file brings her back, without the date.
    with org_db.sessions() as s, s.begin():
        apply_org(s, parse_org(text, METRIC_NAMES), now=now)
        assert s.scalar(select(Member).where(Member.handle == "alice")).deactivated_at is None


def test_names_match_whatever_the_case_accents_and_spaces(org_db: Database) -> None:
    _agents_org(org_db)
    now = datetime(2026, 11, 30, 12, tzinfo=UTC)
    for typed in ("chloe martin", "CHLOE  MARTIN", "Chloé Martin", "@Chloe", "chloe@EXAMPLE.com"):
        reply = ask(org_db, f"/kpi agent {typed} 7d", "bob", now)
        assert reply.ok and reply.data["agent"] == "chloe", typed
    assert ask(org_db, "/kpi team support emea 7d", "alice", now).data["team"] == "support-emea"
    assert ask(org_db, '/kpi team "SUPPORT  emea"', "alice", now).data["team"] == "support-emea"
    # Two people folding to one name: the answer names both handles instead of guessing.
    text = (FIXTURES / "org.yaml").read_text() + (
        "  - {handle: chloe, name: Chloé Martin, team: support-emea, role: agent}\n"
        "  - {handle: chloe2, name: Chloe Martin, team: support-emea, role: agent}\n"
    )
    with org_db.sessions() as s, s.begin():
        apply_org(s, parse_org(text, METRIC_NAMES), now=now)
    both = ask(org_db, "/kpi agent chloe martin", "bob", now).error
    assert both.code == "invalid" and "@chloe" in both.message and "@chloe2" in both.message


def test_windows_of_several_years_are_answered(org_db: Database) -> None:
    now = datetime(2026, 11, 30, 12, tzinfo=UTC)
    for year in (2023, 2024, 2025, 2026):
        add(org_db, created=datetime(year, 3, 1, tzinfo=UTC), reply_s=60, solved_s=600, count=2)
    tenure = ask(org_db, "/kpi agent alice 2023-01-01..2026-11-29", "bob", now)
    assert tenure.ok and tenure.data["metrics"]["tickets_solved"] == 8
    org_year = ask(org_db, "/kpi org 365d", "alice", now)
    assert org_year.ok and org_year.data["metrics"]["tickets_created"] == 2
    assert ask(org_db, "/kpi org 2000d", "alice", now).data["metrics"]["tickets_created"] == 8
    assert ask(org_db, "/kpi teams 1500d", "alice", now).ok


@pytest.mark.parametrize("typed", ["last_week", "1w", "7days", "2026/11", "2026/11/01", "-5d", "yesterdy"])
@pytest.mark.parametrize("command", ["/kpi team {}", "/kpi team support-emea {}", "/kpi {}", "/kpi me {}", "/kpi org {}",
                                     "/kpi teams {}", "/kpi agent alice {}", "/kpi agents {}"])
def test_mistyped_windows_get_not_a_window_never_no_team(org_db: Database, command: str, typed: str) -> None:
    reply = ask(org_db, command.format(typed), "bob", datetime(2026, 11, 30, 12, tzinfo=UTC))
    assert reply.error is not None and reply.error.code == "usage", (command, typed, reply.error)
    assert "is not a window" in reply.error.message and "no team" not in reply.error.message
    assert "Did you mean" in reply.error.message


# ---------------------------------------------------------------- /kpi teams


def test_teams_table_shows_status_per_cell_and_always_the_sort_column(org_db: Database) -> None:
    now = datetime(2026, 11, 30, 12, tzinfo=UTC)
    add(org_db, team="support-emea", created=now - timedelta(days=2), reply_s=60, solved_s=600, csat="good", count=3)
    add(org_db, team="support-amer", agent="carol", created=now - timedelta(days=2), reply_s=7200, solved_s=600, csat="bad", count=2)
    reply = ask(org_db, "/kpi teams 7d --sort csat", "alice", now)
    assert [r["team"] for r in reply.data["rows"]] == ["support-emea", "support-amer"]
    assert reply.data["rows"][1]["status"] == {"first_reply_median_s": "missed", "csat": "missed"}
    table = next(b for b in reply.blocks if isinstance(b, Table))
    assert "100.0% (n=3) ✅" in table.rows[0] and "0.0% (n=2) ❌" in table.rows[1]
    assert "✅ met" in render_text(reply)  # the legend
    p90 = ask(org_db, "/kpi teams 7d --sort first_reply_p90_s", "alice", now)
    assert next(b for b in p90.blocks if isinstance(b, Table)).columns[-1] == "First reply (p90)"
    for alias, metric in (("sla", "sla_attainment"), ("frt", "first_reply_median_s"), ("CSAT", "csat"), ("reopen", "reopen_rate")):
        assert ask(org_db, f"/kpi teams --sort {alias}", "alice", now).data["sort"] == metric
    assert [r["team"] for r in ask(org_db, "/kpi teams 7d", "alice", now).data["rows"]] == ["support-amer", "support-emea"]
    unknown = ask(org_db, "/kpi teams --sort speed", "alice", now).error
    assert unknown.code == "usage" and "Cannot sort by 'speed'" in unknown.message


def test_help_lists_the_sortable_metrics_and_aliases(org_db: Database) -> None:
    text = render_text(ask(org_db, "/kpi help", "alice", datetime(2026, 11, 30, tzinfo=UTC)))
    for word in ("/kpi agents", "first_reply_p90_s", "sla", "frt", "csat", "reopen", "so far"):
        assert word in text, word


# ---------------------------------------------------------------- edges found by trying it


@pytest.mark.parametrize(
    ("text", "says"),
    [("/kpi team 2026-11-01 2026-11-30", "ask for 2026-11-01 to 2026-11-30"),
     ("/kpi team support-emea 2026-11-01 2026-11-30", "ask for 2026-11-01 to 2026-11-30"),
     ("/kpi team 2026-11-01 to", "a span needs two dates"),
     ("/kpi team week 30d", "two windows, week and 30d"),
     ("/kpi team last week 30d", "two windows, last week and 30d"),
     ("/kpi team emea last week this month", "two windows, last week and this month"),
     ("/kpi agent alice week 7d", "two windows, week and 7d"),
     ("/kpi me 7d 30d", "two windows, 7d and 30d"),
     ("/kpi teams week month", "two windows, week and month"),
     ("/kpi team 7-days", "Did you mean 7d"),
     ("/kpi agents 30_day", "Did you mean 30d?"),
     ("/kpi team last-7-days", "Did you mean 7d?"),
     ("/kpi me 3months", "Did you mean 90d?")],
)
def test_two_windows_and_dashed_windows_are_usage_not_unknown_names(org_db: Database, text: str, says: str) -> None:
    reply = ask(org_db, text, "bob", datetime(2026, 11, 30, 12, tzinfo=UTC))
    assert reply.error is not None and reply.error.code == "usage", (text, reply.error)
    assert says in reply.error.message and "no team" not in reply.error.message and "no member" not in reply.error.message


def test_durations_keep_the_unit_that_misses_the_target_and_tiny_changes_are_the_same() -> None:
    from handlers.humanize import change, duration

    assert duration(87913) == "1d 0h 25m" and duration(86400) == "1d" and duration(3630) == "1h 0m 30s"
    assert duration(6600) == "1h 50m" and duration(45) == "45s"
    assert change("resolution_median_s", 10100.32, 10100.48) == "= same"
    assert change("csat", 0.90001, 0.9) == "= same"
    assert change("tickets_solved", 30, 28, judged=False) == "▲ 2"


def test_a_running_month_against_a_shorter_one_does_not_judge_counts(org_db: Database) -> None:
    now = datetime(2026, 3, 31, 12, tzinfo=BERLIN)
    add(org_db, created=datetime(2026, 1, 1, 10, tzinfo=BERLIN))
    add(org_db, created=datetime(2026, 2, 10, 10, tzinfo=BERLIN), reply_s=600, solved_s=900, count=2)
    add(org_db, created=datetime(2026, 3, 10, 10, tzinfo=BERLIN), reply_s=60, solved_s=900, count=5)
    reply = ask(org_db, "/kpi team support-emea month", "bob", now)
    rows = card_rows(reply)
    assert rows["Tickets solved"][2] == "▲ 3"  # 30½ days against February's 28: no "better"
    assert rows["First reply (median)"][2] == "▼ 9m better"  # a median is fair over any span
    assert reply.data["changes"]["tickets_solved"] is None and reply.data["changes"]["first_reply_median_s"] == "better"
    text = render_text(reply)
    assert "shorter" in text and "up to" not in text


def test_namesakes_are_listed_and_told_apart_and_letters_without_accents_fold(org_db: Database) -> None:
    now = datetime(2026, 11, 30, 12, tzinfo=UTC)
    base = (FIXTURES / "org.yaml").read_text()
    text = base + (
        "  - {handle: alexk1, name: Alex Kim, team: support-emea, role: agent}\n"
        "  - {handle: alexk2, name: Alex Kim, team: support-emea, role: agent}\n"
        "  - {handle: soren, name: Søren Østergaard, team: support-emea, role: agent}\n"
        "  - {handle: lukasz, name: Łukasz Wiśniewski, team: support-emea, role: agent}\n"
        "  - {handle: isil, name: Işıl Yıldız, team: support-emea, role: agent}\n"
    )
    with org_db.sessions() as s, s.begin():
        apply_org(s, parse_org(text, METRIC_NAMES), now=now)
    for typed, handle in (("soren ostergaard", "soren"), ("lukasz wisniewski", "lukasz"), ("isil yildiz", "isil")):
        assert ask(org_db, f"/kpi agent {typed}", "bob", now).data["agent"] == handle, typed
    table = ask(org_db, "/kpi agents", "bob", now)
    names = [row[0] for row in next(b for b in table.blocks if isinstance(b, Table)).rows]
    assert "Alex Kim (@alexk1)" in names and "Alex Kim (@alexk2)" in names and "Alice Smith" in names
    assert names.index("Łukasz Wiśniewski") < names.index("Søren Østergaard")  # alphabetical as people read it
    # One namesake leaves: the name still names two people, so the answer lists both.
    with org_db.sessions() as s, s.begin():
        apply_org(s, parse_org(text.replace("  - {handle: alexk1, name: Alex Kim, team: support-emea, role: agent}\n", ""), METRIC_NAMES), now=now)
    both = ask(org_db, "/kpi agent alex kim", "bob", now).error
    assert both.code == "invalid" and "@alexk1 (inactive)" in both.message and "@alexk2" in both.message


def test_a_former_agent_with_open_tickets_stays_in_the_table(org_db: Database) -> None:
    now = datetime(2026, 11, 30, 12, tzinfo=UTC)
    add(org_db, agent="alice", created=now - timedelta(days=30), count=8)  # never solved
    text = (FIXTURES / "org.yaml").read_text()
    start, end = text.index("  - handle: alice"), text.index("  - handle: bob")
    with org_db.sessions() as s, s.begin():
        apply_org(s, parse_org(text[:start] + text[end:], METRIC_NAMES), now=now - timedelta(days=1))
    rows = ask(org_db, "/kpi agents support-emea today", "bob", now).data["rows"]
    assert [(r["agent"], r["metrics"]["backlog"]) for r in rows] == [("alice", 8)]


def test_sorting_breaks_ties_by_sample_size_and_dashes_from_phones_are_options(org_db: Database) -> None:
    now = datetime(2026, 11, 30, 12, tzinfo=UTC)
    text = (FIXTURES / "org.yaml").read_text() + "  - {handle: chloe, name: Chloé Martin, team: support-emea, role: agent}\n"
    with org_db.sessions() as s, s.begin():
        apply_org(s, parse_org(text, METRIC_NAMES), now=now)
    add(org_db, agent="chloe", created=now - timedelta(days=2), solved_s=600, csat="good", count=1)
    add(org_db, agent="alice", created=now - timedelta(days=2), solved_s=600, csat="good", count=9)
    for typed in ("/kpi agents —sort csat", "/kpi agents –sort=csat", "/kpi agents --sort csat"):
        rows = ask(org_db, typed, "bob", now).data["rows"]
        assert [r["agent"] for r in rows] == ["alice", "chloe"], typed  # 100% of 9 before 100% of 1


def test_an_agent_on_no_team_is_refused_without_naming_a_lead_they_lack(org_db: Database) -> None:
    now = datetime(2026, 11, 30, 12, tzinfo=UTC)
    text = (FIXTURES / "org.yaml").read_text() + "  - {handle: floater, name: Flo Ater, role: agent}\n"
    with org_db.sessions() as s, s.begin():
        apply_org(s, parse_org(text, METRIC_NAMES), now=now)
    refused = ask(org_db, "/kpi agent floater", "bob", now).error
    assert refused.code == "forbidden" and "not on a team" in refused.message and "lead sees" not in refused.message
