"""POST /webhooks/tickets as a stranger, a broken helpdesk and a busy day would use it.

Every refusal is 400, 401, 413 or 503, changes nothing, logs at most one line
and never a traceback; concurrent events on one ticket lose no update; a busy
database asks the sender to retry instead of failing.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import create_engine, func, select

from bot.config import load_settings
from bot.dispatch import run_command
from bot.web import create_app
from bot.webhooks import sign
from handlers.registry import build_router
from kpi.importer import import_tickets
from kpi.mapping import Mapping
from kpi.tickets import Ticket, TicketEvent
from store.database import Database, open_database
from store.org import Member, Team
from store.processed import ProcessedRequest
from tests.helpers import apply_fixture_org, assert_no_traceback, serve, table_counts
from tests.test_import import write
from tests.test_webhook import NOW, SECRET, ev

ALLOWED = {200, 400, 401, 404, 413, 503}


@pytest.fixture
async def server(db: Database) -> AsyncIterator[str]:
    apply_fixture_org(db)
    runner, base = await serve(create_app(db, load_settings({"CSBOT_WEBHOOK_SECRET": SECRET}), clock=lambda: NOW))
    yield f"{base}/webhooks/tickets"
    await runner.cleanup()


def signed(body: bytes, ts: str | None = None) -> dict[str, str]:
    stamp = ts if ts is not None else str(int(time.time()))
    return {"Content-Type": "application/json", "X-Csbot-Timestamp": stamp, "X-Csbot-Signature": sign(SECRET, stamp, body)}


async def send(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    async with aiohttp.ClientSession() as http, http.post(url, data=body, headers=headers) as resp:
        return resp.status, dict(resp.headers), await resp.read()


def event_bytes(**changes: object) -> bytes:
    event = ev("e1", "created", "2026-03-02T09:00:00Z", ticket={"team": "support-emea"})
    event.update(changes)
    return json.dumps(event).encode()


GOOD = event_bytes()
SURROGATE_FIELDS = ("id", "type", "source", "at", "rating", "status", "ticket.external_id", "ticket.subject", "ticket.team",
                    "ticket.agent", "ticket.channel", "ticket.priority", "ticket.created_at", "a key", "ticket.a key")


def surrogate_event(where: str) -> bytes:
    """The good event with a lone surrogate escaped into `where` (json.dumps writes it as \\ud800)."""
    event = json.loads(GOOD)
    event.update(type="rated", rating="good", status="solved")
    target, name = (event["ticket"], where[7:]) if where.startswith("ticket.") else (event, where)
    if name == "a key":
        target["x\ud800"] = "1"
    else:
        target[name] = f"{target.get(name) or 'x'}\ud800"
    return json.dumps(event).encode()


async def test_a_lone_surrogate_names_its_field(server: str, db: Database) -> None:
    before = table_counts(db)
    for where in SURROGATE_FIELDS:
        body = surrogate_event(where)
        status, _, answer = await send(server, body, signed(body))
        problems = json.loads(answer)["problems"]
        assert status == 400 and len(problems) == 1 and "lone surrogate" in problems[0], where
        named = {"a key": "a key in the body", "ticket.a key": "a key in ticket"}.get(where, where)
        assert problems[0].startswith(named + ":"), (where, problems)
    assert table_counts(db) == before
Headers = Callable[[bytes], dict[str, str]]


def _cases() -> list[tuple[str, bytes, Headers, int]]:
    """(name, body, headers for the body made when the test runs, expected status)."""

    def with_ts(ts: Callable[[], str], signature: str | None = None) -> Headers:
        def make(body: bytes) -> dict[str, str]:
            stamp = ts()
            return {"X-Csbot-Timestamp": stamp, "X-Csbot-Signature": signature or sign(SECRET, stamp, body)}

        return make

    def now() -> str:
        return str(int(time.time()))

    malformed = [
        ("not JSON", b"{not json"),
        ("not UTF-8", b"\xff\xfe{\"id\": 1}"),
        ("deeply nested", b"[" * 100_000 + b"]" * 100_000),
        ("JSON array", b"[1, 2]"),
        ("JSON null", b"null"),
        ("huge integer", b'{"id": ' + b"9" * 5000 + b"}"),
        ("id is a number", event_bytes(id=5)),
        ("ticket is a list", event_bytes(ticket=[])),
        ("external_id is an object", event_bytes(ticket={"external_id": {"a": 1}})),
        ("NUL in team", event_bytes(ticket={"external_id": "T-1", "team": "Support\u0000EMEA"})),
        ("NUL in id", event_bytes(id="e\u00001")),
        ("team too long", event_bytes(ticket={"external_id": "T-1", "team": "T" * 201})),
        ("agent too long", event_bytes(ticket={"external_id": "T-1", "agent": "a" * 201})),
        ("at is a number", event_bytes(at=1767225600)),
        ("at is a list", event_bytes(at=["2026-03-02T09:00:00Z"])),
        ("at in year 21040", event_bytes(at="21040-01-01T00:00:00Z")),
        ("rating is an object", event_bytes(type="rated", rating={"score": 5})),
        ("status is a list", event_bytes(type="status_changed", status=["solved"])),
        ("type is a list", event_bytes(type=["created"])),
        ("priority is a number", event_bytes(ticket={"external_id": "T-1", "priority": 1})),
        # A lone surrogate ("\ud800" as a JSON escape) in any string, key or value: 400, not 500.
        *((f"lone surrogate in {where}", surrogate_event(where)) for where in SURROGATE_FIELDS),
        ("a surrogate's bytes (not UTF-8) in team", GOOD.replace(b"support-emea", b"support\xed\xa0\x80")),
    ]
    return [
        ("no headers", GOOD, lambda body: {}, 401),
        ("bad signature", GOOD, with_ts(now, "sha256=" + "0" * 64), 401),
        ("signature not hex", GOOD, with_ts(now, "sha256=\u00e9\u00e9"), 401),
        ("400-digit timestamp", GOOD, with_ts(lambda: "9" * 400), 401),
        ("timestamp abc", GOOD, with_ts(lambda: "abc"), 401),
        ("timestamp 1e9", GOOD, with_ts(lambda: "1e9"), 401),
        ("timestamp empty", GOOD, with_ts(lambda: ""), 401),
        ("negative timestamp", GOOD, with_ts(lambda: "-1"), 401),
        ("Arabic-Indic digits", GOOD, with_ts(lambda: "١٧٠٠٠٠٠٠٠٠"), 401),
        ("stale", GOOD, with_ts(lambda: str(int(time.time()) - 3600)), 401),
        ("unsigned garbage", b"\x00\xff" * 100, lambda body: {}, 401),
        *((f"signed but {name}", body, signed, 400) for name, body in malformed),
        ("oversized", b"{" + b" " * (300 * 1024) + b"}", signed, 413),
    ]


@pytest.mark.parametrize(("name", "body", "headers", "expected"), _cases(), ids=[c[0] for c in _cases()])
async def test_hostile_requests_are_refused_cleanly(
    server: str, db: Database, caplog: pytest.LogCaptureFixture, name: str, body: bytes, headers: Headers, expected: int
) -> None:
    before = table_counts(db)
    with caplog.at_level(logging.INFO):
        status, _, _ = await send(server, body, headers(body))
    assert status in ALLOWED and status == expected, name
    assert table_counts(db) == before
    assert_no_traceback(caplog.records)
    # Exactly one line, on the refusal log, naming the route and the source; nothing else at WARNING.
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.name for r in warnings] == ["csbot.refused"]
    assert warnings[0].getMessage().startswith("/webhooks/tickets refused from 127.0.0.1: ")
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert SECRET not in logged and "sha256=" not in logged
    if len(body) > 20:
        assert body[:20].decode("utf-8", "replace") not in logged  # never the body


async def test_a_chunked_body_over_the_limit_is_413(server: str, db: Database) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(40):
            yield b" " * 10_000

    async with aiohttp.ClientSession() as http, http.post(server, data=chunks(), headers=signed(b"")) as resp:
        assert resp.status == 413
    assert table_counts(db)["tickets"] == 0


async def test_concurrent_events_on_one_ticket_lose_no_update(server: str, db: Database) -> None:
    with db.sessions() as s, s.begin():
        s.add(Ticket(source="helpdesk", external_id="T-1", created_at=datetime(2026, 3, 2, 8, tzinfo=timezone.utc), status="open", replies=45, reopens=3))
    events = [ev(f"r{i}", "agent_replied", f"2026-03-02T09:{i:02d}:00Z") for i in range(40)]
    events += [ev(f"o{i}", "reopened", f"2026-03-02T10:{i:02d}:00Z") for i in range(10)]
    results = await asyncio.gather(*(send(server, json.dumps(e).encode(), signed(json.dumps(e).encode())) for e in events))
    assert [status for status, _, _ in results] == [200] * 50
    with db.sessions() as s:
        t = s.scalar(select(Ticket).where(Ticket.external_id == "T-1"))
        assert (t.replies, t.reopens) == (85, 13)
        assert t.first_reply_at == datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
        assert s.scalar(select(func.count()).select_from(TicketEvent)) == 50


async def test_concurrent_events_creating_the_same_new_ticket_team_and_agent(server: str, db: Database) -> None:
    events = [
        ev(f"e{i}", "agent_replied", "2026-03-02T09:30:00Z", ticket={"external_id": f"N-{i % 3}", "team": "Night Shift", "agent": "Newcomer Nina"})
        for i in range(30)
    ]
    results = await asyncio.gather(*(send(server, json.dumps(e).encode(), signed(json.dumps(e).encode())) for e in events))
    assert [status for status, _, _ in results] == [200] * 30
    with db.sessions() as s:
        assert s.scalars(select(Team.key).where(Team.key == "night-shift")).all() == ["night-shift"]
        assert s.scalar(select(func.count()).select_from(Member).where(Member.name == "Newcomer Nina")) == 1
        replies = dict(s.execute(select(Ticket.external_id, Ticket.replies).where(Ticket.external_id.like("N-%"))).all())
    assert replies == {"N-0": 10, "N-1": 10, "N-2": 10}


@contextmanager
def write_lock_held(db_url: str) -> Iterator[None]:
    """Another client holds the write lock csbot needs (SQLite) or the tables it writes (PostgreSQL)."""
    engine = create_engine(db_url)
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")
            conn.exec_driver_sql("LOCK TABLE tickets, ticket_events, processed_requests IN EXCLUSIVE MODE")
        try:
            yield
        finally:
            conn.rollback()
    engine.dispose()


@pytest.fixture
def impatient_db(db: Database, db_url: str) -> Iterator[Database]:
    """The same database, opened the way csbot serve does with CSBOT_DB_TIMEOUT_S=0.3."""
    apply_fixture_org(db)
    quick = open_database(db_url, timeout_s=0.3, upgrade=False)
    yield quick
    quick.dispose()


async def test_a_busy_database_gives_the_webhook_503_with_retry_after(impatient_db: Database, db_url: str, db: Database, caplog: pytest.LogCaptureFixture) -> None:
    runner, base = await serve(create_app(impatient_db, load_settings({"CSBOT_WEBHOOK_SECRET": SECRET}), clock=lambda: NOW))
    try:
        url = f"{base}/webhooks/tickets"
        before = table_counts(db)
        with write_lock_held(db_url), caplog.at_level(logging.INFO):
            started = time.monotonic()
            status, headers, _ = await send(url, GOOD, signed(GOOD))
            assert status == 503 and int(headers["Retry-After"]) > 0
            assert time.monotonic() - started < 5
        assert_no_traceback(caplog.records)
        assert table_counts(db) == before
        # The helpdesk's retry, once the lock is gone, lands the event.
        status, _, _ = await send(url, GOOD, signed(GOOD))
        assert status == 200 and table_counts(db)["ticket_events"] == 1
    finally:
        await runner.cleanup()


def test_a_busy_database_tells_the_chat_user_to_try_again(impatient_db: Database, db_url: str) -> None:
    router = build_router()
    with write_lock_held(db_url):
        reply = run_command(impatient_db, router, "alice", "/kpi me", now=NOW, platform="slack", once="slack:click:1")
    assert not reply.ok and reply.error is not None and reply.error.code == "busy"
    assert "try again" in reply.error.message
    # The claim was rolled back with everything else: trying again works.
    again = run_command(impatient_db, router, "alice", "/kpi me", now=NOW, platform="slack", once="slack:click:1")
    assert again.ok
    with impatient_db.sessions() as s:
        assert s.scalar(select(func.count()).select_from(ProcessedRequest)) == 1


async def test_an_import_while_serve_answers(db: Database, tmp_path: Path) -> None:
    apply_fixture_org(db)
    runner, base = await serve(create_app(db, load_settings({"CSBOT_WEBHOOK_SECRET": SECRET}), clock=lambda: NOW))
    rows = "".join(f"I-{i},,support-emea,alice,open,,,2026-03-02T08:00:00Z,,,1,0,,\n" for i in range(3000))
    path = write(tmp_path, rows)
    done: dict[str, object] = {}

    def run_import() -> None:
        done["result"] = import_tickets(db, path, Mapping.default(), source="helpdesk", batch_rows=200)

    thread = threading.Thread(target=run_import)
    try:
        thread.start()
        url = f"{base}/webhooks/tickets"
        events = [ev(f"w{i}", "agent_replied", "2026-03-02T09:00:00Z", ticket={"external_id": f"W-{i % 5}"}) for i in range(50)]
        # Events on tickets the import is writing too: their replies add to the file's count.
        events += [ev(f"x{i}", "reopened", "2026-03-02T09:30:00Z", ticket={"external_id": "I-2999"}) for i in range(5)]
        results = await asyncio.gather(*(send(url, json.dumps(e).encode(), signed(json.dumps(e).encode())) for e in events))
        async with aiohttp.ClientSession() as http, http.get(f"{base}/healthz") as resp:
            assert resp.status == 200
        await asyncio.to_thread(thread.join, 120)
    finally:
        await runner.cleanup()
    assert [status for status, _, _ in results] == [200] * 55
    assert done["result"].inserted + done["result"].updated == 3000  # type: ignore[attr-defined]
    with db.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Ticket)) == 3005
        assert s.scalar(select(func.count()).select_from(TicketEvent)) == 55
        replies = dict(s.execute(select(Ticket.external_id, Ticket.replies).where(Ticket.external_id.like("W-%"))).all())
        assert replies == {f"W-{i}": 10 for i in range(5)}
        reopens = s.scalar(select(Ticket.reopens).where(Ticket.external_id == "I-2999"))
        assert s.scalar(select(func.count()).select_from(TicketEvent).where(TicketEvent.event_id.like("x%"))) == 5
    # The file states a count (0) and each event adds one to what is stored when it lands:
    # whichever of the file's row and the five events came last, the count is one of these.
    assert 0 <= reopens <= 5


async def test_healthz_never_tells_a_caller_the_driver_error(caplog: pytest.LogCaptureFixture) -> None:
    from sqlalchemy.orm import sessionmaker

    from store.engine import make_engine

    engine = make_engine("postgresql+psycopg://secret_user@127.0.0.1:1/secret_db", timeout_s=1)
    unreachable = Database(engine, sessionmaker(bind=engine))
    runner, base = await serve(create_app(unreachable, load_settings({})))
    try:
        with caplog.at_level(logging.WARNING):
            async with aiohttp.ClientSession() as http, http.get(f"{base}/healthz") as resp:
                assert resp.status == 503
                text = await resp.text()
        assert "secret_user" not in text and "127.0.0.1" not in text and "secret_db" not in text
        assert json.loads(text)["database"]["error"] == "database unreachable"
        assert any("127.0.0.1" in r.getMessage() or "refused" in r.getMessage() for r in caplog.records)
    finally:
        await runner.cleanup()
        engine.dispose()


@pytest.mark.parametrize(
    "raw",
    [
        b"POST /webhooks/tickets HTTP/1.1\r\nHost: x\r\nX-Long: " + b"a" * 9000 + b"\r\n\r\n",
        b"POST /webhooks/tickets HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
        b"POST /webhooks/tickets HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
    ],
    ids=["header over 8 KB", "broken chunks", "negative length"],
)
async def test_requests_aiohttp_cannot_parse_are_400_and_one_line(
    server: str, db: Database, caplog: pytest.LogCaptureFixture, raw: bytes
) -> None:
    host, port = server.split("//")[1].split("/")[0].split(":")
    before = table_counts(db)
    with caplog.at_level(logging.INFO):
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(raw)
        await writer.drain()
        status_line = await reader.readline()
        writer.close()
        await asyncio.sleep(0.05)
    assert status_line.split()[1] == b"400"
    assert table_counts(db) == before
    assert_no_traceback(caplog.records)
    assert len([r for r in caplog.records if r.levelno >= logging.WARNING]) <= 1


async def test_a_compressed_body_is_read_as_sent(server: str, db: Database, caplog: pytest.LogCaptureFixture) -> None:
    # Signatures are over the bytes as sent; a corrupt gzip body is never inflated inside a route.
    body = b"\x1f\x8b\x08\x00not really gzip"
    with caplog.at_level(logging.INFO):
        status, _, _ = await send(server, body, {**signed(body), "Content-Encoding": "gzip"})
    assert status == 400
    assert table_counts(db)["ticket_events"] == 0
    assert_no_traceback(caplog.records)
