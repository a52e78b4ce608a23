"""How the import reads the file itself: its header, its separator, its quotes.

What is wrong with a file is said up front, in the file's own terms (which
column, which line, which separator), and a mistake on one line costs that
line, never the rows after it.
"""

from __future__ import annotations

import csv
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from kpi.importer import UNCLOSED_QUOTE, ImportRefused, import_tickets
from kpi.mapping import Mapping, load_mapping
from kpi.tickets import Ticket
from store.database import Database
from store.org import Member, Team
from tests.helpers import FIXTURES
from tests.test_import import count

T0 = "2026-03-02T09:00:00Z"
BOM = "\ufeff"


def subjects(db: Database) -> dict[str, str | None]:
    with db.sessions() as s:
        return dict(s.execute(select(Ticket.external_id, Ticket.subject)).all())


def org_size(db: Database) -> tuple[int, int]:
    with db.sessions() as s:
        return (s.scalar(select(func.count()).select_from(Team)) or 0, s.scalar(select(func.count()).select_from(Member)) or 0)


# -- the header ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "fragment"),
    [
        ("external_id,team,created_at,Team ", "'team' in column 2 (B), 'Team ' in column 4 (D)"),
        ("external_id,created_at,external_id", "'external_id' in column 1 (A), 'external_id' in column 3 (C)"),
        (f"{BOM}external_id,created_at,notes,NOTES,Notes", "'notes' in column 3 (C), 'NOTES' in column 4 (D), 'Notes' in column 5 (E)"),
    ],
    ids=["a column the import reads", "a required column", "a column it does not read, three times"],
)
def test_a_header_that_repeats_a_name_is_refused_before_anything_is_written(
    db: Database, tmp_path: Path, header: str, fragment: str
) -> None:
    path = tmp_path / "t.csv"
    width = header.count(",") + 1
    path.write_text(header + "\n" + ",".join(["1", "Night Shift", T0, "x", "y"][:width]) + "\n", encoding="utf-8")
    with pytest.raises(ImportRefused) as info:
        import_tickets(db, path, Mapping.default(), source="csv")
    assert len(info.value.problems) == 1
    problem = info.value.problems[0]
    assert problem.startswith(f"{path}: the header repeats a column name: ") and fragment in problem
    assert "rename or remove all but one" in problem
    assert count(db) == 0 and org_size(db) == (0, 0)


