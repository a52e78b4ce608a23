"""Business-hours KPIs: first reply and resolution counted on each ticket's team calendar.

The reference is tests/kpi_oracle.py, which reads the org file's calendars by
hand and counts business time from zoneinfo day by day (checked here against
a minute-by-minute count), sharing no code with kpi/ or store/business_time.
Tickets span both daylight-saving changes of 2026, Berlin's Good Friday and
Easter Monday, a day off of the calendar's own, a split day and ranges past
midnight.
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, insert, select

from bot.dispatch import run_action, run_command
from bot.render.text import render_text
from bot.slack.notifier import SlackNotifier
from bot.tick import run_tick
from handlers.kpi_request import PREVIOUS_ACTION
from handlers.registry import build_router
from handlers.reply import Actions, Chart, Reply
from kpi.business_hours import BUSINESS_NAMES
from kpi.day_facts import DayCalendar, DayFacts, DirtyDay, refresh
from kpi.definitions import BY_NAME
from kpi.engine import Scope, compute, compute_by_agent, compute_by_team, compute_series
from kpi.tickets import Ticket
from store.database import Database
from store.engine import write_transaction
from store.org import Member, Org, Team
from store.org_file import apply_org, parse_org
from tests.fake_slack import FakeSlack
from tests.kpi_oracle import Hours, T, assert_same, business_seconds, oracle, team_hours
from tests.test_kpi_alerts import posted

UTC = timezone.utc
BASE = datetime(2026, 3, 1, tzinfo=UTC)
NOW = datetime(2026, 4, 20, 12, 0, tzinfo=UTC)
ROUTER = build_router()

ORG = {
    "org": {"name": "Acme Support", "timezone": "UTC", "calendar": "berlin"},
    "calendars": [
        {
            "key": "berlin",
            "timezone": "Europe/Berlin",
            "hours": ["mon-fri 08:00-12:00,13:00-18:00", "sat 22:00-02:00"],
            "holidays": {"country": "DE", "subdiv": "BE", "dates": ["2026-03-20"]},
        },
        {"key": "chicago-nights", "timezone": "America/Chicago", "hours": ["mon-fri 20:00-04:00", "sun 10:00-14:00"]},
    ],
    "teams": [
        {"key": "emea", "name": "EMEA", "timezone": "Europe/Berlin", "targets": {"first_reply_median_s": 3600}},  # the org's calendar
        {"key": "amer", "name": "Americas", "timezone": "America/Chicago", "calendar": "chicago-nights"},
        {"key": "tier2", "name": "Tier 2", "timezone": "UTC", "calendar": "none", "targets": {"first_reply_median_s": 3600}},
    ],
    "members": [
        {"handle": "alice", "name": "Alice", "team": "emea", "role": "agent"},
        {"handle": "bob", "name": "Bob", "team": "emea", "role": "lead"},
        {"handle": "carol", "name": "Carol", "team": "amer", "role": "agent"},
        {"handle": "root", "name": "Root", "role": "admin"},
    ],
}


def apply(db: Database, doc: dict) -> None:  # type: ignore[type-arg]
    with db.sessions() as s, s.begin():
        apply_org(s, parse_org(yaml.safe_dump(doc, sort_keys=False), BY_NAME))


def do_refresh(db: Database) -> int:
    with write_transaction(db.sessions) as s:
        return refresh(s)


@pytest.fixture
def ids(db: Database) -> dict[str, int]:
    apply(db, ORG)
    with db.sessions() as s:
        return dict(s.execute(select(Team.key, Team.id)).all()) | dict(s.execute(select(Member.handle, Member.id)).all())


def seed(db: Database, ids: dict[str, int], count: int = 900, seed: int = 5, minutes: bool = False) -> None:
    """Tickets over 45 days from 1 March 2026, some without a team, some with an agent; `minutes`: on whole minutes."""
    rng = random.Random(seed)
    step = 60 if minutes else 1
    rows = []
    teams = [ids["emea"], ids["amer"], ids["tier2"], None]
    for i in range(count):
        team = rng.choice(teams)
        created = BASE + timedelta(seconds=rng.randrange(0, 45 * 86400 // step) * step)
        reply = created + timedelta(seconds=rng.randrange(0, 3 * 86400 // step) * step) if rng.random() < 0.85 else None
        solved = created + timedelta(seconds=rng.randrange(0, 8 * 86400 // step) * step) if rng.random() < 0.7 else None
        agent = {ids["emea"]: ids["alice"], ids["amer"]: ids["carol"]}.get(team) if rng.random() < 0.8 else None  # type: ignore[arg-type]
        rows.append(
            {
                "source": "t", "external_id": f"B{i}", "team_id": team, "agent_id": agent, "status": "solved" if solved else "open",
                "created_at": created, "first_reply_at": reply, "solved_at": solved,
                "replies": rng.choice([None, 1, 2]), "reopens": rng.choice([None, 0, 1]), "csat": rng.choice([None, "good", "bad"]), "sla_met": rng.choice([None, True, False]),
            }
        )  # fmt: skip
    with db.sessions() as s, s.begin():
        s.execute(insert(Ticket), rows)


def oracle_tickets(db: Database, **where: int) -> list[T]:
    """The tickets for the oracle, each with its team's hours as the org file (now) says."""
    with db.sessions() as s:
        org = s.get(Org, 1)
        assert org is not None
        none = team_hours(org.calendars, org.calendar, None)
        hours = {t.id: team_hours(org.calendars, org.calendar, t.calendar) for t in s.scalars(select(Team))}
        return [
            T(t.created_at, t.first_reply_at, t.solved_at, t.replies, t.reopens, t.csat, t.sla_met, hours=hours[t.team_id] if t.team_id else none)
            for t in s.scalars(select(Ticket).filter_by(**where))
        ]


