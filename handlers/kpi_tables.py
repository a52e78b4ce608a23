"""The side-by-side tables of /kpi: every team (`/kpi teams`) and a team's agents (`/kpi agents`).

Each cell shows the value, its sample size where it has one, and its status
against the team's target (✅ met, ⚠️ at risk, ❌ missed), so a lead can read
a row without opening each card. The column a table is sorted by is always
shown, even when it is not one of the default columns.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from handlers.humanize import with_sample
from kpi.business_hours import Clock
from kpi.definitions import BY_NAME
from kpi.engine import Metrics
from kpi.targets import target_status

STATUS_MARK = {"met": "✅", "at_risk": "⚠️", "missed": "❌"}
LEGEND = "✅ met · ⚠️ at risk (within 5% of target) · ❌ missed"
QA_POOLED = "QA figures pooled over a team are for those who look after all its agents (its leads and managers, managers without a team, admins): one review can be the whole figure."
# What a manager compares teams on.
TEAMS_COLUMNS = (
    "tickets_created",
    "tickets_solved",
    "backlog",
    "first_reply_median_s",
    "resolution_median_s",
    "csat",
    "reopen_rate",
    "sla_attainment",
)
# What a lead compares agents on: the same, less tickets created (the team's demand, not the agent's).
AGENTS_COLUMNS = tuple(name for name in TEAMS_COLUMNS if name != "tickets_created")


def with_qa(columns: Sequence[str], qa: bool) -> tuple[str, ...]:
    """`columns`, with the QA score and coverage (of the weekly sample) where the organisation reviews tickets."""
    return (*columns, "qa_score", "qa_coverage") if qa else tuple(columns)


def columns_with(columns: Sequence[str], sort: str | None) -> tuple[str, ...]:
    """`columns`, plus the sort metric when it is not among them (the sort column is always visible)."""
    if sort is None or sort not in BY_NAME or sort in columns:
        return tuple(columns)
    return (*columns, sort)


def statuses(metrics: Metrics, targets: dict[str, Any]) -> dict[str, str]:
    """Each targeted metric's status (met / at_risk / missed), for --json."""
    out = {}
    for name, target in targets.items():
        if name in BY_NAME:
            status = target_status(name, metrics.get(name), target)
            if status is not None:
                out[name] = status
    return out


def cell(name: str, metrics: Metrics, targets: dict[str, Any], clock: Clock = "wall") -> str:
    """A table cell: the figure (on `clock`), its sample size and its status against the target."""
    sample = BY_NAME[name].sample
    text = with_sample(name, metrics[name], metrics[sample] if sample else None, clock)  # type: ignore[arg-type]
    status = target_status(name, metrics[name], targets.get(name))
    return f"{text} {STATUS_MARK[status]}" if status else text


def best_first(metric: str):  # type: ignore[no-untyped-def]
    """A sort key putting the best value of `metric` first and rows without a value last.

    Equal values go by how much they rest on: 100% of 9 ratings before 100% of 1,
    and a backlog of 0 after 40 solved before one of an agent who solved nothing.
    """
    definition = BY_NAME[metric]
    higher = definition.higher_is_better
    weight = definition.sample or "tickets_solved"

    def key(item: tuple[Any, Metrics]) -> tuple[int, float, int]:
        metrics = item[1]
        value = metrics[metric]
        if value is None:
            return (1, 0.0, 0)
        return (0, -value if higher else value, -int(metrics.get(weight) or 0))

    return key


def sort_note(sort: str | None, default: str) -> str:
    if sort in BY_NAME:
        return f"sorted by {BY_NAME[sort].label}, best first"
    return f"sorted by {default}"
