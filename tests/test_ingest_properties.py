"""Property-based tests for what a helpdesk or a careless user feeds csbot: CSV rows
(csbot's own headers and the shipped Zendesk and ServiceNow mappings) and webhook
events. The invariant: a clear refusal or a correct result, never an exception;
and whatever is stored is a value the KPI engine can read."""

from __future__ import annotations

import csv
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from kpi.events import EventError, apply_event, parse_event
from kpi.importer import ImportRefused, import_tickets
from kpi.mapping import FIELDS, Mapping, load_mapping
from kpi.ticket_rows import MAX_COUNT, MAX_LENGTH, RowParser
from kpi.tickets import EARLIEST_EPOCH, LATEST_EPOCH, PRIORITIES, STATUSES, Ticket
from store.database import Database, open_database
from store.engine import write_transaction
from store.org import Member, Team

EXAMPLES = Path(__file__).parent.parent / "examples"
ZENDESK = load_mapping(EXAMPLES / "zendesk-tickets.mapping.yaml")
SERVICENOW = load_mapping(EXAMPLES / "servicenow-incidents.mapping.yaml")
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

# Cells a stranger's file might hold in any column.
hostile_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=40
) | st.sampled_from(["", " ", "\x00", "²", "1e300", "-1", "nan", "inf", "9" * 25, "=cmd()", "NULL", "?", "-", "x" * 600])
iso_times = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.none() | st.just(timezone.utc)).map(
    lambda d: d.isoformat()
)
counts = st.integers(min_value=-5, max_value=10**12).map(str) | st.floats(allow_nan=True, allow_infinity=True).map(str)


def _field_of(column: str, mapping: Mapping) -> str:
    return next((f for f, c in mapping.columns.items() if c == column), column)


def _plausible(field: str, mapping: Mapping) -> st.SearchStrategy[str]:
    """Values a real export holds in a column (some of them still wrong, as exports are)."""
    if field in mapping.values:
        return st.sampled_from(sorted(mapping.values[field]))
    options = {
        "status": [*STATUSES, "hold", "Escalated"],
        "priority": [*PRIORITIES, "critical"],
        "csat": ["good", "bad", "1", "5", "meh"],
        "sla_met": ["true", "no", "TRUE", "maybe"],
        "external_id": ["1", "2", "3", "INC0000047"],
        "team": ["Support EMEA", "support-amer", "Group 70", "Night Shift"],
        "agent": ["alice", "Alice Smith", "Résolver 89", "carol@example.com"],
        "channel": ["email", "Chat", "web"],
        "tags": ["", "billing", "Refund, VIP", "bug\tmobile"],
    }
    if field in options:
        return st.sampled_from(options[field])
    if field in ("replies", "reopens"):
        return st.integers(0, 40).map(str) | st.just("")
    return st.text(max_size=20)


@st.composite
def _clean_row(draw: st.DrawFn, header: list[str], mapping: Mapping) -> list[str]:
    """A row as an export writes it: times in order and in its formats, known values."""
    created = draw(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2099, 1, 1), timezones=st.just(timezone.utc)))
    reply_minutes = draw(st.none() | st.integers(0, 10_000))
    solve_minutes = draw(st.none() | st.integers(0, 100_000))
    fmt = (mapping.datetime_formats or ["%Y-%m-%dT%H:%M:%S%z"])[0]

    def when(minutes: int | None) -> str:
        return "" if minutes is None else (created + timedelta(minutes=minutes)).strftime(fmt)

    cells = []
    for column in header:
        field = _field_of(column, mapping)
        if field == "created_at":
            cells.append(when(0))
        elif field == "first_reply_at":
            cells.append(when(reply_minutes))
        elif field == "first_reply_minutes":
            cells.append("" if reply_minutes is None else str(reply_minutes))
        elif field == "solved_at":
            cells.append(when(solve_minutes))
        else:
            cells.append(draw(_plausible(field, mapping)))
    return cells


