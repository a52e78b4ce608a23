"""Engine and session factory for SQLite (embedded) and PostgreSQL (production)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker


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
        engine = create_engine(url, **kwargs)
        is_memory = parsed.database in (None, "", ":memory:")

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
    return create_engine(url, **kwargs)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose work commits on success and rolls back on any error."""
    with factory() as session, session.begin():
        yield session
