"""`/kpi … --csv`: the answer's figures as a CSV file, handed over with the answer.

The file is built from the answer's own data, after the question was
authorized and its QA figures hidden from whoever may not see them pooled,
so it holds exactly what the asker was shown and nothing more. Its columns
are the export's (kpi.export): a row per window, card, team, agent,
breakdown value or trend point, with the `--json` numbers of every metric
on the cards and their sample sizes, dates in the answer's time zone.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from handlers.context import Context
from handlers.reply import Actions, File, Reply, filename_for
from handlers.reply import Context as Note
from kpi import qa_figures
from kpi.export import WINDOW_COLUMNS, metric_cells, metric_columns, window_cells
from store.spreadsheet import csv_text

CSV_TYPE = "text/csv"
UNASSIGNED = "(unassigned)"
SCOPE_COLUMNS = ["scope", "name"]


def _window(window: dict[str, Any]) -> list[str]:
    return window_cells(datetime.fromisoformat(window["start"]), datetime.fromisoformat(window["until"]), window["timezone"])


def _scope(data: dict[str, Any]) -> list[str]:
    """Whose figures, as the `scope` and `name` cells: team and its key, org, or agent and the handle."""
    if data.get("agent"):
        return ["agent", data["agent"]]
    return ["team", data["team"]] if data.get("team") else ["org", ""]


def _labelled(data: dict[str, Any]) -> tuple[str, list[str], list[tuple[list[Any], dict[str, Any], dict[str, Any]]]]:
    """What the file is of, its label columns, and each row's (labels, window, metrics), from an answer's data."""
    window = data["window"]
    whose = " ".join(w for w in _scope(data) if w != "team")
    if "series" in data:
        rows = [(_scope(data), p["window"], p["metrics"]) for p in data["series"]]
        return f"trend {whose} {data['metric']} by {data['step']}", SCOPE_COLUMNS, rows
    if "dimension" in data:
        rows = [([*_scope(data), r["label"]], window, r["metrics"]) for r in data["rows"]]
        return f"kpis {whose} by {data['dimension']}", [*SCOPE_COLUMNS, data["dimension"]], rows
    if data.get("scope") == "agents":
        rows = [([data["team"], r["agent"]], window, r["metrics"]) for r in data["rows"]]
        rows.append(([data["team"], UNASSIGNED], window, data["unassigned"]["metrics"]))
        return f"agents {data['team']}", ["team", "agent"], rows
    if "rows" in data:
        return "kpis by team", ["team"], [([r["team"]], window, r["metrics"]) for r in data["rows"]]
    return f"kpis {whose}", SCOPE_COLUMNS, [(_scope(data), window, data["metrics"])]


def with_csv(ctx: Context, reply: Reply) -> Reply:
    """`reply` with its figures as a CSV file after its content (before its buttons); as it was when it has none."""
    data = reply.data
    if reply.ok and data.get("no_data"):
        return replace(reply, blocks=[*reply.blocks, Note("No CSV file: there are no figures in this window.")])
    if not reply.ok or "window" not in data:
        return reply
    what, labels, rows = _labelled(data)
    # QA columns where the organisation reviews tickets and the asker was shown them (hidden ones are None).
    qa = qa_figures.in_use(ctx.session) and any(metrics.get("qa_reviews") is not None for _, _, metrics in rows)
    columns = metric_columns(qa)
    header = [*labels, *WINDOW_COLUMNS, *columns]
    table = [header, *([*cells, *_window(window), *metric_cells(metrics, columns)] for cells, window, metrics in rows)]
    # The days the rows cover (a trend's whole weeks may begin before its window).
    first, last = (_window(rows[0][1])[0], _window(rows[-1][1])[1]) if rows else _window(data["window"])[:2]
    filename = filename_for(f"{what} {first} {last}", ".csv", "kpis", most=100)
    count = len(table) - 1
    description = (
        f"{count} row{'' if count == 1 else 's'} × {len(header)} columns: {what}, {first} to {last} ({data['window']['timezone']}); "
        "the numbers of --json (seconds, rates as fractions), with each sample size"
    )
    file = File(filename, csv_text(table).encode("utf-8"), CSV_TYPE, description)
    blocks = list(reply.blocks)
    at = next((i for i, b in enumerate(blocks) if isinstance(b, Actions)), len(blocks))
    blocks.insert(at, file)
    return replace(reply, blocks=blocks, data={**data, "csv": {"filename": filename, "rows": count, "columns": header}})
