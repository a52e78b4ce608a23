"""How a helpdesk's CSV export maps onto csbot's ticket fields.

Without a mapping a file uses csbot's own headers. A mapping YAML names the
file's columns for each field, the datetime formats and time zone of its
timestamps, the values that mean "missing", and per-field value maps, so an
export from Zendesk, Freshdesk, ServiceNow or a spreadsheet imports as it is:

    source: servicenow
    timezone: UTC
    datetime_formats: ["%d-%m-%Y %H:%M"]
    missing: ["?", ""]
    columns: {external_id: number, created_at: opened_at, solved_at: resolved_at, ...}
    values:
      status: {New: new, Active: open, Resolved: solved, Closed: closed}
      priority: {"1 - Critical": urgent, "3 - Moderate": normal}
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kpi.tickets import Ticket
from store import yaml_file
from store.quoting import clip
from store.yaml_file import LineDict, LineList, YamlFileError
from store.zones import is_zone

FIELDS = (
    "external_id",
    "subject",
    "team",
    "agent",
    "status",
    "priority",
    "channel",
    "created_at",
    "first_reply_at",
    "solved_at",
    "replies",
    "reopens",
    "csat",
    "sla_met",
    "tags",
)
# Exports that give the first reply as minutes after creation instead of a time.
DERIVED_FIELDS = ("first_reply_minutes",)
TIME_FIELDS = ("created_at", "first_reply_at", "solved_at")
REQUIRED = ("external_id", "created_at")
MAPPING_KEYS = ("source", "timezone", "datetime_formats", "missing", "columns", "values")
MAX_SOURCE = Ticket.__table__.c.source.type.length

_Add = Callable[[int, str], None]


def header_key(name: str) -> str:
    """A column name as matched against a mapping: case, surrounding spaces and byte-order marks ignored.

    Spreadsheets and helpdesks spell one column `Created_At`, `created_at ` or,
    after a save that doubled the byte-order mark, `\ufeffcreated_at`.
    """
    return name.replace("\ufeff", "").strip().casefold()


class MappingError(Exception):
    """The mapping file was refused; `problems` lists every reason, one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass
class Mapping:
    columns: dict[str, str]  # field -> the file's column name
    timezone: str = "UTC"
    datetime_formats: list[str] = field(default_factory=list)  # empty: ISO 8601
    missing: frozenset[str] = frozenset({""})
    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    source: str | None = None

    @classmethod
    def default(cls, timezone: str = "UTC") -> Mapping:
        return cls(columns={f: f for f in FIELDS}, timezone=timezone)

    def bind(self, header: list[str]) -> tuple[dict[str, int], list[str]]:
        """Column index per field present in `header`, and the problems (missing required columns).

        Names match as `header_key` reads them: `Created_At ` in a file is the
        mapping's `created_at`.
        """
        index = {header_key(name): i for i, name in enumerate(header)}
        bound = {f: index[header_key(col)] for f, col in self.columns.items() if header_key(col) in index}
        problems = []
        for f in REQUIRED:
            if f not in bound:
                col = self.columns.get(f, f)
                problems.append(f"the file has no {clip(col)} column (needed for {f})")
        mapped_missing = [f"{f} -> {clip(c)}" for f, c in self.columns.items() if f not in bound and f not in REQUIRED]
        if mapped_missing and self.columns != {f: f for f in FIELDS}:
            problems.extend(f"the mapping names a column the file does not have: {m}" for m in mapped_missing)
        return bound, problems


def load_mapping(path: Path, *, timezone: str | None = None) -> Mapping:
    """Read and validate a mapping file; MappingError lists every problem, by line where it has one.

    The file is read with the one safe loader (`store.yaml_file`). The keys of
    `values:` tables and the items of `missing:` are cells of the export, so
    they are kept as the text written (`0777` stays "0777", `Yes` stays "Yes");
    column names must be written as text.
    """
    source = str(path)
    try:
        doc = yaml_file.load_file(path, source)
    except YamlFileError as exc:
        raise MappingError(exc.problems) from None
    if not isinstance(doc, LineDict):
        raise MappingError([f"{source}:1: a mapping file is a YAML mapping with columns:, values:, …"])
    problems: list[str] = []

    def add(line: int, message: str) -> None:
        problems.append(f"{source}:{line}: {message}")

    for key in doc:
        if key not in MAPPING_KEYS:
            add(doc.key_lines[key], f"unknown key {clip(key)} (expected: {', '.join(MAPPING_KEYS)})")
    columns = _columns(doc, add)
    tz = timezone or _text(doc, "timezone", add) or "UTC"
    if not is_zone(tz):
        add(doc.key_lines.get("timezone", 1), f"unknown time zone {clip(tz)}")
    formats = _formats(doc, add)
    missing = _missing(doc, add)
    values = _values(doc, add)
    source_name = _text(doc, "source", add)
    if source_name is not None and len(source_name) > MAX_SOURCE:
        add(doc.key_lines["source"], f"source is at most {MAX_SOURCE} characters")
    if problems:
        raise MappingError(problems)
    return Mapping(
        columns=columns,
        timezone=tz,
        datetime_formats=formats,
        missing=frozenset(missing) | {""},
        values=values,
        source=source_name,
    )


