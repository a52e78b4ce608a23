"""An independent KPI computation in plain Python, to check the engine against.

Deliberately shares no code with `kpi/`: it uses the standard library's
statistics module (whose "inclusive" quantiles are numpy's linear method).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime


@dataclass
class T:
    created_at: datetime
    first_reply_at: datetime | None = None
    solved_at: datetime | None = None
    replies: int | None = None
    reopens: int | None = None
    csat: str | None = None
    sla_met: bool | None = None


def _p90(values: list[float]) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return float(values[0])
    return statistics.quantiles(values, n=10, method="inclusive")[8]


def _share(flags: list[bool]) -> float | None:
    return sum(flags) / len(flags) if flags else None


@dataclass
class R:
    """A QA review as the oracle reads it."""

    created_at: datetime
    score: float | None
    passed: bool | None


def oracle(tickets: Iterable[T], start: datetime, end: datetime, reviews: Iterable[R] = ()) -> dict[str, float | int | None]:
    tickets = list(tickets)
    scored = [r for r in reviews if start <= r.created_at < end and r.score is not None]
    created = [t for t in tickets if start <= t.created_at < end]
    solved = [t for t in tickets if t.solved_at is not None and start <= t.solved_at < end]
    fr = [(t.first_reply_at - t.created_at).total_seconds() for t in created if t.first_reply_at is not None]
    res = [(t.solved_at - t.created_at).total_seconds() for t in solved]  # type: ignore[operator]
    return {
        "tickets_created": len(created),
        "tickets_solved": len(solved),
        "backlog": sum(1 for t in tickets if t.created_at < end and (t.solved_at is None or t.solved_at >= end)),
        "first_reply_median_s": statistics.median(fr) if fr else None,
        "first_reply_p90_s": _p90(fr),
        "first_reply_mean_s": statistics.fmean(fr) if fr else None,
        "resolution_median_s": statistics.median(res) if res else None,
        "resolution_p90_s": _p90(res),
        "resolution_mean_s": statistics.fmean(res) if res else None,
        "one_touch_rate": _share([t.replies <= 1 for t in solved if t.replies is not None]),
        "reopen_rate": _share([t.reopens >= 1 for t in solved if t.reopens is not None]),
        "csat": _share([t.csat == "good" for t in solved if t.csat is not None]),
        "sla_attainment": _share([bool(t.sla_met) for t in solved if t.sla_met is not None]),
        "n_first_reply": len(fr),
        "n_resolution": len(res),
        "n_one_touch": sum(1 for t in solved if t.replies is not None),
        "n_reopen": sum(1 for t in solved if t.reopens is not None),
        "n_csat": sum(1 for t in solved if t.csat is not None),
        "n_sla": sum(1 for t in solved if t.sla_met is not None),
        "qa_score": statistics.fmean(r.score for r in scored) if scored else None,  # type: ignore[misc]
        "qa_pass_rate": _share([bool(r.passed) for r in scored]),
        "qa_reviews": len(scored),
    }


def assert_same(actual: dict, expected: dict) -> None:  # type: ignore[type-arg]
    assert set(actual) == set(expected)
    for name, want in expected.items():
        got = actual[name]
        if want is None:
            assert got is None, (name, got)
        elif name.endswith("_s"):
            assert got is not None and abs(got - want) < 1e-6, (name, got, want)
        else:
            assert got is not None and abs(got - want) <= 1e-6, (name, got, want)
