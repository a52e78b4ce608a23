"""Windows as people say them, in every command that takes one, through the router on SQLite and PostgreSQL.

`/kpi team emea last week` is the team "emea" over last week; `since monday`,
`november`, `2026-11-01 to 2026-11-15` mean what they say in /kpi, /scorecard
and /coach alike, at any moment (`--at`), across a month end and a DST change.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, select

from bot.dispatch import run_action, run_command
from bot.render.text import render_text
from handlers.registry import build_router
from handlers.reply import Actions, Reply, Table
from kpi.definitions import METRIC_NAMES
from kpi.tickets import Ticket
from store.database import Database
from store.org import Member, Team
from store.org_file import apply_org, parse_org
from tests.helpers import apply_fixture_org

FIXTURES = Path(__file__).parent / "fixtures"
UTC = timezone.utc
BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 12, 3, 10, tzinfo=UTC)  # a Thursday
_serial = iter(range(10**9))


@pytest.fixture
def org_db(db: Database) -> Database:
    apply_fixture_org(db)
    return db


def ask(db: Database, text: str, handle: str = "bob", now: datetime = NOW) -> Reply:
    return run_command(db, build_router(), handle, text, now=now, platform="console")


def add(db: Database, *, team: str = "support-emea", agent: str | None = "alice", created: datetime, solved_after: timedelta | None = None, count: int = 1) -> None:
    with db.sessions() as s, s.begin():
        team_id = s.scalar(select(Team.id).where(Team.key == team))
        agent_id = s.scalar(select(Member.id).where(Member.handle == agent)) if agent else None
        s.execute(insert(Ticket), [{
            "source": "test", "external_id": f"N{next(_serial)}", "team_id": team_id, "agent_id": agent_id,
            "status": "solved" if solved_after is not None else "open", "created_at": created.astimezone(UTC),
            "first_reply_at": created.astimezone(UTC) + timedelta(minutes=5),
            "solved_at": created.astimezone(UTC) + solved_after if solved_after is not None else None,
        } for _ in range(count)])  # fmt: skip


def window_of(reply: Reply) -> dict[str, object]:
    """The instants a reply's window covers (not how it was asked: `spec`)."""
    assert reply.ok, reply.error
    return {k: v for k, v in reply.data["window"].items() if k != "spec"}


# ---------------------------------------------------------------- every command, every form


NATURAL = [
    ("last week", "last-week"), ("this week", "week"), ("last month", "last-month"), ("this month", "month"),
    ("since monday", "2026-11-30..2026-12-03"), ("since 2026-11-01", "2026-11-01..2026-12-03"),
    ("2026-11-01 to 2026-11-15", "2026-11-01..2026-11-15"), ("from 2026-11-01 to 2026-11-15", "2026-11-01..2026-11-15"),
    ("yesterday", "2026-12-02"), ("today", "2026-12-03"), ("november", "2026-11"), ("Nov 2025", "2025-11"),
    ("last friday", "2026-11-27"), ("last 30 days", "30d"),
]  # fmt: skip
COMMANDS = [
    "/kpi team support-emea {}", "/kpi team {} support-emea", "/kpi agents support-emea {} --sort frt", "/kpi agent alice {}",
    "/kpi me {}", "/kpi teams {}", "/kpi org {}", "/kpi {}", "/kpi escalations {}", "/coach summary support-emea {}",
    "/coach summary {}",
]  # fmt: skip


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_that_takes_a_window_understands_it_as_people_say_it(org_db: Database, command: str) -> None:
    add(org_db, created=datetime(2025, 1, 1, tzinfo=UTC), solved_after=timedelta(hours=1))
    handle = "alice" if "/kpi me" in command else "bob"
    for natural, canonical in NATURAL:
        said, meant = ask(org_db, command.format(natural), handle), ask(org_db, command.format(canonical), handle)
        assert window_of(said) == window_of(meant), (command, natural)
        if command.startswith("/kpi team "):
            assert said.data["team"] == "support-emea", (command, natural)


