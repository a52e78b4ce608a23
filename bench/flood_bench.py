"""Chat work under a flood of anonymous GETs: signed commands and pages while 1,000 clients hammer each GET route.

    python bench/flood_bench.py                                   # SQLite in a temporary directory
    python bench/flood_bench.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench

For each anonymous route (`/healthz`, `/metrics`, `/oncall/QUEUE.ics` with forged
keys, `/charts/….png` with forged signatures), a separate process keeps
`--clients` connections (default 1,000) requesting that route as fast as the
server answers, against a real `csbot serve` (Slack API: the local stand-in,
tests/fake_slack.py). Meanwhile this process sends signed slash commands
(`/oncall bench`, which reads the database) and `/escalate` commands, one at a
time, and measures:

- the acknowledgement of each signed command and the time until its answer
  reaches response_url: goal p95 <= 300 ms;
- `/escalate` until the page lands in the on-call person's DM: goal p95 <= 1 s;
- what the flood got: answers per second, by status (503 = refused at once).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.escalation_bench import fresh  # noqa: E402
from bench.serving import command_request, pct, start_fake_slack, start_serve, stop  # noqa: E402
from store.database import open_database  # noqa: E402

ROUTES = {
    "healthz": lambda: "/healthz",
    "metrics": lambda: "/metrics",
    "ics (forged keys)": lambda: f"/oncall/bench.ics?key={secrets.token_hex(20)}",
    "charts (forged links)": lambda: f"/charts/{secrets.token_urlsafe(32)}.png?exp={int(time.time()) + 86400}&sig={secrets.token_hex(32)}",
}


async def flood(base: str, route: str, clients: int, seconds: float) -> None:
    """The flooding process: `clients` connections requesting `route` until `seconds` have passed; prints its counts as JSON."""
    make = ROUTES[route]
    statuses: Counter[str] = Counter()
    deadline = time.monotonic() + seconds

    async def client(http: aiohttp.ClientSession) -> None:
        while time.monotonic() < deadline:
            try:
                async with http.get(base + make()) as resp:
                    await resp.read()
                    statuses[str(resp.status)] += 1
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                statuses[type(exc).__name__] += 1
                await asyncio.sleep(0.05)

    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0), timeout=timeout) as http:
        await asyncio.gather(*(client(http) for _ in range(clients)))
    print(json.dumps(dict(statuses)))


async def measure(base: str, fake, commands: int, pages: int, offset: int) -> tuple[list[float], list[float], list[float]]:  # type: ignore[no-untyped-def]
    """Signed `/oncall bench` commands (ack, answer) and `/escalate` to the DM, one at a time; in ms."""
    acks, answers, dms = [], [], []
    async with aiohttp.ClientSession() as http:
        for n in range(commands):
            path = f"/response/f{offset + n}"
            body, headers = command_request("/oncall", "bench", user="U0REQ0001", channel="C0WORK", response_url=fake.base_url + path, trigger=f"{offset + n}.2.2")
            started = time.monotonic()
            async with http.post(f"{base}/slack/events", data=body, headers=headers) as resp:
                await resp.read()
                assert resp.status == 200, resp.status
            acks.append((time.monotonic() - started) * 1000)
            deadline = started + 30
            while time.monotonic() < deadline:
                got = next((c for c in fake.of("response_url") if c.path == path), None)
                if got is not None:
                    answers.append((got.at - started) * 1000)
                    break
                await asyncio.sleep(0.005)
            await asyncio.sleep(0.05)
        for n in range(pages):
            marker = f"#{offset + 500000 + n}"
            body, headers = command_request(
                "/escalate", f"{marker} customer charged twice",
                user="U0REQ0001", channel="C0WORK", response_url=f"{fake.base_url}/response/e{offset + n}", trigger=f"{offset + n}.1.1",
            )  # fmt: skip
            started = time.monotonic()
            async with http.post(f"{base}/slack/events", data=body, headers=headers) as resp:
                await resp.read()
            deadline = started + 120
            page = None
            while page is None and time.monotonic() < deadline:
                page = next((c for c in fake.of("chat.postMessage") if str(c.args.get("channel", "")).startswith("D") and marker in str(c.args.get("text", "")).split("\n")[0]), None)
                if page is None:
                    await asyncio.sleep(0.005)
            dms.append((page.at - started) * 1000 if page else float("inf"))
            await asyncio.sleep(0.05)
    return acks, answers, dms


async def run(args: argparse.Namespace, db_url: str) -> None:
    fake, fake_runner = await start_fake_slack()
    server, base = await start_serve(db_url, fake.base_url, {"CSBOT_PUBLIC_URL": "https://csbot.example.com"})
    try:
        await asyncio.sleep(3)  # the scheduler takes its lock and starts its jobs
        acks, answers, dms = await measure(base, fake, args.commands, args.pages, 0)
        print(f"no flood: command ack p50 {pct(acks, 0.5):.0f} / p95 {pct(acks, 0.95):.0f} ms, answer p50 {pct(answers, 0.5):.0f} / p95 {pct(answers, 0.95):.0f} ms, "
              f"/escalate to DM p50 {pct(dms, 0.5):.0f} / p95 {pct(dms, 0.95):.0f} ms")  # fmt: skip
        for i, route in enumerate(ROUTES, start=1):
            if args.routes and not any(route.startswith(r) for r in args.routes.split(",")):
                continue
            seconds = args.seconds
            flooder = subprocess.Popen(
                [sys.executable, __file__, "--flood", base, route, str(args.clients), str(seconds)], stdout=subprocess.PIPE, cwd=ROOT
            )
            await asyncio.sleep(args.warmup)  # the flood's connections are open and busy
            began = time.monotonic()
            acks, answers, dms = await measure(base, fake, args.commands, args.pages, i * 10000)
            took = time.monotonic() - began
            out, _ = await asyncio.to_thread(flooder.communicate)
            counts = json.loads(out.decode().strip().splitlines()[-1])
            total = sum(counts.values())
            if took > seconds - args.warmup:
                print(f"  (the measurements took {took:.0f} s, longer than the flood's {seconds - args.warmup:.0f} s: raise --seconds)")
            print(
                f"{route}: {args.clients} clients, {total / seconds:,.0f} answers/s ({', '.join(f'{k}: {v:,}' for k, v in sorted(counts.items()))}); "
                f"command ack p50 {pct(acks, 0.5):.0f} / p95 {pct(acks, 0.95):.0f} ms, answer p50 {pct(answers, 0.5):.0f} / p95 {pct(answers, 0.95):.0f} ms "
                f"(goal p95 <= 300); /escalate to DM p50 {pct(dms, 0.5):.0f} / p95 {pct(dms, 0.95):.0f} ms (goal p95 <= 1000)"
            )
    finally:
        stop(server)
        await fake_runner.cleanup()


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--flood":
        _, _, base, route, clients, seconds = sys.argv
        asyncio.run(flood(base, route, int(clients), float(seconds)))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", help="default: SQLite in a temporary directory")
    parser.add_argument("--clients", type=int, default=1000, help="concurrent flooding connections per route")
    parser.add_argument("--seconds", type=float, default=40.0, help="how long each route is flooded")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds of flood before measuring")
    parser.add_argument("--commands", type=int, default=40, help="signed /oncall commands per route")
    parser.add_argument("--pages", type=int, default=20, help="/escalate commands per route")
    parser.add_argument("--routes", help="comma-separated route names to flood (default: all): healthz,metrics,ics,charts")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/bench.db"
        db = open_database(url)
        try:
            print(f"database: {db.backend}; machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
            fresh(db)
        finally:
            db.dispose()
        asyncio.run(run(args, url))


if __name__ == "__main__":
    main()