def _quote_it(m: LineDict, key: str) -> str:
    written = m.value_texts.get(key) or str(m[key])
    return f"quote it, e.g. {key}: {json.dumps(written[:40], ensure_ascii=False)}"


def _text(doc: LineDict, key: str, add: _Add) -> str | None:
    """A text setting (`timezone`, `source`): None when absent or refused."""
    value = doc.get(key)
    if value is None:
        return None
    if isinstance(value, str) and value.strip():
        return value.strip()
    if isinstance(value, (str, dict, list)):
        add(doc.key_lines[key], f"{key} must be a name")
    else:
        add(doc.key_lines[key], f"{key} must be text: {_quote_it(doc, key)}")
    return None


def _columns(doc: LineDict, add: _Add) -> dict[str, str]:
    columns: dict[str, str] = {}
    raw = doc.get("columns")
    if raw is not None and not isinstance(raw, LineDict):
        add(doc.key_lines["columns"], "columns must map field: column")
    elif raw is not None:
        for f, col in raw.items():
            line = raw.key_lines[f]
            if f not in FIELDS and f not in DERIVED_FIELDS:
                add(line, f"columns: unknown field {clip(f)} (fields: {', '.join(FIELDS + DERIVED_FIELDS)})")
            elif isinstance(col, str) and col:
                columns[f] = col
            elif isinstance(col, (dict, list)):
                add(line, f"columns: {f} must name a column, not {clip(col)}")
            elif col is None or isinstance(col, str):
                add(line, f"columns: {f} must name a column")
            else:
                # YAML reads 0777 as 511: a column named by a number must be quoted to keep its name.
                add(line, f"columns: {f} must name a column: {_quote_it(raw, f)}")
    for f in REQUIRED:
        columns.setdefault(f, f)
    return columns


def _formats(doc: LineDict, add: _Add) -> list[str]:
    formats = doc.get("datetime_formats") or []
    if isinstance(formats, str):
        formats = [formats]
    if not isinstance(formats, list) or not all(isinstance(f, str) and "%" in f and len(f) <= 100 for f in formats):
        add(doc.key_lines["datetime_formats"], "datetime_formats must be a list of strptime formats such as '%d-%m-%Y %H:%M'")
        return []
    return list(formats)


def _missing(doc: LineDict, add: _Add) -> list[str]:
    raw = doc.get("missing", [""])
    if not isinstance(raw, LineList):
        if "missing" in doc:
            add(doc.key_lines["missing"], "missing must be a list of values that mean 'no value'")
        return [""]
    out = []
    for item, text, line in zip(raw, raw.item_texts, raw.item_lines, strict=True):
        if text is None:
            add(line, f"missing: each value must be a single value, not {clip(item)}")
        else:
            # The cell as written: `NULL` means the text NULL, not YAML's null.
            out.append(text.strip())
    return out


def _values(doc: LineDict, add: _Add) -> dict[str, dict[str, Any]]:
    raw = doc.get("values")
    values: dict[str, dict[str, Any]] = {}
    if raw is None:
        return values
    if not isinstance(raw, LineDict):
        add(doc.key_lines["values"], "values must map field: {file value: csbot value}")
        return values
    for f, table in raw.items():
        line = raw.key_lines[f]
        if f not in FIELDS:
            add(line, f"values: unknown field {clip(f)}")
        elif not isinstance(table, LineDict):
            add(line, f"values: {f} must map file values to csbot values")
        else:
            out: dict[str, Any] = {}
            for cell, value in table.items():
                # Keys are the text written in the file, as the export's cells are.
                key = cell.strip()
                if isinstance(value, (dict, list)):
                    add(table.key_lines[cell], f"values: {f}: {clip(key)} must map to a single value, not {clip(value)}")
                elif key in out:
                    add(table.key_lines[cell], f"values: {f}: {clip(key)} is listed twice")
                else:
                    out[key] = value
            values[f] = out
    return values
