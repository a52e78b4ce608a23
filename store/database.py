"""One handle on the database: engine, sessions, schema upgrade and health."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from store import migrate
from store.engine import make_engine, make_sessionmaker
from store.org import Member, Org


@dataclass
class Database:
    engine: Engine
    sessions: sessionmaker[Session]

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    def is_empty(self) -> bool:
        """True when no organisation has been applied or seeded yet."""
        with self.sessions() as s:
            return s.get(Org, 1) is None and s.scalar(select(Member.id).limit(1)) is None

    def health(self) -> dict[str, Any]:
        """Probe the database; never raises (a health check must always answer).

        On failure, `error` is a generic reason anyone may read and `detail`
        the driver's message, for the log only (it can name hosts, users and
        databases).
        """
        started = time.perf_counter()
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            revision = migrate.current_revision(self.engine)
        except Exception as exc:  # noqa: BLE001 (reported, not swallowed)
            detail = f"{type(exc).__name__}: {exc}".splitlines()[0]
            return {"ok": False, "backend": self.backend, "error": "database unreachable", "detail": detail}
        head = migrate.head_revision()
        return {
            "ok": revision == head,
            "backend": self.backend,
            "revision": revision,
            "head": head,
            "latency_ms": round((time.perf_counter() - started) * 1000, 1),
            **({} if revision == head else {"error": "schema is not up to date; run csbot db upgrade"}),
        }

    def dispose(self) -> None:
        self.engine.dispose()


def open_database(url: str, *, timeout_s: float = 15.0, upgrade: bool = True) -> Database:
    """Connect to `url`, bringing the schema to the newest revision unless told not to."""
    engine = make_engine(url, timeout_s=timeout_s)
    if upgrade:
        migrate.upgrade(engine)
    return Database(engine, make_sessionmaker(engine))
