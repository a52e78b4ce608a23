"""What the benchmarks that talk to a real `csbot serve` share: free ports, the local Slack stand-in, the server, percentiles."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
from aiohttp import web
from slack_sdk.signature import SignatureVerifier

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fake_slack import FakeSlack  # noqa: E402

SECRET = "bench-signing-secret-0123456789ab"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(values: list[float], q: float) -> float:
    """The q-quantile by nearest rank (what the benchmarks report as p50, p95, p99)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(q * len(ordered))) - 1))]


async def start_fake_slack() -> tuple[FakeSlack, web.AppRunner]:
    """The Slack stand-in (tests/fake_slack.py), listening on a free loopback port."""
    fake = FakeSlack()
    runner = web.AppRunner(fake.app())
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    fake.base_url = f"http://127.0.0.1:{port}"
    return fake, runner


async def start_serve(db_url: str, slack_base: str, extra_env: dict[str, str] | None = None) -> tuple[subprocess.Popen[bytes], str]:
    """`csbot serve` in its own process, on `db_url`, its Slack API at `slack_base`; returns once /healthz answers."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CSBOT_", "SLACK_"))}
    env |= {
        "DATABASE_URL": db_url,
        "CSBOT_PORT": str(port),
        "CSBOT_LOG_LEVEL": "WARNING",
        "SLACK_BOT_TOKEN": "xoxb-bench",
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": f"{slack_base}/api/",
    } | (extra_env or {})
    server = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve"], env=env, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as http:
        for _ in range(300):
            try:
                async with http.get(f"{base}/healthz") as resp:
                    if resp.status == 200:
                        break
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    return server, base


def stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    server.wait(timeout=30)


def command_request(command: str, text: str, *, user: str, channel: str, response_url: str, trigger: str) -> tuple[bytes, dict[str, str]]:
    """A slash command as Slack sends it: the form body and its signed headers (current timestamp)."""
    body = urlencode(
        {"team_id": "T0001", "channel_id": channel, "user_id": user, "command": command, "text": text, "response_url": response_url, "trigger_id": trigger}
    )
    stamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": SignatureVerifier(SECRET).generate_signature(timestamp=stamp, body=body),
    }
    return body.encode(), headers
