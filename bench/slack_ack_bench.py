"""Slack acknowledgement under load: signed /kpi team requests against `csbot serve`.

    python bench/slack_ack_bench.py                       # builds a 1M-ticket SQLite database first
    python bench/slack_ack_bench.py --database-url sqlite:////tmp/bench.db --skip-build

Sends 2,000 signed slash commands, 50 at a time, over loopback to a real
`csbot serve` process whose Slack API is a local stand-in (tests/fake_slack.py),
and prints the acknowledgement latency (the HTTP response Slack waits for at
most 3 s) plus how long the answers took to arrive at response_url.
Goal: 0 errors, p95 ack <= 300 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.kpi_bench import build_database  # noqa: E402
from bench.serving import command_request, pct, start_fake_slack, start_serve, stop  # noqa: E402

async def run(args: argparse.Namespace, db_url: str) -> None:
    fake, fake_runner = await start_fake_slack()
    server, base = await start_serve(db_url, fake.base_url)
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=args.concurrency)) as http:
            rng = random.Random(5)
            teams = [f"team-{t:02d}" for t in range(args.teams)]
            sent_at: dict[str, float] = {}
            acks: list[float] = []
            errors: list[str] = []
            queue: asyncio.Queue[int] = asyncio.Queue()
            for i in range(args.requests):
                queue.put_nowait(i)

            async def worker() -> None:
                while not queue.empty():
                    i = queue.get_nowait()
                    body, headers = command_request(
                        "/kpi", f"team {rng.choice(teams)} 7d",
                        user="UADMIN0001", channel="C0BENCH", response_url=f"{fake.base_url}/response/r{i}", trigger=f"{i}.1.1",
                    )  # fmt: skip
                    started = time.monotonic()
                    sent_at[f"/response/r{i}"] = started
                    try:
                        async with http.post(f"{base}/slack/events", data=body, headers=headers) as resp:
                            await resp.read()
                            if resp.status != 200:
                                errors.append(f"HTTP {resp.status}")
                    except aiohttp.ClientError as exc:
                        errors.append(type(exc).__name__)
                    acks.append((time.monotonic() - started) * 1000)

            began = time.monotonic()
            await asyncio.gather(*(worker() for _ in range(args.concurrency)))
            sending_s = time.monotonic() - began
            deadline = time.monotonic() + 120
            while len(fake.of("response_url")) < args.requests - len(errors) and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            replies = [(c.at - sent_at[c.path]) * 1000 for c in fake.of("response_url") if c.path in sent_at]
        print(f"{args.requests} signed /kpi team requests, {args.concurrency} concurrent, in {sending_s:.1f} s; errors: {len(errors)}")
        print(f"ack latency ms: p50 {pct(acks, 0.5):.0f}  p95 {pct(acks, 0.95):.0f}  p99 {pct(acks, 0.99):.0f}  max {max(acks):.0f}")
        if replies:
            print(
                f"answers at response_url: {len(replies)}; ms after the request: p50 {pct(replies, 0.5):.0f}  "
                f"p95 {pct(replies, 0.95):.0f}  p99 {pct(replies, 0.99):.0f}"
            )
    finally:
        stop(server)
        await fake_runner.cleanup()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--requests", type=int, default=2000)
    p.add_argument("--concurrency", type=int, default=50)
    p.add_argument("--tickets", type=int, default=1_000_000)
    p.add_argument("--teams", type=int, default=50)
    p.add_argument("--database-url", help="default: a new SQLite file in a temporary folder")
    p.add_argument("--skip-build", action="store_true", help="the database already holds the bench org and tickets")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        if not args.skip_build:
            db, _, _, result = build_database(url, args.tickets, 365, args.teams, 500, Path(tmp))
            print(f"database ready: {result.inserted:,} tickets imported in {result.seconds:.1f} s")
            db.dispose()
        asyncio.run(run(args, url))


if __name__ == "__main__":
    main()
