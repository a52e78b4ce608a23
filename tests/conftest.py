"""Shared fixtures: a real database per test, on SQLite and (when configured) PostgreSQL.

Set CSBOT_TEST_POSTGRES_URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)
to run every database test on PostgreSQL too; each test gets its own schema:
a migrated one (`db`) emptied again after the test for a later one, or an empty
one (`db_url` alone) dropped afterwards.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, SQLAlchemyError

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
    # The application name tells the schema's own connections apart in pg_stat_activity (see SchemaPool).
    url = url.update_query_dict({"options": f"-csearch_path={schema}", "application_name": _application_name(schema)})
    return url.render_as_string(hide_password=False)


def _application_name(schema: str) -> str:
    return f"csbot-test-{schema}"


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database URL on each configured backend: empty, or (for `db`) migrated, with no rows."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'csbot.db'}"
        return
    if "db" in request.fixturenames:
        schema = _pool.take()
        try:
            yield _pg_schema_url(schema)
        finally:
            _pool.give_back(schema)
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
    sent, which each later schema of the pool (SchemaPool) receives in the same order.
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

# A schema's shape: its tables and sequences (with their column counts), indexes (and whether
# valid), triggers (and whether on), constraints, functions and revision. A test that changed
# the schema itself (an index set aside, a table or a column added, a trigger turned off, a
# downgrade) shows. Found through pg_depend's index on what the schema holds: the catalogs of
# a database where thousands of schemas came and went are mostly dead rows, which a scan of
# pg_class by namespace reads all of (0.15 s here, against a few milliseconds).
_SHAPE = """
WITH held AS (
    SELECT classid, objid FROM pg_depend WHERE refclassid = 'pg_namespace'::regclass AND refobjid = CAST(:ns AS oid)
), rels AS (
    SELECT c.oid, c.relname, c.relkind, c.relnatts FROM held h JOIN pg_class c ON c.oid = h.objid WHERE h.classid = 'pg_class'::regclass
)
SELECT md5(string_agg(line, ',' ORDER BY line)) FROM (
    SELECT 'r ' || relname || ' ' || relkind::text || ' ' || relnatts FROM rels
    UNION ALL
    SELECT 'i ' || c.relname || ' ' || i.indisvalid::text || ' ' || i.indkey::text
    FROM rels r JOIN pg_index i ON i.indrelid = r.oid JOIN pg_class c ON c.oid = i.indexrelid
    UNION ALL
    SELECT 't ' || t.tgname || ' ' || t.tgenabled::text FROM rels r JOIN pg_trigger t ON t.tgrelid = r.oid WHERE NOT t.tgisinternal
    UNION ALL
    SELECT 'c ' || k.conname FROM rels r JOIN pg_constraint k ON k.conrelid = r.oid
    UNION ALL
    SELECT 'f ' || p.proname || ' ' || md5(p.prosrc) FROM held h JOIN pg_proc p ON p.oid = h.objid WHERE h.classid = 'pg_proc'::regclass
    UNION ALL
    SELECT 'v ' || version_num FROM alembic_version
) shape(line)
"""


@dataclass
class PooledSchema:
    """What emptying a pooled schema needs, read once when it is made."""

    cleaner: Engine  # search_path set to the schema, under another application name than the test's
    namespace: int
    shape: str
    tables: list[str]  # every table but alembic_version, each after the tables that refer to it
    sequences: list[tuple[str, int]]  # name, first value


class SchemaPool:
    """Migrated PostgreSQL schemas, emptied after each test for a later one.

    Building a schema costs PostgreSQL about 0.7 s (35 tables, their indexes,
    sequences and triggers are new files) and dropping it 0.3 s more, for each
    of the ~1,000 PostgreSQL tests that take `db`; TRUNCATE makes new files
    too and costs as much. Deleting a test's rows and setting the sequences
    back costs a few hundredths of a second and leaves what a fresh schema
    holds: the migrations' tables and only their alembic_version row. A schema
    is emptied only when the test left no connection to it and did not change
    its shape (else it is dropped, as before), and it sits out the next test,
    so nothing a finished test still had in flight lands in another test.
    """

    SPARE = 2  # schemas idle before one is reused: the one just given back waits a turn

    def __init__(self) -> None:
        self.idle: deque[str] = deque()
        self.schemas: dict[str, PooledSchema] = {}
        self.admin: Engine | None = None

    def holds(self, url: str) -> bool:
        options = str(make_url(url).query.get("options", ""))
        return options.removeprefix("-csearch_path=") in self.schemas

    def take(self) -> str:
        if len(self.idle) >= self.SPARE:
            return self.idle.popleft()
        schema = f"t_{uuid.uuid4().hex[:12]}"
        with self._admin().connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        _migrated.postgresql(_pg_schema_url(schema)).dispose()
        cleaner_url = make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}", "application_name": "csbot-test-pool"})
        cleaner = create_engine(cleaner_url, pool_size=1)
        with cleaner.connect() as conn:
            namespace = conn.execute(text("SELECT oid FROM pg_namespace WHERE nspname = :schema"), {"schema": schema}).scalar_one()
            shape = conn.execute(text(_SHAPE), {"ns": namespace}).scalar_one()
            tables = conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = :schema"), {"schema": schema}).scalars()
            referrers: dict[str, set[str]] = {t: set() for t in tables if t != "alembic_version"}
            refs = conn.execute(
                text(
                    "SELECT c.relname, p.relname FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid "
                    "JOIN pg_class p ON p.oid = k.confrelid WHERE k.contype = 'f' AND k.connamespace = CAST(:ns AS oid)"
                ),
                {"ns": namespace},
            ).all()
            for child, parent in refs:
                if child != parent:
                    referrers[parent].add(child)
            sequences = conn.execute(
                text("SELECT sequencename, start_value FROM pg_sequences WHERE schemaname = :schema"), {"schema": schema}
            ).all()
        try:
            order = list(TopologicalSorter(referrers).static_order())
        except CycleError:
            order = []  # never emptied: dropped after its test, as before
        self.schemas[schema] = PooledSchema(cleaner, namespace, shape, order, [tuple(row) for row in sequences])
        return schema

    def give_back(self, schema: str) -> None:
        if self._alone(schema) and self._emptied(self.schemas[schema]):
            self.idle.append(schema)
            return
        self.schemas.pop(schema).cleaner.dispose()
        _drop_schema(self._admin(), schema)

    def _admin(self) -> Engine:
        if self.admin is None:
            self.admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT", pool_size=1)
        return self.admin

    def _alone(self, schema: str) -> bool:
        """No connection of the test's is left (a server thread may still be closing one: wait a little)."""
        deadline = time.monotonic() + 2.0
        while True:
            with self._admin().connect() as conn:
                others = conn.execute(
                    text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :name"), {"name": _application_name(schema)}
                ).scalar_one()
            if not others:
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)

    def _emptied(self, pooled: PooledSchema) -> bool:
        """Delete every row but alembic_version's and restart the sequences, if the schema's shape is as migrated."""
        if not pooled.tables:
            return False
        try:
            with pooled.cleaner.begin() as conn:
                conn.execute(text("SET LOCAL lock_timeout = '2s'"))
                if conn.execute(text(_SHAPE), {"ns": pooled.namespace}).scalar_one() != pooled.shape:
                    return False
                # Deleting tickets fires the triggers that mark their days (kpi_dirty_days): again until none holds a row.
                for _ in range(3):
                    holding = set(
                        conn.execute(
                            text(" UNION ALL ".join(f"SELECT '{t}' WHERE EXISTS (SELECT 1 FROM \"{t}\")" for t in pooled.tables))
                        ).scalars()
                    )
                    if not holding:
                        break
                    for table in pooled.tables:
                        if table in holding:
                            conn.execute(text(f'DELETE FROM "{table}"'))
                else:
                    return False
                if pooled.sequences:
                    restart = ", ".join(f"setval('\"{name}\"', {start}, false)" for name, start in pooled.sequences)
                    conn.execute(text(f"SELECT {restart}"))
            return True
        except SQLAlchemyError:  # a lock still held: dropped instead
            return False

    def close(self) -> None:
        for schema in self.idle:
            self.schemas.pop(schema).cleaner.dispose()
            _drop_schema(self._admin(), schema)
        self.idle.clear()
        if self.admin is not None:
            self.admin.dispose()


