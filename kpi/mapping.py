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

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

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
)
# Exports that give the first reply as minutes after creation instead of a time.
DERIVED_FIELDS = ("first_reply_minutes",)
TIME_FIELDS = ("created_at", "first_reply_at", "solved_at")
REQUIRED = ("external_id", "created_at")
MAPPING_KEYS = ("source", "timezone", "datetime_formats", "missing", "columns", "values")


class MappingError(Exception):
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
        """Column index per field present in `header`, and the problems (missing required columns)."""
        index = {name.strip(): i for i, name in enumerate(header)}
        # Accept a UTF-8 byte-order mark that spreadsheet tools put before the first header.
        if header and header[0].startswith("\ufeff"):
            index[header[0].lstrip("\ufeff").strip()] = 0
        bound = {f: index[col] for f, col in self.columns.items() if col in index}
        problems = []
        for f in REQUIRED:
            if f not in bound:
                col = self.columns.get(f, f)
                problems.append(f"the file has no {col!r} column (needed for {f})")
        mapped_missing = [f"{f} -> {c!r}" for f, c in self.columns.items() if c not in index and f not in REQUIRED]
        if mapped_missing and self.columns != {f: f for f in FIELDS}:
            problems.extend(f"the mapping names a column the file does not have: {m}" for m in mapped_missing)
        return bound, problems


def load_mapping(path: Path, *, timezone: str | None = None) -> Mapping:
    """Read and validate a mapping file; MappingError lists every problem."""
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise MappingError([f"{path}: cannot read it: {exc}"]) from None
    except yaml.YAMLError as exc:
        raise MappingError([f"{path}: not valid YAML: {exc}"]) from None
    if not isinstance(doc, dict):
        raise MappingError([f"{path}: a mapping file is a YAML mapping with columns:, values:, …"])
    problems: list[str] = []
    for key in doc:
        if key not in MAPPING_KEYS:
            problems.append(f"{path}: unknown key {key!r} (expected: {', '.join(MAPPING_KEYS)})")
    columns_raw = doc.get("columns") or {}
    columns: dict[str, str] = {}
    if not isinstance(columns_raw, dict):
        problems.append(f"{path}: columns must map field: column")
    else:
        for f, col in columns_raw.items():
            if f not in FIELDS and f not in DERIVED_FIELDS:
                problems.append(f"{path}: columns: unknown field {f!r} (fields: {', '.join(FIELDS + DERIVED_FIELDS)})")
            elif not isinstance(col, str) or not col:
                problems.append(f"{path}: columns: {f} must name a column")
            else:
                columns[f] = col
    for f in REQUIRED:
        columns.setdefault(f, f)
    tz = timezone or doc.get("timezone") or "UTC"
    try:
        ZoneInfo(str(tz))
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(f"{path}: unknown time zone {tz!r}")
    formats = doc.get("datetime_formats") or []
    if isinstance(formats, str):
        formats = [formats]
    if not isinstance(formats, list) or not all(isinstance(f, str) and "%" in f for f in formats):
        problems.append(f"{path}: datetime_formats must be a list of strptime formats such as '%d-%m-%Y %H:%M'")
        formats = []
    missing = doc.get("missing", [""])
    if not isinstance(missing, list):
        problems.append(f"{path}: missing must be a list of values that mean 'no value'")
        missing = [""]
    values_raw = doc.get("values") or {}
    values: dict[str, dict[str, Any]] = {}
    if not isinstance(values_raw, dict):
        problems.append(f"{path}: values must map field: {{file value: csbot value}}")
    else:
        for f, table in values_raw.items():
            if f not in FIELDS:
                problems.append(f"{path}: values: unknown field {f!r}")
            elif not isinstance(table, dict):
                problems.append(f"{path}: values: {f} must map file values to csbot values")
            else:
                values[f] = {str(k).strip(): v for k, v in table.items()}
    source = doc.get("source")
    if source is not None and (not isinstance(source, str) or not source.strip()):
        problems.append(f"{path}: source must be a name")
    if problems:
        raise MappingError(problems)
    return Mapping(
        columns=columns,
        timezone=str(tz),
        datetime_formats=list(formats),
        missing=frozenset(str(m).strip() for m in missing) | {""},
        values=values,
        source=source.strip() if isinstance(source, str) else None,
    )
