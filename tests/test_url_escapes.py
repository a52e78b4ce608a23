"""URLs whose %-escapes are not UTF-8 text (a lone surrogate's bytes, %ED%A0%80) on every GET route.

The real app over real HTTP, sent as raw request lines so no client library
re-encodes them: each is a 400 naming the part of the URL, with one refusal
line, no traceback and nothing written.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import datetime, timezone

import pytest

from bot.config import load_settings
from bot.web import create_app
from store.database import Database
from tests.helpers import apply_fixture_org, assert_no_traceback, serve, table_counts

NOW = datetime(2026, 3, 2, 12, tzinfo=timezone.utc)
SIG = "a" * 64


@pytest.fixture
async def base(db: Database) -> AsyncIterator[str]:
    apply_fixture_org(db)
    runner, url = await serve(create_app(db, load_settings({"CSBOT_PUBLIC_URL": "https://csbot.example.com"}), clock=lambda: NOW))
    yield url
    await runner.cleanup()


async def raw_get(base: str, target: str) -> tuple[int, str]:
    host, port = base.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    answer = (await reader.read()).decode("utf-8", "replace")
    writer.close()
    head, _, body = answer.partition("\r\n\r\n")
    return int(head.split()[1]), body


EXP = int(NOW.timestamp()) + 3600
CASES = {
    "/oncall/tier2.ics?key=%ED%A0%80" + "a" * 37: "query field key",
    "/oncall/tier2%ED%A0%80.ics?key=" + "a" * 40: "the path",
    "/oncall/tier2.ics?%ED%A0%80=1": "a query field name",
    f"/charts/{'t' * 32}.png?exp={EXP}&sig=%ED%A0%80{SIG[3:]}": "query field sig",
    f"/charts/{'t' * 32}.png?exp=%ED%A0%80&sig={SIG}": "query field exp",
    f"/charts/%ED%A0%80{'t' * 30}.png?exp={EXP}&sig={SIG}": "the path",
    "/ack/v1.1.1.1.9999999999.%ED%A0%80": "the path",
    "/healthz?x=%ED%A0%80": "query field x",
    "/metrics?%ff=1": "a query field name",
}


@pytest.mark.parametrize("target", list(CASES))
async def test_an_undecodable_url_is_400_naming_its_part(base: str, db: Database, caplog: pytest.LogCaptureFixture, target: str) -> None:
    before = table_counts(db)
    with caplog.at_level(logging.INFO):
        status, body = await raw_get(base, target)
    assert status == 400 and f"{CASES[target]} is not UTF-8 text" in body
    assert table_counts(db) == before
    assert_no_traceback(caplog.records)
    assert [r.name for r in caplog.records if r.levelno >= logging.WARNING] == ["csbot.refused"]


async def test_a_chart_signature_of_valid_but_foreign_characters_is_not_found(base: str, db: Database, caplog: pytest.LogCaptureFixture) -> None:
    # U+FFFD is valid UTF-8: the link is simply wrong (and non-ASCII never reaches compare_digest, which raises on it).
    sig = "%EF%BF%BD" * 64
    status, _ = await raw_get(base, f"/charts/{'t' * 32}.png?exp={EXP}&sig={sig}")
    assert status == 404
    assert_no_traceback(caplog.records)
