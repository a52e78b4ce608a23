"""Escalation speed: the sweep, the on-call timeline, and /escalate to the page on loopback.

    python bench/escalation_bench.py                                   # SQLite in a temporary directory
    python bench/escalation_bench.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench

Three measurements, each against the issue's goal:

1. 1,000 escalations whose first level's wait ran out at once, their first
   pages and status messages posted: one sweep (`bot.escalations.sweep`: lock
   them, page the next level, write the pages, the edits of the earlier copies,
   the timeline and the thread notes to the outbox) in <= 2 s; then how long
   the sender takes to post those 1,000 pages to a local Slack stand-in.
2. `/oncall schedule QUEUE 90d` on a schedule with 3 layers and 50 covers,
   through the router, p95 <= 100 ms.
3. `/escalate` sent as a signed Slack slash command to a real `csbot serve`
   (Slack API: the local stand-in, tests/fake_slack.py) until the page lands
   in the on-call person's DM, p95 <= 300 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.config import SlackSettings  # noqa: E402
from bot.dispatch import run_command  # noqa: E402
from bot.escalations import sweep  # noqa: E402
from bot.slack.client import make_client  # noqa: E402
from bot.slack.notifier import SlackNotifier  # noqa: E402
from bot.tick import make_sender  # noqa: E402
from escalation import engine  # noqa: E402
from handlers.registry import build_router  # noqa: E402
from kpi.definitions import METRIC_NAMES  # noqa: E402
from store.database import Database, open_database  # noqa: E402
from store.org import Member  # noqa: E402
from store.org_file import apply_org, parse_org  # noqa: E402
from store.queues import EscalationQueue  # noqa: E402
from bench.serving import SECRET, command_request, pct, start_fake_slack, start_serve, stop  # noqa: E402

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=timezone.utc)
PEOPLE = 60


def org_text() -> str:
    members = "\n".join(f"  - {{handle: m{i}, name: Member {i}, role: agent, slack_id: U0M{i:04d}}}" for i in range(PEOPLE))
    rota = ", ".join(f"m{i}" for i in range(10))
    days = ", ".join(f"m{i}" for i in range(10, 20))
    nights = ", ".join(f"m{i}" for i in range(20, 30))
    return f"""
org: {{name: Bench, timezone: Europe/Berlin}}
teams:
  - {{key: support, name: Support, timezone: Europe/Berlin}}
members:
  - {{handle: req, name: Requester, team: support, role: agent, slack_id: U0REQ0001}}
  - {{handle: boss, name: Boss, role: admin}}
{members}
escalation:
  queues:
    - key: bench
      name: Bench queue
      channels: {{slack: C0BENCH}}
      schedules:
        - key: primary
          timezone: Europe/Berlin
          layers:
            - {{members: [{rota}], shift: 1w, start: "2026-01-05T09:00"}}
            - {{members: [{days}], shift: 1d, start: "2026-01-05T08:00", hours: mon-fri 08:00-18:00}}
            - {{members: [{nights}], shift: 12h, start: "2026-01-05T20:00", hours: "mon-sun 20:00-06:00"}}
      policy:
        levels:
          - {{notify: [schedule:primary], wait: 10m}}
          - {{notify: [member:m40, member:m41], wait: 10m}}
          - {{notify: [channel], wait: 10m}}