def test_every_repeated_name_is_listed_and_unnamed_columns_are_not_repeats(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(f"external_id,team,created_at,team,agent,Agent\n1,a,{T0},b,c,d\n")
    with pytest.raises(ImportRefused) as info:
        import_tickets(db, path, Mapping.default(), source="csv")
    assert len(info.value.problems) == 2
    assert "'team' in column 2 (B), 'team' in column 4 (D)" in info.value.problems[0]
    assert "'agent' in column 5 (E), 'Agent' in column 6 (F)" in info.value.problems[1]
    # A spreadsheet's trailing separators make unnamed columns: nothing to read, nothing ambiguous.
    path.write_text(f"external_id,created_at,,,\n1,{T0},,,\n")
    assert import_tickets(db, path, Mapping.default(), source="csv").inserted == 1


def test_header_names_match_ignoring_case_spaces_and_byte_order_marks(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    # Two byte-order marks (a file saved twice by a spreadsheet): the reader drops one, the match ignores the other.
    text = f"{BOM}{BOM}External_ID , Created_At,SUBJECT,  Team\r\n1,{T0},Refund,Night Shift\r\n"
    path.write_bytes(text.encode("utf-8"))
    result = import_tickets(db, path, Mapping.default(), source="csv")
    assert (result.inserted, result.rejected, result.teams_created) == (1, [], ["night-shift"])
    assert subjects(db) == {"1": "Refund"}
    # A mapping file names the export's columns; the export spells them its own way.
    mapping_file = tmp_path / "m.yaml"
    mapping_file.write_text("columns: {external_id: id, created_at: Opened At, subject: Title}\n")
    mapping = load_mapping(mapping_file)
    export = tmp_path / "export.csv"
    export.write_text(f"{BOM}ID,opened at ,TITLE\n2,{T0},Login\n", encoding="utf-8")
    result = import_tickets(db, export, mapping, source="csv")
    assert (result.inserted, result.rejected) == (1, [])
    assert subjects(db) == {"1": "Refund", "2": "Login"}


def test_a_missing_column_is_named_with_the_header_as_read(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(f"ticket;opened;status\n1;{T0};open\n")
    with pytest.raises(ImportRefused) as info:
        import_tickets(db, path, Mapping.default(), source="csv")
    assert info.value.problems == [
        f"{path}: the file has no 'external_id' column (needed for external_id)",
        f"{path}: the file has no 'created_at' column (needed for created_at)",
        f"{path}: its header line, read with semicolons between columns, is: 'ticket', 'opened', 'status'",
    ]
    assert count(db) == 0


# -- the separator ---------------------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [";", "\t"], ids=["semicolons", "tabs"])
def test_semicolon_and_tab_separated_files_are_read(db: Database, tmp_path: Path, delimiter: str) -> None:
    rows = [
        ["external_id", "subject", "team", "status", "created_at", "solved_at", "replies"],
        ["1", "Refund, partly; again", "Support EMEA", "solved", T0, "2026-03-02T10:00:00Z", "2"],
        ["2", 'A "quoted" word\tand a tab', "Support EMEA", "open", T0, "", ""],
        ["3", "Two\nlines", "Night Shift", "open", T0, "", "1"],
    ]
    path = tmp_path / "t.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, delimiter=delimiter).writerows(rows)
    result = import_tickets(db, path, Mapping.default(), source="csv")
    assert (result.rows, result.inserted, result.rejected) == (3, 3, [])
    assert subjects(db) == {"1": "Refund, partly; again", "2": 'A "quoted" word\tand a tab', "3": "Two\nlines"}
    with db.sessions() as s:
        t1 = s.scalar(select(Ticket).where(Ticket.external_id == "1"))
        assert t1.status == "solved" and t1.replies == 2 and t1.solved_at == datetime(2026, 3, 2, 10, tzinfo=timezone.utc)
    assert sorted(result.teams_created) == ["night-shift", "support-emea"]


def test_a_spreadsheet_export_with_semicolons_imports_with_its_mapping(db: Database, tmp_path: Path) -> None:
    # As a spreadsheet in a comma-decimal locale saves "CSV": byte-order mark, CRLF, semicolons, quoted cells.
    mapping_file = tmp_path / "m.yaml"
    mapping_file.write_text(
        "timezone: Europe/Berlin\n"
        "datetime_formats: ['%d.%m.%Y %H:%M']\n"
        "columns: {external_id: Ticket, subject: Betreff, team: Team, status: Status, created_at: Erstellt, solved_at: Gelöst}\n"
        "values:\n  status: {Offen: open, Gelöst: solved}\n",
        encoding="utf-8",
    )
    result = import_tickets(db, FIXTURES / "tickets_semicolons.csv", load_mapping(mapping_file), source="tabelle")
    assert (result.rows, result.inserted, [r.row for r in result.rejected]) == (4, 4, [])
    with db.sessions() as s:
        tickets = {t.external_id: t for t in s.scalars(select(Ticket))}
    assert tickets["A-1"].subject == "Rückerstattung; Teil 2" and tickets["A-1"].status == "solved"
    assert tickets["A-1"].created_at == datetime(2026, 3, 2, 8, 15, tzinfo=timezone.utc)  # 09:15 in Berlin
    assert tickets["A-2"].subject == "Zeile eins\r\nZeile zwei"
    assert tickets["A-4"].status == "open" and tickets["A-4"].solved_at is None


@pytest.mark.parametrize(("delimiter", "named"), [("|", "'|'"), ("^", "'^'"), (" ", "spaces")])
def test_a_file_with_another_separator_is_refused_naming_it(db: Database, tmp_path: Path, delimiter: str, named: str) -> None:
    path = tmp_path / "t.csv"
    path.write_text(delimiter.join(["external_id", "created_at", "subject"]) + "\n" + delimiter.join(["1", T0, "x"]) + "\n")
    with pytest.raises(ImportRefused) as info:
        import_tickets(db, path, Mapping.default(), source="csv")
    assert info.value.problems == [
        f"{path}: its columns are separated by {named}, which csbot does not read; "
        "save the file separated by commas (CSV), semicolons or tabs"
    ]
    assert count(db) == 0


def test_commas_win_when_the_header_also_holds_other_separators(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(f"external_id,created_at,notes; remarks,a|b\n1,{T0},x;y,p|q\n")
    result = import_tickets(db, path, Mapping.default(), source="csv")
    assert (result.inserted, result.rejected) == (1, [])


# -- quotes ----------------------------------------------------------------------------------


def test_an_unclosed_quote_is_reported_at_the_line_where_it_opens(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(
        "external_id,subject,created_at\n"
        f"1,Fine,{T0}\n"
        f'2,"Refund for order 7,{T0}\n'  # line 3: the quote never closes
        f"3,Next row,{T0}\n"
        f'4,"Quoted, properly",{T0}\n'  # the reader would take this quote as the end of line 3's
        f'5,"Two\nlines",{T0}\n'
        f"6,Last,{T0}\n"
    )
    result = import_tickets(db, path, Mapping.default(), source="csv")
    assert result.rows == 6
    assert [(r.row, r.reasons) for r in result.rejected] == [(3, [UNCLOSED_QUOTE])]
    assert result.inserted == 5
    assert subjects(db) == {"1": "Fine", "3": "Next row", "4": "Quoted, properly", "5": "Two\nlines", "6": "Last"}
    # The rejects file shows the line as far as it goes, for the person fixing it.
    rejects = list(csv.reader(result.rejects_file.open(encoding="utf-8")))
    assert rejects[1] == ["3", UNCLOSED_QUOTE, "2", f"Refund for order 7,{T0}"]
    # --strict names it too, and writes nothing.
    with pytest.raises(ImportRefused) as info:
        import_tickets(db, path, Mapping.default(), source="other", strict=True)
    assert info.value.problems == [f"row 3: {UNCLOSED_QUOTE}"]


def test_an_unclosed_quote_that_runs_to_the_end_of_the_file(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    body = "".join(f"{i},Row {i},{T0}\n" for i in range(3, 9))
    path.write_text(f'external_id,subject,created_at\n1,Fine,{T0}\n2,"Opened here,{T0}\n{body}')
    result = import_tickets(db, path, Mapping.default(), source="csv")
    assert (result.rows, [r.row for r in result.rejected], result.inserted) == (8, [3], 7)
    assert set(subjects(db)) == {"1", *map(str, range(3, 9))}
    # On the last line, with nothing after it to swallow.
    last = tmp_path / "last.csv"
    last.write_text(f'external_id,subject,created_at\n1,Fine,{T0}\n2,Fine,{T0}\n3,"Opened here,{T0}\n')
    result = import_tickets(db, last, Mapping.default(), source="last")
    assert (result.rows, [(r.row, r.reasons) for r in result.rejected], result.inserted) == (3, [(4, [UNCLOSED_QUOTE])], 2)


def test_two_unclosed_quotes_each_cost_their_own_line(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(
        "external_id,subject,created_at\n"
        f'1,"One,{T0}\n'
        f'2,"Two,{T0}\n'
        f"3,Three,{T0}\n"
        f'4,"Four, fine",{T0}\n'
    )
    result = import_tickets(db, path, Mapping.default(), source="csv")
    assert (result.rows, [r.row for r in result.rejected], result.inserted) == (4, [2, 3], 2)
    assert subjects(db) == {"3": "Three", "4": "Four, fine"}


def test_an_unclosed_quote_past_the_readers_cell_limit_costs_one_line(db: Database, tmp_path: Path) -> None:
    # Twenty 1 MB lines after the quote: the cell it opens runs past the reader's 16 MB limit.
    notes = "n" * (1024 * 1024)
    path = tmp_path / "t.csv"
    with path.open("w", encoding="utf-8") as fh:
        fh.write(f'external_id,subject,created_at,notes\n1,"Opened here,{T0},x\n')
        for i in range(2, 22):
            fh.write(f"{i},Row {i},{T0},{notes}\n")
    result = import_tickets(db, path, Mapping.default(), source="csv")
    assert (result.rows, [(r.row, r.reasons) for r in result.rejected], result.inserted) == (21, [(2, [UNCLOSED_QUOTE])], 20)
    assert set(subjects(db)) == {str(i) for i in range(2, 22)}


def test_stray_quotes_inside_a_cell_are_text_as_before(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(f'external_id,subject,created_at\n1,27" monitor,{T0}\n2,"say ""hi""",{T0}\n')
    result = import_tickets(db, path, Mapping.default(), source="csv")
    assert (result.inserted, result.rejected) == (2, [])
    assert subjects(db) == {"1": '27" monitor', "2": 'say "hi"'}


def test_an_unclosed_quote_in_the_header_is_refused_not_an_empty_import(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(f'external_id,created_at,"subject\n1,{T0},Refund\n2,{T0},Login\n')
    with pytest.raises(ImportRefused) as info:
        import_tickets(db, path, Mapping.default(), source="csv")
    assert info.value.problems == [f"{path}: a quote opened on the header line is never closed"]
    # A quoted header name may hold a line break, as any cell may.
    path.write_text(f'external_id,created_at,"sub\nject"\n1,{T0},Refund\n')
    assert import_tickets(db, path, Mapping.default(), source="csv").inserted == 1


def test_a_column_named_many_times_is_one_short_problem(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("external_id,created_at," + ",".join(["x"] * 5000) + "\n")
    with pytest.raises(ImportRefused) as info:
        import_tickets(db, path, Mapping.default(), source="csv")
    [problem] = info.value.problems
    assert "'x' in column 3 (C)" in problem and "… (5,000 times)" in problem
    assert len(problem) < 500
