"""The import as a careless user or a hostile file would use it: every bad row is a
rejected row with its line and reason, nothing else in the file is lost, a stored
value the file does not speak about is never changed, and nothing crashes."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import threading
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from kpi.importer import ImportRefused, import_tickets
from kpi.mapping import Mapping, load_mapping
from kpi.tickets import Ticket
from store.database import Database
from store.org import Member, Team
from tests.test_import import EXAMPLES, HEADER, count, write

T0 = "2026-03-02T09:00:00Z"


def ticket(db: Database, external_id: str, source: str = "csv") -> Ticket:
    with db.sessions() as s:
        return s.scalar(select(Ticket).where(Ticket.source == source, Ticket.external_id == external_id))


def reasons_by_line(result) -> dict[int, str]:  # type: ignore[no-untyped-def]
    return {r.row: " ".join(r.reasons) for r in result.rejected}


def test_a_file_without_a_column_never_changes_that_field(db: Database, tmp_path: Path) -> None:
    full = write(tmp_path, f"1,Refund,,,solved,high,email,{T0},2026-03-02T09:10:00Z,2026-03-02T11:00:00Z,2,0,good,true\n")
    import_tickets(db, full, Mapping.default(), source="csv")
    few = tmp_path / "few.csv"
    few.write_text(f"external_id,created_at,team\n1,{T0},Support EMEA\n")
    result = import_tickets(db, few, Mapping.default(), source="csv")
    assert (result.inserted, result.updated, result.rejected) == (0, 1, [])
    t = ticket(db, "1")
    assert t.status == "solved" and t.priority == "high" and t.subject == "Refund" and t.csat == "good"
    assert t.replies == 2 and t.sla_met is True and t.solved_at == datetime(2026, 3, 2, 11, tzinfo=timezone.utc)
    # A new ticket from such a file still gets a status (derived, as on insert it always was).
    few.write_text(f"external_id,created_at\n2,{T0}\n")
    import_tickets(db, few, Mapping.default(), source="csv")
    assert ticket(db, "2").status == "open"


def test_a_new_created_at_after_the_stored_solve_is_a_rejected_row(db: Database, tmp_path: Path) -> None:
    import_tickets(db, write(tmp_path, f"1,,,,solved,,,{T0},2026-03-02T09:30:00Z,2026-03-02T10:00:00Z,,,,\n2,,,,open,,,{T0},,,,,,\n"), Mapping.default(), source="csv")
    later = tmp_path / "later.csv"
    later.write_text(f"external_id,created_at\n1,2026-03-05T09:00:00Z\n2,2026-03-05T09:00:00Z\n3,{T0}\n")
    result = import_tickets(db, later, Mapping.default(), source="csv")
    reasons = reasons_by_line(result)
    assert set(reasons) == {2}
    assert "after the stored first_reply_at 2026-03-02 09:30:00Z of this ticket, and the file has no first_reply_at column" in reasons[2]
    assert (result.inserted, result.updated) == (1, 1)
    assert ticket(db, "1").created_at == datetime(2026, 3, 2, 9, tzinfo=timezone.utc)  # untouched
    assert ticket(db, "2").created_at == datetime(2026, 3, 5, 9, tzinfo=timezone.utc)
    # --strict looks at the stored tickets too, and refuses the file whole.
    with pytest.raises(ImportRefused) as info:
        import_tickets(db, later, Mapping.default(), source="csv", strict=True)
    assert info.value.problems[0].startswith("row 2: created_at 2026-03-05 09:00:00Z is after the stored")


@pytest.mark.parametrize(
    ("cells", "fragment"),
    [
        ("1e300,,", "replies: '1e300' is not a whole number between 0 and 1,000,000"),
        ("12345678901234567890,,", "replies: '12345678901234567890' is not a whole number"),
        ("²,,", "replies: '²' is not a whole number"),
        (",-1,", "reopens: '-1' is not a whole number"),
        (",3.5,", "reopens: '3.5' is not a whole number"),
        (",nan,", "reopens: 'nan' is not a whole number"),
    ],
)
def test_absurd_counts_are_rejected_rows(db: Database, tmp_path: Path, cells: str, fragment: str) -> None:
    replies, reopens, _ = cells.split(",")
    path = write(tmp_path, f"1,,,,open,,,{T0},,,{replies},{reopens},,\n2,,,,open,,,{T0},,,1,0,,\n")
    result = import_tickets(db, path, Mapping.default(), source="csv")
    assert fragment in reasons_by_line(result)[2]
    assert result.inserted == 1 and count(db) == 1


@pytest.mark.parametrize(
    ("row", "fragment"),
    [
        (f"1,Re\x00fund,,,open,,,{T0},,,,,,", "subject: contains a NUL character"),
        (f"1,{'s' * 501},,,open,,,{T0},,,,,,", "subject: 501 characters; at most 500"),
        (f"1,,{'T' * 201},,open,,,{T0},,,,,,", "team: 201 characters; at most 200"),
        (f"1,,,{'a' * 300}@example.com,open,,,{T0},,,,,,", "agent: 312 characters; at most 200"),
        (f"1,,,,open,,{'c' * 33},{T0},,,,,,", "channel: 33 characters; at most 32"),
        (f"{'9' * 129},,,,open,,,{T0},,,,,,", "external_id: 129 characters; at most 128"),
    ],
)
def test_nul_bytes_and_overlong_fields_are_rejected_rows(db: Database, tmp_path: Path, row: str, fragment: str) -> None:
    path = write(tmp_path, f"{row}\n2,ok,,,open,,,{T0},,,,,,\n")
    result = import_tickets(db, path, Mapping.default(), source="csv")
    assert fragment in reasons_by_line(result)[2]
    assert result.inserted == 1 and count(db) == 1
    with db.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Team)) == 0
        assert s.scalar(select(func.count()).select_from(Member)) == 0


def test_generated_handles_fit_their_column(db: Database, tmp_path: Path) -> None:
    # Three emails whose names differ only after the 63 characters a handle keeps: the suffixes must still fit in 64.
    rows = "".join(f"{i},,Team,{'x' * 70}{i}@example.com,open,,,{T0},,,,,,\n" for i in range(3))
    result = import_tickets(db, write(tmp_path, rows), Mapping.default(), source="csv")
    assert result.rejected == [] and result.inserted == 3
    assert len(set(result.agents_created)) == 3 and all(len(h) <= 64 for h in result.agents_created)
    assert result.agents_created[1].endswith("-2") and result.agents_created[2].endswith("-3")
    with db.sessions() as s:
        assert max(len(h) for h in s.scalars(select(Member.handle))) <= 64


def test_a_too_long_source_name_is_refused(db: Database, tmp_path: Path) -> None:
    path = write(tmp_path, f"1,,,,open,,,{T0},,,,,,\n")
    with pytest.raises(ImportRefused) as info:
        import_tickets(db, path, Mapping.default(), source="s" * 65)
    assert "source" in info.value.problems[0] and count(db) == 0


def test_zendesk_minutes_that_land_outside_1970_2100_are_rejected(db: Database, tmp_path: Path) -> None:
    mapping = load_mapping(EXAMPLES / "zendesk-tickets.mapping.yaml")
    sample = (EXAMPLES / "zendesk-tickets.sample.csv").read_text().splitlines()
    header = next(csv.reader([sample[0]]))
    minutes = header.index("First reply time in minutes")
    rows = [next(csv.reader([line])) for line in sample[1:3]]
    rows[0][minutes] = "1e10"
    rows[1][minutes] = "inf"
    path = tmp_path / "zd.csv"
    with path.open("w", newline="") as fh:
        csv.writer(fh).writerows([header, *rows, *(next(csv.reader([line])) for line in sample[3:])])
    result = import_tickets(db, path, mapping, source="zendesk")
    reasons = reasons_by_line(result)
    assert "first_reply_minutes: '1e10' puts the first reply outside the supported range of dates (1970-2100)" in reasons[2]
    assert "first_reply_minutes: 'inf' is not a number of minutes" in reasons[3]
    assert result.inserted == len(sample) - 3
    # Every time a later event or KPI reads back is a real date.
    with db.sessions() as s:
        assert all(t.first_reply_at is None or t.first_reply_at.year < 2100 for t in s.scalars(select(Ticket)))


def test_a_row_the_csv_reader_cannot_read_is_a_rejected_row(db: Database, tmp_path: Path) -> None:
    huge = "x" * (17 * 1024 * 1024)  # beyond the reader's 16 MB field limit
    path = write(tmp_path, f'1,"{huge}",,,open,,,{T0},,,,,,\n2,ok,,,open,,,{T0},,,,,,\n')
    result = import_tickets(db, path, Mapping.default(), source="csv")
    reasons = reasons_by_line(result)
    assert list(reasons) == [2] and "cannot read this row" in reasons[2]
    assert result.inserted == 1
    # The rejects file holds a short excerpt, not the 17 MB cell.
    assert result.rejects_file is not None and result.rejects_file.stat().st_size < 10_000


def test_the_updated_count_counts_each_ticket_once_across_batches(db: Database, tmp_path: Path) -> None:
    import_tickets(db, write(tmp_path, f"1,,,,open,,,{T0},,,,,,\n2,,,,open,,,{T0},,,,,,\n", "a.csv"), Mapping.default(), source="csv")
    # Ticket 1 appears in three batches of two rows, ticket 3 is new in the first batch and updated in a later one.
    rows = "".join(f"{tid},r{n},,,open,,,{T0},,,,,,\n" for n, tid in enumerate(["1", "3", "1", "2", "3", "1"]))
    result = import_tickets(db, write(tmp_path, rows, "b.csv"), Mapping.default(), source="csv", batch_rows=2)
    assert (result.inserted, result.updated) == (1, 2)
    assert ticket(db, "1").subject == "r5" and ticket(db, "3").subject == "r4"


def test_rejects_file_cells_cannot_run_as_formulas(db: Database, tmp_path: Path) -> None:
    path = write(tmp_path, '=HYPERLINK("http://evil.example"),+1,-1,@SUM(A1),open,,,not a time,,,,,,\n')
    result = import_tickets(db, path, Mapping.default(), source="csv")
    assert result.rejects_file is not None
    rows = list(csv.reader(result.rejects_file.open(encoding="utf-8")))
    cells = rows[1][2:6]
    assert cells == ["'=HYPERLINK(\"http://evil.example\")", "'+1", "'-1", "'@SUM(A1)"]


def test_two_imports_naming_the_same_new_team_at_once(db: Database, tmp_path: Path) -> None:
    paths = [
        write(tmp_path, "".join(f"{n}-{i},,Brand New Team,New Agent,open,,,{T0},,,,,,\n" for i in range(300)), f"{n}.csv")
        for n in ("a", "b", "c")
    ]
    results: dict[str, object] = {}
    barrier = threading.Barrier(len(paths))

    def run(path: Path) -> None:
        barrier.wait()
        try:
            results[path.name] = import_tickets(db, path, Mapping.default(), source="csv", batch_rows=50)
        except Exception as exc:  # noqa: BLE001 (the test reports it)
            results[path.name] = exc

    threads = [threading.Thread(target=run, args=(p,)) for p in paths]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not [r for r in results.values() if isinstance(r, Exception)], results
    assert count(db) == 900
    with db.sessions() as s:
        assert s.scalars(select(Team.key)).all() == ["brand-new-team"]
        assert s.scalars(select(Member.handle)).all() == ["new-agent"]
        team_id = s.scalar(select(Team.id))
        assert s.scalar(select(func.count()).select_from(Ticket).where(Ticket.team_id == team_id)) == 900


def test_cli_import_of_hostile_rows_exits_cleanly(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CSBOT_") and k != "DATABASE_URL"}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'cli.db'}"
    path = tmp_path / "hostile.csv"
    path.write_text(HEADER + f"1,a\x00b,,,open,,,{T0},,,²,,,\n2,,,,open,,,{T0},,,,,,\n")
    r = subprocess.run([sys.executable, "-m", "bot.cli", "import", "tickets", str(path)], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "Traceback" not in r.stderr
    assert "1 inserted" in r.stdout and "row 2:" in r.stderr
    r = subprocess.run([sys.executable, "-m", "bot.cli", "import", "tickets", str(path), "--strict"], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "Traceback" not in r.stderr and "nothing was written" in r.stderr
