"""Scorecard benchmark: 200 teams on the 1,000,000-ticket database, every scorecard with its chart.

    python bench/scorecard_bench.py                      # SQLite in a temporary folder
    python bench/scorecard_bench.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench
    python bench/scorecard_bench.py --database-url URL --reuse   # the database of an earlier run

Three figures, each through the code csbot runs:
- one team: `team_card` (the numbers and the PNG chart), p50 and p95 over random teams;
- the morning: every team's digest due at once, composed as `csbot tick` composes
  them (bot.outbox_sender.compose_all: worker processes, one per core);
- a tick with nothing due: `run_tick` at a moment when everything due was sent.
Goals (2 cores): all 200 <= 30 s; one team <= 300 ms; a tick with nothing due <= 200 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select, update  # noqa: E402

from bench.kpi_bench import NOW, build_database  # noqa: E402
from bot import digests  # noqa: E402
from bot.outbox_sender import compose_all  # noqa: E402
from kpi.alerts import AlertState  # noqa: E402
from bot.tick import run_tick  # noqa: E402
from handlers.scorecard import team_card  # noqa: E402
from store.database import open_database  # noqa: E402
from store.engine import write_transaction  # noqa: E402
from store.org import Team  # noqa: E402
from store.outbox import OutboxRow, claim_due, record_sent  # noqa: E402

DAY = date(2026, 10, 30)  # a Friday inside the generated history
MORNING = datetime(2026, 11, 2, 16, 0, tzinfo=timezone.utc)  # the Monday after, 16:00 UTC: every zone's 09:00 has passed
# Rules a lead might set, on every team, so the idle tick also looks at alerts.
ALERTS = {
    "backlog": {"direction": "above", "threshold": 400, "window_s": 86400, "min_n": 0, "for_s": 0},
    "first_reply_median_s": {"direction": "above", "threshold": 7200, "window_s": 14400, "min_n": 5, "for_s": 1800},
    "csat": {"direction": "below", "threshold": 0.8, "window_s": 86400, "min_n": 10, "for_s": 0},
}


def one_team(db, repeat: int) -> list[float]:  # type: ignore[no-untyped-def]
    rng = random.Random(7)
    with db.sessions() as s:
        teams = s.scalars(select(Team).order_by(Team.key)).all()
    samples = []
    for _ in range(repeat):
        team = rng.choice(teams)
        started = time.perf_counter()
        with db.sessions() as s:
            reply = team_card(s, s.get(Team, team.id), DAY, now=NOW)
        samples.append(time.perf_counter() - started)
        assert reply.ok
    return samples


def the_morning(db) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    """Plan every team's digest for the morning after DAY, claim them all, compose them all."""
    with db.sessions() as s, s.begin():
        s.execute(update(Team).values(digest_time="09:00", digest_days="mon-fri", slack_channel=Team.key, alerts=ALERTS))
        s.execute(OutboxRow.__table__.delete())
        s.execute(AlertState.__table__.delete())
    digests.plan_digests(db, MORNING, platforms={"slack"}, catchup=timedelta(hours=24))
    with write_transaction(db.sessions) as s:
        rows = claim_due(s, MORNING, kinds=("scorecard",), limit=10_000)
    started = time.perf_counter()
    replies = compose_all(db, rows, MORNING, {"scorecard": digests.compose})
    elapsed = time.perf_counter() - started
    assert len(replies) == len(rows) and all(r.ok for r in replies.values())
    with write_transaction(db.sessions) as s:
        for row in rows:
            record_sent(s, row, MORNING, ["bench"])
    return elapsed, len(rows)


def alert_checks(db) -> float:  # type: ignore[no-untyped-def]
    """One alert slot: every team's three rules checked (what a tick does every ALERT_CHECK_MINUTES)."""
    started = time.perf_counter()
    asyncio.run(run_tick(db, [], MORNING, only="alerts", catchup=timedelta(hours=24)))
    return time.perf_counter() - started


def idle_tick(db, repeat: int) -> list[float]:  # type: ignore[no-untyped-def]
    """Ticks after everything due was sent and this alert slot checked: nothing to plan, check or send."""
    samples = []
    for k in range(repeat):
        started = time.perf_counter()
        report = asyncio.run(run_tick(db, [], MORNING + timedelta(seconds=5 * (k + 1)), catchup=timedelta(hours=24)))
        samples.append(time.perf_counter() - started)
        assert not report.outcomes and not report.planned, report.lines()
    return samples


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--database-url")
    p.add_argument("--reuse", action="store_true", help="use the database as it is (built by an earlier run)")
    p.add_argument("--tickets", type=int, default=1_000_000)
    p.add_argument("--days", type=int, default=365)
    p.add_argument("--teams", type=int, default=200)
    p.add_argument("--agents", type=int, default=2000)
    p.add_argument("--repeat", type=int, default=30)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        if args.reuse:
            db = open_database(url)
        else:
            db, _gen_s, _csv_bytes, result = build_database(url, args.tickets, args.days, args.teams, args.agents, Path(tmp))
            print(f"built: {result}")
        try:
            with db.sessions() as s:
                teams = len(s.scalars(select(Team.id)).all())
            print(f"database: {db.backend}; teams: {teams}")
            one = one_team(db, args.repeat)
            print(f"one team's scorecard with its chart: p50 {pct(one, 0.5):.0f} ms, p95 {pct(one, 0.95):.0f} ms (goal <= 300 ms)")
            elapsed, count = the_morning(db)
            print(f"every team's scorecard with its chart ({count}): {elapsed:.1f} s (goal <= 30 s)")
            print(f"one alert slot, {teams} teams x 3 rules checked: {alert_checks(db):.1f} s")
            idle = idle_tick(db, args.repeat)
            print(f"csbot tick with nothing due: p50 {statistics.median(idle) * 1000:.0f} ms, p95 {pct(idle, 0.95):.0f} ms (goal <= 200 ms)")
        finally:
            db.dispose()


if __name__ == "__main__":
    main()
