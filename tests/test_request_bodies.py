"""Bodies that break on the way in, on every POST route: cut off, badly framed, trickling.

Each is refused (400) or dropped without a 500, a traceback or a held connection,
and changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest

from bot.config import load_settings
from bot.web import create_app
from store.database import Database
from tests.helpers import apply_fixture_org, assert_no_traceback, serve, table_counts

ROUTES = ["/webhooks/tickets", "/slack/events", "/api/messages"]
HEAD = "POST {route} HTTP/1.1\r\nHost: csbot\r\nContent-Type: application/json\r\n"


@pytest.fixture
async def base(db: Database) -> AsyncIterator[str]:
    apply_fixture_org(db)
    settings = load_settings(
        {
            "CSBOT_WEBHOOK_SECRET": "s3cret-s3cret-s3cret",
            "SLACK_BOT_TOKEN": "xoxb-test-token",
            "SLACK_SIGNING_SECRET": "8f742231b10e8888abcd99yyyzzz85a5",
            # Nothing may reach Slack in these tests: an address nobody answers.
            "SLACK_API_URL": "http://127.0.0.1:9/api/",
            "TEAMS_AUTH_DISABLED": "true",  # so the Teams route reads bodies without a token
        }
    )
    runner, url = await serve(create_app(db, settings))
    yield url
    await runner.cleanup()


async def _exchange(base: str, parts: list[bytes], *, pause_s: float = 0.2) -> bytes:
    """Send `parts` with pauses on a fresh connection; the status line, or b"" if the server just closed."""
    host, port = base.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        for part in parts:
            writer.write(part)
            await writer.drain()
            await asyncio.sleep(pause_s)
        return await asyncio.wait_for(reader.readline(), 5)
    finally:
        writer.close()


@pytest.mark.parametrize("route", ROUTES)
async def test_broken_chunked_framing_mid_body_is_400(
    base: str, db: Database, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch, route: str
) -> None:
    # aiohttp stops feeding the body at the bad chunk without failing the read,
    # so the body's time limit is what ends the request.
    monkeypatch.setattr("bot.request_body.BODY_TIMEOUT_S", 0.5)
    before = table_counts(db)
    head = (HEAD + "Transfer-Encoding: chunked\r\n\r\n").format(route=route).encode()
    with caplog.at_level(logging.INFO):
        status = await _exchange(base, [head + b'5\r\n{"a":\r\n', b"zz\r\nabc\r\n0\r\n\r\n"])
        await asyncio.sleep(0.1)
    assert status.split()[1:2] == [b"400"]
    assert table_counts(db) == before
    assert_no_traceback(caplog.records)


@pytest.mark.parametrize("route", ROUTES)
async def test_a_connection_cut_mid_body_is_dropped_quietly(base: str, db: Database, caplog: pytest.LogCaptureFixture, route: str) -> None:
    before = table_counts(db)
    host, port = base.removeprefix("http://").split(":")
    with caplog.at_level(logging.INFO):
        _, writer = await asyncio.open_connection(host, int(port))
        writer.write((HEAD + "Content-Length: 1000\r\n\r\n").format(route=route).encode() + b'{"a":')
        await writer.drain()
        await asyncio.sleep(0.2)
        writer.close()
        await asyncio.sleep(0.3)
    assert table_counts(db) == before
    assert_no_traceback(caplog.records)


@pytest.mark.parametrize("route", ROUTES)
async def test_a_body_that_trickles_is_refused_in_bounded_time(
    base: str, db: Database, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch, route: str
) -> None:
    monkeypatch.setattr("bot.request_body.BODY_TIMEOUT_S", 0.3)
    head = (HEAD + "Content-Length: 100\r\n\r\n").format(route=route).encode()
    with caplog.at_level(logging.INFO):
        status = await _exchange(base, [head, b"{", b'"', b"a"], pause_s=0.15)
    assert status.split()[1:2] == [b"400"]
    assert_no_traceback(caplog.records)