WINDOWS = [
    (BASE, BASE + timedelta(days=45)),  # whole days
    (BASE + timedelta(days=6, hours=5, seconds=17), BASE + timedelta(days=36, hours=3)),  # both DST changes, partial days
    (BASE + timedelta(days=33, hours=23), BASE + timedelta(days=34, hours=9)),  # Good Friday night, no whole day
]


def check(db: Database, ids: dict[str, int]) -> None:
    """Every scope and path against the oracle."""
    tickets = {key: oracle_tickets(db, team_id=ids[key]) for key in ("emea", "amer", "tier2")}
    every, without, alice = oracle_tickets(db), oracle_tickets(db, team_id=None), oracle_tickets(db, agent_id=ids["alice"])
    with db.sessions() as s:
        for start, end in WINDOWS:
            by_team = compute_by_team(s, start, end)
            for key, mine in tickets.items():
                assert_same(compute(s, Scope(team_id=ids[key]), start, end), oracle(mine, start, end))
                assert_same(by_team[ids[key]], oracle(mine, start, end))
            assert_same(by_team[None], oracle(without, start, end))
            assert_same(compute(s, Scope(), start, end), oracle(every, start, end))
            assert_same(compute_by_agent(s, [ids["alice"]], start, end)[ids["alice"]], oracle(alice, start, end))
        bounds = [BASE + timedelta(days=d) for d in range(25, 40)]
        for (start, end), got in zip(zip(bounds, bounds[1:]), compute_series(s, Scope(team_id=ids["emea"]), bounds), strict=True):
            assert_same(got, oracle(tickets["emea"], start, end))


def test_the_oracle_counts_business_time_as_a_minute_by_minute_count_does() -> None:
    """The oracle itself, checked on small cases: every minute is open or not by its local weekday, time and date."""
    with_org = {c["key"]: c for c in ORG["calendars"]}  # type: ignore[union-attr]
    rng = random.Random(11)
    for key in with_org:
        hours = team_hours(ORG["calendars"], None, key)  # type: ignore[arg-type]
        assert hours is not None
        for _ in range(25):
            start = BASE + timedelta(minutes=rng.randrange(0, 45 * 24 * 60))
            end = start + timedelta(minutes=rng.randrange(0, 2 * 24 * 60))
            assert business_seconds(hours, start, end) == 60 * _minutes_open(hours, start, end), (key, start, end)


