"""The KPI names csbot knows, how each is shown, and which direction is better.

The exact definitions (windows, denominators, percentiles) are documented in
the README; the computation lives beside this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Unit = Literal["count", "seconds", "rate"]


@dataclass(frozen=True)
class Metric:
    name: str
    label: str
    unit: Unit
    higher_is_better: bool
    # The key of the metric's sample size in engine results (`n_csat`): how many
    # tickets the figure is over, so a lead can tell 2 ratings from 200. Counts
    # have none (they are their own sample).
    sample: str | None = None
    # Whether a change is better or worse for the team. More tickets created is
    # demand, not performance, so its change is shown without a judgement.
    judged: bool = True
    # A count of what happened in the window (created, solved): it grows with the
    # window's length, so it is judged only against a window as long.
    flow: bool = False
    # "qa": shown only where the organisation reviews tickets (kpi.qa_figures.in_use).
    group: str = "tickets"


METRICS: tuple[Metric, ...] = (
    Metric("tickets_created", "Tickets created", "count", True, judged=False, flow=True),
    Metric("tickets_solved", "Tickets solved", "count", True, flow=True),
    Metric("backlog", "Backlog", "count", False),
    Metric("first_reply_median_s", "First reply (median)", "seconds", False, "n_first_reply"),
    Metric("first_reply_p90_s", "First reply (p90)", "seconds", False, "n_first_reply"),
    Metric("first_reply_mean_s", "First reply (mean)", "seconds", False, "n_first_reply"),
    Metric("resolution_median_s", "Resolution (median)", "seconds", False, "n_resolution"),
    Metric("resolution_p90_s", "Resolution (p90)", "seconds", False, "n_resolution"),
    Metric("resolution_mean_s", "Resolution (mean)", "seconds", False, "n_resolution"),
    Metric("one_touch_rate", "One-touch rate", "rate", True, "n_one_touch"),
    Metric("reopen_rate", "Reopen rate", "rate", False, "n_reopen"),
    Metric("csat", "CSAT", "rate", True, "n_csat"),
    Metric("sla_attainment", "SLA attainment", "rate", True, "n_sla"),
    # QA reviews (kpi.qa_figures), over the reviews made in the window. How many
    # were made says how busy the reviewers were, not how well the agents did.
    Metric("qa_score", "QA score", "rate", True, "qa_reviews", group="qa"),
    Metric("qa_pass_rate", "QA pass rate", "rate", True, "qa_reviews", group="qa"),
    Metric("qa_reviews", "QA reviews", "count", True, judged=False, flow=True, group="qa"),
    # Of the weekly sample's assignments due in the window, the share reviewed (coaching.assignments).
    Metric("qa_coverage", "QA coverage", "rate", True, "qa_assigned", group="qa"),
)



def shown(qa: bool) -> tuple[Metric, ...]:
    """The metrics a card lists: the QA ones only where the organisation reviews tickets."""
    return METRICS if qa else tuple(m for m in METRICS if m.group != "qa")


SAMPLE_NAMES: tuple[str, ...] = tuple(dict.fromkeys(m.sample for m in METRICS if m.sample))
METRIC_NAMES: frozenset[str] = frozenset(m.name for m in METRICS)
BY_NAME: dict[str, Metric] = {m.name: m for m in METRICS}


def judgement(name: str, value: float | None, previous: float | None) -> str | None:
    """"better", "worse" or "same" for a change of metric `name`; None when it cannot be judged."""
    metric = BY_NAME[name]
    if value is None or previous is None or not metric.judged:
        return None
    if value == previous:
        return "same"
    return "better" if (value > previous) == metric.higher_is_better else "worse"


# Short names people use for the metrics (`--sort frt`); each full name works too.
ALIASES: dict[str, str] = {
    "created": "tickets_created",
    "solved": "tickets_solved",
    "frt": "first_reply_median_s",
    "first-reply": "first_reply_median_s",
    "first_reply": "first_reply_median_s",
    "frt-p90": "first_reply_p90_s",
    "resolution": "resolution_median_s",
    "ttr": "resolution_median_s",
    "one-touch": "one_touch_rate",
    "one_touch": "one_touch_rate",
    "fcr": "one_touch_rate",
    "reopen": "reopen_rate",
    "reopens": "reopen_rate",
    "sla": "sla_attainment",
    "qa": "qa_score",
    "qa-score": "qa_score",
    "qa-pass": "qa_pass_rate",
    "qa-pass-rate": "qa_pass_rate",
    "qa-reviews": "qa_reviews",
}


def metric_named(text: str) -> str | None:
    """The metric `text` names (full name or alias, any case), or None."""
    word = text.strip().lower()
    if word in BY_NAME:
        return word
    return ALIASES.get(word)
