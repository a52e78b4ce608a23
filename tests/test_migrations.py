"""Alembic migrations: from empty to head and back, matching the ORM models exactly."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from store import migrate
from store.engine import make_engine
from store.schema import metadata


def test_upgrade_from_empty_matches_the_models(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        before, after = migrate.upgrade(engine)
        assert before is None and after == migrate.head_revision()
        tables = set(inspect(engine).get_table_names())
        assert {"org", "teams", "members", "tickets", "alembic_version"} <= tables
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata())
        assert diff == [], diff
        # Running it again is a no-op.
        assert migrate.upgrade(engine) == (after, after)
    finally:
        engine.dispose()


def test_downgrade_to_base_and_up_again(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        migrate.upgrade(engine)
        migrate.downgrade(engine, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        migrate.upgrade(engine)
        assert migrate.current_revision(engine) == migrate.head_revision()
    finally:
        engine.dispose()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    finally:
        engine.dispose()


def test_foreign_keys_are_enforced(db_url: str) -> None:
    import pytest
    from sqlalchemy.exc import IntegrityError

    engine = make_engine(db_url)
    try:
        migrate.upgrade(engine)
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(text("INSERT INTO members (handle, name, role, active, team_id) VALUES ('x', 'X', 'agent', true, 999)"))
    finally:
        engine.dispose()
