"""A one-line progress bar for long CLI jobs (drawn only on a terminal)."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TextIO


def count_lines(path: Path) -> int:
    with path.open("rb") as fh:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))


class Progress:
    def __init__(self, total: int, unit: str, out: TextIO = sys.stderr, width: int = 30) -> None:
        self.total = max(total, 1)
        self.unit = unit
        self.out = out
        self.width = width
        self.started = time.perf_counter()

    def update(self, done: int) -> None:
        share = min(done / self.total, 1.0)
        filled = int(share * self.width)
        rate = done / max(time.perf_counter() - self.started, 1e-9)
        bar = "#" * filled + "-" * (self.width - filled)
        self.out.write(f"\r[{bar}] {share:6.1%} {done:,}/{self.total:,} {self.unit} ({rate:,.0f}/s)")
        self.out.flush()

    def done(self) -> None:
        self.out.write("\n")
        self.out.flush()