_pool = SchemaPool()


class SeededTemplates:
    """Rows a test's setup writes (a demo of thousands of tickets), written for real once per test
    process and copied for each later test that asks for the same, on each backend.

    `seed_demo` with 3,000 tickets costs 1.5 s on SQLite and 4 to 5 s on
    PostgreSQL, for each of the few dozen tests that start from that demo; a
    copy costs a few hundredths. On SQLite the seeded file is copied; on
    PostgreSQL every table's rows go into a template schema and from it into
    each later test's empty schema (triggers off while they do, so the ticket
    triggers do not mark days the copied day facts already count), and each
    sequence is set to where the seeding left it.
    """

    def __init__(self) -> None:
        self.files: dict[str, Path] = {}
        self.schemas: dict[str, str] = {}

    def give(self, db: Database, key: str, build: Callable[[Database], object]) -> None:
        if db.engine.dialect.name == "sqlite":
            self._sqlite(db, key, build)
        else:
            self._postgresql(db, key, build)

    def _sqlite(self, db: Database, key: str, build: Callable[[Database], object]) -> None:
        target = Path(db.engine.url.database or "")
        if key not in self.files:
            build(db)
            db.dispose()  # the last connection closed: WAL checkpointed
            self.files[key] = Path(tempfile.mkdtemp(prefix="csbot-seeded-")) / "seeded.db"
            shutil.copyfile(target, self.files[key])
            return
        db.dispose()
        for leftover in (target.with_name(target.name + "-wal"), target.with_name(target.name + "-shm")):
            leftover.unlink(missing_ok=True)
        shutil.copyfile(self.files[key], target)

    def _postgresql(self, db: Database, key: str, build: Callable[[Database], object]) -> None:
        schema = str(db.engine.url.query["options"]).removeprefix("-csearch_path=")
        if key not in self.schemas:
            build(db)
            template = _pool.take()  # an empty migrated schema, kept out of the pool from now on
            _copy_rows(_pool.schemas[template], schema)
            self.schemas[key] = template
            return
        _copy_rows(_pool.schemas[schema], self.schemas[key])

    def close(self) -> None:
        for template in self.schemas.values():
            _pool.idle.append(template)  # emptied and dropped with the pool's
        self.schemas.clear()


