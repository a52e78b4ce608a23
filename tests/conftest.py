"""Shared fixtures: a real database per test, on SQLite and (when configured) PostgreSQL.

Set CSBOT_TEST_POSTGRES_URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)
to run every database test on PostgreSQL too; each test gets its own schema,
dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bot.config import SlackSettings
from bot.slack.client import make_client
from bot.slack.notifier import SlackNotifier
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
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    """A migrated database on each backend."""
    database = open_database(db_url)
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
