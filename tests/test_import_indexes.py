"""A large import sets the tickets' window indexes aside and builds them again, whatever happens."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from kpi import import_indexes
from kpi.importer import import_tickets
from kpi.mapping import Mapping
from kpi.tickets import Ticket
from store.database import Database
from tests.test_cli import csbot

HEADER = "external_id,subject,team,agent,status,priority,channel,created_at,first_reply_at,solved_at,replies,reopens,csat\n"


def _file(tmp_path: Path, rows: int) -> Path:
    path = tmp_path / "tickets.csv"
    body = "".join(
        f"T-{i},s,Team {i % 3},Agent {i % 5},solved,normal,email,2026-03-0{1 + i % 5}T09:00:00Z,"
        f"2026-03-0{1 + i % 5}T09:{i % 60:02d}:00Z,2026-03-0{1 + i % 5}T12:00:00Z,1,0,good\n"
        for i in range(rows)
    )
    path.write_text(HEADER + body)
    return path


def _missing(db: Database) -> list[str]:
    with db.engine.connect() as conn:
        return import_indexes.missing(conn)


def test_a_large_import_loads_without_them_and_ends_with_all_of_them(db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(import_indexes, "MIN_ROWS", 10)
    seen: list[list[str]] = []
    result = import_tickets(db, _file(tmp_path, 40), Mapping.default(), source="csv", batch_rows=10, progress=lambda _: seen.append(_missing(db)))
    assert result.inserted == 40
    assert seen[0] == list(import_indexes.DEFERRED)  # set aside while the batches load
    assert _missing(db) == []
    with db.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Ticket).where(Ticket.team_id.is_not(None))) == 40


def test_a_small_import_or_one_into_a_larger_table_keeps_them(db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[str]] = []
    import_tickets(db, _file(tmp_path, 40), Mapping.default(), source="csv", batch_rows=10, progress=lambda _: seen.append(_missing(db)))
    assert seen[0] == []  # below MIN_ROWS
    monkeypatch.setattr(import_indexes, "MIN_ROWS", 10)
    small = tmp_path / "more"
    small.mkdir()
    seen.clear()
    import_tickets(db, _file(small, 20), Mapping.default(), source="other", batch_rows=10, progress=lambda _: seen.append(_missing(db)))
    assert seen[0] == []  # 20 rows coming into a table of 40


def test_an_import_that_fails_mid_load_builds_them_again(db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(import_indexes, "MIN_ROWS", 10)

    class Boom(Exception):
        pass

    def progress(done: int) -> None:
        if done >= 20:
            raise Boom

    with pytest.raises(Boom):
        import_tickets(db, _file(tmp_path, 40), Mapping.default(), source="csv", batch_rows=10, progress=progress)
    assert _missing(db) == []
    again = import_tickets(db, _file(tmp_path, 40), Mapping.default(), source="csv", batch_rows=10)
    assert (again.inserted, again.unchanged) == (20, 20)


def test_indexes_a_killed_import_left_missing_are_built_by_db_upgrade(db_url: str, db: Database, tmp_path: Path) -> None:
    assert import_indexes.defer(db)  # as a killed import leaves them
    assert _missing(db) == list(import_indexes.DEFERRED)
    r = csbot(["db", "upgrade"], db_url, tmp_path)
    assert r.returncode == 0 and "Rebuilt 6 ticket indexes an interrupted import had set aside." in r.stdout
    assert _missing(db) == []
    assert "Rebuilt" not in csbot(["db", "upgrade"], db_url, tmp_path).stdout