def test_the_team_is_the_words_around_the_window_wherever_it_is_said(org_db: Database) -> None:
    add(org_db, created=NOW - timedelta(days=9), solved_after=timedelta(hours=2), count=3)
    for text in ("/kpi team support-emea last week", "/kpi team last week support-emea", "/kpi team Support EMEA last week",
                 '/kpi team "Support EMEA" last week', "/kpi team --share support-emea last week", "/kpi team support emea since monday"):
        reply = ask(org_db, text)
        assert reply.ok and reply.data["team"] == "support-emea", (text, reply.error)
    last_week = ask(org_db, "/kpi team support-emea last week")
    assert last_week.data["window"]["start"] == "2026-11-23T00:00:00+01:00" and last_week.data["metrics"]["tickets_created"] == 3
    # The buttons carry the canonical window, and a click answers the same window.
    previous = next(b for block in last_week.blocks if isinstance(block, Actions) for b in block.buttons if b.action_id == "kpi.previous")
    clicked = run_action(org_db, build_router(), "bob", "kpi.previous", previous.value, now=NOW + timedelta(days=40), platform="console")
    assert clicked.data["window"]["end"] == last_week.data["window"]["start"]


def test_team_names_with_window_words_work_when_quoted_and_are_found_when_not(org_db: Database) -> None:
    text = (FIXTURES / "org.yaml").read_text().replace(
        "members:",
        "  - {key: week-shift, name: Week Shift, timezone: UTC}\n  - {key: november, name: November, timezone: UTC}\n"
        "  - {key: shift-today, name: Shift Today, timezone: UTC}\nmembers:",
    )
    with org_db.sessions() as s, s.begin():
        apply_org(s, parse_org(text, METRIC_NAMES), now=NOW)
    for team in ("week-shift", "november", "shift-today"):
        add(org_db, team=team, agent=None, created=NOW - timedelta(days=20))
    expect = {
        '/kpi team "Week Shift" last week': ("week-shift", "2026-11-23T00:00:00+00:00"),
        "/kpi team week shift last week": ("week-shift", "2026-11-23T00:00:00+00:00"),
        '/kpi team "November"': ("november", None),
        '/kpi team "november" last month': ("november", "2026-11-01T00:00:00+00:00"),
        "/kpi team \u201cNovember\u201d 30d": ("november", None),
        "/kpi team shift today": ("shift-today", None),  # no team "shift": the whole name, over the default window
        "/kpi team week shift": ("week-shift", None),
    }
    for command, (team, start) in expect.items():
        reply = ask(org_db, command, "root")
        assert reply.ok and reply.data["team"] == team, (command, reply.error)
        if start:
            assert reply.data["window"]["start"] == start, command
    # Unquoted, a month's name is the month (Bob's own team), as it reads.
    assert ask(org_db, "/kpi team november", "bob").data["team"] == "support-emea"
    # A button of a team whose key is a window word carries it quoted, and means the team again.
    card = ask(org_db, '/kpi team "november" 7d', "root")
    previous = next(b for block in card.blocks if isinstance(block, Actions) for b in block.buttons if b.action_id == "kpi.previous")
    assert run_action(org_db, build_router(), "root", "kpi.previous", previous.value, now=NOW, platform="console").data["team"] == "november"


def test_a_person_whose_name_is_a_month_is_still_found(org_db: Database) -> None:
    text = (FIXTURES / "org.yaml").read_text() + "  - {handle: may, name: May Chen, team: support-emea, role: agent}\n"
    with org_db.sessions() as s, s.begin():
        apply_org(s, parse_org(text, METRIC_NAMES), now=NOW)
    assert ask(org_db, "/kpi agent may").data["agent"] == "may"
    june = ask(org_db, "/kpi agent may june")
    assert june.data["agent"] == "may" and june.data["window"]["start"] == "2026-06-01T00:00:00+02:00"
    assert ask(org_db, "/kpi agent may chen last week").data["agent"] == "may"


