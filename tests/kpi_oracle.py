"""An independent KPI computation in plain Python, to check the engine against.

Deliberately shares no code with `kpi/`: it uses the standard library's
statistics module (whose "inclusive" quantiles are numpy's linear method).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass
class T:
    created_at: datetime
    first_reply_at: datetime | None = None
    solved_at: datetime | None = None
    replies: int | None = None
    reopens: int | None = None
    csat: str | None = None
    sla_met: bool | None = None
    # An SLA policy's due times (with `policy`, its key): then the policy says whether it met its SLA.
    policy: str | None = None
    first_reply_due: datetime | None = None
    resolution_due: datetime | None = None


def stored(row: Any, policies: dict[int, str] | None = None) -> T:
    """A stored ticket as the oracle reads it; its policy named by `policies` (id -> key), else by its id."""
    policy = None if row.sla_policy_id is None else (policies or {}).get(row.sla_policy_id, str(row.sla_policy_id))
    return T(row.created_at, row.first_reply_at, row.solved_at, row.replies, row.reopens, row.csat, row.sla_met, policy, row.first_reply_due_at, row.resolution_due_at)


def sla_outcome(t: T, end: datetime) -> str | None:
    """"achieved", "breached" or "open_within" for a ticket with a policy, as of `end`; None when nothing is measured.

    Written out target by target, as a person checks a ticket: when did its
    answer (the first reply, else the solve) and its solve come, if they had
    come by `end`, and when were they due.
    """
    verdicts = []
    answered = min((x for x in (t.first_reply_at, t.solved_at) if x is not None), default=None)
    for done, due in ((answered, t.first_reply_due), (t.solved_at, t.resolution_due)):
        if due is None:
            continue
        seen = done if done is not None and done <= end else None
        if seen is not None:
            verdicts.append("met" if seen <= due else "missed")
        elif due < end:
            verdicts.append("missed")
        else:
            verdicts.append("waiting")
    if not verdicts:
        return None
    if "missed" in verdicts:
        return "breached"
    return "achieved" if all(v == "met" for v in verdicts) else "open_within"


def sla_met(t: T) -> bool | None:
    """Whether a solved ticket met its SLA: its policy's outcome at its solve, or its imported sla_met without one."""
    if t.policy is None:
        return t.sla_met
    assert t.solved_at is not None
    outcome = sla_outcome(t, t.solved_at)
    return None if outcome is None else outcome == "achieved"


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
        "sla_attainment": _share([bool(sla_met(t)) for t in solved if sla_met(t) is not None]),
        "n_first_reply": len(fr),
        "n_resolution": len(res),
        "n_one_touch": sum(1 for t in solved if t.replies is not None),
        "n_reopen": sum(1 for t in solved if t.reopens is not None),
        "n_csat": sum(1 for t in solved if t.csat is not None),
        "n_sla": sum(1 for t in solved if sla_met(t) is not None),
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
