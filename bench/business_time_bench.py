"""Business-time speed: elapsed and add over random instants on a Berlin office calendar.

    python bench/business_time_bench.py [--pairs 100000] [--seed 21]

The calendar is mon-fri 08:00-12:00,13:00-18:00 in Europe/Berlin with ten
public holidays a year for 2025-2027. Three timings, each over `--pairs`
random (start, end) pairs in 2025-2027:

1. `elapsed(cal, start, end)` with end up to 10 days after start (ticket-like);
2. `elapsed(cal, start, end)` with end up to a year after start;
3. `add(cal, start, duration)` with durations up to 40 business hours;
4. `elapsed_seconds(cal, starts, ends)`, the arrays of (1) and of (2) in one
   call each (what the KPI engine does for a batch of tickets).

Each is run once to warm the per-month cache (a process computing SLA figures
keeps it warm) and then timed; the figure is the mean per call.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from store.business_time import BusinessCalendar, add, elapsed, elapsed_seconds  # noqa: E402

# Berlin's public holidays (fixed and Easter-bound), enough to make the calendar realistic.
HOLIDAYS = [
    date(2025, 1, 1), date(2025, 3, 8), date(2025, 4, 18), date(2025, 4, 21), date(2025, 5, 1),
    date(2025, 5, 29), date(2025, 6, 9), date(2025, 10, 3), date(2025, 12, 25), date(2025, 12, 26),
    date(2026, 1, 1), date(2026, 3, 9), date(2026, 4, 3), date(2026, 4, 6), date(2026, 5, 1),
    date(2026, 5, 14), date(2026, 5, 25), date(2026, 10, 3), date(2026, 12, 25), date(2026, 12, 26),
    date(2027, 1, 1), date(2027, 3, 8), date(2027, 3, 26), date(2027, 3, 29), date(2027, 5, 1),
    date(2027, 5, 6), date(2027, 5, 17), date(2027, 10, 3), date(2027, 12, 25), date(2027, 12, 26),
]  # fmt: skip


def timed(label: str, calls: int, run) -> float:
    run()  # warm the cache
    began = time.perf_counter()
    run()
    per_call = (time.perf_counter() - began) / calls
    print(f"{label:<40} {per_call * 1e6:7.2f} µs per call")
    return per_call


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=21)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    cal = BusinessCalendar.parse(["mon-fri 08:00-12:00,13:00-18:00"], "Europe/Berlin", HOLIDAYS)
    base = datetime(2025, 1, 1, tzinfo=timezone.utc)
    span = 2 * 365 * 86_400

    def instants(longest_s: int) -> list[tuple[datetime, datetime]]:
        pairs = []
        for _ in range(args.pairs):
            start = base + timedelta(seconds=rng.randrange(span))
            pairs.append((start, start + timedelta(seconds=rng.randrange(longest_s))))
        return pairs

    short, long = instants(10 * 86_400), instants(365 * 86_400)
    durations = [(s, timedelta(minutes=rng.randrange(40 * 60))) for s, _ in short]

    print(f"{args.pairs:,} calls each, Europe/Berlin mon-fri 08:00-12:00,13:00-18:00 with holidays")
    timed("elapsed, end up to 10 days later", args.pairs, lambda: [elapsed(cal, s, e) for s, e in short])
    timed("elapsed, end up to a year later", args.pairs, lambda: [elapsed(cal, s, e) for s, e in long])
    timed("add, up to 40 business hours", args.pairs, lambda: [add(cal, s, d) for s, d in durations])
    for label, pairs in (("10 days", short), ("a year", long)):
        starts = np.array([int(s.timestamp()) for s, _ in pairs], dtype=np.int64)
        ends = np.array([int(e.timestamp()) for _, e in pairs], dtype=np.int64)
        timed(f"elapsed_seconds, arrays, up to {label}", args.pairs, lambda: elapsed_seconds(cal, starts, ends))
    year = [(s, s + timedelta(days=365)) for s, _ in short[:10_000]]
    timed("elapsed, exactly a year", len(year), lambda: [elapsed(cal, s, e) for s, e in year])
    began = time.perf_counter()
    fresh = BusinessCalendar.parse(["mon-fri 08:00-18:00"], "Europe/Berlin", HOLIDAYS)
    elapsed(fresh, base, base + timedelta(days=365))
    print(f"{'first year on a fresh calendar (cold)':<40} {(time.perf_counter() - began) * 1e3:7.2f} ms")


if __name__ == "__main__":
    main()