def _minutes_open(hours: Hours, start: datetime, end: datetime) -> int:
    return sum(_open_at(hours, start + timedelta(minutes=n)) for n in range(int((end - start).total_seconds()) // 60))


def _open_at(hours: Hours, at: datetime) -> bool:
    """Whether the UTC minute at `at` falls in a range of its local day (or one past midnight from the day before)."""
    local = at.astimezone(hours.zone)
    minute = local.hour * 60 + local.minute
    for weekday, a, b in hours.ranges:
        stop = b if b > a else b + 1440
        for back in (0, 1):
            day = local.date() - timedelta(days=back)
            if day.weekday() == weekday and day not in hours.closed and a <= minute + back * 1440 < stop:
                return True
    return False


def test_business_figures_match_the_oracle_from_tickets_and_from_counted_days(db: Database, ids: dict[str, int]) -> None:
    seed(db, ids)
    check(db, ids)  # nothing counted yet: every figure from the tickets
    assert do_refresh(db) > 0
    with db.sessions() as s:
        assert s.scalar(select(func.count()).select_from(DirtyDay)) == 0
        assert s.scalar(select(func.count()).select_from(DayFacts)) > 100
        assert set(s.scalars(select(DayCalendar.team_key))) == {0, ids["emea"], ids["amer"], ids["tier2"]}
    check(db, ids)  # whole days from the day facts, the edges from the tickets
    with db.sessions() as s:
        figures = compute(s, Scope(team_id=ids["tier2"]), *WINDOWS[0])
        emea = compute(s, Scope(team_id=ids["emea"]), *WINDOWS[0])
    # Around the clock, business time is wall time; an office's is shorter.
    assert all(figures[wall] == figures[bh] for wall, bh in BUSINESS_NAMES.items())
    assert emea["first_reply_bh_mean_s"] < emea["first_reply_mean_s"]  # type: ignore[operator]


def test_a_changed_calendar_is_counted_again_and_never_mixed(db: Database, ids: dict[str, int]) -> None:
    seed(db, ids, count=600, seed=9)
    assert do_refresh(db) > 0
    check(db, ids)
    changed = json.loads(json.dumps(ORG))
    changed["calendars"][0]["hours"] = ["mon-thu 09:00-17:00"]  # the org's calendar: emea, and tickets without a team
    changed["calendars"][0]["holidays"]["dates"] = ["2026-03-20", "2026-03-23 to 2026-03-24"]
    changed["teams"][1]["calendar"] = "none"  # amer now around the clock
    changed["teams"][2]["calendar"] = "chicago-nights"  # tier2 on a calendar
    apply(db, changed)
    # Before any refresh the counted days hold the old calendars: the engine reads the tickets instead.
    check(db, ids)
    recounted = do_refresh(db)
    with db.sessions() as s:
        counted = {k: n for k, n in s.execute(select(DayFacts.team_key, func.count()).group_by(DayFacts.team_key))}
    assert recounted == sum(counted.values())  # every team changed: every counted day again
    check(db, ids)
    assert do_refresh(db) == 0  # nothing changed since
    # Changing one team's calendar recounts that team's days only.
    changed["teams"][2]["calendar"] = "none"
    apply(db, changed)
    assert do_refresh(db) == counted[ids["tier2"]]
    check(db, ids)


def test_org_apply_counts_a_changed_calendar_at_once(db_url: str, db: Database, ids: dict[str, int], tmp_path: Path) -> None:
    from tests.test_cli import csbot

    seed(db, ids, count=300, seed=3)
    assert do_refresh(db) > 0
    changed = json.loads(json.dumps(ORG))
    changed["calendars"][1]["hours"] = ["mon-fri 07:00-15:00"]
    (tmp_path / "org.yaml").write_text(yaml.safe_dump(changed, sort_keys=False))
    r = csbot(["org", "apply", str(tmp_path / "org.yaml")], db_url, tmp_path)
    assert r.returncode == 0, r.stderr
    with db.sessions() as s:
        amer_days = s.scalar(select(func.count()).select_from(DayFacts).where(DayFacts.team_key == ids["amer"]))
    assert f"Counted {amer_days:,} team-days" in r.stdout
    check(db, ids)


# ---------------------------------------------------------------- what cards show


def ask(db: Database, text: str, handle: str = "root") -> Reply:
    return run_command(db, ROUTER, handle, text, now=NOW, platform="console")


def texts(reply: Reply) -> str:
    return render_text(reply)


def test_a_team_with_a_calendar_is_shown_in_business_hours_and_wall_on_request(db: Database, ids: dict[str, int]) -> None:
    seed(db, ids)
    do_refresh(db)
    card = ask(db, "/kpi team emea 30d", "bob")
    assert card.ok, card.error
    assert card.data["clock"] == "business"
    text = texts(card)
    assert "First reply (median, business hours)" in text and "Resolution (p90, business hours)" in text
    assert "business hours, on the berlin calendar · --wall for the wall clock" in text
    metrics = card.data["metrics"]
    assert {"first_reply_median_s", "first_reply_bh_median_s", "resolution_bh_mean_s"} <= set(metrics)  # both sets
    # The target judges the figure shown.
    bh, wall = metrics["first_reply_bh_median_s"], metrics["first_reply_median_s"]
    assert card.data["status"]["first_reply_median_s"] == ("met" if bh <= 3600 else "at_risk" if bh <= 3780 else "missed")
    walled = ask(db, "/kpi team emea 30d --wall", "bob")
    assert walled.ok and walled.data["clock"] == "wall"
    assert walled.data["metrics"] == metrics
    assert "First reply (median)" in texts(walled) and "business hours)" not in texts(walled)
    assert "on the wall clock (--wall)" in texts(walled)
    assert walled.data["status"]["first_reply_median_s"] == ("met" if wall <= 3600 else "at_risk" if wall <= 3780 else "missed")
    # The buttons keep the choice: Previous window is again on the wall clock.
    button = next(b for block in walled.blocks if isinstance(block, Actions) for b in block.buttons if b.action_id == PREVIOUS_ACTION)
    assert json.loads(button.value)["text"].endswith("--wall")
    before = run_action(db, ROUTER, "bob", PREVIOUS_ACTION, button.value, now=NOW, platform="console")
    assert before.ok and before.data["clock"] == "wall" and "business hours)" not in texts(before)


def test_a_team_around_the_clock_says_nothing_of_clocks(db: Database, ids: dict[str, int]) -> None:
    seed(db, ids, count=200)
    card = ask(db, "/kpi team tier2 30d")
    assert card.ok and card.data["clock"] == "wall"
    assert "business hours" not in texts(card) and "--wall" not in texts(card)
    assert ask(db, "/kpi team tier2 30d --wall").data["metrics"] == card.data["metrics"]


def test_agents_org_teams_and_breakdowns_on_their_clocks(db: Database, ids: dict[str, int]) -> None:
    seed(db, ids)
    do_refresh(db)
    agent = ask(db, "/kpi agent @alice 30d")
    assert agent.data["clock"] == "business" and "First reply (median, business hours)" in texts(agent)
    agents = ask(db, "/kpi agents emea 30d", "bob")
    assert agents.data["clock"] == "business" and "First reply (median, business hours)" in texts(agents)
    org = ask(db, "/kpi org 30d")
    assert org.data["clock"] == "business"
    assert "each ticket on its own team's calendar; around the clock: tier2" in texts(org)
    teams = ask(db, "/kpi teams 30d --sort frt")
    clocks = {r["team"]: r["clock"] for r in teams.data["rows"]}
    assert clocks == {"amer": "business", "emea": "business", "tier2": "wall"}
    # Sorted by each team's figure shown, best first.
    shown = [r["metrics"]["first_reply_bh_median_s" if r["clock"] == "business" else "first_reply_median_s"] for r in teams.data["rows"]]
    assert shown == sorted(shown)
    walls = ask(db, "/kpi teams 30d --sort frt --wall")
    assert {r["clock"] for r in walls.data["rows"]} == {"wall"}
    by = ask(db, "/kpi team emea 30d by channel --wall", "bob")
    assert by.ok and by.data["clock"] == "wall" and "business hours" not in texts(by).split("--wall")[-1]
    by = ask(db, "/kpi org 30d by hour")
    assert by.ok and by.data["clock"] == "business" and "Resolution (median, business hours)" in texts(by)


def test_a_trend_draws_durations_on_the_cards_clock(db: Database, ids: dict[str, int]) -> None:
    seed(db, ids)
    do_refresh(db)
    trend = ask(db, "/kpi trend frt emea 30d by week", "bob")
    assert trend.ok, trend.error
    assert trend.data["clock"] == "business" and trend.title.startswith("Trend · First reply (median, business hours)")
    assert "business hours, on the berlin calendar · --wall for the wall clock" in texts(trend)
    walled = ask(db, "/kpi trend frt emea 30d by week --wall", "bob")
    assert walled.ok and walled.data["clock"] == "wall" and "business hours)" not in texts(walled)
    for point, wall_point in zip(trend.data["series"], walled.data["series"], strict=True):
        # Each point is its week's card on the same clock; --json keeps both sets either way.
        assert point["metrics"] == wall_point["metrics"]
        assert point["value"] == point["metrics"]["first_reply_bh_median_s"]
        assert wall_point["value"] == wall_point["metrics"]["first_reply_median_s"]
        card = ask(db, f"/kpi team emea {point['from']}..{point['to']}", "bob")
        assert card.data["metrics"]["first_reply_bh_median_s"] == point["value"]
    assert any(p["value"] != w["value"] for p, w in zip(trend.data["series"], walled.data["series"]))
    # A count has one clock: the same figure on both.
    solved = ask(db, "/kpi trend solved emea 30d by week", "bob")
    assert solved.title.startswith("Trend · Tickets solved ·") and [p["value"] for p in solved.data["series"]] == [
        p["value"] for p in ask(db, "/kpi trend solved emea 30d by week --wall", "bob").data["series"]
    ]
    # The org's trend counts each ticket on its own team's calendar, and says so.
    org = ask(db, "/kpi trend resolution org 30d")
    assert org.data["clock"] == "business" and "each ticket on its own team's calendar; around the clock: tier2" in texts(org)


def test_wall_is_refused_where_it_means_nothing(db: Database, ids: dict[str, int]) -> None:
    for text in ("/kpi alerts emea --wall", "/kpi escalations --wall"):
        reply = ask(db, text)
        assert reply.error is not None and reply.error.code == "usage" and "--wall is for first reply and resolution" in reply.error.message


# ---------------------------------------------------------------- alerts and scorecards


async def test_an_alert_on_first_reply_judges_the_figure_the_team_is_shown(db: Database, slack: tuple[FakeSlack, SlackNotifier]) -> None:
    """Friday 17:50 in Berlin, answered Monday 08:05: 4h 15m in Berlin's business hours (10 minutes on Friday, Saturday
    night 22:00-02:00, 5 minutes on Monday), 62 hours around the clock."""
    fake, notifier = slack
    doc = json.loads(json.dumps(ORG))
    doc["teams"][0] |= {"channels": {"slack": "C0EMEA"}, "alerts": {"first_reply_median_s": {"above": 18000, "window": "3d"}}}
    doc["teams"][2] |= {"channels": {"slack": "C0TIER2"}, "alerts": {"first_reply_median_s": {"above": 18000, "window": "3d"}}}
    apply(db, doc)
    with db.sessions() as s, s.begin():
        teams = dict(s.execute(select(Team.key, Team.id)).all())
        friday = datetime(2026, 4, 17, 15, 50, tzinfo=UTC)
        monday = datetime(2026, 4, 20, 6, 5, tzinfo=UTC)
        s.execute(
            insert(Ticket),
            [{"source": "t", "external_id": f"{key}{i}", "team_id": teams[key], "status": "open", "created_at": friday, "first_reply_at": monday} for key in ("emea", "tier2") for i in range(3)],
        )
    nine = datetime(2026, 4, 20, 7, 0, tzinfo=UTC)  # 09:00 in Berlin
    await run_tick(db, [notifier], nine, only="alerts")
    assert not [p for p in posted(fake, "C0EMEA") if "KPI alert" in p["text"]]
    (alert,) = [p for p in posted(fake, "C0TIER2") if "KPI alert" in p["text"]]
    assert "First reply (median)" in alert["text"] and "business hours" not in alert["text"]
    reply = run_command(db, ROUTER, "root", "/kpi alerts emea", now=nine, platform="console")
    (row,) = reply.data["alerts"]
    assert row["value"] == 4 * 3600 + 15 * 60 and row["breached"] is False
    assert "First reply (median, business hours)" in render_text(reply) and "4h 15m (n=3)" in render_text(reply)


def test_scorecards_show_business_hours_for_a_team_with_a_calendar(db: Database, ids: dict[str, int]) -> None:
    seed(db, ids, count=400)
    do_refresh(db)
    card = run_command(db, ROUTER, "bob", "/scorecard emea 2026-04-09", now=NOW, platform="console")
    assert card.ok, card.error
    text = render_text(card)
    assert card.data["clock"] == "business" and "First reply (median, business hours)" in text
    assert "on the berlin calendar · /kpi team emea WINDOW --wall for the wall clock" in text
    assert card.data["trend"][-1]["first_reply_bh_median_s"] == card.data["metrics"]["first_reply_bh_median_s"]
    assert card.data["trend"][-1]["first_reply_median_s"] == card.data["metrics"]["first_reply_median_s"]
    chart = next(b for b in card.blocks if isinstance(b, Chart))
    assert "first reply in business hours" in chart.title and "daily first-reply median in business hours" in chart.alt_text
    plain = run_command(db, ROUTER, "root", "/scorecard tier2 2026-04-09", now=NOW, platform="console")
    assert plain.data["clock"] == "wall" and "business hours" not in render_text(plain)
    org = run_command(db, ROUTER, "root", "/scorecard org 2026-04-09", now=NOW, platform="console")
    assert {r["team"]: r["clock"] for r in org.data["rows"]} == {"amer": "business", "emea": "business", "tier2": "wall"}
    assert "each ticket on its own team's calendar; around the clock: tier2" in render_text(org)
