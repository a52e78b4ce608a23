"""Imports side by side, and other writers during an import: no deadlock, no crash, exact counts.

On PostgreSQL other writers really run between an import's statements; the
last two tests put one there deterministically (from the batch's reference
check, just before its upsert). On SQLite a batch holds the write lock from its
first statement, so nothing can come between; those two need PostgreSQL.
"""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from kpi import importer
from kpi.importer import ImportResult, import_tickets
from kpi.mapping import Mapping
from kpi.tickets import Ticket
from store.database import Database
from store.org import Team
from tests.conftest import PG_URL
from tests.helpers import apply_fixture_org

HEADER = "external_id,team,status,created_at,replies,first_reply_at,solved_at\n"
T8 = "2026-03-02T08:00:00Z"


def run_together(db: Database, paths: list[Path], **options: object) -> list[ImportResult | Exception]:
    results: list[ImportResult | Exception] = [RuntimeError("did not finish")] * len(paths)
    barrier = threading.Barrier(len(paths))

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = import_tickets(db, paths[i], Mapping.default(), source="hd", **options)  # type: ignore[arg-type]
        except Exception as exc:  # noqa: BLE001 (the test reports it)
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(paths))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=180)
    return results


def test_two_imports_naming_new_teams_in_opposite_order(db: Database, tmp_path: Path) -> None:
    names = [f"Group {i}" for i in range(300)]
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text(HEADER + "".join(f"A-{i},{n},open,{T8},,,\n" for i, n in enumerate(names)))
    b.write_text(HEADER + "".join(f"B-{i},{n},open,{T8},,,\n" for i, n in enumerate(reversed(names))))
    results = run_together(db, [a, b])
    assert not [r for r in results if isinstance(r, Exception)], results
    with db.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Team)) == 300
        assert s.scalar(select(func.count()).select_from(Ticket)) == 600
    # Each team is reported by the one import that created it.
    created = [k for r in results if isinstance(r, ImportResult) for k in r.teams_created]
    assert sorted(created) == sorted(f"group-{i}" for i in range(300))


def test_two_imports_updating_the_same_tickets_in_opposite_order(db: Database, tmp_path: Path) -> None:
    apply_fixture_org(db)
    ids = [f"T-{i}" for i in range(5000)]
    seed = tmp_path / "seed.csv"
    seed.write_text(HEADER + "".join(f"{t},support-emea,open,{T8},1,,\n" for t in ids))
    import_tickets(db, seed, Mapping.default(), source="hd")
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text(HEADER + "".join(f"{t},support-emea,open,{T8},2,,\n" for t in ids))
    b.write_text(HEADER + "".join(f"{t},support-emea,open,{T8},3,,\n" for t in reversed(ids)))
    results = run_together(db, [a, b], batch_rows=1000)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert [(r.inserted, r.updated) for r in results] == [(0, 5000), (0, 5000)]  # type: ignore[union-attr]
    with db.sessions() as s:
        assert set(s.scalars(select(Ticket.replies))) <= {2, 3}


needs_postgresql = pytest.mark.skipif(
    not PG_URL, reason="needs PostgreSQL: on SQLite a batch holds the write lock, so no other writer can come between"
)


def _writer_during_batch(monkeypatch: pytest.MonkeyPatch, db: Database, ticket: Ticket) -> None:
    """Another client commits `ticket` while the import's batch is between its checks and its upsert."""
    real = importer._check_references

    def with_a_writer(session, rows, columns):  # type: ignore[no-untyped-def]
        with db.sessions() as other, other.begin():
            other.merge(ticket)
        return real(session, rows, columns)

    monkeypatch.setattr(importer, "_check_references", with_a_writer)


@needs_postgresql
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_ticket_moved_by_another_writer_mid_batch_is_a_reported_reject(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "c.csv"
    path.write_text(f"external_id,created_at\nT-1,2026-03-02T10:00:00Z\nT-2,{T8}\n")
    # A webhook event records T-1 with a first reply at 09:00, before the file's created_at.
    early = Ticket(
        source="hd",
        external_id="T-1",
        status="open",
        created_at=datetime(2026, 3, 2, 8, tzinfo=timezone.utc),
        first_reply_at=datetime(2026, 3, 2, 9, tzinfo=timezone.utc),
    )
    _writer_during_batch(monkeypatch, db, early)
    result = import_tickets(db, path, Mapping.default(), source="hd")
    assert [r.row for r in result.rejected] == [2]
    assert result.rejected[0].reasons[0].startswith("created_at 2026-03-02 10:00:00Z is after the stored first_reply_at")
    assert result.inserted == 1
    with db.sessions() as s:
        assert s.scalar(select(Ticket.created_at).where(Ticket.external_id == "T-1")) == early.created_at


@needs_postgresql
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_ticket_created_by_another_writer_mid_batch_counts_as_updated(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "c.csv"
    path.write_text(f"external_id,created_at,first_reply_at,solved_at\nT-1,{T8},,\nT-2,{T8},,\n")
    _writer_during_batch(monkeypatch, db, Ticket(source="hd", external_id="T-1", status="open", created_at=datetime(2026, 3, 2, 7, tzinfo=timezone.utc)))
    result = import_tickets(db, path, Mapping.default(), source="hd")
    assert (result.inserted, result.updated, result.rejected) == (1, 1, [])
