"""QA rubrics and how a review is scored against one.

A category's score is (given − min) / (max − min) of its scale (`pass-fail`
is 1 for pass, 0 for fail); `na` leaves the category out unless it says
`na: false`. The review's score is the weighted mean of the scored
categories, except that a critical category scored below half of its range
makes it 0; a review whose categories are all `na` has no score (and counts
in no QA figure). Plain data in and out: no database, no chat.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

from store.qa_rubrics import QaRubricVersion
from store.rubric_spec import PASS_FAIL, RubricError, Scale, weight

__all__ = [
    "NA", "PASS_FAIL", "Category", "Problem", "Result", "Rubric", "RubricError", "Scale", "ScoreError", "categories_text", "read_scores", "rubric_of", "score", "weight",
]  # fmt: skip

NA = "na"


@dataclass(frozen=True)
class Category:
    key: str
    name: str
    weight: Fraction
    scale: Scale
    critical: bool = False
    na_allowed: bool = True


@dataclass(frozen=True)
class Rubric:
    categories: tuple[Category, ...]
    pass_mark: Fraction  # a review at or above this passes
    hide_reviewer: bool = False

    def category(self, key: str) -> Category | None:
        return next((c for c in self.categories if c.key == key), None)


Score = int | str  # a value on the category's scale, or "na"


@dataclass(frozen=True)
class Problem:
    """One problem with typed scores; `word` should have been one of `choices` (a category key, pass or fail)."""

    text: str
    word: str = ""
    choices: tuple[str, ...] = ()


class ScoreError(RubricError):
    """Every problem with a set of typed scores, one per line; `problems` lets a handler suggest what was meant."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__("\n".join(p.text for p in problems))
        self.problems = tuple(problems)


@dataclass(frozen=True)
class Result:
    score: float | None  # 0..1; None when every category is `na`
    passed: bool | None
    critical_failed: tuple[str, ...]  # critical categories scored below half their range
    per_category: Mapping[str, float | None]  # each category's fraction (None for `na`)


def read_scores(rubric: Rubric, given: Mapping[str, str]) -> dict[str, Score]:
    """Typed scores (`{"accuracy": "2", "policy": "na"}`) checked against the rubric.

    Every problem is reported at once (ScoreError, one per line): an unknown
    category (with the known ones), a value off its scale, `na` where the
    category does not allow it, a category left out.
    """
    keys = tuple(c.key for c in rubric.categories)
    problems: list[Problem] = []
    out: dict[str, Score] = {}
    for key, text in given.items():
        category = rubric.category(key.strip().lower())
        if category is None:
            problems.append(Problem(f"unknown category {key!r} (the rubric has {', '.join(keys)})", key, keys))
            continue
        if text.strip().lower() == NA:
            if not category.na_allowed:
                problems.append(Problem(f"{category.key} cannot be na: score it {category.scale.text}"))
                continue
            out[category.key] = NA
            continue
        try:
            out[category.key] = category.scale.read(text)
        except RubricError as exc:
            words = ("pass", "fail", *((NA,) if category.na_allowed else ())) if category.scale.text == PASS_FAIL else ()
            problems.append(Problem(f"{category.key}: {exc}", text.strip(), words))
    missing = [c.key for c in rubric.categories if c.key not in out and c.key not in {k.strip().lower() for k in given}]
    if missing:
        problems.append(Problem(f"score every category (na where it does not apply): missing {', '.join(missing)}"))
    if problems:
        raise ScoreError(problems)
    return out


def score(rubric: Rubric, scores: Mapping[str, Score]) -> Result:
    """The review's result; `scores` as `read_scores` gives them (every category present)."""
    total = Fraction(0)
    weights = Fraction(0)
    per: dict[str, float | None] = {}
    critical: list[str] = []
    for category in rubric.categories:
        value = scores.get(category.key, NA)
        if value == NA:
            per[category.key] = None
            continue
        assert isinstance(value, int)
        fraction = category.scale.fraction(value)
        per[category.key] = float(fraction)
        total += category.weight * fraction
        weights += category.weight
        if category.critical and fraction < Fraction(1, 2):
            critical.append(category.key)
    if not weights:
        return Result(None, None, (), per)
    result = Fraction(0) if critical else total / weights
    return Result(float(result), result >= rubric.pass_mark, tuple(critical), per)


def shown(category: Category, value: Score) -> str:
    """A value as people write it: `pass`/`fail` on a pass-fail scale, else the number (or `na`)."""
    if value == "na":
        return "na"
    return ("pass" if value else "fail") if category.scale.text == "pass-fail" else str(value)


def categories_text(categories: Sequence[Category]) -> str:
    """`accuracy (0-2, critical), tone (1-5), policy (pass-fail)`: how to score, for usage messages."""
    return ", ".join(f"{c.key} ({c.scale.text}{', critical' if c.critical else ''}{'' if c.na_allowed else ', no na'})" for c in categories)


def rubric_of(version: QaRubricVersion) -> Rubric:
    """A stored rubric version (the org file checked every field) as a Rubric to score with."""
    return Rubric(
        tuple(
            Category(c["key"], c["name"], weight(c["weight"]), Scale.parse(c["scale"]), critical=c["critical"], na_allowed=c["na"])
            for c in version.categories
        ),
        Fraction(version.pass_mark),
        version.hide_reviewer,
    )