# ---------------------------------------------------------------- months, month ends and DST


def test_a_month_name_is_the_most_recent_such_month_that_has_started_and_says_so(org_db: Database) -> None:
    add(org_db, created=datetime(2025, 1, 1, tzinfo=UTC))
    november = ask(org_db, "/kpi team support-emea november")
    assert november.data["window"]["start"] == "2026-11-01T00:00:00+01:00" and not november.data["window"]["so_far"]
    assert "Window: November 2026 (Europe/Berlin)" in render_text(november)
    december = ask(org_db, "/kpi team support-emea december")
    assert december.data["window"]["so_far"] and "December 2026 so far" in render_text(december)
    # In October, November is last year's.
    assert ask(org_db, "/kpi team support-emea nov", now=datetime(2026, 10, 15, tzinfo=UTC)).data["window"]["start"] == "2025-11-01T00:00:00+01:00"


def test_a_finished_month_is_compared_with_the_whole_month_before_never_so_far(org_db: Database) -> None:
    for day in range(1, 62):
        add(org_db, created=datetime(2026, 10, 1, 12, tzinfo=UTC) + timedelta(days=day - 1), solved_after=timedelta(hours=3))
    reply = ask(org_db, "/kpi team support-emea last month")  # November (30 days) against October (31)
    text = render_text(reply)
    assert reply.data["compared_with"]["start"] == "2026-10-01T00:00:00+02:00" and reply.data["compared_with"]["end"] == "2026-11-01T00:00:00+01:00"
    assert "so far" not in text and "shorter" not in text and "up to" not in text
    assert "November 2026 has 30 days and October 2026 31" in text
    assert reply.data["changes"]["tickets_solved"] is None  # counts over 30 and 31 days: no verdict
    # Months of the same length compare like for like: August against July.
    for day in range(1, 63):
        add(org_db, created=datetime(2026, 7, 1, 12, tzinfo=UTC) + timedelta(days=day - 1), solved_after=timedelta(hours=3))
    august = ask(org_db, "/kpi team support-emea last month", now=datetime(2026, 9, 5, tzinfo=UTC))
    assert "days and" not in render_text(august) and august.data["changes"]["tickets_solved"] == "same"


@pytest.mark.parametrize(
    ("at", "spec", "start", "end"),
    [
        # A minute into November in Berlin, still October 31st in UTC.
        ("2026-10-31T23:01:00+00:00", "last month", "2026-10-01T00:00:00+02:00", "2026-11-01T00:00:00+01:00"),
        ("2026-10-31T23:01:00+00:00", "this month", "2026-11-01T00:00:00+01:00", "2026-12-01T00:00:00+01:00"),
        ("2026-10-31T23:01:00+00:00", "since sunday", "2026-11-01T00:00:00+01:00", "2026-11-02T00:00:00+01:00"),
        # The Monday after the clocks went back: last week had a 25-hour Sunday.
        ("2026-10-26T06:00:00+00:00", "last week", "2026-10-19T00:00:00+02:00", "2026-10-26T00:00:00+01:00"),
        ("2026-10-26T06:00:00+00:00", "since saturday", "2026-10-24T00:00:00+02:00", "2026-10-27T00:00:00+01:00"),
        # The Monday after they sprang forward.
        ("2026-03-30T05:30:00+00:00", "yesterday", "2026-03-29T00:00:00+01:00", "2026-03-30T00:00:00+02:00"),
    ],
)
def test_moved_clocks_across_a_month_end_and_a_dst_change(org_db: Database, at: str, spec: str, start: str, end: str) -> None:
    add(org_db, created=datetime(2025, 1, 1, tzinfo=UTC))
    for command in (f"/kpi team support-emea {spec}", f"/kpi agents support-emea {spec}"):
        window = window_of(ask(org_db, command, now=datetime.fromisoformat(at)))
        assert (window["start"], window["end"]) == (start, end), command


