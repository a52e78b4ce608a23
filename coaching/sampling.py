"""The weekly QA sample: which of a team's solved tickets are reviewed, and by whom.

Pure and reproducible: the same pool, rule, team and ISO week always give
the same sample, because the only randomness is a generator seeded by team
and week. Fair: every agent gets `per_agent` tickets (all they have when
fewer), and nobody is given a ticket of their own to review.

A ticket's weight is the product of the weights of what it matches (1 when
it matches nothing): with `low_csat: 3` a ticket rated bad is three times
as likely to be drawn as a plain one. Each agent's tickets are drawn without
replacement by weight (Efraimidis and Spirakis: the k largest u^(1/w)), so
the first draw is exactly proportional to weight and later ones nearly so.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction

from store.qa_sampling_file import TAG_PREFIX, SamplingRule

# A resolution is long when it is among the slowest quarter of the week's pool:
# relative to the team's own week, so a slow team is not all "long".
LONG_RESOLUTION_SHARE = Fraction(1, 4)


@dataclass(frozen=True)
class Candidate:
    """A solved ticket of the period, with what the weights and exclusions look at."""

    ticket_id: int
    agent_id: int
    replies: int = 0
    csat: str | None = None  # good | bad | None
    reopens: int = 0
    sla_met: bool | None = None
    escalated: bool = False
    resolution_s: int | None = None
    tags: frozenset[str] = field(default_factory=frozenset)
    already_reviewed: bool = False


@dataclass(frozen=True)
class Draw:
    ticket_id: int
    agent_id: int
    reviewer_id: int


@dataclass
class Sample:
    draws: list[Draw]
    # Tickets drawn for which every reviewer is the ticket's own agent: not assigned.
    unassigned: list[Candidate] = field(default_factory=list)


def seed(team: str, week: date) -> str:
    """The generator's seed: the team and the ISO week the sample is for (`emea:2026-W49`)."""
    year, number, _ = week.isocalendar()
    return f"{team}:{year}-W{number:02d}"


def _long_threshold(pool: Sequence[Candidate]) -> int | None:
    times = sorted(c.resolution_s for c in pool if c.resolution_s is not None)
    if not times:
        return None
    # Nearest rank: the time at or above which the slowest quarter lies.
    rank = max(1, int(len(times) * LONG_RESOLUTION_SHARE))
    return times[-rank]


def signals(candidate: Candidate, long_from: int | None) -> set[str]:
    """What `candidate` matches of the weighable signals and tags."""
    out = {f"{TAG_PREFIX}{tag}" for tag in candidate.tags}
    if candidate.csat == "bad":
        out.add("low_csat")
    if candidate.reopens > 0:
        out.add("reopened")
    if candidate.sla_met is False:
        out.add("sla_breached")
    if candidate.escalated:
        out.add("escalated")
    if long_from is not None and candidate.resolution_s is not None and candidate.resolution_s >= long_from:
        out.add("long_resolution")
    return out


def weight(candidate: Candidate, rule: SamplingRule, long_from: int | None) -> float:
    w = Fraction(1)
    for key in signals(candidate, long_from):
        if key in rule.weights:
            w *= Fraction(rule.weights[key])
    return float(w)


def eligible(pool: Iterable[Candidate], rule: SamplingRule) -> list[Candidate]:
    """The pool less what the rule excludes, by ticket id so the draw does not depend on the pool's order."""
    kept = [
        c for c in pool
        if not (rule.already_reviewed and c.already_reviewed) and c.replies >= rule.min_replies
    ]
    return sorted(kept, key=lambda c: c.ticket_id)


def draw(pool: Iterable[Candidate], rule: SamplingRule, reviewers: Sequence[int], team: str, week: date, skip: Collection[int] = ()) -> Sample:
    """The week's sample of `pool` (the team's tickets solved in the week before `week`).

    `reviewers` are taken in rotation, starting where the week number puts
    them so the first in the list is not always first; `skip` are tickets
    not to draw (given back from this week's sample already).
    """
    rng = random.Random(seed(team, week))
    candidates = [c for c in eligible(pool, rule) if c.ticket_id not in skip]
    long_from = _long_threshold(candidates)
    by_agent: dict[int, list[Candidate]] = {}
    for c in candidates:
        by_agent.setdefault(c.agent_id, []).append(c)
    chosen: list[Candidate] = []
    for agent in sorted(by_agent):
        tickets = by_agent[agent]
        # Efraimidis–Spirakis keys; every ticket takes one number, so one agent's
        # draw does not shift with how many of another's are kept.
        keyed = sorted(((rng.random() ** (1.0 / weight(c, rule, long_from)), c.ticket_id, c) for c in tickets), key=lambda k: (-k[0], k[1]))
        chosen.extend(c for _, _, c in keyed[: rule.per_agent])
    sample = Sample([])
    if not reviewers:
        sample.unassigned = chosen
        return sample
    start = week.isocalendar()[1] % len(reviewers)
    turn = 0
    for c in chosen:
        for step in range(len(reviewers)):
            reviewer = reviewers[(start + turn + step) % len(reviewers)]
            if reviewer != c.agent_id:
                sample.draws.append(Draw(c.ticket_id, c.agent_id, reviewer))
                turn += step + 1
                break
        else:
            sample.unassigned.append(c)
    return sample
