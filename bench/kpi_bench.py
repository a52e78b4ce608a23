"""KPI benchmark: 1,000,000 generated tickets, imported through the CSV importer,
then /kpi latencies through the same router the chat surfaces use.

    python bench/kpi_bench.py                      # SQLite in a temporary folder
    python bench/kpi_bench.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench
    python bench/kpi_bench.py --tickets 100000     # a quicker run

    python bench/kpi_bench.py --database-url URL --reuse --only '/kpi org 365d'

Each case runs in a fresh interpreter, so its peak RSS is its own.
Goals (SQLite and PostgreSQL, 2 cores): import <= 60 s and within 6x a bare load of the
same file (bench/bare_load.py); /kpi team 7d p95 <= 100 ms;
/kpi teams 30d, /kpi agents 30d and /kpi team 30d by tag p95 <= 200 ms; /kpi org 365d
and /kpi teams 365d p95 <= 1 s; peak RSS of any case <= 300 MB. Trends (a chart each) are timed beside them.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select  # noqa: E402

from bench.bare_load import bare_load_seconds  # noqa: E402
from bot.dispatch import run_command  # noqa: E402
from handlers.registry import build_router  # noqa: E402
from kpi.day_facts import refresh_database  # noqa: E402
from kpi.definitions import METRIC_NAMES  # noqa: E402
from kpi.generator import TeamProfile, generate_tickets  # noqa: E402
from kpi.importer import import_tickets  # noqa: E402
from kpi.mapping import FIELDS, Mapping  # noqa: E402
from store.database import open_database  # noqa: E402
from store.org import Member, Team  # noqa: E402
from store.org_file import apply_org, dump_org, parse_org  # noqa: E402

ZONES = ["Europe/Berlin", "America/New_York", "Asia/Singapore", "Europe/London", "America/Chicago", "Australia/Sydney", "UTC"]
# Each office's business hours and public holidays; the UTC teams work around the clock
# (six teams in seven on a calendar, so /kpi computes business hours for most tickets).
CALENDARS = {
    "Europe/Berlin": ("DE", "BE"),
    "America/New_York": ("US", "NY"),
    "Asia/Singapore": ("SG", None),
    "Europe/London": ("GB", "ENG"),
    "America/Chicago": ("US", "IL"),
    "Australia/Sydney": ("AU", "NSW"),
}
NOW = datetime(2026, 11, 1, 12, 0, tzinfo=timezone.utc)


def org_document(teams: int, agents: int) -> dict:  # type: ignore[type-arg]
    doc: dict = {"org": {"name": "Bench Support", "timezone": "UTC"}, "teams": [], "members": []}  # type: ignore[type-arg]
    doc["calendars"] = [
        {"key": _calendar_key(zone), "timezone": zone, "hours": ["mon-fri 08:00-12:00,13:00-18:00"], "holidays": {"country": country, **({"subdiv": subdiv} if subdiv else {})}}
        for zone, (country, subdiv) in CALENDARS.items()
    ]
    for t in range(teams):
        zone = ZONES[t % len(ZONES)]
        doc["teams"].append(
            {
                "key": f"team-{t:02d}",
                "name": f"Team {t:02d}",
                "timezone": zone,
                "calendar": _calendar_key(zone) if zone in CALENDARS else "none",
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


def _calendar_key(zone: str) -> str:
    return zone.split("/")[-1].lower().replace("_", "-")


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
                    r["tags"] or "",
                ]
            )


# --sla: the demo's policies, in business time on an office calendar where the org has none,
# so the import stamps every ticket with a policy and its due times (kpi.sla).
OFFICE = {"key": "office", "timezone": "Europe/Berlin", "hours": ["mon-fri 08:00-18:00"], "holidays": {"country": "DE", "subdiv": "BE"}}


def with_sla(doc: dict) -> dict:  # type: ignore[type-arg]
    from kpi.demo_org import demo_org_document

    if not doc.get("calendars"):
        doc = {**doc, "org": {**doc["org"], "calendar": "office"}, "calendars": [OFFICE]}
    return {**doc, "sla": demo_org_document()["sla"]}


def build_database(url: str, tickets: int, days: int, teams: int, agents: int, workdir: Path, sla: bool = False):  # type: ignore[no-untyped-def]
    """A database with the bench org and `tickets` imported through the CSV importer."""
    db = open_database(url)
    doc = org_document(teams, agents)
    spec = parse_org(dump_org(with_sla(doc) if sla else doc), METRIC_NAMES)
    with db.sessions() as s, s.begin():
        apply_org(s, spec)
    csv_path = workdir / "tickets.csv"
    t0 = time.perf_counter()
    write_csv(csv_path, db, tickets, days)
    gen_s = time.perf_counter() - t0
    result = import_tickets(db, csv_path, Mapping.default(), source="bench")
    assert not result.rejected, result.rejected[:3]
    result.bare_s = bare_load_seconds(db, csv_path)  # type: ignore[attr-defined]
    return db, gen_s, csv_path.stat().st_size, result


def latencies(db, router, handle: str, texts: list[str], repeat: int) -> list[float]:  # type: ignore[no-untyped-def]
    samples = []
    for i in range(repeat):
        text = texts[i % len(texts)]
        started = time.perf_counter()
        reply = run_command(db, router, handle, text, now=NOW, platform="bench")
        samples.append((time.perf_counter() - started) * 1000)
        assert reply.ok, (text, reply.error)
    return samples


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[max(0, int(round(0.95 * len(ordered))) - 1)]


def case_texts(name: str, teams: int, agents: int) -> list[str]:
    """The commands one case cycles through: random teams or agents, fixed seed."""
    rng = random.Random(3)
    team_keys = [f"team-{t:02d}" for t in range(teams)]
    agent_keys = [f"agent-{a:03d}" for a in range(agents)]
    words = name.split()
    if words[1] == "trend" and words[3] != "org":
        return [" ".join([*words[:3], rng.choice(team_keys), *words[3:]]) for _ in range(50)]
    if words[1] in ("team", "agents", "sla"):
        return [" ".join([words[0], words[1], rng.choice(team_keys), *words[2:]]) for _ in range(50)]
    if words[1] == "agent":
        return [f"{words[0]} agent {rng.choice(agent_keys)} {words[2]}" for _ in range(50)]
    return [name]


# (case, share of --repeat): whole-org cases read every ticket, so fewer rounds.
CASES = [
    ("/kpi team 7d", 1.0),
    ("/kpi team 90d", 1.0),
    ("/kpi agent 30d", 1.0),
    ("/kpi agents 30d", 1.0),
    ("/kpi teams 30d", 0.5),
    ("/kpi teams 365d", 0.25),
    ("/kpi org 365d", 0.25),
    # Breakdowns read the window's tickets (no day facts per channel or hour).
    ("/kpi team 30d by channel", 1.0),
    ("/kpi team 30d by tag", 1.0),
    ("/kpi team 30d by sla", 1.0),
    ("/kpi sla", 1.0),
    ("/kpi team 90d by hour", 0.5),
    ("/kpi org 30d by channel", 0.25),
    ("/kpi org 365d by hour", 0.25),
    # Trends: every metric per week or day (whole UTC days from day facts), and a chart drawn each time.
    ("/kpi trend frt 90d", 1.0),
    ("/kpi trend frt 90d by day", 0.5),
    ("/kpi trend frt org 90d", 0.5),
    ("/kpi trend csat org 120d by day", 0.25),
    ("/kpi trend frt org 365d", 0.25),
    # The card with its figures as a CSV file.
    ("/kpi team 30d --csv", 1.0),
]


def peak_rss_mb() -> float:
    """This process's peak resident set (VmHWM), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_case(url: str, name: str, repeat: int, teams: int, agents: int) -> None:
    """One case in this (fresh) process; prints its samples and peak RSS as JSON."""
    db = open_database(url)
    router = build_router()
    samples = latencies(db, router, "admin", case_texts(name, teams, agents), repeat)
    print(json.dumps({"case": name, "samples": samples, "rss_mb": peak_rss_mb()}))
    db.dispose()


