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


def test_business_hours_upgrade_recounts_the_days_counted_before_it(db_url: str) -> None:
    """0022 adds business-hours durations to the day facts: the rows counted without them are emptied and their days marked."""
    engine = make_engine(db_url)
    try:
        migrate.upgrade(engine, "0020_calendars")
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO kpi_day_facts (team_key, day, created, first_replies, first_reply_sum, first_reply_s, solved, resolution_sum, "
                    "resolution_s, replies_known, one_touch, reopens_known, reopened, csat_known, csat_good, sla_known, sla_met) "
                    "VALUES (0, 20500, 1, 1, 60, :packed, 0, 0, :empty, 0, 0, 0, 0, 0, 0, 0, 0)"
                ),
                {"packed": (60).to_bytes(8, "little"), "empty": b""},
            )
            conn.execute(text("DELETE FROM kpi_dirty_days"))
        migrate.upgrade(engine)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM kpi_day_facts")).scalar() == 0
            assert conn.execute(text("SELECT team_key, day FROM kpi_dirty_days")).all() == [(0, 20500)]
        migrate.downgrade(engine, "0020_calendars")
        assert "kpi_day_calendars" not in inspect(engine).get_table_names()
        assert "first_reply_bh_s" not in {c["name"] for c in inspect(engine).get_columns("kpi_day_facts")}
    finally:
        engine.dispose()