"""


def fresh(db: Database) -> None:
    """An empty schema with the bench organisation."""
    from store.base import Base
    from store.schema import metadata

    metadata()
    with db.engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())
    with db.sessions() as s, s.begin():
        apply_org(s, parse_org(org_text(), METRIC_NAMES))


async def sweep_bench(db: Database, count: int) -> None:
    fresh(db)
    from sqlalchemy import select

    started = time.perf_counter()
    with db.sessions() as s, s.begin():
        queue = s.scalar(select(EscalationQueue))
        requester = s.scalar(select(Member).where(Member.handle == "req"))
        assert queue is not None and requester is not None
        for n in range(count):
            engine.open_escalation(s, queue, ticket=f"#{n}", severity="sev2", reason=f"bench {n}", requester=requester, now=T0)
    print(f"opened {count:,} escalations (first level paged) in {time.perf_counter() - started:.1f} s")
    # As the sender leaves them once posted: the sweep then edits each of these copies in place.
    from sqlalchemy import update

    from store.outbox import OutboxRow

    with db.sessions() as s, s.begin():
        s.execute(update(OutboxRow).where(OutboxRow.kind.in_((engine.PAGE, engine.STATUS))).values(status="sent", message_ids='["1700000000.000100"]', sent_at=T0))
    times = []
    due = T0 + timedelta(minutes=10)
    began = time.perf_counter()
    moved = sweep(db, due)
    times.append(time.perf_counter() - began)
    print(f"one sweep with {moved:,} escalations due at once (level 2 paged, the level 1 pages and status messages edited, outbox written): {times[0]:.2f} s  (goal <= 2 s)")

    fake, runner = await start_fake_slack()
    notifier = SlackNotifier(make_client(SlackSettings("xoxb-bench", SECRET, None, f"{fake.base_url}/api/")))
    try:
        began = time.perf_counter()
        outcomes = await make_sender(db, [notifier]).send_due(due, kinds=(engine.PAGE,), limit=10 * count)
        sent = sum(1 for o in outcomes if o.status == "sent")
        print(f"then the sender posted {sent:,} pages to the local Slack stand-in in {time.perf_counter() - began:.1f} s")
    finally:
        await notifier.client.session.close() if notifier.client.session else None
        await runner.cleanup()


def timeline_bench(db: Database, runs: int) -> None:
    fresh(db)
    router = build_router()
    # 50 covers over the next 90 days, some overlapping.
    for n in range(50):
        start = T0 + timedelta(hours=41 * n)
        reply = run_command(db, router, "boss", f"/oncall cover @m{30 + n % 10} bench {start:%Y-%m-%dT%H:%M}..{start + timedelta(hours=6 + n % 20):%Y-%m-%dT%H:%M}", now=T0, platform="console")
        assert reply.ok, reply.error
    times = []
    pieces = 0
    for _ in range(runs):
        began = time.perf_counter()
        reply = run_command(db, router, "req", "/oncall schedule bench 90d", now=T0, platform="console")
        times.append((time.perf_counter() - began) * 1000)
        assert reply.ok, reply.error
        pieces = len(reply.data["timeline"])
    print(f"/oncall schedule bench 90d (3 layers, 50 covers, {pieces} intervals), {runs} runs: p50 {pct(times, 0.5):.0f} ms  p95 {pct(times, 0.95):.0f} ms  (goal p95 <= 100 ms)")


async def escalate_bench(db_url: str, db: Database, requests: int) -> None:
    fresh(db)
    fake, fake_runner = await start_fake_slack()
    server, base = await start_serve(db_url, fake.base_url)
    try:
        async with aiohttp.ClientSession() as http:
            await asyncio.sleep(3)  # the scheduler takes its lock and starts its jobs
            latencies: list[float] = []
            for n in range(requests):
                body, headers = command_request(
                    "/escalate", f"#{100000 + n} customer charged twice",
                    user="U0REQ0001", channel="C0WORK", response_url=f"{fake.base_url}/response/e{n}", trigger=f"{n}.1.1",
                )  # fmt: skip
                started = time.monotonic()
                async with http.post(f"{base}/slack/events", data=body, headers=headers) as resp:
                    await resp.read()
                marker = f"#{100000 + n}"
                deadline = started + 10
                page = None
                while page is None and time.monotonic() < deadline:
                    page = next((c for c in fake.of("chat.postMessage") if str(c.args.get("channel", "")).startswith("D") and marker in str(c.args.get("text", "")).split("\n")[0]), None)
                    if page is None:
                        await asyncio.sleep(0.005)
                if page is None:
                    print(f"no page for {marker} within 10 s")
                    continue
                latencies.append((page.at - started) * 1000)
        print(f"/escalate (signed Slack command) to the page in the on-call's DM, {len(latencies)} of {requests}: p50 {pct(latencies, 0.5):.0f} ms  p95 {pct(latencies, 0.95):.0f} ms  (goal p95 <= 300 ms)")
    finally:
        stop(server)
        await fake_runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", help="default: SQLite in a temporary directory")
    parser.add_argument("--escalations", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--requests", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/bench.db"
        db = open_database(url)
        try:
            print(f"database: {db.backend}")
            asyncio.run(sweep_bench(db, args.escalations))
            timeline_bench(db, args.runs)
            asyncio.run(escalate_bench(url, db, args.requests))
        finally:
            db.dispose()


if __name__ == "__main__":
    main()
