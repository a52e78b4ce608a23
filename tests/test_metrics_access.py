"""GET /metrics: open on the public port by default, behind a bearer token, or only on its own port."""

from __future__ import annotations

import logging
import socket

import aiohttp
import pytest

from bot.config import load_settings
from bot.web import create_app, warn_if_metrics_exposed
from store.database import Database
from tests.helpers import serve

TOKEN = "scrape-token-0123456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, str, dict[str, str]]:
    async with aiohttp.ClientSession() as http, http.get(url, headers=headers or {}) as resp:
        return resp.status, await resp.text(), dict(resp.headers)


async def test_metrics_are_open_on_the_public_port_by_default(db: Database) -> None:
    runner, base = await serve(create_app(db, load_settings({})))
    try:
        status, body, _ = await get(f"{base}/metrics")
        assert status == 200 and "csbot_escalations_overdue" in body and "csbot_outbox_stale_leases" in body
    finally:
        await runner.cleanup()


async def test_with_a_token_metrics_need_the_bearer_token(db: Database) -> None:
    runner, base = await serve(create_app(db, load_settings({"CSBOT_METRICS_TOKEN": TOKEN})))
    try:
        for headers in (None, {"Authorization": "Bearer wrong-token-0123456789"}, {"Authorization": TOKEN}, {"Authorization": f"Basic {TOKEN}"}):
            status, body, got = await get(f"{base}/metrics", headers)
            assert status == 401 and "csbot_" not in body and got["WWW-Authenticate"].startswith("Bearer")
        status, body, _ = await get(f"{base}/metrics", {"Authorization": f"Bearer {TOKEN}"})
        assert status == 200 and "csbot_escalations_overdue" in body
        status, _, _ = await get(f"{base}/healthz")  # health stays open: load balancers do not send tokens
        assert status == 200
    finally:
        await runner.cleanup()


@pytest.mark.parametrize("token", [None, TOKEN])
async def test_with_a_metrics_port_metrics_are_served_there_only(db: Database, token: str | None) -> None:
    port = free_port()
    env = {"CSBOT_METRICS_PORT": str(port)} | ({"CSBOT_METRICS_TOKEN": token} if token else {})
    runner, base = await serve(create_app(db, load_settings(env)))
    try:
        status, _, _ = await get(f"{base}/metrics", {"Authorization": f"Bearer {TOKEN}"})
        assert status == 404
        status, body, _ = await get(f"http://127.0.0.1:{port}/metrics")
        assert status == (401 if token else 200)
        status, body, _ = await get(f"http://127.0.0.1:{port}/metrics", {"Authorization": f"Bearer {TOKEN}"})
        assert status == 200 and "csbot_escalations_overdue" in body
        status, _, _ = await get(f"http://127.0.0.1:{port}/healthz")
        assert status == 404  # the metrics port serves nothing else
    finally:
        await runner.cleanup()
    with pytest.raises(aiohttp.ClientConnectionError):  # and stops with the app
        await get(f"http://127.0.0.1:{port}/metrics")


@pytest.mark.parametrize(
    ("env", "host", "warned"),
    [
        ({}, "127.0.0.1", False),
        ({}, "0.0.0.0", True),
        ({"CSBOT_METRICS_TOKEN": TOKEN}, "0.0.0.0", False),
        ({"CSBOT_METRICS_PORT": "9100"}, "0.0.0.0", False),  # on 127.0.0.1:9100
        ({"CSBOT_METRICS_PORT": "9100", "CSBOT_METRICS_HOST": "0.0.0.0"}, "127.0.0.1", True),
        ({"CSBOT_METRICS_PORT": "9100", "CSBOT_METRICS_HOST": "::1"}, "0.0.0.0", False),
    ],
)
def test_serve_warns_when_metrics_are_open_beyond_this_machine(env: dict[str, str], host: str, warned: bool, caplog: pytest.LogCaptureFixture) -> None:

    with caplog.at_level(logging.WARNING):
        warn_if_metrics_exposed(load_settings(env), host)
    assert any("/metrics is open" in r.getMessage() for r in caplog.records) == warned
