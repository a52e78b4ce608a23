"""Rejected rows stream to the rejects file: counted, the first few kept, none all held in memory."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest
from sqlalchemy import func, select

from kpi.import_rejects import CROWD, KEPT
from kpi.importer import ImportRefused, import_tickets
from kpi.mapping import Mapping
from kpi.tickets import Ticket
from store.database import Database


def count(db: Database) -> int:
    with db.sessions() as s:
        return s.scalar(select(func.count()).select_from(Ticket)) or 0


def rejects_rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))[1:]


def test_many_rejects_are_counted_kept_first_and_written_in_row_order(db: Database, tmp_path: Path) -> None:
    # Stored tickets the second file conflicts with when its batches are written
    # (created_at after a stored solve, with no solved_at column to change it).
    first = tmp_path / "first.csv"
    first.write_text("external_id,created_at,solved_at\n" + "".join(f"c{i},2026-03-01T09:00:00Z,2026-03-01T10:00:00Z\n" for i in range(50)))
    import_tickets(db, first, Mapping.default(), source="csv")
    lines = ["external_id,created_at"]
    expected: list[int] = []
    for i in range(3 * CROWD):
        line = len(lines) + 1
        if i % 3 == 0:
            lines.append(f"g{i},2026-03-02T09:00:00Z")
        elif i % 600 == 1:
            lines.append(f"c{i // 600},2026-03-02T09:00:00Z")  # refused at write time
            expected.append(line)
        else:
            lines.append(f"b{i},not a time")
            expected.append(line)
    path = tmp_path / "log.csv"
    path.write_text("\n".join(lines) + "\n")
    result = import_tickets(db, path, Mapping.default(), source="csv", batch_rows=2_000)
    assert result.rejected_count == len(expected) and result.inserted == CROWD
    assert [r.row for r in result.rejected] == expected[:KEPT]
    written = rejects_rows(result.rejects_file)
    assert [int(r[0]) for r in written] == expected  # every one, in row order
    assert any("stored solved_at" in r[1] for r in written)
    assert not (tmp_path / "log.rejects.csv.partial").exists()
    assert result.as_data()["rejected"] == len(expected) and len(result.as_data()["first_rejected"]) == KEPT
    assert f"{len(expected):,} rejected" in result.summary()


def test_strict_lists_the_first_rows_says_how_many_more_and_saves_them_all(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("external_id,created_at\n" + "".join(f"{i},nope\n" for i in range(KEPT + 15)) + "ok,2026-03-02T09:00:00Z\n")
    with pytest.raises(ImportRefused) as info:
        import_tickets(db, path, Mapping.default(), source="csv", strict=True)
    refused = info.value
    assert refused.total == KEPT + 15 and len(refused.problems) == KEPT + 1
    assert refused.problems[0].startswith("row 2: created_at") and refused.problems[-1].startswith("… and 15 more rows; every refused row is in ")
    assert refused.rejects_file == tmp_path / "bad.rejects.csv" and len(rejects_rows(refused.rejects_file)) == KEPT + 15
    assert count(db) == 0


def test_bad_rows_are_not_held_in_memory(db: Database, tmp_path: Path) -> None:
    # 60,000 bad rows held in a list peaked at 108 MB traced; streamed, 16 MB (the waiting buffer, the batch).
    path = tmp_path / "bad.csv"
    cells = ",".join(["x" * 40] * 8)
    path.write_text("external_id,created_at,subject,channel\n" + "".join(f"{i},nope,{cells},web\n" for i in range(60_000)))
    tracemalloc.start()
    try:
        result = import_tickets(db, path, Mapping.default(), source="csv")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.rejected_count == 60_000 and len(rejects_rows(result.rejects_file)) == 60_000
    assert peak < 40 * 2**20, f"peak {peak / 2**20:.0f} MB"


def test_the_cli_caps_the_created_teams_line_like_the_agents_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CSBOT_") and k != "DATABASE_URL"}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'cli.db'}"
    path = tmp_path / "teams.csv"
    path.write_text("external_id,created_at,team,agent\n" + "".join(f"{i},2026-03-02T09:00:00Z,Team {i:03d},Agent {i:03d}\n" for i in range(45)))
    r = subprocess.run([sys.executable, "-m", "bot.cli", "import", "tickets", str(path)], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    teams = next(line for line in r.stderr.splitlines() if line.startswith("Teams created:"))
    agents = next(line for line in r.stderr.splitlines() if line.startswith("Agents created:"))
    for line in (teams, agents):
        assert line.endswith("… and 15 more (csbot org show lists them)") and line.count(",") == 29
    assert "45 teams created" in r.stdout


def test_a_crash_leaves_no_partial_rejects_and_a_rerun_writes_them_all(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("external_id,created_at\n" + "".join(f"{i},{'nope' if i % 2 else '2026-03-02T09:00:00Z'}\n" for i in range(12)))
    earlier = tmp_path / "t.rejects.csv"
    earlier.write_text("row,reason\n99,from an earlier run\n")

    class Boom(Exception):
        pass

    def progress(done: int) -> None:
        raise Boom  # the process dies after the first batch committed

    with pytest.raises(Boom):
        import_tickets(db, path, Mapping.default(), source="csv", batch_rows=2, progress=progress)
    assert count(db) == 2 and not (tmp_path / "t.rejects.csv.partial").exists()
    assert earlier.read_text() == "row,reason\n99,from an earlier run\n"  # whole until a run finishes
    result = import_tickets(db, path, Mapping.default(), source="csv", batch_rows=2)
    assert count(db) == 6 and result.rejected_count == 6
    assert [int(r[0]) for r in rejects_rows(earlier)] == [3, 5, 7, 9, 11, 13]
