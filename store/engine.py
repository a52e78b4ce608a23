"""Engine and session factory for SQLite (embedded) and PostgreSQL (production)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

T = TypeVar("T")


def make_engine(url: str, *, timeout_s: float = 15.0, echo: bool = False) -> Engine:
    """Create an engine with the per-backend settings csbot relies on.

    SQLite: WAL journal (readers never block the writer), foreign keys
    enforced, a busy timeout instead of immediate "database is locked".
    PostgreSQL: connection timeout and pre-ping so a restarted server does not
    surface as a failed chat command.
    """
    parsed = make_url(url)
    kwargs: dict[str, Any] = {"echo": echo}
    if parsed.get_backend_name() == "sqlite":
        kwargs["connect_args"] = {"timeout": timeout_s}
        is_memory = parsed.database in (None, "", ":memory:")
        if not is_memory:  # an in-memory database has a single connection, no pool to wait for
            kwargs["pool_timeout"] = timeout_s
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            if not is_memory:
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA synchronous=NORMAL")
            # 64 MB of page cache: ticket indexes for a year of history stay in memory.
            cur.execute("PRAGMA cache_size=-65536")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA busy_timeout={int(timeout_s * 1000)}")
            cur.close()

        return engine
    # prepare_threshold=None: psycopg would otherwise switch to server-side
    # prepared statements whose generic plan is fixed while a table is still
    # small (a bulk import then seq-scans a million rows per batch).
    kwargs["connect_args"] = {"connect_timeout": max(1, int(timeout_s)), "prepare_threshold": None}
    kwargs["pool_pre_ping"] = True
    kwargs["pool_timeout"] = timeout_s
    engine = create_engine(url, **kwargs)
    lock_ms = max(1, int(timeout_s * 1000))

    @event.listens_for(engine, "connect")
    def _pg_session(dbapi_conn: Any, _record: Any) -> None:
        # A write that cannot get its row or table lock in time fails with
        # LockNotAvailable (reported as "busy, try again") instead of waiting
        # behind a stuck transaction forever, as SQLite's busy timeout does.
        with dbapi_conn.cursor() as cur:
            cur.execute(f"SET lock_timeout = {lock_ms}")
        dbapi_conn.commit()

    return engine


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def write_transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A transaction that reads, then writes what it read, with nobody writing in between.

    SQLite has no row locks (`FOR UPDATE` is ignored) and pysqlite starts
    a transaction only at the first write, so a read-modify-write there
    would lose concurrent updates. `BEGIN IMMEDIATE` takes the database's
    write lock first (waiting up to the busy timeout), which serialises such
    transactions; readers are not blocked (WAL). PostgreSQL transactions
    lock the rows they change with `with_for_update()` instead.
    """
    with factory() as session, session.begin():
        begin_write(session)
        yield session


def write_with_retry(factory: sessionmaker[Session], work: Callable[[Session], T], *, attempts: int = 3) -> T:
    """`work` in a write_transaction, run again when another writer won a race to a unique key.

    Two requests creating the same row (a first event for a new ticket, a
    conversation seen for the first time) both try to insert it; on
    PostgreSQL one fails on the unique constraint. Its next attempt finds
    the row the other committed and updates it instead.
    """
    for attempt in range(1, attempts + 1):
        try:
            with write_transaction(factory) as session:
                return work(session)
        except IntegrityError:
            if attempt == attempts:
                raise
    raise AssertionError("unreachable")


def begin_write(session: Session) -> None:
    """Take SQLite's write lock now (the first statement of the transaction); no-op elsewhere."""
    conn = session.connection()
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def lock_for_write(session: Session) -> None:
    """Take SQLite's write lock before a read-then-write, unless this transaction already holds it.

    pysqlite opens a transaction only at the first write, so a transaction
    that is open here has written already and holds the lock.
    """
    conn = session.connection()
    if conn.dialect.name == "sqlite" and not conn.connection.dbapi_connection.in_transaction:  # type: ignore[union-attr]
        conn.exec_driver_sql("BEGIN IMMEDIATE")
