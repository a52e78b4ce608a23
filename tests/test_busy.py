"""A busy database is "try again"; a bug that happens to be an SQL error is a bug, logged as one."""

from __future__ import annotations

import logging
from datetime import datetime, timezone

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from bot.dispatch import run_command
from handlers.context import Context
from handlers.reply import Reply
from handlers.router import Router
from store.busy import is_busy
from store.database import Database, open_database
from tests.helpers import apply_fixture_org
from tests.test_webhook_hostile import write_lock_held

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc)


def _error(db: Database, sql: str) -> DBAPIError:
    with pytest.raises(DBAPIError) as info, db.engine.begin() as conn:
        conn.execute(text(sql))
    return info.value


def test_sql_mistakes_are_not_busy(db: Database) -> None:
    for sql in ("SELECT no_such_column FROM tickets", "SELECT * FROM no_such_table", "SELEC 1"):
        assert not is_busy(_error(db, sql)), sql


def test_a_held_lock_is_busy(db: Database, db_url: str) -> None:
    impatient = open_database(db_url, timeout_s=0.2, upgrade=False)
    try:
        with write_lock_held(db_url):
            error = _error(impatient, "INSERT INTO processed_requests (key, platform, processed_at) VALUES ('k', 'x', 0)")
        assert is_busy(error)
    finally:
        impatient.dispose()


def test_a_server_that_does_not_answer_is_busy() -> None:
    engine = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none", connect_args={"connect_timeout": 1})
    try:
        with pytest.raises(DBAPIError) as info, engine.connect():
            pass
        assert is_busy(info.value)
    finally:
        engine.dispose()


class BrokenQuery:
    """A command whose code has an SQL mistake, as a bug would."""

    name = "broken"
    summary = "Run a query with a typo"
    usage = "/broken"
    examples: tuple[str, ...] = ()

    def parse(self, words: list[str]) -> None:
        return None

    def authorize(self, ctx: Context, request: None) -> None:
        return None

    def execute(self, ctx: Context, request: None) -> Reply:
        ctx.session.execute(text("SELECT no_such_column FROM tickets"))
        return Reply(title="unreachable")


def test_a_bug_is_reported_as_a_bug_not_as_busy(db: Database, caplog: pytest.LogCaptureFixture) -> None:
    apply_fixture_org(db)
    router = Router()
    router.register(BrokenQuery())
    with caplog.at_level(logging.WARNING):
        reply = run_command(db, router, "alice", "/broken", now=NOW, platform="console")
    assert not reply.ok and reply.error is not None and reply.error.code == "internal"
    assert any(r.exc_info is not None and "no_such_column" in str(r.exc_info[1]) for r in caplog.records)
