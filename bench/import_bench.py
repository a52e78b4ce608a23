"""Import benchmark: wall time and peak RSS of `csbot import tickets` on a file of
1,000,000 bad rows (every one rejected), the same with --strict, and 1,000,000
good rows.

    python bench/import_bench.py                      # SQLite in a temporary folder
    python bench/import_bench.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench
    python bench/import_bench.py --rows 200000 --cases bad,strict   # a quicker run
    python bench/import_bench.py --cases good --calendar           # every team on a business calendar

Each import runs in a fresh interpreter, so its peak RSS (VmHWM) is its own.
The database should be empty (a fresh SQLite file is used without a URL): the
good rows are inserted, so a second run would find them unchanged. With
`--calendar` the org gets a business calendar (Berlin office hours with its
public holidays) that every team the import creates works by, so the day
facts carry business hours computed for every ticket.
Goals (SQLite and PostgreSQL, 2 cores): the good rows imported in <= 60 s and
within 6x a bare load of the same file measured in the same run (bench/bare_load.py:
unchecked text into a table without keys, `executemany` in one transaction on
SQLite, COPY on PostgreSQL); peak RSS of any import <= 300 MB, however many
rows are rejected.
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bare_load import bare_load_seconds  # noqa: E402
from kpi.importer import ImportRefused, import_tickets  # noqa: E402
from kpi.mapping import Mapping  # noqa: E402
from store.database import open_database  # noqa: E402

HEADER = ["external_id", "subject", "team", "agent", "status", "priority", "channel", "created_at", "first_reply_at", "solved_at", "replies", "reopens", "csat"]
SUBJECT = "Refund for order {n} was not received after the carrier marked it delivered"


def _bad(n: int) -> list[str]:
    """A row with one of the mistakes real exports have, in turn."""
    row = _good(n)
    kind = n % 5
    if kind == 0:
        row[7] = "yesterday at noon"  # unreadable time
    elif kind == 1:
        row[4] = "escalated"  # unknown status
    elif kind == 2:
        row[9] = "2026-01-01T00:00:00Z"  # solved before created
    elif kind == 3:
        row[10] = "-4"  # not a count
    else:
        row[0] = ""  # no id
    return row


def _good(n: int) -> list[str]:
    day, minute = 1 + n % 28, n % 600
    created = f"2026-03-{day:02d}T{8 + minute // 60:02d}:{minute % 60:02d}:00Z"
    replied = f"2026-03-{day:02d}T{9 + minute // 60:02d}:{minute % 60:02d}:00Z"
    solved = f"2026-03-{day:02d}T{11 + minute // 60:02d}:{minute % 60:02d}:00Z"
    return [f"T-{n}", SUBJECT.format(n=n), f"Team {n % 50:02d}", f"Agent {n % 500:03d}", "solved", "normal", "email",
            created, replied, solved, str(1 + n % 4), "1" if n % 7 == 0 else "0", "good" if n % 5 else "bad"]


def write_file(path: Path, rows: int, row: callable) -> float:  # type: ignore[valid-type]
    started = time.perf_counter()
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(HEADER)
        for n in range(rows):
            out.writerow(row(n))  # type: ignore[operator]
    return time.perf_counter() - started


def peak_rss_mb() -> float:
    """This process's peak resident set (VmHWM), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_child(url: str, file: Path, strict: bool) -> None:
    """One import in this (fresh) process; prints what it did, its time and peak RSS as JSON."""
    db = open_database(url)
    started = time.perf_counter()
    out: dict[str, object] = {}
    try:
        result = import_tickets(db, file, Mapping.default(), source="bench", strict=strict)
        rejected = getattr(result, "rejected_count", None)
        out = {"inserted": result.inserted, "rejected": len(result.rejected) if rejected is None else rejected}
    except ImportRefused as refused:
        out = {"refused": getattr(refused, "total", len(refused.problems)), "problems_listed": len(refused.problems)}
    out |= {"seconds": time.perf_counter() - started, "rss_mb": peak_rss_mb()}
    db.dispose()
    print(json.dumps(out))


def measure(url: str, file: Path, strict: bool) -> dict:  # type: ignore[type-arg]
    args = [sys.executable, __file__, "--database-url", url, "--child", str(file)] + (["--strict"] if strict else [])
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


CASES = {
    # name: (rows are bad, --strict)
    "bad": (True, False),
    "strict": (True, True),
    "good": (False, False),
}


def _org_calendar(db) -> None:  # type: ignore[no-untyped-def]
    """An org whose calendar every team without one (all the import creates) works by."""
    from kpi.definitions import BY_NAME
    from store.org_file import apply_org, parse_org

    text = (
        "org: {name: Bench Support, timezone: UTC, calendar: office}\n"
        "calendars:\n"
        "  - {key: office, timezone: Europe/Berlin, hours: ['mon-fri 08:00-12:00,13:00-18:00'], holidays: {country: DE, subdiv: BE}}\n"
        "teams: []\nmembers: []\n"
    )
    with db.sessions() as session, session.begin():
        apply_org(session, parse_org(text, BY_NAME))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--database-url", help="default: a SQLite file in a temporary folder")
    p.add_argument("--cases", default="bad,strict,good", help="comma-separated: " + ", ".join(CASES))
    p.add_argument("--calendar", action="store_true", help="every team on a business calendar (the org's)")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--strict", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        run_child(args.database_url, Path(args.child), args.strict)
        return
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        db = open_database(url)  # migrated before any timing
        if args.calendar:
            _org_calendar(db)
        db.dispose()
        files: dict[bool, Path] = {}
        print(f"database: {url.split(':')[0]}; rows per file: {args.rows:,}")
        print(f"{'case':<8}{'seconds':>10}{'rows/s':>10}{'peak RSS MB':>14}  result")
        for name in args.cases.split(","):
            bad, strict = CASES[name]
            if bad not in files:
                files[bad] = Path(tmp) / ("bad.csv" if bad else "good.csv")
                made = write_file(files[bad], args.rows, _bad if bad else _good)
                print(f"(wrote {files[bad].name}: {files[bad].stat().st_size / 1e6:.0f} MB in {made:.1f} s)")
            got = measure(url, files[bad], strict)
            what = {k: v for k, v in got.items() if k not in ("seconds", "rss_mb")}
            print(f"{name:<8}{got['seconds']:>10.1f}{args.rows / got['seconds']:>10,.0f}{got['rss_mb']:>14.0f}  {what}", flush=True)
            if name == "good":
                db = open_database(url)
                bare = bare_load_seconds(db, files[bad])
                db.dispose()
                print(f"{'bare':<8}{bare:>10.1f}{args.rows / bare:>10,.0f}{'':>14}  the same file unchecked into a bare table; "
                      f"the import took {got['seconds'] / bare:.1f}x as long (goal <= 6x)", flush=True)


if __name__ == "__main__":
    main()