def _dirty_cell(column: str, mapping: Mapping) -> st.SearchStrategy[str]:
    """Plausible values for a file column, mixed with hostile ones."""
    field = _field_of(column, mapping)
    plausible: st.SearchStrategy[str]
    if field in ("created_at", "first_reply_at", "solved_at"):
        formats = mapping.datetime_formats or ["%Y-%m-%dT%H:%M:%S%z"]
        plausible = st.builds(
            lambda d, f: d.strftime(f), st.datetimes(min_value=datetime(1965, 1, 1), max_value=datetime(2105, 1, 1), timezones=st.just(timezone.utc)), st.sampled_from(formats)
        ) | iso_times
    elif field in ("replies", "reopens", "first_reply_minutes"):
        plausible = counts
    elif field in ("team", "agent"):
        plausible = _plausible(field, mapping) | st.just("a" * 201)
    else:
        plausible = _plausible(field, mapping)
    return st.one_of(plausible, hostile_text)


def _rows(header: list[str], mapping: Mapping) -> st.SearchStrategy[list[list[str]]]:
    clean = _clean_row(header, mapping)
    dirty = st.tuples(*(_dirty_cell(c, mapping) for c in header)).map(list)
    ragged = st.lists(hostile_text, max_size=len(header) + 2)  # short and long rows
    return st.lists(st.one_of(clean, clean, dirty, ragged), min_size=1, max_size=12)


def _check_parsed(values: dict[str, Any]) -> None:
    """What the parser lets through is what the tickets table and the KPI engine accept."""
    created = values["created_at"]
    assert EARLIEST_EPOCH <= created <= LATEST_EPOCH
    for key in ("first_reply_at", "solved_at"):
        if values.get(key) is not None:
            assert created <= values[key] <= LATEST_EPOCH
    for key in ("replies", "reopens"):
        if values.get(key) is not None:
            assert 0 <= values[key] <= MAX_COUNT
    assert values["status"] in STATUSES
    assert values.get("priority") in (None, *PRIORITIES)
    assert values.get("csat") in (None, "good", "bad")
    for key, limit in MAX_LENGTH.items():
        if isinstance(values.get(key), str):
            assert len(values[key]) <= limit and "\x00" not in values[key]


@pytest.mark.parametrize("mapping", [Mapping.default(), ZENDESK, SERVICENOW], ids=["csbot", "zendesk", "servicenow"])
@PROPERTY
@given(data=st.data())
def test_any_row_is_parsed_or_rejected_with_reasons(mapping: Mapping, data: st.DataObject) -> None:
    header = list(FIELDS) if mapping is not ZENDESK and mapping is not SERVICENOW else list(mapping.columns.values())
    bound, problems = mapping.bind(header)
    assert problems == []
    parser = RowParser(mapping, bound)
    for row in data.draw(_rows(header, mapping)):
        parsed, reasons = parser.parse(row)
        if parsed is None:
            assert reasons and all(isinstance(r, str) and r and "\n" not in r and len(r) < 400 for r in reasons)
        else:
            assert reasons == []
            _check_parsed(parsed.values)


@pytest.fixture(scope="module")
def scratch_db(tmp_path_factory: pytest.TempPathFactory) -> Database:
    database = open_database(f"sqlite:///{tmp_path_factory.mktemp('props') / 'csbot.db'}")
    yield database  # type: ignore[misc]
    database.dispose()


def _stored_tickets_are_readable(db: Database) -> None:
    with db.sessions() as s:
        for t in s.scalars(select(Ticket)):
            assert datetime(1970, 1, 1, tzinfo=timezone.utc) <= t.created_at <= datetime(2100, 1, 1, tzinfo=timezone.utc)
            assert t.first_reply_at is None or t.first_reply_at >= t.created_at
            assert t.solved_at is None or t.solved_at >= t.created_at
        assert all(len(h) <= 64 for h in s.scalars(select(Member.handle)))
        assert all(len(k) <= 64 for k in s.scalars(select(Team.key)))


