"""Property-based tests (Hypothesis) for ticket-import mapping files: whatever a mapping file holds,
`load_mapping` gives a clear refusal (MappingError, one line per problem, by line) or a Mapping whose
every part has the type the importer relies on, and which parses any row without an exception."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from hypothesis import event, given, settings
from hypothesis import strategies as st

from kpi.mapping import DERIVED_FIELDS, FIELDS, MAX_SOURCE, Mapping, MappingError, load_mapping
from kpi.ticket_rows import RowParser
from tests.yaml_strategies import any_scalar, assert_clear_problems, mutated, random_text

EXAMPLES = Path(__file__).parent.parent / "examples"
EXAMPLE_TEXTS = [p.read_text() for p in sorted(EXAMPLES.glob("*.mapping.yaml"))]
PROPERTY = settings(max_examples=300, deadline=None)

column = st.sampled_from(["Id", "Subject", "Group", "Status", "Created at", "opened_at", "number", "Prio"]) | st.text(max_size=20)
cell = st.sampled_from(["New", "Open", "1 - Critical", "0777", "03", "Yes", "No", "NULL", "?", "-", ""]) | any_scalar


def mapping_documents(junk: bool) -> st.SearchStrategy[dict[str, Any]]:
    """Mapping documents of plausible settings; with `junk`, any setting may instead hold any scalar."""

    def v(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        return st.one_of(*[strategy] * 6, any_scalar) if junk else strategy

    fields = st.sampled_from([*FIELDS, *DERIVED_FIELDS, *(["ticket_no"] if junk else [])])
    formats = st.sampled_from(["%Y-%m-%d %H:%M:%S", "%d-%m-%Y %H:%M", "%Y-%m-%d %H:%M:%S %z", "%", "dd-mm"])
    csbot_value = cell | st.sampled_from(["open", "solved", "urgent", True])
    return st.fixed_dictionaries(
        {},
        optional={
            "source": v(st.sampled_from(["zendesk", "servicenow", "x" * MAX_SOURCE])),
            "timezone": v(st.sampled_from(["UTC", "Europe/Berlin", "Mars/Base"])),
            "datetime_formats": v(st.lists(formats, max_size=3)),
            "missing": v(st.lists(v(cell), max_size=4)),
            "columns": v(st.dictionaries(fields, v(column), max_size=6)),
            "values": v(st.dictionaries(fields, v(st.dictionaries(cell, v(csbot_value), max_size=4)), max_size=3)),
            **({"colour": any_scalar} if junk else {}),
        },
    )


structured = st.tuples(mapping_documents(junk=False) | mapping_documents(junk=True), st.booleans()).map(
    lambda d: yaml.safe_dump(d[0], sort_keys=False, allow_unicode=True, default_flow_style=d[1])
)


@pytest.fixture(scope="module")
def folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as name:
        yield Path(name)


def check_mapping(mapping: Mapping) -> None:
    """What a correct result means: every part has the type the importer relies on."""
    assert all(isinstance(f, str) and isinstance(c, str) and c for f, c in mapping.columns.items())
    assert {"external_id", "created_at"} <= set(mapping.columns)
    ZoneInfo(mapping.timezone)
    assert all(isinstance(f, str) and "%" in f for f in mapping.datetime_formats)
    assert all(isinstance(m, str) for m in mapping.missing) and "" in mapping.missing
    for table in mapping.values.values():
        assert all(isinstance(k, str) and not isinstance(v, (dict, list)) for k, v in table.items())
    assert mapping.source is None or (isinstance(mapping.source, str) and 0 < len(mapping.source) <= MAX_SOURCE)


def load_or_refuse(text: str, folder: Path, rows: list[list[str]]) -> Mapping | None:
    """The invariant: a clear refusal, or a correct Mapping that parses any row without an exception."""
    path = folder / "m.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        mapping = load_mapping(path)
    except MappingError as exc:
        assert_clear_problems(exc.problems, str(path), text)
        return None
    check_mapping(mapping)
    header = sorted(set(mapping.columns.values()))
    bound, _ = mapping.bind(header)
    parser = RowParser(mapping, bound)
    for row in rows:
        parsed, reasons = parser.parse((row * len(header))[: len(header)] if row else [""] * len(header))
        assert (parsed is None) == bool(reasons) and all(isinstance(r, str) for r in reasons)
    return mapping


# Cells a row may hold: the mapping's own value keys and missing markers among them.
row_cell = st.sampled_from(["New", "0777", "03", "Yes", "NULL", "?", "2026-03-02T09:00:00Z", "1", ""]) | st.text(max_size=10)
rows = st.lists(st.lists(row_cell, max_size=5), max_size=3)


@PROPERTY
@given(text=structured, rows=rows)
def test_any_mapping_document_loads_correctly_or_is_refused(folder: Path, text: str, rows: list[list[str]]) -> None:
    mapping = load_or_refuse(text, folder, rows)
    event("refused" if mapping is None else "loaded")
    if mapping is not None:
        # Cell values are the text written: compare with the scalars PyYAML's own composer sees, before any typing.
        root = {k.value: v for k, v in yaml.compose(text, Loader=yaml.SafeLoader).value}
        if isinstance(root.get("values"), yaml.MappingNode):
            for field, table in root["values"].value:
                assert set(mapping.values[field.value]) == {k.value.strip() for k, _ in table.value}
        if "missing" in root:
            assert mapping.missing == {item.value.strip() for item in root["missing"].value} | {""}


@PROPERTY
@given(text=mutated(EXAMPLE_TEXTS), rows=rows)
def test_any_damaged_example_mapping_loads_or_is_refused(folder: Path, text: str, rows: list[list[str]]) -> None:
    event("refused" if load_or_refuse(text, folder, rows) is None else "loaded")


@settings(max_examples=300, deadline=None)
@given(text=random_text)
def test_any_text_at_all_is_refused_clearly_or_loaded(folder: Path, text: str) -> None:
    load_or_refuse(text, folder, [[]])


def test_the_examples_themselves_load(folder: Path) -> None:
    # The mutation strategy starts from these files; they must load, not be refused.
    assert len(EXAMPLE_TEXTS) >= 2
    for text in EXAMPLE_TEXTS:
        assert load_or_refuse(text, folder, [["New", "0777"]]) is not None
