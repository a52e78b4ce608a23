"""KPI figures as spreadsheet rows: `csbot export kpi` and `/kpi … --csv`.

A row is one window's figures: the numbers of `--json` (seconds, rates as
fractions, counts), every metric a card lists and each sample size (`n_*`),
so a row says exactly what the card's --json says for that window (each
first reply and resolution figure on both clocks: the wall clock, then its
business-hours twin, kpi.business_hours). Its days are
given in the scope's time zone. Cells are made safe for spreadsheets where
the file is written (store.spreadsheet).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy.orm import Session

from kpi.business_hours import BUSINESS_NAMES
from kpi.definitions import shown
from kpi.engine import Metrics, Scope, compute
from kpi.trend import Step, bucket_windows, day_ranges, series
from kpi.windows import Window, parse_window

WINDOW_COLUMNS = ("from", "to", "until", "timezone")


def metric_columns(qa: bool) -> list[str]:
    """Every metric a card lists (the QA ones with `qa`; a duration followed by its business-hours twin), then each sample size not already among them."""
    metrics = shown(qa)
    names = [name for m in metrics for name in (m.name, BUSINESS_NAMES.get(m.name)) if name is not None]
    return names + [s for s in dict.fromkeys(m.sample for m in metrics if m.sample) if s not in names]


def _local(at: datetime) -> str:
    """`2026-03-02` at midnight, else `2026-03-02 14:37`."""
    return at.date().isoformat() if at.time() == time() else at.strftime("%Y-%m-%d %H:%M")


def window_cells(start: datetime, until: datetime, zone: str) -> list[str]:
    """From (the first local day, or the local time a window starts within a day), to (the last
    day included), until (where the figures stop, for a window cut within a day: rolling or so far)
    and the zone; `start` and `until` are aware, in `zone`."""
    whole = until.time() == time()
    last = (until - timedelta(microseconds=1)).date() if whole else until.date()
    return [_local(start), last.isoformat(), "" if whole else _local(until), zone]


def metric_cells(metrics: Metrics, columns: Sequence[str]) -> list[Any]:
    """The row's numbers, exactly as --json gives them; no value is an empty cell."""
    return ["" if metrics.get(name) is None else metrics[name] for name in columns]


def range_rows(
    session: Session, scope: Scope, label: list[str], zone: str, first: date, last: date, step: Step | None, now: datetime, *, qa: bool
) -> list[list[Any]]:
    """The header and one row per day or week from `first` to `last` (local, included), or one row for them all.

    `label` is what the rows are of: the `scope` and `name` cells (`team`,
    its key; `org`, empty).

    Each row equals `/kpi team TEAM A..B` for its days A..B, the first and
    last week cut to the range so the rows add up to it; a range still
    running stops at `now`, and days after it have no row. Raises
    kpi.windows.WindowError (NotStarted when the range lies after `now`).
    """
    columns = metric_columns(qa)
    header = ["scope", "name", *WINDOW_COLUMNS, *columns]
    if step is None:
        window = parse_window(f"{first.isoformat()}..{last.isoformat()}", now, zone)
        return [header, _row(label, window, compute(session, scope, window.start_utc, window.until_utc), columns)]
    buckets = bucket_windows(day_ranges(first, last, step, whole_weeks=False), zone, now)
    return [header, *(_row(label, b.window, b.metrics, columns) for b in series(session, scope, buckets))]


def _row(label: list[str], window: Window, metrics: Metrics, columns: Sequence[str]) -> list[Any]:
    return [*label, *window_cells(window.start, window.until, window.timezone), *metric_cells(metrics, columns)]
