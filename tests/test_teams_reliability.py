"""Teams under load and trouble: a busy database, activities racing each other, a Connector that fails.

The real csbot app over real HTTP with a local Bot Connector, on SQLite and
PostgreSQL. A request the database cannot take now is 503 with Retry-After
and changes nothing, so the Connector's retry is answered once; concurrent
first activities of one conversation remember it once; a Connector that
cannot be reached is one warning, not a crash.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

import pytest
from botbuilder.schema import Activity
from sqlalchemy import func, select

from bot.teams import refs
from store.conversations import ChatUser, ConversationRef
from store.database import Database, open_database
from store.processed import ProcessedRequest
from tests.helpers import apply_fixture_org, assert_no_traceback
from tests.teams_env import Env, start_env

JSON = {"Content-Type": "application/json"}


def count(db: Database, model: type) -> int:
    with db.sessions() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


@contextmanager
def conversations_locked(db: Database) -> Iterator[None]:
    """Another connection holds the lock a turn needs to remember its conversation."""
    with db.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("LOCK TABLE conversation_refs IN EXCLUSIVE MODE")
        try:
            yield
        finally:
            conn.rollback()


@pytest.fixture
async def impatient(db: Database) -> AsyncIterator[Env]:
    """csbot on the test database, giving up on a lock after half a second (CSBOT_DB_TIMEOUT_S)."""
    apply_fixture_org(db)
    app_db = open_database(db.engine.url.render_as_string(hide_password=False), timeout_s=0.5, upgrade=False)
    env, runners = await start_env(app_db)
    try:
        yield env
    finally:
        for r in runners:
            await r.cleanup()
        app_db.dispose()


async def test_a_busy_database_is_503_and_the_retry_is_answered_once(
    impatient: Env, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    wire = impatient.activity("kpi team support-emea", where="personal")
    with conversations_locked(db):
        status, headers, _ = await impatient.post_raw(json.dumps(wire).encode(), JSON)
    assert status == 503 and int(headers["Retry-After"]) > 0
    assert impatient.connector.sent == []
    assert count(db, ConversationRef) == 0 and count(db, ProcessedRequest) == 0
    assert_no_traceback(caplog.records)
    # The Bot Connector sends the same activity again, and again: one answer.
    for _ in range(2):
        assert await impatient.post(wire) in (200, 201)
    assert len(impatient.connector.messages()) == 1
    assert count(db, ConversationRef) == 1


def installation_update(env: Env) -> dict[str, Any]:
    wire = env.activity(None, where="channel")
    wire.pop("entities")
    return wire | {"type": "installationUpdate", "action": "add"}


async def test_concurrent_first_activities_remember_the_conversation_once(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    apply_fixture_org(db)
    env, runners = await start_env(db)
    try:
        # Eight activities from one new channel (and one person) at the same moment.
        wires = [installation_update(env) for _ in range(8)]
        statuses = await asyncio.gather(*(env.post(w) for w in wires))
        assert set(statuses) <= {200, 201}
        assert count(db, ConversationRef) == 1 and count(db, ChatUser) == 1
        assert_no_traceback(caplog.records)
    finally:
        for r in runners:
            await r.cleanup()


async def test_a_connector_that_refuses_the_answer_is_one_warning_not_a_crash(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    apply_fixture_org(db)
    env, runners = await start_env(db)
    try:
        env.connector.refuse_replies = True  # as Teams answers once the bot was removed from the chat
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            assert await env.post(env.activity("kpi team support-emea", where="personal")) in (200, 201)
        assert_no_traceback(caplog.records)
        warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(warnings) == 1 and "Bot Connector" in warnings[0], "\n".join(warnings)
        assert env.connector.sent == []  # in particular no "something went wrong" attempt
    finally:
        for r in runners:
            await r.cleanup()


def test_remembering_races_on_both_backends(db: Database) -> None:
    """Sixteen threads remember the same new channel and person at once: one row each, no error."""
    env = Env(db, None, "", "https://smba.example/teams/")  # type: ignore[arg-type] (only builds wire JSON)
    activity = Activity().deserialize(installation_update(env))
    barrier = threading.Barrier(16)
    errors: list[BaseException] = []

    def remember() -> None:
        barrier.wait()
        try:
            refs.remember(db, activity, datetime.now(timezone.utc))
        except BaseException as exc:  # noqa: BLE001 (collected and reported below)
            errors.append(exc)

    threads = [threading.Thread(target=remember) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert count(db, ConversationRef) == 1 and count(db, ChatUser) == 1
