"""Ticket-import mapping files (kpi/mapping.py) read with the one safe YAML loader: problems by line, cell values as written."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from kpi.importer import import_tickets
from kpi.mapping import MappingError, load_mapping
from kpi.tickets import Ticket
from store.database import Database
from tests.helpers import assert_no_traceback, in_clean_directory
from tests.test_org_file import ALIAS_BOMB

GOOD = """\
source: helpdesk
columns:
  external_id: Number
  created_at: Opened
  solved_at: Resolved
  priority: Prio
  sla_met: SLA
missing: [NULL, N/A]
values:
  priority: {1: urgent, 2: high, 03: normal, 0777: low}
  sla_met: {Yes: true, No: false}
"""
CSV = """\
Number,Opened,Resolved,Prio,SLA
0001,2026-03-02T09:00:00Z,NULL,1,Yes
0002,2026-03-02T10:00:00Z,2026-03-02T11:00:00Z,03,No
0003,2026-03-02T11:00:00Z,N/A,0777,Yes
"""


def mapping_problems(tmp_path: Path, text: str | bytes) -> list[str]:
    path = tmp_path / "m.yaml"
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    with pytest.raises(MappingError) as info:
        load_mapping(path)
    problems = info.value.problems
    assert problems and all(isinstance(p, str) and "\n" not in p for p in problems), problems
    return problems


def test_cell_values_in_values_and_missing_are_kept_as_written(db: Database, tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_text(GOOD)
    (tmp_path / "t.csv").write_text(CSV)
    mapping = load_mapping(tmp_path / "m.yaml")
    assert mapping.values["priority"] == {"1": "urgent", "2": "high", "03": "normal", "0777": "low"}
    assert mapping.values["sla_met"] == {"Yes": True, "No": False}
    assert {"NULL", "N/A"} <= mapping.missing
    result = import_tickets(db, tmp_path / "t.csv", mapping, source="helpdesk")
    assert not result.rejected, result.rejected
    with db.sessions() as s:
        tickets = {t.external_id: t for t in s.scalars(select(Ticket))}
    assert {k: (t.priority, t.sla_met, t.solved_at is None) for k, t in tickets.items()} == {
        "0001": ("urgent", True, True),
        "0002": ("normal", False, False),
        "0003": ("low", True, True),
    }


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("columns:\n  external_id: 0777\n", 2, 'columns: external_id must name a column: quote it, e.g. external_id: "0777"'),
        ("columns:\n  status: 7\n", 2, 'columns: status must name a column: quote it, e.g. status: "7"'),
        ("columns:\n  status: [a, b]\n", 2, "columns: status must name a column, not a list"),
        ("timezone: 1.5\n", 1, 'timezone must be text: quote it, e.g. timezone: "1.5"'),
        ("timezone: Mars/Base\n", 1, "unknown time zone 'Mars/Base'"),
        # Longer than a file name may be: the zone lookup's OSError is a refusal too (found by Hypothesis).
        ("timezone: '" + "9" * 4000 + "'\n", 1, "unknown time zone '999"),
        ("a: 1\ncolour: blue\n", 1, "unknown key 'a'"),
        ("columns:\n  external_id: id\n  ticket_no: number\n", 3, "columns: unknown field 'ticket_no'"),
        ("datetime_formats: [dd-mm-yyyy]\n", 1, "strptime"),
        ("missing: [a, [b]]\n", 1, "missing: each value must be a single value"),
        ("missing:\n  - a\n  - {b: c}\n", 3, "missing: each value must be a single value, not a mapping"),
        ("values:\n  status:\n    New: [new]\n", 3, "values: status: 'New' must map to a single value"),
        ("values:\n  colour: {a: b}\n", 2, "values: unknown field 'colour'"),
        ("values:\n  status: new\n", 2, "values: status must map file values to csbot values"),
        ("values:\n  status: {' New': new, 'New ': open}\n", 2, "values: status: 'New' is listed twice"),
        ("source: " + "s" * 65 + "\n", 1, "source is at most 64 characters"),
        ("source: 12\n", 1, 'source must be text: quote it, e.g. source: "12"'),
    ],
)
def test_each_problem_is_reported_at_its_line(tmp_path: Path, text: str, line: int, fragment: str) -> None:
    problems = mapping_problems(tmp_path, text)
    path = tmp_path / "m.yaml"
    assert any(p.startswith(f"{path}:{line}: ") and fragment in p for p in problems), problems


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (ALIAS_BOMB.replace("org: {name: Acme, timezone: *i}", "values: {status: {x: *i}}"), ":2: anchors and aliases"),
        ("values:\n  sla_met:\n    Yes: true\n    Yes: false\n", ":4: duplicate key 'Yes' (first on line 3)"),
        ("columns:\n  status: State\n  status: Status\n", ":3: duplicate key 'status' (first on line 2)"),
        ("values:\n  ? [a, b]\n  : x\n", ":2: a key must be plain text"),
        ("values: " + "{a: " * 10_000 + "1" + "}" * 10_000 + "\n", ":1: nested more than 24 levels deep"),
        ("values: " + "[" * 10_000 + "\n", ":1: nested more than 24 levels deep"),
        ('source: "a\\0b"\n', ":1: a NUL character"),
        ("source: a\0b\n", ":1: a NUL character"),
        ("source: x\n" + "# padding\n" * 620_000, ": the file is larger than 5 MB"),
    ],
    ids=[
        "alias-bomb", "duplicate-value", "duplicate-column", "list-key", "deep-mappings", "deep-unclosed", "nul-escape", "nul-raw", "six-mb"
    ],
)
def test_hostile_mapping_files_are_refused_fast_by_line(tmp_path: Path, text: str, fragment: str) -> None:
    started = time.perf_counter()
    problems = mapping_problems(tmp_path, text)
    assert time.perf_counter() - started < 1.0
    # One problem, or for the bomb one per line that uses an alias.
    assert len(problems) == (9 if "anchors" in fragment else 1), problems
    assert problems[0].startswith(str(tmp_path / "m.yaml") + fragment), problems


def test_unreadable_mapping_files_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    assert mapping_problems(tmp_path, "source: x\nmissing: [Caf\u00e9]\n".encode("latin-1")) == [
        f"{path}:2: this line is not UTF-8 (byte 0xE9); save the file as UTF-8"
    ]
    assert mapping_problems(tmp_path, "- a list\n") == [f"{path}:1: a mapping file is a YAML mapping with columns:, values:, …"]
    with pytest.raises(MappingError) as info:
        load_mapping(tmp_path)
    assert info.value.problems == [f"{tmp_path}: cannot read it: it is a directory, not a file"]
    with pytest.raises(MappingError) as info:
        load_mapping(tmp_path / "nope.yaml")
    assert info.value.problems == [f"{tmp_path / 'nope.yaml'}: cannot read it: there is no such file"]


def test_a_column_name_is_clipped_in_messages(tmp_path: Path) -> None:
    from kpi.mapping import Mapping

    mapping = Mapping(columns={"external_id": "x" * 10_000, "created_at": "created_at"})
    _, problems = mapping.bind(["created_at"])
    assert len(problems) == 1 and len(problems[0]) < 200, problems


def test_import_with_a_hostile_mapping_exits_2_and_writes_nothing(
    db: Database,
    db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    from bot.cli import main

    in_clean_directory(tmp_path, monkeypatch, db_url)
    (tmp_path / "t.csv").write_text(CSV)
    files = {
        "bomb.yaml": (ALIAS_BOMB.encode(), ":2: anchors and aliases"),
        "dup.yaml": (b"columns:\n  external_id: Number\n  external_id: Opened\n", ":3: duplicate key 'external_id'"),
        "deep.yaml": (b"values: " + b"[" * 10_000 + b"\n", ":1: nested more than 24 levels deep"),
        "nul.yaml": (b"source: a\0b\n", ":1: a NUL character"),
        "latin1.yaml": ("source: Caf\u00e9\n".encode("latin-1"), ":1: this line is not UTF-8"),
        "big.yaml": (b"# padding\n" * 620_000, ": the file is larger than 5 MB"),
    }
    for name, (data, _) in files.items():
        (tmp_path / name).write_bytes(data)
    files["missing.yaml"] = (b"", ": cannot read it: there is no such file")
    files["."] = (b"", ": cannot read it: it is a directory, not a file")
    for name, (_, fragment) in files.items():
        mapping = str(tmp_path / name) if name != "." else str(tmp_path)
        assert main(["import", "tickets", str(tmp_path / "t.csv"), "--mapping", mapping]) == 2, name
        out, err = capsys.readouterr()
        assert out == "" and err.startswith(f"{mapping} was refused:"), (name, err[:300])
        assert f"  {mapping}{fragment}" in err and "Traceback" not in err and len(err) < 2_000, (name, err[:500])
    assert_no_traceback(caplog.records)
    with db.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Ticket)) == 0
