"""CSV files csbot writes for people to open in a spreadsheet (rejects, exports).

A cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is run
as a formula by Excel, LibreOffice and Google Sheets ("CSV injection"), so a
ticket subject like `=HYPERLINK("http://evil.example")` could act when an
admin opens the rejects file. Such cells get a leading apostrophe, which the
spreadsheet shows as text (OWASP's advice). Very long cells are cut to what a
spreadsheet cell holds.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from pathlib import Path
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CELL_MAX = 32_767  # Excel's limit for one cell


def safe_cell(value: Any) -> str:
    """`value` as text that a spreadsheet shows and never evaluates."""
    text = "" if value is None else str(value)
    if len(text) > CELL_MAX:
        text = text[: CELL_MAX - 1] + "…"
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _write(fh: Any, rows: Iterable[Iterable[Any]]) -> None:
    writer = csv.writer(fh)
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])


def write_csv(path: Path, rows: Iterable[Iterable[Any]]) -> Path:
    """Write `rows` to `path` as UTF-8 CSV with every cell made safe."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        _write(fh, rows)
    return path


def csv_text(rows: Iterable[Iterable[Any]]) -> str:
    """`rows` as CSV text with every cell made safe (what write_csv writes), for a file sent in chat."""
    buffer = io.StringIO(newline="")
    _write(buffer, rows)
    return buffer.getvalue()
