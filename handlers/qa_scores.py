"""How QA scores are told to people: what a change does (`accuracy 1 → 2, score 62.5% → 87.5%, now passes`),
and what is wrong with typed scores, with the word most likely meant."""

from __future__ import annotations

from typing import Any

from coaching.qa import ScoreChange
from coaching.rubric import RubricError, ScoreError, shown
from handlers.humanize import percent
from handlers.router import closest


def problems_text(exc: RubricError) -> str:
    """The problems with typed scores, one per line; a mistyped category or pass/fail word with what it most likely meant."""
    if not isinstance(exc, ScoreError):
        return str(exc)
    lines = []
    for problem in exc.problems:
        near = closest(problem.word, problem.choices, n=1) if problem.word and problem.choices else []
        lines.append(f"{problem.text} — did you mean {near[0]}?" if near else problem.text)
    return "\n".join(lines)


def _result(score: float | None) -> str:
    return "no score" if score is None else percent(score)


def change_text(change: ScoreChange, *, proposed: bool = False) -> str:
    """`accuracy 1 → 2, score 62.5% → 87.5%, now passes`; with `proposed`, what it would do (`would pass`)."""
    if not change.categories:
        return "the scores stay as they are"
    parts = [f"{c.key} {shown(c, old)} → {shown(c, new)}" for c, old, new in change.categories]
    if change.score_before != change.score_after:
        parts.append(f"score {_result(change.score_before)} → {_result(change.score_after)}")
    if change.passed_after is not None and change.passed_before is not None:
        if change.passed_after != change.passed_before:
            verb = ("would pass" if change.passed_after else "would no longer pass") if proposed else ("now passes" if change.passed_after else "no longer passes")
        else:
            verb = ("would still pass" if proposed else "still passes") if change.passed_after else ("would still not pass" if proposed else "still does not pass")
        parts.append(verb)
    return ", ".join(parts)


def change_json(change: ScoreChange) -> dict[str, Any]:
    """The same change as data: each category's from and to, the score and passing before and after."""
    return {
        "categories": [{"category": c.key, "from": old, "to": new} for c, old, new in change.categories],
        "score_before": change.score_before,
        "score_after": change.score_after,
        "passed_before": change.passed_before,
        "passed_after": change.passed_after,
    }
