"""Day facts: long windows read counted days, and give exactly what reading every ticket gives.

The reference here is the engine's pure `metrics_from` over tickets filtered
in Python; tests/test_kpi_engine.py checks that against an independent oracle.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, func, insert, select, update

from kpi.day_facts import DayFacts, DirtyDay, order_statistics, pack, refresh
from kpi.engine import Scope, compute, compute_by_team, compute_series, metrics_from
from kpi.stats import median, quantile
from kpi.tickets import Ticket
from store.database import Database
from store.engine import write_transaction
from store.org import Team
from tests.helpers import apply_fixture_org

UTC = timezone.utc
BASE = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def teams(db: Database) -> dict[str, int]:
    apply_fixture_org(db)
    with db.sessions() as s:
        return dict(s.execute(select(Team.key, Team.id)).all())


def seed(db: Database, team_ids: list[int | None], *, count: int, days: int, seed: int = 1, prefix: str = "R") -> None:
    rng = random.Random(seed)
    rows = []
    for i in range(count):
        created = BASE + timedelta(seconds=rng.randrange(0, days * 86400))
        reply = created + timedelta(seconds=rng.randrange(0, 40_000)) if rng.random() < 0.85 else None
        solved = created + timedelta(seconds=rng.randrange(0, 6 * 86400)) if rng.random() < 0.75 else None
        rows.append(
            {
                "source": "test",
                "external_id": f"{prefix}{i}",
                "team_id": rng.choice(team_ids),
                "status": "solved" if solved else "open",
                "created_at": created,
                "first_reply_at": reply,
                "solved_at": solved,
                "replies": rng.choice([None, 0, 1, 2, 5]),
                "reopens": rng.choice([None, 0, 0, 1]),
                "csat": rng.choice([None, "good", "good", "bad"]),
                "sla_met": rng.choice([None, True, False]),
            }
        )
    with db.sessions() as s, s.begin():
        s.execute(insert(Ticket), rows)


def every_ticket(db: Database) -> list[Ticket]:
    """Every stored ticket, read once for all the windows a check compares."""
    with db.sessions() as s:
        return list(s.scalars(select(Ticket)))


def reference(db: Database, team_id: int | None | str, start: datetime, end: datetime) -> dict:  # type: ignore[type-arg]
    """Metrics from every ticket, filtered in Python ("all" for the org)."""
    return reference_of(every_ticket(db), team_id, start, end)


def reference_of(every: list[Ticket], team_id: int | None | str, start: datetime, end: datetime) -> dict:  # type: ignore[type-arg]
    tickets = [t for t in every if team_id == "all" or t.team_id == team_id]
    created = [t for t in tickets if start <= t.created_at < end]
    solved = [t for t in tickets if t.solved_at is not None and start <= t.solved_at < end]
    backlog = sum(1 for t in tickets if t.created_at < end and (t.solved_at is None or t.solved_at >= end))
    return metrics_from(
        len(created),
        [int((t.first_reply_at - t.created_at).total_seconds()) for t in created if t.first_reply_at],
        [(int((t.solved_at - t.created_at).total_seconds()), t.replies, t.reopens, t.csat, t.sla_met) for t in solved],  # type: ignore[operator]
        backlog,
    )


def do_refresh(db: Database) -> int:
    with write_transaction(db.sessions) as s:
        return refresh(s)


def dirty(db: Database) -> int:
    with db.sessions() as s:
        return s.scalar(select(func.count()).select_from(DirtyDay)) or 0


WINDOWS = [
    (BASE, BASE + timedelta(days=30)),  # whole days only
    (BASE + timedelta(hours=5, seconds=17), BASE + timedelta(days=12, hours=3)),  # partial first and last day
    (BASE + timedelta(days=3, hours=23), BASE + timedelta(days=4, hours=1)),  # across one midnight, no whole day
    (BASE + timedelta(days=2, hours=1), BASE + timedelta(days=2, hours=9)),  # inside one day
    (BASE - timedelta(days=400), BASE + timedelta(days=800)),  # years, beyond the data both ways
    (BASE + timedelta(days=10, microseconds=500_000), BASE + timedelta(days=20, seconds=1, microseconds=1)),
]


BERLIN = ZoneInfo("Europe/Berlin")
# Series of windows (a trend's points): UTC days and weeks (whole counted days), Berlin weeks (whole
# days inside, partial ones at each edge), Berlin days (no whole UTC day: tickets only), a mid-day start.
SERIES = [
    [BASE + timedelta(days=n) for n in range(0, 36)],
    [BASE + timedelta(days=7 * n) for n in range(-2, 7)],
    [datetime(2026, 1, 5, tzinfo=BERLIN) + timedelta(days=7 * n) for n in range(6)],
    [datetime(2026, 1, 1, tzinfo=BERLIN) + timedelta(days=n) for n in range(20)],
    [BASE + timedelta(days=2, hours=13, seconds=5)] + [BASE + timedelta(days=7 * n) for n in range(1, 5)] + [BASE + timedelta(days=30, hours=2)],
]


def check_all(db: Database, teams: dict[str, int]) -> None:
    # The tickets are read once: re-reading them for each of the ~170 windows was most of this check's time.
    every = every_ticket(db)
    with db.sessions() as s:
        for bounds in SERIES:
            for team_id, scope in ((teams["support-emea"], Scope(team_id=teams["support-emea"])), ("all", Scope())):
                want = [reference_of(every, team_id, a, b) for a, b in zip(bounds, bounds[1:], strict=False)]
                assert compute_series(s, scope, bounds) == want, (team_id, bounds[0])
        for start, end in WINDOWS:
            by_team = compute_by_team(s, start, end)
            for team_id in (teams["support-emea"], teams["support-amer"]):
                want = reference_of(every, team_id, start, end)
                assert compute(s, Scope(team_id=team_id), start, end) == want, (team_id, start, end)
                assert by_team.get(team_id, metrics_from(0, [], [], 0)) == want
            assert by_team.get(None, metrics_from(0, [], [], 0)) == reference_of(every, None, start, end)
            assert compute(s, Scope(), start, end) == reference_of(every, "all", start, end)


def test_counted_days_give_exactly_what_every_ticket_gives(db: Database, teams: dict[str, int]) -> None:
    seed(db, [teams["support-emea"], teams["support-amer"], None], count=1500, days=40)
    assert dirty(db) > 0  # the triggers marked every day the inserts touched
    check_all(db, teams)  # nothing counted yet: every day read from the tickets
    assert do_refresh(db) > 0
    assert dirty(db) == 0 and do_refresh(db) == 0
    with db.sessions() as s:
        assert s.scalar(select(func.count()).select_from(DayFacts)) > 40
    check_all(db, teams)  # counted days, tickets only at the edges


def test_changes_after_a_count_are_read_from_the_tickets_until_recounted(db: Database, teams: dict[str, int]) -> None:
    emea, amer = teams["support-emea"], teams["support-amer"]
    seed(db, [emea, amer, None], count=800, days=30)
    do_refresh(db)
    with db.sessions() as s, s.begin():
        ids = list(s.scalars(select(Ticket.id).order_by(Ticket.id)))
        # A ticket moved to another team, one solved later, a rating changed, one deleted, one added.
        s.execute(update(Ticket).where(Ticket.id == ids[0]).values(team_id=amer if s.get(Ticket, ids[0]).team_id != amer else emea))
        s.execute(update(Ticket).where(Ticket.id == ids[1]).values(solved_at=BASE + timedelta(days=29, hours=1), status="solved"))
        s.execute(update(Ticket).where(Ticket.id == ids[2]).values(csat="bad"))
        s.execute(delete(Ticket).where(Ticket.id == ids[3]))
    seed(db, [emea], count=3, days=30, seed=9, prefix="N")
    assert dirty(db) > 0
    check_all(db, teams)
    do_refresh(db)
    assert dirty(db) == 0
    check_all(db, teams)


def test_a_change_no_kpi_reads_marks_nothing(db: Database, teams: dict[str, int]) -> None:
    seed(db, [teams["support-emea"]], count=50, days=5)
    do_refresh(db)
    with db.sessions() as s, s.begin():
        s.execute(update(Ticket).values(subject="renamed", priority="high", status="pending"))
    assert dirty(db) == 0


def test_many_changed_days_still_answer_exactly(db: Database, teams: dict[str, int]) -> None:
    """More changed stretches than the day path takes: the engine reads every ticket instead."""
    emea = teams["support-emea"]
    seed(db, [emea], count=600, days=300)
    do_refresh(db)
    with db.sessions() as s, s.begin():
        ids = list(s.scalars(select(Ticket.id).order_by(Ticket.created_at)))
        for ticket_id in ids[::6]:  # every sixth ticket, about one day in two
            s.execute(update(Ticket).where(Ticket.id == ticket_id).values(csat="bad"))
    start, end = BASE + timedelta(hours=7), BASE + timedelta(days=299)
    with db.sessions() as s:
        assert compute(s, Scope(team_id=emea), start, end) == reference(db, emea, start, end)


def test_order_statistics_match_sorting_everything() -> None:
    rng = random.Random(5)
    for n in (1, 2, 3, 10, 11, 1000, 1001):
        values = [rng.randrange(0, 10**9) for _ in range(n)]
        chunks = [pack(values[: n // 3]), *values[n // 3 : n // 2], pack(values[n // 2 :])]
        ordered = sorted(values)
        assert order_statistics(chunks) == (median(ordered), quantile(ordered, 0.9))
    assert order_statistics([]) == (None, None)
    assert order_statistics([pack([])]) == (None, None)


def test_tickets_stored_before_day_facts_existed_are_counted_after_the_upgrade(db_url: str) -> None:
    """An existing deployment upgrades: its tickets (written without triggers) are all marked, then counted."""
    from store import migrate
    from store.database import open_database

    database = open_database(db_url)
    try:
        apply_fixture_org(database)
        with database.sessions() as s:
            emea = s.scalar(select(Team.id).where(Team.key == "support-emea"))
        migrate.downgrade(database.engine, "0006_member_deactivated_at")
        with database.engine.begin() as conn:
            for i in range(30):
                at = int((BASE + timedelta(hours=7 * i)).timestamp())
                conn.exec_driver_sql(
                    "INSERT INTO tickets (source, external_id, team_id, status, created_at, first_reply_at, solved_at, csat) "
                    f"VALUES ('old', 'o{i}', {emea}, 'solved', {at}, {at + 60 * i}, {at + 3600 * i}, 'good')"
                )
        migrate.upgrade(database.engine)
        assert dirty(database) > 0
        assert do_refresh(database) > 0 and dirty(database) == 0
        start, end = BASE + timedelta(hours=3), BASE + timedelta(days=5, hours=2)
        with database.sessions() as s:
            assert compute(s, Scope(team_id=emea), start, end) == reference(database, emea, start, end)
    finally:
        database.dispose()


def test_writers_and_refreshes_at_once_leave_every_count_right(db: Database, teams: dict[str, int]) -> None:
    """Tickets changing while refreshes run (as webhook events and an import do): nothing is lost.

    Whatever order the writes, the marks and the recounts interleave in, a
    final refresh leaves no mark and figures equal to reading every ticket.
    """
    import threading

    from kpi.day_facts import refresh_database
    from store.engine import write_with_retry

    emea, amer = teams["support-emea"], teams["support-amer"]
    seed(db, [emea, amer], count=300, days=20)
    refresh_database(db)
    with db.sessions() as s:
        ids = list(s.scalars(select(Ticket.id).order_by(Ticket.id)))
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        rng = random.Random(n)
        try:
            for _ in range(25):
                ticket_id = rng.choice(ids)
                solved = BASE + timedelta(days=rng.randrange(10, 21), seconds=rng.randrange(86400))

                def change(session, ticket_id=ticket_id, solved=solved):  # type: ignore[no-untyped-def]
                    ticket = session.get(Ticket, ticket_id, with_for_update=True)
                    ticket.team_id = rng.choice([emea, amer])
                    ticket.solved_at = max(solved, ticket.created_at)
                    ticket.csat = rng.choice(["good", "bad", None])

                write_with_retry(db.sessions, change)
                refresh_database(db, wait=False)
        except BaseException as exc:  # noqa: BLE001 (re-raised below in the test's thread)
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    refresh_database(db)
    assert dirty(db) == 0
    check_all(db, teams)


def test_a_refresh_with_a_limit_leaves_a_bulk_write_to_its_writer(db: Database, teams: dict[str, int]) -> None:
    from kpi.day_facts import refresh_database

    seed(db, [teams["support-emea"]], count=400, days=30)  # marks, as an import in progress leaves
    marks = dirty(db)
    assert marks > 1
    assert refresh_database(db, wait=False, most=marks - 1) == 0 and dirty(db) == marks
    assert refresh_database(db, wait=False, most=marks) > 0 and dirty(db) == 0
    check_all(db, teams)
