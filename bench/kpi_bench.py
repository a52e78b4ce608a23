"""KPI benchmark: 1,000,000 generated tickets, imported through the CSV importer,
then /kpi latencies through the same router the chat surfaces use.

    python bench/kpi_bench.py                      # SQLite in a temporary folder
    python bench/kpi_bench.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench
    python bench/kpi_bench.py --tickets 100000     # a quicker run

Goals (SQLite, 2 cores): import <= 60 s, /kpi team 7d p95 <= 100 ms,
/kpi teams 30d p95 <= 1 s, peak RSS <= 300 MB.
"""

from __future__ import annotations

import argparse
import csv
import random
import resource
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select  # noqa: E402

from bot.dispatch import run_command  # noqa: E402
from handlers.registry import build_router  # noqa: E402
from kpi.definitions import METRIC_NAMES  # noqa: E402
from kpi.generator import TeamProfile, generate_tickets  # noqa: E402
from kpi.importer import import_tickets  # noqa: E402
from kpi.mapping import FIELDS, Mapping  # noqa: E402
from store.database import open_database  # noqa: E402
from store.org import Member, Team  # noqa: E402
from store.org_file import apply_org, dump_org, parse_org  # noqa: E402

ZONES = ["Europe/Berlin", "America/New_York", "Asia/Singapore", "Europe/London", "America/Chicago", "Australia/Sydney", "UTC"]
NOW = datetime(2026, 11, 1, 12, 0, tzinfo=timezone.utc)


def org_document(teams: int, agents: int) -> dict:  # type: ignore[type-arg]
    doc: dict = {"org": {"name": "Bench Support", "timezone": "UTC"}, "teams": [], "members": []}  # type: ignore[type-arg]
    for t in range(teams):
        doc["teams"].append(
            {
                "key": f"team-{t:02d}",
                "name": f"Team {t:02d}",
                "timezone": ZONES[t % len(ZONES)],
                "targets": {"first_reply_median_s": 3600, "csat": 0.9, "reopen_rate": 0.06},
            }
        )
        doc["members"].append({"handle": f"lead-{t:02d}", "name": f"Lead {t:02d}", "team": f"team-{t:02d}", "role": "lead"})
    for a in range(agents):
        doc["members"].append(
            {"handle": f"agent-{a:03d}", "name": f"Agent {a:03d}", "team": f"team-{a % teams:02d}", "role": "agent", "slack_id": f"UAGENT{a:04d}"}
        )
    doc["members"].append({"handle": "admin", "name": "Admin", "role": "admin", "slack_id": "UADMIN0001"})
    return doc


def write_csv(path: Path, db, count: int, days: int) -> None:  # type: ignore[no-untyped-def]
    with db.sessions() as s:
        teams = s.scalars(select(Team).order_by(Team.key)).all()
        team_ids = {t.key: t.id for t in teams}
        by_team: dict[int, list[int]] = {}
        handle_of: dict[int, str] = {}
        for m in s.scalars(select(Member).where(Member.role == "agent")):
            by_team.setdefault(m.team_id, []).append(m.id)
            handle_of[m.id] = m.handle
    key_of = {v: k for k, v in team_ids.items()}
    profiles = [TeamProfile(t.key, t.timezone, 1.0 + (i % 5) * 0.25, tuple(by_team[t.id])) for i, t in enumerate(teams)]

    def iso(value: datetime | None) -> str:
        return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else ""

    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(FIELDS)
        for r in generate_tickets(profiles, team_ids, count=count, days=days, end=NOW, seed=1):
            w.writerow(
                [
                    r["external_id"],
                    r["subject"],
                    key_of.get(r["team_id"], ""),
                    handle_of.get(r["agent_id"], ""),
                    r["status"],
                    r["priority"],
                    r["channel"],
                    iso(r["created_at"]),
                    iso(r["first_reply_at"]),
                    iso(r["solved_at"]),
                    r["replies"] if r["replies"] is not None else "",
                    r["reopens"] if r["reopens"] is not None else "",
                    r["csat"] or "",
                    "" if r["sla_met"] is None else str(r["sla_met"]).lower(),
                ]
            )


def build_database(url: str, tickets: int, days: int, teams: int, agents: int, workdir: Path):  # type: ignore[no-untyped-def]
    """A database with the bench org and `tickets` imported through the CSV importer."""
    db = open_database(url)
    spec = parse_org(dump_org(org_document(teams, agents)), METRIC_NAMES)
    with db.sessions() as s, s.begin():
        apply_org(s, spec)
    csv_path = workdir / "tickets.csv"
    t0 = time.perf_counter()
    write_csv(csv_path, db, tickets, days)
    gen_s = time.perf_counter() - t0
    result = import_tickets(db, csv_path, Mapping.default(), source="bench")
    assert not result.rejected, result.rejected[:3]
    return db, gen_s, csv_path.stat().st_size, result


def latencies(db, router, handle: str, texts: list[str], repeat: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    samples = []
    for i in range(repeat):
        text = texts[i % len(texts)]
        started = time.perf_counter()
        reply = run_command(db, router, handle, text, now=NOW, platform="bench")
        samples.append((time.perf_counter() - started) * 1000)
        assert reply.ok, (text, reply.error)
    samples.sort()
    return statistics.median(samples), samples[max(0, int(round(0.95 * len(samples))) - 1)]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tickets", type=int, default=1_000_000)
    p.add_argument("--days", type=int, default=365)
    p.add_argument("--teams", type=int, default=50)
    p.add_argument("--agents", type=int, default=500)
    p.add_argument("--repeat", type=int, default=60, help="queries per measured command")
    p.add_argument("--database-url", help="default: a SQLite file in a temporary folder")
    args = p.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        db, gen_s, csv_bytes, result = build_database(url, args.tickets, args.days, args.teams, args.agents, Path(tmp))

        router = build_router()
        rng = random.Random(3)
        teams = [f"team-{t:02d}" for t in range(args.teams)]
        agents = [f"agent-{a:03d}" for a in range(args.agents)]
        rows = [
            ("/kpi team 7d", latencies(db, router, "admin", [f"/kpi team {rng.choice(teams)} 7d" for _ in range(50)], args.repeat)),
            ("/kpi team 90d", latencies(db, router, "admin", [f"/kpi team {rng.choice(teams)} 90d" for _ in range(50)], args.repeat)),
            ("/kpi agent 30d", latencies(db, router, "admin", [f"/kpi agent {rng.choice(agents)} 30d" for _ in range(50)], args.repeat)),
            ("/kpi teams 30d", latencies(db, router, "admin", ["/kpi teams 30d"], max(10, args.repeat // 3))),
        ]
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"database: {db.backend}; tickets: {args.tickets:,} over {args.days} days; teams: {args.teams}; agents: {args.agents}")
        print(f"generate CSV: {gen_s:.1f} s ({csv_bytes / 1e6:.0f} MB)")
        print(f"import: {result.seconds:.1f} s ({result.inserted:,} inserted, {args.tickets / result.seconds:,.0f} rows/s)")
        print(f"{'command':<18}{'p50 ms':>10}{'p95 ms':>10}")
        for name, (p50, p95) in rows:
            print(f"{name:<18}{p50:>10.1f}{p95:>10.1f}")
        print(f"peak RSS: {rss_mb:.0f} MB")
        db.dispose()


if __name__ == "__main__":
    main()
