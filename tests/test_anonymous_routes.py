"""Anonymous GETs (health, metrics, calendars) cannot delay chat work: cached, read-only, bounded, on their own threads."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import aiohttp
import pytest
from sqlalchemy import event, text

from bot.anonymous import ANONYMOUS_THREADS, RUNNING, WAITING, anonymous_pool
from bot.config import load_settings
from bot.web import STATUS_KEY, create_app
from escalation.ics import subscription_key
from store.chart_images import app_key
from store.database import Database
from tests.helpers import serve
from tests.slack_env import running_slack
from tests.test_escalations import T0, setup


class Monotonic:
    """A clock for the status cache that moves only when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@contextmanager
def counting_probes(db: Database) -> Iterator[list[str]]:
    """Every `SELECT 1` (the health probe's query) the database receives."""
    seen: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if statement.strip().upper() == "SELECT 1":
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


@contextmanager
def anonymous_pool_blocked() -> Iterator[None]:
    """Every anonymous thread busy (as under a flood of slow requests) until the block ends."""
    release = threading.Event()
    started = threading.Barrier(ANONYMOUS_THREADS + 1)

    def hold() -> None:
        started.wait()
        release.wait(30)

    futures = [anonymous_pool().submit(hold) for _ in range(ANONYMOUS_THREADS)]
    started.wait(10)
    try:
        yield
    finally:
        release.set()
        for f in futures:
            f.result(10)


async def test_healthz_probes_the_database_at_most_once_a_second_however_many_ask(db: Database) -> None:
    app = create_app(db, load_settings({}))
    clock = Monotonic()
    app[STATUS_KEY].monotonic = clock
    runner, base = await serve(app)
    try:
        with counting_probes(db) as probes:
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:

                async def one() -> int:
                    async with http.get(f"{base}/healthz") as resp:
                        assert (await resp.json())["status"] == "ok"
                        return resp.status

                # A burst at once (concurrent requests share one probe), then more within the same second.
                assert set(await asyncio.gather(*(one() for _ in range(30)))) == {200}
                assert set(await asyncio.gather(*(one() for _ in range(30)))) == {200}
                assert len(probes) == 1
                clock.now += 0.9
                await one()
                assert len(probes) == 1
                clock.now += 0.2  # a second after the probe: the next requests start one probe (and meanwhile get the last status)
                assert set(await asyncio.gather(*(one() for _ in range(30)))) == {200}
                for _ in range(100):
                    if app[STATUS_KEY].probes == 2:
                        break
                    await asyncio.sleep(0.02)
                assert set(await asyncio.gather(*(one() for _ in range(30)))) == {200}
                assert len(probes) == 2
        assert app[STATUS_KEY].probes == 2
    finally:
        await runner.cleanup()


async def test_a_flood_beyond_the_queue_is_answered_503_at_once_and_the_rest_answered_later(db: Database) -> None:
    app = create_app(db, load_settings({}))
    runner, base = await serve(app)
    flood = RUNNING + WAITING + 60
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:

            async def one() -> tuple[int, str | None, float]:
                started = time.monotonic()
                async with http.get(f"{base}/healthz") as resp:
                    await resp.read()
                    return resp.status, resp.headers.get("Retry-After"), time.monotonic() - started

            with anonymous_pool_blocked():  # the probe cannot run: requests pile up behind it
                waiting = [asyncio.ensure_future(one()) for _ in range(flood)]
                await asyncio.sleep(1.5)
                refused = [t.result() for t in waiting if t.done()]
                assert len(refused) == flood - RUNNING - WAITING
                assert all(status == 503 and retry == "1" and took < 2.0 for status, retry, took in refused)
            # Once the pool is free again, everyone who was let into the queue gets an answer.
            answered = [await t for t in waiting if not t.done() or t.result()[0] != 503]
            assert len(answered) == RUNNING + WAITING and {status for status, _, _ in answered} == {200}
        async with aiohttp.ClientSession() as http, http.get(f"{base}/metrics") as resp:
            body = await resp.text()
        (line,) = [x for x in body.splitlines() if x.startswith('csbot_anonymous_refused_total{route="/healthz"}')]
        assert float(line.split()[-1]) >= flood - RUNNING - WAITING
    finally:
        await runner.cleanup()


async def test_a_signed_command_answers_while_every_anonymous_thread_and_queue_slot_is_taken(db: Database) -> None:
    async with running_slack(db) as env:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:

            async def probe() -> int:
                async with http.get(f"{env.base}/healthz") as resp:
                    await resp.read()
                    return resp.status

            with anonymous_pool_blocked():
                flood = [asyncio.ensure_future(probe()) for _ in range(RUNNING + WAITING + 20)]
                await asyncio.sleep(0.5)
                started = time.monotonic()
                status, _, _ = await env.command("/kpi", "help")
                assert status == 200 and time.monotonic() - started < 3.0
                (answer,) = await env.wait_for("response_url", 1, timeout=10)
                assert "kpi" in str(answer.args).lower()
                assert not all(t.done() for t in flood)  # the flood is still waiting for the anonymous pool
            await asyncio.gather(*flood)


async def test_the_calendar_answers_while_another_writer_holds_the_write_lock(db: Database, db_url: str) -> None:
    setup(db)
    with db.sessions() as s, s.begin():
        key = subscription_key(s, "billing")
    runner, base = await serve(create_app(db, load_settings({}), clock=lambda: T0))
    writer = db.engine.connect()
    try:
        # Another process writing: SQLite's write lock, or on PostgreSQL a lock no insert or update can pass.
        if db.backend == "sqlite":
            writer.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            writer.begin()
            writer.execute(text("LOCK TABLE app_keys, escalation_queues, members IN SHARE ROW EXCLUSIVE MODE"))
        started = time.monotonic()
        async with aiohttp.ClientSession() as http, http.get(f"{base}/oncall/billing.ics?key={key}") as resp:
            assert resp.status == 200 and resp.content_type == "text/calendar"
            assert "BEGIN:VCALENDAR" in await resp.text()
        assert time.monotonic() - started < 3.0
        async with aiohttp.ClientSession() as http, http.get(f"{base}/oncall/billing.ics?key={'0' * 40}") as resp:
            assert resp.status == 404
    finally:
        writer.rollback()
        writer.close()
        await runner.cleanup()


@pytest.mark.parametrize(
    "route", ["/oncall/billing.ics?key=" + "f" * 40, "/charts/" + "a" * 43 + ".png?exp=9999999999&sig=" + "0" * 64, "/ack/v1.1.1.1.9999999999." + "A" * 43]
)
async def test_forged_links_cost_no_database_work_once_the_key_is_known(db: Database, route: str) -> None:
    setup(db)
    runner, base = await serve(create_app(db, load_settings({"CSBOT_PUBLIC_URL": "https://csbot.example.com"}), clock=lambda: T0))
    statements: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement)

    async def forged(times: int) -> None:
        for _ in range(times):
            async with http.get(base + route) as resp:
                assert resp.status == 404

    try:
        async with aiohttp.ClientSession() as http:
            event.listen(db.engine, "before_cursor_execute", record)
            await forged(20)  # no link was ever made: the missing key is looked for once a second at most
            assert len(statements) == 1
            with db.sessions() as s, s.begin():  # the keys exist from here on
                subscription_key(s, "billing")
                app_key(s, "chart-links")
                app_key(s, "email-ack")
            await asyncio.sleep(1.1)
            statements.clear()
            await forged(1)  # reads the key, and keeps it
            assert len(statements) == 1
            statements.clear()
            await forged(20)
            assert statements == []
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
        await runner.cleanup()
