"""An import's summary says what happened to the tickets: inserted, updated, unchanged,
several rows merged into one ticket, rejected; and a rejects file from an earlier run
never outlives the rows it listed."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text

from kpi.importer import ImportRefused, ImportResult, import_tickets
from kpi.mapping import Mapping
from kpi.tickets import Ticket
from store.database import Database
from tests.helpers import apply_fixture_org, assert_no_traceback, in_clean_directory
from tests.test_import import count, write

T0 = "2026-03-02T09:00:00Z"
FIVE = (
    f"1,Refund,support-emea,alice,solved,high,email,{T0},2026-03-02T09:10:00Z,2026-03-02T11:00:00Z,1,0,5,yes\n"
    f"2,Login,Support EMEA,Alice Smith,hold,low,chat,{T0},,,,,,\n"
    f"3,Bill,Night Shift,Newcomer,open,urgent,web,{T0},,,2,1,2,0\n"
    f"4,,,,open,,,{T0},,,,,,\n"
    f"5,Late,support-amer,carol@example.com,pending,normal,phone,{T0},2026-03-02T09:30:00Z,,1,,,\n"
)


@contextmanager
def updates_written(db: Database) -> Iterator[list[int]]:
    """Count the UPDATEs the database applies to stored tickets while the block runs (a trigger, on either backend)."""
    with db.engine.begin() as conn:
        conn.execute(text("CREATE TABLE probe_updates (ticket_id INTEGER)"))
        if db.backend == "postgresql":
            conn.execute(
                text(
                    "CREATE FUNCTION probe_update() RETURNS trigger LANGUAGE plpgsql AS "
                    "$$ BEGIN INSERT INTO probe_updates VALUES (NEW.id); RETURN NEW; END $$"
                )
            )
            conn.execute(text("CREATE TRIGGER probe AFTER UPDATE ON tickets FOR EACH ROW EXECUTE FUNCTION probe_update()"))
        else:
            conn.execute(text("CREATE TRIGGER probe AFTER UPDATE ON tickets BEGIN INSERT INTO probe_updates VALUES (NEW.id); END"))
    seen: list[int] = []
    yield seen
    with db.engine.connect() as conn:
        seen.extend(conn.execute(text("SELECT ticket_id FROM probe_updates ORDER BY ticket_id")).scalars())


def accounted(result: ImportResult) -> int:
    """Every row is a ticket inserted, updated or unchanged, a rejected row, or one more row of a merged ticket."""
    return result.inserted + result.updated + result.unchanged + result.rejected_count + result.merged - result.merged_tickets


@pytest.mark.parametrize("batch_rows", [10_000, 2])
def test_importing_the_same_file_again_changes_nothing_and_says_so(db: Database, tmp_path: Path, batch_rows: int) -> None:
    apply_fixture_org(db)
    path = write(tmp_path, FIVE)
    first = import_tickets(db, path, Mapping.default(), source="csv", batch_rows=batch_rows)
    assert (first.inserted, first.updated, first.unchanged) == (5, 0, 0)
    with updates_written(db) as written:
        again = import_tickets(db, path, Mapping.default(), source="csv", batch_rows=batch_rows)
    assert (again.rows, again.inserted, again.updated, again.unchanged, again.rejected) == (5, 0, 0, 5, [])
    assert written == []  # not one stored ticket rewritten
    assert "5 rows: 0 inserted, 0 updated, 5 unchanged, 0 rejected, 0 teams created" in again.summary()
    assert again.teams_created == [] and again.agents_created == [] and count(db) == 5


def test_a_real_change_is_updated_and_only_it_is_written(db: Database, tmp_path: Path) -> None:
    apply_fixture_org(db)
    import_tickets(db, write(tmp_path, FIVE), Mapping.default(), source="csv")
    changed = FIVE.replace(f"4,,,,open,,,{T0},,,,,,", f"4,,,,solved,,,{T0},,2026-03-02T12:00:00Z,,,,")
    with updates_written(db) as written:
        result = import_tickets(db, write(tmp_path, changed, "changed.csv"), Mapping.default(), source="csv")
    assert (result.inserted, result.updated, result.unchanged) == (0, 1, 4)
    with db.sessions() as s:
        four = s.scalar(select(Ticket).where(Ticket.external_id == "4"))
    assert written == [four.id] and four.status == "solved"


def test_unchanged_compares_only_the_columns_the_file_has(db: Database, tmp_path: Path) -> None:
    apply_fixture_org(db)
    import_tickets(db, write(tmp_path, FIVE), Mapping.default(), source="csv")
    few = tmp_path / "few.csv"
    # Ticket 1's own created_at, and nothing about the status, team or times the full export set.
    few.write_text(f"external_id,created_at\n1,{T0}\n")
    with updates_written(db) as written:
        result = import_tickets(db, few, Mapping.default(), source="csv")
    assert (result.inserted, result.updated, result.unchanged, written) == (0, 0, 1, [])
    few.write_text(f"external_id,created_at,team\n1,{T0},support-amer\n2,{T0},Support EMEA\n")
    result = import_tickets(db, few, Mapping.default(), source="csv")
    assert (result.updated, result.unchanged) == (1, 1)
    with db.sessions() as s:
        one = s.scalar(select(Ticket).where(Ticket.external_id == "1"))
        assert one.team.key == "support-amer" and one.status == "solved" and one.priority == "high"  # the rest untouched


@pytest.mark.parametrize("batch_rows", [10_000, 1], ids=["one batch", "a batch per row"])
def test_several_rows_for_one_ticket_are_reported_as_merged(db: Database, tmp_path: Path, batch_rows: int) -> None:
    path = write(
        tmp_path,
        f"A,,,,new,,,{T0},,,,,,\n"
        f"B,,,,open,,,{T0},,,,,,\n"
        f"A,,,,open,,,{T0},2026-03-02T09:20:00Z,,1,,,\n"
        f"A,,,,solved,,,{T0},2026-03-02T09:20:00Z,2026-03-02T10:00:00Z,1,0,,\n",
    )
    result = import_tickets(db, path, Mapping.default(), source="csv", batch_rows=batch_rows)
    assert (result.rows, result.inserted, result.updated, result.unchanged) == (4, 2, 0, 0)
    assert (result.merged, result.merged_tickets) == (3, 1)
    assert accounted(result) == result.rows
    assert "4 rows: 2 inserted, 0 updated, 0 unchanged, 0 rejected, 3 rows merged into 1 ticket, 0 teams created" in result.summary()
    with db.sessions() as s:
        assert s.scalar(select(Ticket.status).where(Ticket.external_id == "A")) == "solved"  # the last row's state


def test_a_stored_ticket_left_alone_by_one_batch_and_changed_by_a_later_one_is_updated_once(db: Database, tmp_path: Path) -> None:
    import_tickets(db, write(tmp_path, f"C,,,,open,,,{T0},,,,,,\nD,,,,open,,,{T0},,,,,,\n", "seed.csv"), Mapping.default(), source="csv")
    log = write(
        tmp_path,
        f"C,,,,open,,,{T0},,,,,,\n"  # as stored
        f"D,,,,open,,,{T0},,,,,,\n"  # as stored, and only once
        f"E,,,,open,,,{T0},,,,,,\n"
        f"C,,,,solved,,,{T0},,2026-03-02T10:00:00Z,,,,\n"
        f"C,,,,closed,,,{T0},,2026-03-02T10:00:00Z,,,,\n",
        "log.csv",
    )
    result = import_tickets(db, log, Mapping.default(), source="csv", batch_rows=1)
    assert (result.inserted, result.updated, result.unchanged) == (1, 1, 1)
    assert (result.merged, result.merged_tickets) == (3, 1)
    assert accounted(result) == result.rows == 5


def test_rejected_rows_are_not_merged(db: Database, tmp_path: Path) -> None:
    path = write(tmp_path, f"A,,,,open,,,{T0},,,,,,\nA,,,,open,,,not a time,,,,,,\nB,,,,open,,,{T0},,,,,,\n")
    result = import_tickets(db, path, Mapping.default(), source="csv")
    assert (result.inserted, len(result.rejected), result.merged, result.merged_tickets) == (2, 1, 0, 0)
    assert "merged" not in result.summary()


def test_rows_merged_into_a_last_row_the_stored_ticket_refuses_are_still_accounted_for(db: Database, tmp_path: Path) -> None:
    import_tickets(db, write(tmp_path, f"1,,,,open,,,{T0},2026-03-02T09:30:00Z,,,,,,\n", "seed.csv"), Mapping.default(), source="csv")
    later = tmp_path / "later.csv"
    later.write_text(f"external_id,created_at\n1,{T0}\n1,2026-03-05T09:00:00Z\n2,{T0}\n")
    result = import_tickets(db, later, Mapping.default(), source="csv")
    assert [r.row for r in result.rejected] == [3] and "after the stored first_reply_at" in result.rejected[0].reasons[0]
    assert (result.inserted, result.updated, result.unchanged, result.merged, result.merged_tickets) == (1, 0, 0, 2, 1)
    assert accounted(result) == result.rows == 3


def test_a_clean_run_removes_the_rejects_file_of_an_earlier_run_and_says_so(db: Database, tmp_path: Path) -> None:
    path = write(tmp_path, f"1,,,,open,,,{T0},,,,,,\n2,,,,open,,,yesterday,,,,,,\n")
    first = import_tickets(db, path, Mapping.default(), source="csv")
    stale = tmp_path / "tickets.rejects.csv"
    assert first.rejects_file == stale and stale.is_file()
    # A rerun that still rejects the row writes the file afresh, and does not call it stale.
    again = import_tickets(db, path, Mapping.default(), source="csv")
    assert again.rejects_file == stale and again.stale_rejects_removed is None and stale.is_file()
    # The file fixed: nothing is rejected, and the old list of rejects would only mislead.
    path.write_text(path.read_text().replace("yesterday", T0))
    fixed = import_tickets(db, path, Mapping.default(), source="csv")
    assert fixed.rejected == [] and fixed.rejects_file is None
    assert fixed.stale_rejects_removed == stale and not stale.exists()
    assert fixed.summary().endswith("; removed tickets.rejects.csv left by an earlier run (no row was rejected this time)")
    # Nothing left to remove: nothing said.
    assert import_tickets(db, path, Mapping.default(), source="csv").stale_rejects_removed is None


def test_a_refused_file_leaves_the_rejects_file_alone(db: Database, tmp_path: Path) -> None:
    path = write(tmp_path, f"1,,,,open,,,{T0},,,,,,\n2,,,,open,,,yesterday,,,,,,\n")
    import_tickets(db, path, Mapping.default(), source="csv")
    stale = tmp_path / "tickets.rejects.csv"
    with pytest.raises(ImportRefused):
        import_tickets(db, path, Mapping.default(), source="csv", strict=True)
    path.write_text("external_id|created_at\n1|x\n")
    with pytest.raises(ImportRefused):
        import_tickets(db, path, Mapping.default(), source="csv")
    assert stale.is_file()  # nothing was imported: the last import's rejects are still its rejects


def test_a_rejects_path_that_is_not_a_file_is_left_alone(db: Database, tmp_path: Path) -> None:
    path = write(tmp_path, f"1,,,,open,,,{T0},,,,,,\n")
    (tmp_path / "tickets.rejects.csv").mkdir()
    result = import_tickets(db, path, Mapping.default(), source="csv")
    assert result.inserted == 1 and result.stale_rejects_removed is None
    assert (tmp_path / "tickets.rejects.csv").is_dir()


def test_cli_json_carries_the_same_counts(
    db: Database, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    from bot.cli import main

    in_clean_directory(tmp_path, monkeypatch, db_url)
    path = write(tmp_path, f"A,,Team A,,open,,,{T0},,,,,,\nA,,Team A,,solved,,,{T0},,2026-03-02T10:00:00Z,,,,\nB,,,,open,,,nope,,,,,,\n")
    assert main(["import", "tickets", str(path), "--source", "hd", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"ok", "visibility", "text", "blocks", "data"} and out["ok"] is True
    data = out["data"]
    assert {k: data[k] for k in ("rows", "inserted", "updated", "unchanged", "merged", "merged_tickets", "rejected")} == {
        "rows": 3,
        "inserted": 1,
        "updated": 0,
        "unchanged": 0,
        "merged": 2,
        "merged_tickets": 1,
        "rejected": 1,
    }
    assert data["teams_created"] == ["team-a"] and data["agents_created"] == [] and data["source"] == "hd"
    assert data["rejects_file"] == str(tmp_path / "tickets.rejects.csv") and data["stale_rejects_removed"] is None
    assert "2 rows merged into 1 ticket" in out["text"] and isinstance(data["seconds"], float)
    # Fixed and imported again: the same ticket unchanged, and the old rejects file gone.
    path.write_text(path.read_text().replace("nope", T0))
    assert main(["import", "tickets", str(path), "--source", "hd", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)["data"]
    assert (data["inserted"], data["updated"], data["unchanged"], data["rejected"]) == (1, 0, 1, 0)
    assert data["stale_rejects_removed"] == str(tmp_path / "tickets.rejects.csv") and data["rejects_file"] is None
    # Refused: one JSON object with every problem, exit 2, nothing written.
    bad = tmp_path / "bad.csv"
    bad.write_text(f"external_id,team,Team,created_at\n9,a,b,{T0}\n")
    assert main(["import", "tickets", str(bad), "--json"]) == 2
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert out["ok"] is False and out["error"]["code"] == "refused" and "nothing was written" in out["error"]["message"]
    assert len(out["data"]["problems"]) == 1 and "the header repeats a column name" in out["data"]["problems"][0]
    assert "Traceback" not in captured.err
    assert_no_traceback(caplog.records)
    with db.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Ticket)) == 2


def test_cli_summary_line_names_merged_and_unchanged(
    db: Database, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import main

    in_clean_directory(tmp_path, monkeypatch, db_url)
    path = write(tmp_path, f"A,,,,open,,,{T0},,,,,,\nA,,,,solved,,,{T0},,2026-03-02T10:00:00Z,,,,\nA,,,,closed,,,{T0},,2026-03-02T10:00:00Z,,,,\n")
    assert main(["import", "tickets", str(path)]) == 0
    assert "3 rows: 1 inserted, 0 updated, 0 unchanged, 0 rejected, 3 rows merged into 1 ticket" in capsys.readouterr().out
    assert main(["import", "tickets", str(path)]) == 0
    assert "3 rows: 0 inserted, 0 updated, 1 unchanged, 0 rejected, 3 rows merged into 1 ticket" in capsys.readouterr().out


# -- any file, any batch size: every row accounted for, each ticket counted once ---------------

STATUS_TIMES = {"open": ("", ""), "solved": ("2026-03-02T09:20:00Z", "2026-03-02T10:00:00Z")}


@st.composite
def ticket_rows(draw: st.DrawFn, ids: list[str]) -> list[str]:
    """Rows of an export with every column (so no stored time can conflict), from small pools so rows repeat."""
    rows = []
    for _ in range(draw(st.integers(1, 14))):
        external_id = draw(st.sampled_from(ids))
        if draw(st.integers(0, 9)) == 0:
            rows.append(f"{external_id},,,,open,,,not a time,,,,,,")  # a row the parser rejects
            continue
        status = draw(st.sampled_from(sorted(STATUS_TIMES)))
        reply, solved = STATUS_TIMES[status]
        subject = draw(st.sampled_from(["", "Refund", "Login"]))
        team = draw(st.sampled_from(["", "support-emea", "Night Shift"]))
        replies = draw(st.sampled_from(["", "1", "2"]))
        rows.append(f"{external_id},{subject},{team},,{status},,,{T0},{reply},{solved},{replies},,,")
    return rows


def stored_state(db: Database, source: str) -> dict[str, tuple]:  # type: ignore[type-arg]
    with db.sessions() as s:
        return {
            t.external_id: (t.subject, t.team_id, t.status, t.created_at, t.first_reply_at, t.solved_at, t.replies)
            for t in s.scalars(select(Ticket).where(Ticket.source == source))
        }


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_any_file_at_any_batch_size_counts_every_row_once(db: Database, tmp_path: Path, data: st.DataObject) -> None:
    source = f"p{uuid.uuid4().hex[:12]}"  # one database for every example: each its own source
    ids = ["A", "B", "C", "D"]
    seed = data.draw(ticket_rows(ids), label="seed")
    import_tickets(db, write(tmp_path, "\n".join(seed) + "\n", "seed.csv"), Mapping.default(), source=source)
    before = stored_state(db, source)
    rows = data.draw(ticket_rows(ids), label="rows")
    batch_rows = data.draw(st.integers(1, 5), label="batch_rows")
    result = import_tickets(db, write(tmp_path, "\n".join(rows) + "\n", "log.csv"), Mapping.default(), source=source, batch_rows=batch_rows)
    after = stored_state(db, source)

    good = [row.split(",")[0] for row in rows if "not a time" not in row]
    named = set(good)
    several = {t: good.count(t) for t in named if good.count(t) > 1}
    assert result.rows == len(rows) and len(result.rejected) == len(rows) - len(good)
    assert result.inserted == len(named - set(before))
    assert result.updated + result.unchanged == len(named & set(before))
    assert (result.merged, result.merged_tickets) == (sum(several.values()), len(several))
    assert accounted(result) == result.rows
    differ = {t for t in named & set(before) if after[t] != before[t]}
    assert len(differ) <= result.updated  # a ticket that changed is never called unchanged
    if batch_rows > len(named):
        assert len(differ) == result.updated  # one batch: updated is exactly the tickets that now differ
