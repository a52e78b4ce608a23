"""A team's day scorecard: the engine's numbers for the day, its comparisons, backlog by age and shout-outs."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, select

from bot.dispatch import run_command
from handlers.registry import build_router
from kpi.engine import Scope, compute
from kpi.scorecard import MIN_CSAT_RATINGS, MIN_FIRST_REPLIES, day_window, team_day
from kpi.tickets import Ticket
from kpi.windows import NotStarted
from store.database import Database
from store.org import Member, Team
from tests.helpers import apply_fixture_org

BERLIN = ZoneInfo("Europe/Berlin")
DAY = date(2026, 3, 10)  # a Tuesday
NOW = datetime(2026, 3, 11, 9, 0, tzinfo=BERLIN)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=BERLIN)


@pytest.fixture
def org(db: Database) -> dict[str, int]:
    apply_fixture_org(db)
    with db.sessions() as s:
        return dict(s.execute(select(Team.key, Team.id)).all()) | dict(s.execute(select(Member.handle, Member.id)).all())


def add(db: Database, org: dict[str, int], rows: list[dict]) -> None:  # type: ignore[type-arg]
    with db.sessions() as s, s.begin():
        s.execute(
            insert(Ticket),
            [
                {"source": "t", "external_id": f"T{i}", "team_id": org["support-emea"], "status": "solved" if r.get("solved_at") else "open", **r}
                for i, r in enumerate(rows)
            ],
        )


def scorecard(db: Database, day: date = DAY):  # type: ignore[no-untyped-def]
    with db.sessions() as s:
        team = s.scalar(select(Team).where(Team.key == "support-emea"))
        return team_day(s, team, day, now=NOW, qa=True)  # as its lead sees it


def test_the_days_numbers_are_exactly_what_kpi_team_gives_for_that_date(db: Database, org: dict[str, int]) -> None:
    rows = []
    for d in range(12):
        day = DAY - timedelta(days=d)
        for k in range(6 + d):
            created = at(day, 7 + k % 12, (7 * k) % 60)
            rows.append(
                {
                    "agent_id": org["alice"],
                    "created_at": created,
                    "first_reply_at": created + timedelta(minutes=5 + 11 * k),
                    "solved_at": created + timedelta(hours=1 + k) if k % 3 else None,
                    "replies": k % 3,
                    "reopens": k % 2,
                    "csat": "good" if k % 4 else "bad",
                    "sla_met": bool(k % 5),
                }
            )
    add(db, org, rows)
    card = scorecard(db)
    reply = run_command(db, build_router(), "bob", "/kpi team support-emea 2026-03-10", now=NOW, platform="test")
    assert reply.ok and card.metrics == reply.data["metrics"]
    assert [line.value for line in card.lines] == [card.metrics[line.name] for line in card.lines]
    # The previous day, measured the same way, with better/worse per metric.
    with db.sessions() as s:
        before = day_window(DAY - timedelta(days=1), s.get(Team, org["support-emea"]), NOW)
        yesterday = compute(s, Scope(team_id=org["support-emea"]), before.start_utc, before.until_utc)
    lines = {line.name: line for line in card.lines}
    assert lines["tickets_created"].previous == yesterday["tickets_created"] == 7
    assert lines["tickets_created"].vs_previous is None  # demand, not performance
    assert lines["first_reply_median_s"].vs_previous in ("better", "worse", "same")
    # Trailing week: created per day over the 7 days before (7..13 tickets a day).
    assert lines["tickets_created"].trailing == pytest.approx(sum(range(7, 14)) / 7)
    assert lines["csat"].target == 0.9 and lines["csat"].status in ("met", "at_risk", "missed")
    assert len(card.trend) == 30 and card.trend[-1].day == DAY and card.trend[-1].created == 6
    assert card.trend[-2].created == 7 and card.trend[0].created == 0


def test_backlog_by_age_at_the_end_of_the_day(db: Database, org: dict[str, int]) -> None:
    end = at(DAY + timedelta(days=1), 0)
    add(
        db,
        org,
        [
            {"created_at": end - timedelta(hours=2)},  # under a day
            {"created_at": end - timedelta(hours=24)},  # exactly a day: 1-3 days
            {"created_at": end - timedelta(hours=50)},
            {"created_at": end - timedelta(days=3)},  # exactly three days: over 3 days
            {"created_at": end - timedelta(days=9)},
            {"created_at": end - timedelta(days=9), "solved_at": end - timedelta(days=1)},  # solved: not open
            {"created_at": end - timedelta(days=9), "solved_at": end},  # solved at the end: still open then
            {"created_at": end + timedelta(minutes=1)},  # after the day
        ],
    )
    card = scorecard(db)
    assert card.backlog_by_age == {"under_1d": 1, "1d_to_3d": 2, "over_3d": 3}
    assert sum(card.backlog_by_age.values()) == card.metrics["backlog"]


def test_shout_outs_need_enough_tickets_and_break_ties_the_same_way(db: Database, org: dict[str, int]) -> None:
    with db.sessions() as s, s.begin():
        for handle, name in (("erin", "Erin Ng"), ("finn", "Finn Roe")):
            s.add(Member(handle=handle, name=name, role="agent", team_id=org["support-emea"], active=True))
    with db.sessions() as s:
        ids = dict(s.execute(select(Member.handle, Member.id)).all())
    rows = []

    def tickets(agent: str, n: int, reply_s: int, csat: str | None) -> None:
        for k in range(n):
            created = at(DAY, 8, k % 60)
            rows.append(
                {
                    "agent_id": ids[agent],
                    "created_at": created,
                    "first_reply_at": created + timedelta(seconds=reply_s),
                    "solved_at": created + timedelta(hours=2),
                    "csat": csat,
                }
            )

    tickets("alice", MIN_FIRST_REPLIES - 1, 10, "good")  # fastest, but too few replies; CSAT 100% on 9 ratings
    tickets("erin", MIN_FIRST_REPLIES, 300, "good")  # fastest with enough replies; ties alice on CSAT with more ratings
    tickets("finn", MIN_FIRST_REPLIES + 2, 900, "bad")  # most solved
    tickets("bob", 40, 1, "good")  # a lead: never an agent shout-out
    add(db, org, rows)
    card = scorecard(db)
    got = {s.kind: (s.agent, s.value, s.sample) for s in card.shout_outs}
    assert got["most_solved"] == ("finn", MIN_FIRST_REPLIES + 2, MIN_FIRST_REPLIES + 2)
    assert got["best_csat"] == ("erin", 1.0, MIN_FIRST_REPLIES)
    assert got["fastest_first_reply"] == ("erin", 300.0, MIN_FIRST_REPLIES)
    assert MIN_CSAT_RATINGS <= MIN_FIRST_REPLIES


def test_a_quiet_day_thanks_nobody_and_a_day_not_begun_is_refused(db: Database, org: dict[str, int]) -> None:
    card = scorecard(db)
    assert card.shout_outs == () and card.metrics["tickets_created"] == 0
    assert all(line.vs_previous is None or line.vs_previous == "same" for line in card.lines)
    with pytest.raises(NotStarted):
        scorecard(db, NOW.date() + timedelta(days=1))
