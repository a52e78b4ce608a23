"""Every KPI definition on hand-built tickets, and the engine against an independent oracle."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, select

from kpi.engine import Scope, compute, compute_by_agent, compute_by_team, compute_series, first_created_at
from kpi.stats import median, quantile
from kpi.tickets import Ticket
from kpi.windows import parse_window
from store.database import Database
from store.org import Member, Team
from tests.helpers import apply_fixture_org
from tests.kpi_oracle import T, assert_same, oracle

UTC = timezone.utc


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC) if "+" not in text else datetime.fromisoformat(text)


def ids(db: Database) -> tuple[dict[str, int], dict[str, int]]:
    with db.sessions() as s:
        return (
            dict(s.execute(select(Team.key, Team.id)).all()),
            dict(s.execute(select(Member.handle, Member.id)).all()),
        )


def add(db: Database, tickets: list[T], team_id: int | None = None, agent_id: int | None = None, prefix: str = "X") -> None:
    rows = [
        {
            "source": "test",
            "external_id": f"{prefix}{i}",
            "team_id": team_id,
            "agent_id": agent_id,
            "status": "solved" if t.solved_at else "open",
            "created_at": t.created_at,
            "first_reply_at": t.first_reply_at,
            "solved_at": t.solved_at,
            "replies": t.replies,
            "reopens": t.reopens,
            "csat": t.csat,
            "sla_met": t.sla_met,
        }
        for i, t in enumerate(tickets)
    ]
    with db.sessions() as s, s.begin():
        s.execute(insert(Ticket), rows)


def run(db: Database, scope: Scope, start: datetime, end: datetime):  # type: ignore[no-untyped-def]
    with db.sessions() as s:
        return compute(s, scope, start, end)


def random_tickets(rng: random.Random, count: int, base: datetime, *, days: tuple[int, int], reply_s: int, solve_s: int) -> list[T]:
    """Tickets created uniformly over `days` around `base`, most replied to and solved, fields often unknown."""
    tickets = []
    for _ in range(count):
        created = base + timedelta(seconds=rng.randrange(days[0] * 86400, days[1] * 86400))
        reply = created + timedelta(seconds=rng.randrange(1, reply_s)) if rng.random() < 0.85 else None
        solved = created + timedelta(seconds=rng.randrange(1, solve_s)) if rng.random() < 0.7 else None
        fields = (rng.choice([None, 0, 1, 3]), rng.choice([None, 0, 1]), rng.choice([None, "good", "bad"]), rng.choice([None, True, False]))
        tickets.append(T(created, reply, solved, *fields))
    return tickets


@pytest.fixture
def org_db(db: Database) -> Database:
    apply_fixture_org(db)
    return db


def test_median_and_p90_follow_numpy() -> None:
    assert median([1, 2, 3]) == 2
    assert median([1, 2, 3, 10]) == 2.5  # even count: mean of the two middle values
    assert median([5, 5, 5, 5]) == 5  # ties
    assert quantile([10, 20, 30, 40], 0.9) == pytest.approx(37.0)  # numpy.quantile([10,20,30,40], .9)
    assert quantile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9) == pytest.approx(9.1)
    assert quantile([7], 0.9) == 7
    assert median([]) is None and quantile([], 0.9) is None


def test_definitions_on_hand_built_tickets(org_db: Database) -> None:
    teams, _ = ids(org_db)
    start, end = at("2026-03-02T00:00:00"), at("2026-03-09T00:00:00")
    tickets = [
        # created and solved inside: first reply 600 s, resolution 3600 s, one touch, good, SLA met
        T(at("2026-03-02T09:00:00"), at("2026-03-02T09:10:00"), at("2026-03-02T10:00:00"), 1, 0, "good", True),
        # created inside, replied after the window, never solved: backlog
        T(at("2026-03-08T23:00:00"), at("2026-03-09T01:00:00"), None, 1, None, None, None),
        # created before the window, solved inside: counts for resolution, not first reply
        T(at("2026-02-25T12:00:00"), at("2026-02-25T12:30:00"), at("2026-03-03T12:00:00"), 3, 1, "bad", False),
        # solved exactly at the window end: not solved in the window, still backlog at end
        T(at("2026-03-05T00:00:00"), at("2026-03-05T00:00:10"), at("2026-03-09T00:00:00"), 2, 0, None, True),
        # created exactly at the start: inside; no first reply
        T(at("2026-03-02T00:00:00"), None, at("2026-03-02T00:00:30"), 0, None, "good", None),
        # entirely after the window: no effect at all
        T(at("2026-03-10T00:00:00"), at("2026-03-10T00:01:00"), at("2026-03-10T01:00:00"), 1, 0, "good", True),
        # created and solved before the window: no effect
        T(at("2026-02-01T00:00:00"), at("2026-02-01T00:05:00"), at("2026-02-02T00:00:00"), 1, 0, "good", True),
    ]
    add(org_db, tickets, team_id=teams["support-emea"])
    got = run(org_db, Scope(team_id=teams["support-emea"]), start, end)
    # First reply: tickets created in the window with a reply: 600, 7200, 10 s.
    assert got["first_reply_median_s"] == 600.0
    assert got["first_reply_mean_s"] == pytest.approx((600 + 7200 + 10) / 3)
    assert got["first_reply_p90_s"] == pytest.approx(600 + (7200 - 600) * 0.8)  # rank (3 - 1) * 0.9 = 1.8
    # Resolution: solved in the window: 3600 s, 6 days (518400 s) and 30 s.
    assert got["resolution_median_s"] == 3600.0
    assert got["resolution_mean_s"] == pytest.approx((3600 + 518400 + 30) / 3)
    assert got["tickets_created"] == 4 and got["tickets_solved"] == 3 and got["backlog"] == 2
    assert got["one_touch_rate"] == pytest.approx(2 / 3)  # replies 1, 3, 0 -> two with <= 1
    assert got["reopen_rate"] == pytest.approx(1 / 2)  # reopens known on two solved tickets, one reopened
    assert got["csat"] == pytest.approx(2 / 3)
    assert got["sla_attainment"] == pytest.approx(1 / 2)
    assert_same(got, oracle(tickets, start, end))


def test_empty_window_is_null_not_zero(org_db: Database) -> None:
    teams, _ = ids(org_db)
    got = run(org_db, Scope(team_id=teams["support-amer"]), at("2026-03-02T00:00:00"), at("2026-03-03T00:00:00"))
    assert got["tickets_created"] == 0 and got["backlog"] == 0
    for name in ("first_reply_median_s", "first_reply_p90_s", "resolution_mean_s", "one_touch_rate", "csat", "sla_attainment", "reopen_rate"):
        assert got[name] is None


def test_even_count_and_ties(org_db: Database) -> None:
    teams, _ = ids(org_db)
    base = at("2026-03-02T08:00:00")
    tickets = [T(base, base + timedelta(seconds=s)) for s in (100, 100, 300, 500)]
    add(org_db, tickets, team_id=teams["support-emea"])
    got = run(org_db, Scope(team_id=teams["support-emea"]), at("2026-03-02T00:00:00"), at("2026-03-03T00:00:00"))
    assert got["first_reply_median_s"] == 200.0
    assert got["first_reply_p90_s"] == pytest.approx(440.0)  # numpy.quantile([100,100,300,500], .9)
    assert got["resolution_median_s"] is None and got["backlog"] == 4


def test_scopes_team_agent_org(org_db: Database) -> None:
    teams, members = ids(org_db)
    t0 = at("2026-03-02T08:00:00")
    add(org_db, [T(t0, t0 + timedelta(minutes=5))] * 3, team_id=teams["support-emea"], agent_id=members["alice"], prefix="A")
    add(org_db, [T(t0, t0 + timedelta(minutes=50))] * 2, team_id=teams["support-amer"], agent_id=members["carol"], prefix="C")
    add(org_db, [T(t0)], team_id=None, agent_id=None, prefix="N")
    w = (at("2026-03-02T00:00:00"), at("2026-03-03T00:00:00"))
    assert run(org_db, Scope(agent_id=members["alice"]), *w)["tickets_created"] == 3
    assert run(org_db, Scope(team_id=teams["support-amer"]), *w)["first_reply_median_s"] == 3000.0
    assert run(org_db, Scope(), *w)["tickets_created"] == 6
    with org_db.sessions() as s:
        by_team = compute_by_team(s, *w)
    assert by_team[teams["support-emea"]]["tickets_created"] == 3
    assert by_team[None]["tickets_created"] == 1


def test_dst_windows_in_team_time_zone(org_db: Database) -> None:
    """Berlin springs forward on 2026-03-29: that local day is 23 hours long."""
    teams, _ = ids(org_db)
    berlin = ZoneInfo("Europe/Berlin")
    window = parse_window("2026-03-29", at("2026-04-01T12:00:00"), "Europe/Berlin")
    assert window.end_utc - window.start_utc == timedelta(hours=23)
    assert window.start_utc == at("2026-03-28T23:00:00") and window.end_utc == at("2026-03-29T22:00:00")
    inside_late = datetime(2026, 3, 29, 23, 30, tzinfo=berlin)  # 21:30 UTC: still the 29th in Berlin
    outside_early = datetime(2026, 3, 28, 23, 30, tzinfo=berlin)  # 22:30 UTC on the 28th
    add(org_db, [T(inside_late.astimezone(UTC)), T(outside_early.astimezone(UTC))], team_id=teams["support-emea"])
    got = run(org_db, Scope(team_id=teams["support-emea"]), window.start_utc, window.end_utc)
    assert got["tickets_created"] == 1
    # Falling back on 2026-10-25 makes that day 25 hours long.
    autumn = parse_window("2026-10-25", at("2026-11-01T12:00:00"), "Europe/Berlin")
    assert autumn.end_utc - autumn.start_utc == timedelta(hours=25)
    # A rolling 7d window across the change keeps the wall-clock time: 7 days minus one hour.
    rolling = parse_window("7d", at("2026-04-01T10:00:00"), "Europe/Berlin")
    assert rolling.end_utc - rolling.start_utc == timedelta(days=7, hours=-1)


def test_engine_matches_oracle_on_random_tickets(org_db: Database) -> None:
    teams, members = ids(org_db)
    rng = random.Random(42)
    base = at("2026-01-01T00:00:00")
    tickets = []
    for _ in range(3000):
        created = base + timedelta(seconds=rng.randrange(0, 90 * 86400))
        reply = created + timedelta(seconds=int(rng.lognormvariate(7, 1.5))) if rng.random() < 0.9 else None
        solved = created + timedelta(seconds=int(rng.lognormvariate(10, 1.2))) if rng.random() < 0.8 else None
        tickets.append(
            T(
                created,
                reply,
                solved,
                rng.choice([None, 0, 1, 1, 2, 5]),
                rng.choice([None, 0, 0, 0, 1, 2]),
                rng.choice([None, None, "good", "good", "bad"]),
                rng.choice([None, True, True, False]),
            )
        )
    add(org_db, tickets, team_id=teams["support-emea"])
    for spec, now in (("7d", "2026-02-10T13:17:00"), ("30d", "2026-03-01T00:00:00"), ("2026-01-15..2026-02-14", "2026-03-01T00:00:00"), ("today", "2026-01-20T09:00:00")):
        window = parse_window(spec, at(now), "Europe/Berlin")
        for w in (window, window.previous()):
            got = run(org_db, Scope(team_id=teams["support-emea"]), w.start_utc, w.end_utc)
            assert_same(got, oracle(tickets, w.start_utc, w.end_utc))


def test_grouped_results_equal_one_scope_at_a_time(org_db: Database) -> None:
    """compute_by_team and compute_by_agent give, per key, exactly what compute gives for that scope."""
    teams, members = ids(org_db)
    rng = random.Random(7)
    base = at("2026-01-01T00:00:00")
    placements = [(teams["support-emea"], members["alice"]), (teams["support-emea"], None), (teams["support-amer"], members["carol"]), (None, None)]
    earliest: dict[tuple[int | None, int | None], datetime] = {}
    for n, (team_id, agent_id) in enumerate(placements):
        tickets = random_tickets(rng, 400, base, days=(0, 60), reply_s=50_000, solve_s=900_000)
        add(org_db, tickets, team_id=team_id, agent_id=agent_id, prefix=f"P{n}-")
        earliest[(team_id, agent_id)] = min(t.created_at for t in tickets)
    start, end = at("2026-01-20T00:00:00"), at("2026-02-20T00:00:00")
    with org_db.sessions() as s:
        by_team = compute_by_team(s, start, end)
        for team_id in (teams["support-emea"], teams["support-amer"]):
            assert by_team[team_id] == compute(s, Scope(team_id=team_id), start, end)
        agent_ids = [members["alice"], members["carol"], members["bob"]]
        by_agent = compute_by_agent(s, agent_ids, start, end)
        assert set(by_agent) == set(agent_ids)
        for agent_id in agent_ids:
            assert by_agent[agent_id] == compute(s, Scope(agent_id=agent_id), start, end)
        assert by_agent[members["bob"]]["tickets_created"] == 0 and by_agent[members["bob"]]["n_csat"] == 0
        assert compute_by_agent(s, [], start, end) == {}
        assert first_created_at(s, Scope(agent_id=members["bob"])) is None
        assert first_created_at(s, Scope(team_id=teams["support-amer"])) == earliest[(teams["support-amer"], members["carol"])]
        assert first_created_at(s, Scope(agent_id=members["alice"])) == earliest[(teams["support-emea"], members["alice"])]
        assert first_created_at(s, Scope()) == min(earliest.values())


def test_a_series_of_windows_equals_each_window_on_its_own(org_db: Database) -> None:
    """compute_series (a scorecard's trend) gives, window by window, exactly what compute gives."""
    teams, members = ids(org_db)
    rng = random.Random(11)
    base = at("2026-03-01T00:00:00")
    tickets = random_tickets(rng, 600, base, days=(-5, 40), reply_s=30_000, solve_s=5 * 86400)
    add(org_db, tickets, team_id=teams["support-emea"], agent_id=members["alice"])
    berlin = ZoneInfo("Europe/Berlin")
    # Local days across the DST change of 2026-03-29, the last one cut mid-day.
    bounds = [datetime(2026, 3, 20, tzinfo=berlin) + timedelta(days=n) for n in range(15)]
    bounds = [b.replace(tzinfo=None).replace(tzinfo=berlin) for b in bounds] + [datetime(2026, 4, 3, 13, 7, 5, 250_000, tzinfo=berlin)]
    with org_db.sessions() as s:
        for scope in (Scope(team_id=teams["support-emea"]), Scope(agent_id=members["alice"]), Scope()):
            series = compute_series(s, scope, bounds)
            assert series == [compute(s, scope, a, b) for a, b in zip(bounds, bounds[1:], strict=False)]
        assert compute_series(s, Scope(), bounds[:1]) == []
        with pytest.raises(ValueError):
            compute_series(s, Scope(), [bounds[2], bounds[1]])