def _copy_rows(target: PooledSchema, source: str) -> None:
    """Every row of `source`'s tables into the empty schema of `target`, and its sequences' positions."""
    with target.cleaner.begin() as conn:
        triggered = conn.execute(
            text(
                "SELECT DISTINCT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "WHERE c.relnamespace = CAST(:ns AS oid) AND NOT t.tgisinternal"
            ),
            {"ns": target.namespace},
        ).scalars().all()
        for table in triggered:
            conn.execute(text(f'ALTER TABLE "{table}" DISABLE TRIGGER USER'))
        for table in reversed(target.tables):  # a table after the tables it refers to
            conn.execute(text(f'INSERT INTO "{table}" SELECT * FROM "{source}"."{table}"'))
        for table in triggered:
            conn.execute(text(f'ALTER TABLE "{table}" ENABLE TRIGGER USER'))
        for name, _start in target.sequences:
            conn.execute(text(f"SELECT setval('\"{name}\"', last_value, is_called) FROM \"{source}\".\"{name}\""))


_templates = SeededTemplates()


@pytest.fixture(scope="session", autouse=True)
def _schemas_dropped_at_the_end() -> Iterator[None]:
    yield
    _templates.close()
    _pool.close()


@pytest.fixture
def seeded() -> Callable[[Database, str, Callable[[Database], object]], None]:
    """`seeded(db, key, build)`: give the empty `db` what `build` writes; built once per process for each key."""
    return _templates.give


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    """A migrated database with no rows, on each backend."""
    if db_url.startswith("sqlite"):
        database = _migrated.sqlite(db_url)
    elif _pool.holds(db_url):
        database = open_database(db_url, upgrade=False)  # migrated already
    else:
        database = _migrated.postgresql(db_url)
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
