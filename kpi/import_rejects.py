"""An import's rejected rows: written to the rejects file as they are found, never all held in memory.

A file of a million bad rows used to keep every one (with its cells) in a
list until the end: 1.1 GB. Here only a count and the first few rows are
kept, for the summary and `--json`; every reject goes to
`FILE.rejects.csv.partial` as it is settled, and the finished file replaces
`FILE.rejects.csv` at the end (an earlier run's file stays whole until then;
an import that fails removes its partial file).

Rows are written in file order. A row can be refused when its batch is
written (a conflict with a stored ticket), after later rows were read, so
rejects wait in a short buffer until no row of an unwritten batch comes
before them; the importer writes a batch early when the buffer is full.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from store.spreadsheet import safe_cell

# Rejected rows kept for the summary, `--json` and a --strict refusal.
KEPT = 20
# Rejects waiting for their place in row order, at most: a few MB whatever the file.
CROWD = 10_000


@dataclass
class Reject:
    row: int  # 1-based line number in the file (the header is line 1)
    reasons: list[str]
    values: list[str]


def rejects_path(path: Path) -> Path:
    """Where the rejected rows of `path` go: `FILE.rejects.csv` beside it."""
    return path.with_name(path.stem + ".rejects.csv")


class RejectsFile:
    """Counts rejects, keeps the first KEPT by row, and streams every one to the rejects file in row order."""

    def __init__(self, source: Path, header: list[str]) -> None:
        self.target = rejects_path(source)
        self.partial = self.target.with_name(self.target.name + ".partial")
        self.header = header
        self.count = 0
        self.first: list[Reject] = []
        self._pending: list[Reject] = []
        self._fh: IO[str] | None = None
        self._writer: csv.Writer | None = None  # type: ignore[name-defined]

    def add(self, reject: Reject) -> None:
        """Record `reject`; it is written by the next `settle` that reaches its row."""
        self._pending.append(reject)

    @property
    def crowded(self) -> bool:
        """True when so many rejects wait that the batch holding them back should be written now."""
        return len(self._pending) >= CROWD

    def settle(self, below: int | None = None) -> None:
        """Write the waiting rejects of rows before line `below` (every one when None), in row order."""
        if not self._pending:
            return
        self._pending.sort(key=lambda r: r.row)
        if below is None:
            ready, self._pending = self._pending, []
        else:
            cut = next((i for i, r in enumerate(self._pending) if r.row >= below), len(self._pending))
            ready, self._pending = self._pending[:cut], self._pending[cut:]
        for reject in ready:
            self._write(reject)

    def _write(self, reject: Reject) -> None:
        if self._writer is None:
            self._fh = self.partial.open("w", newline="", encoding="utf-8")
            self._writer = csv.writer(self._fh)
            self._writer.writerow([safe_cell(c) for c in ["row", "reason", *self.header]])
        self._writer.writerow([safe_cell(c) for c in [reject.row, "; ".join(reject.reasons), *reject.values]])
        self.count += 1
        if len(self.first) < KEPT:
            self.first.append(reject)

    def finish(self) -> Path | None:
        """Write what waits and put the file in place; its path, or None when nothing was rejected."""
        self.settle()
        if self._fh is None:
            return None
        self._fh.close()
        self._fh = self._writer = None
        os.replace(self.partial, self.target)
        return self.target

    def discard(self) -> None:
        """The import failed: remove the partial file (an earlier run's rejects file is left as it was)."""
        if self._fh is not None:
            self._fh.close()
            self._fh = self._writer = None
        self.partial.unlink(missing_ok=True)