def test_the_scorecard_takes_days_as_people_say_them_and_last_week_is_the_weekly_one(org_db: Database) -> None:
    add(org_db, created=datetime(2025, 1, 1, tzinfo=UTC))
    friday = ask(org_db, "/scorecard support-emea last friday")
    assert friday.ok and friday.data["day"] == "2026-11-27"
    assert ask(org_db, "/scorecard support-emea monday").data["day"] == "2026-11-30"
    week = ask(org_db, "/scorecard support-emea last week")
    assert week.ok and week.data["scope"] == "scorecard_week" and week.data["team"] == "support-emea"
    assert ask(org_db, "/scorecard last week").data["scope"] == "scorecard_week"
    longer = ask(org_db, "/scorecard support-emea since monday").error
    assert longer.code == "usage" and "for one day" in longer.message


def test_coach_history_and_mine_take_natural_windows(org_db: Database) -> None:
    assert ask(org_db, "/coach @alice good save #empathy", "bob", now=NOW - timedelta(days=8)).ok
    assert ask(org_db, "/coach @alice another one", "bob", now=NOW - timedelta(days=1)).ok
    assert len(ask(org_db, "/coach history @alice last week #empathy").data["notes"]) == 1
    assert len(ask(org_db, "/coach history @alice since monday").data["notes"]) == 1
    assert len(ask(org_db, "/coach mine this month", "alice").data["notes"]) == 1
    two = ask(org_db, "/coach history @alice last week yesterday").error
    assert two.code == "usage" and "one window" in two.message


# ---------------------------------------------------------------- wrong words


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("/kpi tean", "Did you mean /kpi team"),
        ("/kpi agnets support-emea", "Did you mean /kpi agents"),
        ("/kpi teams 30d --sort csta", "Did you mean csat"),
        ("/kpi teams 30d --sotr csat", "Did you mean --sort?"),
        ("/kpi team --shar", "Did you mean --share?"),
        ("/kpi team support-emea last weak", "Did you mean last week?"),
        ("/kpi team support-emea novmber", "Did you mean november?"),
        ("/kpi team emea sinse monday", "Did you mean since monday?"),
        ("/kpi org since", "'since' is not a window"),
        ("/kpi team last 9999999 days", "'last 9999999 days' is not a window"),
        ('/kpi team "last week"', "without them, last week is a window: /kpi team last week"),
        ("/csbot whoam", "Did you mean /csbot whoami?"),
        ("/csbot teasm", "Did you mean /csbot teams?"),
        ("/csbot help kip", "Did you mean /kpi?"),
    ],
)
def test_every_closed_vocabulary_suggests_what_was_meant(org_db: Database, text: str, says: str) -> None:
    reply = ask(org_db, text)
    assert reply.error is not None and reply.error.code in ("usage", "not_found"), (text, reply.error)
    assert says in reply.error.message, (text, reply.error.message)


# ---------------------------------------------------------------- what the tables and cards say


def test_the_agent_table_adds_up_to_the_team_with_an_unassigned_row(org_db: Database) -> None:
    add(org_db, created=NOW - timedelta(days=3), count=4)  # alice's, open
    add(org_db, created=NOW - timedelta(days=3), solved_after=timedelta(hours=1), count=2)
    add(org_db, agent=None, created=NOW - timedelta(days=2), count=3)  # nobody's yet
    add(org_db, agent=None, created=NOW - timedelta(days=2), solved_after=timedelta(hours=2))
    table = ask(org_db, "/kpi agents support-emea 7d --sort backlog")
    team = ask(org_db, "/kpi team support-emea 7d")
    rows = {row[0]: row for row in next(b for b in table.blocks if isinstance(b, Table)).rows}
    assert list(rows)[-1] == "Unassigned (no agent)"  # last, whatever the sort
    assert table.data["unassigned"]["metrics"]["backlog"] == 3 and table.data["unassigned"]["metrics"]["tickets_solved"] == 1
    summed = sum(r["metrics"]["backlog"] for r in table.data["rows"]) + table.data["unassigned"]["metrics"]["backlog"]
    assert summed == team.data["metrics"]["backlog"] == table.data["team_total"]["backlog"] == 7
    assert "the rows add up to it" in render_text(table)
    # A lead's own tickets are the team's but no agent row's: the table says so instead of not adding up silently.
    add(org_db, agent="bob", created=NOW - timedelta(days=1))
    told = render_text(ask(org_db, "/kpi agents support-emea 7d"))
    assert "3 solved, 8 open at the end of the window; the rows add up to 3 solved and 7 open" in told and "not listed here" in told


