"""The yardstick for the import's speed: the same file loaded with nothing checked.

Its rows go, as the file holds them (text, unparsed), into a table with no
key, index, check or trigger, in one transaction: `executemany` on SQLite,
`COPY … FROM STDIN (FORMAT csv)` on PostgreSQL. That is the least any load
of the file can cost on that database; the import's goal is within 6× of it.
The table is dropped afterwards.
"""

from __future__ import annotations

import csv
import time
from pathlib import Path

from store.database import Database

TABLE = "bench_bare_load"


def bare_load_seconds(db: Database, path: Path) -> float:
    """Seconds to load every row of `path` into a bare table of text columns (created and dropped here)."""
    with path.open(newline="", encoding="utf-8") as fh:
        width = len(next(csv.reader(fh)))
    columns = ", ".join(f"c{i} TEXT" for i in range(width))
    raw = db.engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute(f"DROP TABLE IF EXISTS {TABLE}")
        cur.execute(f"CREATE TABLE {TABLE} ({columns})")
        raw.commit()
        started = time.perf_counter()
        with path.open(newline="", encoding="utf-8") as fh:
            if db.backend == "postgresql":
                with cur.copy(f"COPY {TABLE} FROM STDIN (FORMAT csv, HEADER true)") as copy:  # type: ignore[attr-defined]
                    while chunk := fh.read(1 << 20):
                        copy.write(chunk)
            else:
                rows = csv.reader(fh)
                next(rows)
                marks = ", ".join("?" for _ in range(width))
                cur.executemany(f"INSERT INTO {TABLE} VALUES ({marks})", rows)
        raw.commit()
        seconds = time.perf_counter() - started
        cur.execute(f"DROP TABLE {TABLE}")
        raw.commit()
        return seconds
    finally:
        raw.close()