def measure(url: str, name: str, repeat: int, teams: int, agents: int) -> dict:  # type: ignore[type-arg]
    """Run a case in a fresh interpreter so its peak RSS is its own, not the import's."""
    out = subprocess.run(
        [sys.executable, __file__, "--database-url", url, "--case", name, "--repeat", str(repeat),
         "--teams", str(teams), "--agents", str(agents)],
        check=True, capture_output=True, text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tickets", type=int, default=1_000_000)
    p.add_argument("--days", type=int, default=365)
    p.add_argument("--teams", type=int, default=50)
    p.add_argument("--agents", type=int, default=500)
    p.add_argument("--repeat", type=int, default=60, help="queries per measured command")
    p.add_argument("--database-url", help="default: a SQLite file in a temporary folder")
    p.add_argument("--reuse", action="store_true", help="the database already holds a bench run's data: only time queries")
    p.add_argument("--only", action="append", help="time only this case (repeatable), e.g. '/kpi org 365d'")
    p.add_argument("--sla", action="store_true", help="the org has the demo's SLA policies: the import stamps each ticket")
    p.add_argument("--case", help=argparse.SUPPRESS)
    args = p.parse_args()

    if args.case:
        run_case(args.database_url, args.case, args.repeat, args.teams, args.agents)
        return
    if args.reuse and not args.database_url:
        p.error("--reuse needs --database-url")

    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        if not args.reuse:
            db, gen_s, csv_bytes, result = build_database(url, args.tickets, args.days, args.teams, args.agents, Path(tmp), args.sla)
            backend = db.backend
            db.dispose()
            print(f"database: {backend}; tickets: {args.tickets:,} over {args.days} days; teams: {args.teams}; agents: {args.agents}")
            print(f"generate CSV: {gen_s:.1f} s ({csv_bytes / 1e6:.0f} MB)")
            print(f"import: {result.seconds:.1f} s ({result.inserted:,} inserted, {args.tickets / result.seconds:,.0f} rows/s)")
            print(f"bare load of the same file (bench/bare_load.py): {result.bare_s:.1f} s; "
                  f"the import took {result.seconds / result.bare_s:.1f}x as long (goal <= 6x)")
            print(f"import peak RSS: {peak_rss_mb():.0f} MB")
        if args.reuse:
            # What the importer does after an import; a no-op when it already did.
            db = open_database(url)
            t0 = time.perf_counter()
            days = refresh_database(db)
            db.dispose()
            print(f"counted {days:,} team-days in {time.perf_counter() - t0:.1f} s")
        print(f"{'command':<18}{'p50 ms':>10}{'p95 ms':>10}{'peak RSS MB':>14}")
        for name, share in CASES:
            if args.only and name not in args.only:
                continue
            got = measure(url, name, max(10, int(args.repeat * share)), args.teams, args.agents)
            print(f"{name:<18}{statistics.median(got['samples']):>10.1f}{p95(got['samples']):>10.1f}{got['rss_mb']:>14.0f}", flush=True)


if __name__ == "__main__":
    main()