def test_a_window_before_any_data_says_so_instead_of_a_card_of_zeros(org_db: Database) -> None:
    add(org_db, created=datetime(2026, 9, 6, 8, tzinfo=UTC), solved_after=timedelta(hours=1))
    for text in ("/kpi team support-emea 2020-01-01 to 2020-01-31", "/kpi org nov 2025", "/kpi teams 2026-01",
                 "/kpi agents support-emea 2026-09-01..2026-09-05", "/kpi agent alice last month"):
        reply = ask(org_db, text, now=datetime(2026, 9, 20, tzinfo=UTC))
        assert reply.ok and reply.data["no_data"] is True, (text, reply.error)
        assert not any(isinstance(b, Table) for b in reply.blocks) and "starts on 2026-09-06" in render_text(reply), text
    # A window that reaches into the data is a card, as before.
    assert ask(org_db, "/kpi team support-emea since 2026-09-01", now=datetime(2026, 9, 20, tzinfo=UTC)).data["metrics"]["tickets_solved"] == 1


def test_teams_sorted_by_qa_for_a_manager_who_sees_only_their_teams_qa(org_db: Database) -> None:
    add(org_db, created=NOW - timedelta(days=2))
    add(org_db, team="support-amer", agent="carol", created=NOW - timedelta(days=2))
    with org_db.sessions() as s, s.begin():
        apply_org(s, parse_org((FIXTURES / "org.yaml").read_text() + _RUBRIC, METRIC_NAMES), now=NOW)
    assert ask(org_db, "/qa @alice T-1 accuracy=2 tone=5 policy=pass", "bob", now=NOW - timedelta(days=1)).ok
    assert ask(org_db, "/qa @carol T-2 accuracy=1 tone=3 policy=pass", "dana", now=NOW - timedelta(days=1)).ok
    reply = ask(org_db, "/kpi teams 30d --sort qa", "dana")  # manager of support-amer only
    assert reply.ok and reply.data["sort"] == "qa_score"
    assert [r["team"] for r in reply.data["rows"]] == ["support-amer", "support-emea"]
    assert reply.data["rows"][1]["metrics"]["qa_score"] is None and reply.data["rows"][0]["metrics"]["qa_score"] is not None
    assert "QA column shows support-amer only" in render_text(reply)
    everyone = ask(org_db, "/kpi teams 30d --sort qa", "root")
    assert everyone.data["sort_limited"] is None and all(r["metrics"]["qa_score"] is not None for r in everyone.data["rows"])
    in_channel = ask(org_db, "/kpi teams 30d --sort qa --share", "root")
    assert in_channel.ok and in_channel.data["sort"] is None and "never posted in a channel" in render_text(in_channel)


_RUBRIC = """
qa:
  pass: 0.8
  rubric:
    - {key: accuracy, name: Accuracy, weight: 3, scale: 0-2, critical: true}
    - {key: tone, name: Tone, weight: 1, scale: 1-5}
    - {key: policy, name: Policy followed, weight: 2, scale: pass-fail}
"""


def test_roles_read_with_the_right_article(org_db: Database) -> None:
    admin = ask(org_db, "/kpi agent root", "bob").error
    assert admin.code == "forbidden" and "is an admin, not an agent" in admin.message
    audit = ask(org_db, "/coach audit @alice", "alice").error
    assert "Only an admin or above" in audit.message and "signed in as an agent" in audit.message