@pytest.mark.parametrize("mapping", [Mapping.default(), ZENDESK, SERVICENOW], ids=["csbot", "zendesk", "servicenow"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_any_file_imports_or_is_refused_and_the_rest_lands(
    mapping: Mapping, data: st.DataObject, scratch_db: Database, tmp_path_factory: pytest.TempPathFactory
) -> None:
    header = list(FIELDS) if mapping is not ZENDESK and mapping is not SERVICENOW else list(mapping.columns.values())
    # Files that carry only some columns, in any order, exercise "only the file's own columns".
    header = data.draw(st.permutations(header).flatmap(lambda h: st.integers(2, len(h)).map(lambda n: h[:n])))
    if mapping.columns.get("external_id", "external_id") not in header or mapping.columns.get("created_at", "created_at") not in header:
        header = [mapping.columns.get("external_id", "external_id"), mapping.columns.get("created_at", "created_at"), *header]
        header = list(dict.fromkeys(header))
    rows = data.draw(_rows(header, mapping))
    path = tmp_path_factory.mktemp("file") / "tickets.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([header, *rows])
    strict = data.draw(st.booleans())
    try:
        result = import_tickets(scratch_db, path, mapping, source=data.draw(st.sampled_from(["csv", "zendesk"])), strict=strict, batch_rows=data.draw(st.integers(1, 5)))
    except ImportRefused as refused:
        assert refused.problems and all(isinstance(p, str) and p for p in refused.problems)
    else:
        assert result.rows == sum(1 for row in rows if any(cell.strip() for cell in row))  # blank lines are not rows
        assert result.inserted + result.updated + result.rejected_count <= result.rows  # several rows may merge
        assert all(r.reasons and r.row >= 2 for r in result.rejected)
        assert not (strict and result.rejected)
    _stored_tickets_are_readable(scratch_db)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=8,
)


def _events() -> st.SearchStrategy[Any]:
    times = iso_times.map(lambda t: t if t.endswith("+00:00") else t + "Z") | iso_times | st.just("noon")
    good_times = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 31), timezones=st.just(timezone.utc)).map(
        lambda d: d.isoformat()
    )

    def event(wild: st.SearchStrategy[Any], when: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        # Clean events always carry what their type needs (a status, a rating).
        ticket = st.fixed_dictionaries(
            {"external_id": st.sampled_from(["T-1", "T-2", 7]) | wild},
            optional={
                "team": st.sampled_from(["support-emea", "Night Shift", "N" * 201]) | wild,
                "agent": st.sampled_from(["alice", "Newcomer", "x\x00y"]) | wild,
                "priority": st.sampled_from(PRIORITIES) | wild,
                "subject": st.text(max_size=30) | wild,
                "created_at": when | wild,
            },
        )
        return st.fixed_dictionaries(
            {
                "id": st.from_regex(r"[a-z0-9-]{1,12}", fullmatch=True) | st.text(min_size=1, max_size=12) | wild,
                "type": st.sampled_from(["created", "agent_replied", "status_changed", "solved", "reopened", "rated", "assigned"]) | wild,
                "at": when | wild,
                "ticket": ticket | wild,
            },
            optional={
                "source": st.sampled_from(["zendesk", "helpdesk"]) | wild,
                "status": st.sampled_from(STATUSES) | wild,
                "rating": st.sampled_from(["good", "bad", 1, 5, "5"]) | wild,
            },
        ).map(lambda e: {"status": "solved", "rating": "good", **e} if wild is st.nothing() else e)

    clean = event(st.nothing(), good_times)
    return st.one_of(clean, clean, event(json_values, times), json_values)


@PROPERTY
@given(events=st.lists(_events(), min_size=1, max_size=8))
def test_any_webhook_event_is_applied_or_refused(events: list[Any], scratch_db: Database) -> None:
    now = datetime(2026, 3, 2, 12, tzinfo=timezone.utc)
    for payload in events:
        json.dumps(payload)  # every generated payload is what a JSON body can carry
        try:
            event = parse_event(payload)
        except EventError as refused:
            assert refused.problems and all(isinstance(p, str) and p and len(p) < 400 for p in refused.problems)
            continue
        with write_transaction(scratch_db.sessions) as session:
            applied = apply_event(session, event, now=now)
        assert applied.ticket_id > 0
    _stored_tickets_are_readable(scratch_db)
