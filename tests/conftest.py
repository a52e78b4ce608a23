"""Shared fixtures: a real database per test, on SQLite and (when configured) PostgreSQL.

Set CSBOT_TEST_POSTGRES_URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)
to run every database test on PostgreSQL too; each test gets its own schema,
dropped afterwards.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from bot.config import SlackSettings
from bot.slack.client import make_client
from bot.slack.notifier import SlackNotifier
from store import migrate
from store.database import Database, open_database
from tests.fake_slack import FakeSlack
from tests.helpers import serve

FIXTURES = Path(__file__).parent / "fixtures"
PG_URL = os.environ.get("CSBOT_TEST_POSTGRES_URL", "").strip()
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])


def _pg_schema_url(schema: str) -> str:
    url = make_url(PG_URL)
    url = url.update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database URL on each configured backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'csbot.db'}"
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield _pg_schema_url(schema)
    finally:
        _drop_schema(admin, schema)
        admin.dispose()


def _drop_schema(admin: Engine, schema: str) -> None:
    """Drop a test's schema, again if it deadlocks with a connection the test's server thread is still closing."""
    for attempt in range(5):
        try:
            with admin.connect() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            return
        except OperationalError:
            if attempt == 4:
                raise
            time.sleep(0.2 * (attempt + 1))


class MigratedSchema:
    """The schema the migrations build, built for real once per test process, then given to each test quickly.

    Running every Alembic migration for each of hundreds of tests costs 0.1 s
    (SQLite) to 0.3 s (PostgreSQL) a test. So the first `db` of a process is
    migrated by Alembic, exactly as `csbot` does it, and kept: on SQLite as
    a file each later test copies, on PostgreSQL as the statements Alembic
    sent, which each later test's empty schema receives in the same order.
    (tests/test_migrations.py runs the migrations themselves, every time.)
    """

    def __init__(self) -> None:
        self.sqlite_file: Path | None = None
        self.pg_statements: list[tuple[str, object]] | None = None

    def sqlite(self, url: str) -> Database:
        target = Path(make_url(url).database or "")
        if self.sqlite_file is None:
            folder = Path(tempfile.mkdtemp(prefix="csbot-schema-"))
            self.sqlite_file = folder / "migrated.db"
            open_database(f"sqlite:///{self.sqlite_file}").dispose()  # the last connection closed: WAL checkpointed
        shutil.copyfile(self.sqlite_file, target)
        return open_database(url, upgrade=False)

    def postgresql(self, url: str) -> Database:
        if self.pg_statements is None:
            recorded: list[tuple[str, object]] = []
            database = open_database(url, upgrade=False)

            def record(_conn: object, _cursor: object, statement: str, parameters: object, _context: object, _many: bool) -> None:
                if not statement.lstrip().upper().startswith(("SELECT", "SHOW", "BEGIN", "COMMIT", "ROLLBACK")):
                    recorded.append((statement, parameters))

            event.listen(database.engine, "before_cursor_execute", record)
            migrate.upgrade(database.engine)
            event.remove(database.engine, "before_cursor_execute", record)
            self.pg_statements = recorded
            return database
        database = open_database(url, upgrade=False)
        raw = database.engine.raw_connection()
        try:
            with raw.cursor() as cursor:
                for statement, parameters in self.pg_statements:
                    cursor.execute(statement, parameters or None)
            raw.commit()
        finally:
            raw.close()
        return database


_migrated = MigratedSchema()


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    """A migrated database on each backend."""
    database = _migrated.sqlite(db_url) if db_url.startswith("sqlite") else _migrated.postgresql(db_url)
    try:
        yield database
    finally:
        database.dispose()


@pytest.fixture(autouse=True)
def every_refusal_logged(monkeypatch: pytest.MonkeyPatch) -> None:
    """The process-wide refusal log without its per-minute cap, so every refused request
    in a test shows its one line (tests/test_refusals.py tests the cap itself)."""
    from bot.refusals import refusals

    monkeypatch.setattr(refusals, "per_window", 10**9)


@pytest.fixture
def org_yaml() -> str:
    return (FIXTURES / "org.yaml").read_text()


@pytest.fixture
async def slack() -> AsyncIterator[tuple[FakeSlack, SlackNotifier]]:
    """The local Slack stand-in, and csbot's Slack notifier pointed at it (for scheduled messages)."""
    fake = FakeSlack()
    runner, base = await serve(fake.app())
    fake.base_url = base
    notifier = SlackNotifier(make_client(SlackSettings("xoxb-test-token", "s" * 32, None, f"{base}/api/")))
    try:
        yield fake, notifier
    finally:
        if notifier.client.session is not None:
            await notifier.client.session.close()
        await runner.cleanup()
