"""QA rubric scoring: scales, na, weights, critical categories, against an independent computation."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coaching.rubric import Category, Rubric, RubricError, Scale, read_scores, score, weight

# The example rubric.
RUBRIC = Rubric(
    (
        Category("accuracy", "Accuracy", Fraction(3), Scale.parse("0-2"), critical=True),
        Category("tone", "Tone", Fraction(1), Scale.parse("1-5")),
        Category("policy", "Policy followed", Fraction(2), Scale.parse("pass-fail")),
    ),
    pass_mark=Fraction(4, 5),
)


def test_a_review_is_the_weighted_mean_of_its_scored_categories() -> None:
    result = score(RUBRIC, read_scores(RUBRIC, {"accuracy": "2", "tone": "4", "policy": "pass"}))
    # (3 * 1 + 1 * 0.75 + 2 * 1) / 6
    assert result.score == pytest.approx(5.75 / 6) and result.passed is True
    assert result.per_category == {"accuracy": 1.0, "tone": 0.75, "policy": 1.0}


def test_na_leaves_a_category_out_and_all_na_has_no_score() -> None:
    result = score(RUBRIC, read_scores(RUBRIC, {"accuracy": "1", "tone": "na", "policy": "na"}))
    assert result.score == 0.5 and result.passed is False and result.per_category["tone"] is None
    # accuracy 1 of 0-2 is exactly half: not below half, so not a critical failure.
    assert result.critical_failed == ()
    empty = score(RUBRIC, read_scores(RUBRIC, {"accuracy": "na", "tone": "na", "policy": "na"}))
    assert (empty.score, empty.passed) == (None, None)


def test_a_critical_category_below_half_makes_the_review_zero() -> None:
    result = score(RUBRIC, read_scores(RUBRIC, {"accuracy": "0", "tone": "5", "policy": "pass"}))
    assert (result.score, result.passed, result.critical_failed) == (0.0, False, ("accuracy",))
    failed = Rubric((Category("policy", "Policy", Fraction(1), Scale.parse("pass-fail"), critical=True),), Fraction(1, 2))
    assert score(failed, read_scores(failed, {"policy": "fail"})).score == 0.0


def test_the_pass_mark_is_inclusive_and_exact() -> None:
    rubric = Rubric((Category("a", "A", Fraction(1), Scale.parse("0-10")),), pass_mark=Fraction(4, 5))
    assert score(rubric, read_scores(rubric, {"a": "8"})).passed is True  # 0.8 >= 0.8, not lost to binary floats
    assert score(rubric, read_scores(rubric, {"a": "7"})).passed is False


@pytest.mark.parametrize(
    ("given", "problem"),
    [
        ({"accuracy": "3", "tone": "4", "policy": "pass"}, "accuracy: 3 is outside 0-2"),
        ({"accuracy": "2", "tone": "0", "policy": "pass"}, "tone: 0 is outside 1-5"),
        ({"accuracy": "2", "tone": "4", "policy": "maybe"}, "policy: 'maybe' is not pass or fail"),
        ({"accuracy": "2", "tone": "four", "policy": "pass"}, "tone: 'four' is not a whole number from 1 to 5"),
        ({"accuracy": "2", "tone": "4", "policy": "pass", "empathy": "2"}, "unknown category 'empathy' (the rubric has accuracy, tone, policy)"),
        ({"accuracy": "2", "tone": "4"}, "missing policy"),
    ],
)
def test_bad_scores_say_what_is_wrong(given: dict[str, str], problem: str) -> None:
    with pytest.raises(RubricError) as refused:
        read_scores(RUBRIC, given)
    assert problem in str(refused.value)


def test_na_is_refused_where_the_category_says_so_and_every_problem_is_listed() -> None:
    strict = Rubric((Category("greeting", "Greeting", Fraction(1), Scale.parse("1-3"), na_allowed=False), *RUBRIC.categories), Fraction(4, 5))
    with pytest.raises(RubricError) as refused:
        read_scores(strict, {"greeting": "na", "accuracy": "9", "tone": "4", "policy": "pass"})
    lines = str(refused.value).splitlines()
    assert len(lines) == 2 and "greeting cannot be na" in lines[0] and "accuracy: 9 is outside 0-2" in lines[1]


@pytest.mark.parametrize("text", ["", "5", "5-1", "2-2", "a-b", "0-2-4", "pass", "-1-3", "0-1000"])
def test_malformed_scales_are_refused(text: str) -> None:
    with pytest.raises(RubricError):
        Scale.parse(text)


@pytest.mark.parametrize("text", ["0", "-1", "x", "1/0", ""])
def test_weights_must_be_positive_numbers(text: str) -> None:
    with pytest.raises(RubricError):
        weight(text)
    assert weight("0.5") == Fraction(1, 2) and weight(3) == 3


scales = st.sampled_from(["0-1", "0-2", "1-3", "1-5", "0-10", "pass-fail"])


@st.composite
def rubric_and_scores(draw: st.DrawFn) -> tuple[Rubric, dict[str, str]]:
    n = draw(st.integers(1, 6))
    categories = []
    typed: dict[str, str] = {}
    for i in range(n):
        scale = Scale.parse(draw(scales))
        categories.append(Category(f"c{i}", f"C{i}", Fraction(draw(st.integers(1, 20)), draw(st.integers(1, 4))), scale, critical=draw(st.booleans())))
        if draw(st.integers(0, 4)) == 0:
            typed[f"c{i}"] = "na"
        else:
            value = draw(st.integers(scale.low, scale.high))
            typed[f"c{i}"] = ("pass" if value else "fail") if scale.text == "pass-fail" else str(value)
    return Rubric(tuple(categories), Fraction(draw(st.integers(0, 10)), 10)), typed


@settings(max_examples=200, deadline=None)
@given(rubric_and_scores())
def test_score_matches_an_independent_computation(case: tuple[Rubric, dict[str, str]]) -> None:
    rubric, typed = case
    result = score(rubric, read_scores(rubric, typed))
    # Independently: plain floats, the rules as the issue words them.
    num = den = 0.0
    critical_hit = False
    for c in rubric.categories:
        text = typed[c.key]
        if text == "na":
            continue
        lo, hi = (0, 1) if c.scale.text == "pass-fail" else map(int, c.scale.text.split("-"))
        value = (1 if text == "pass" else 0) if c.scale.text == "pass-fail" else int(text)
        part = (value - lo) / (hi - lo)
        num += float(c.weight) * part
        den += float(c.weight)
        critical_hit = critical_hit or (c.critical and part < 0.5)
    if den == 0:
        assert result.score is None and result.passed is None
        return
    expected = 0.0 if critical_hit else num / den
    assert result.score == pytest.approx(expected, abs=1e-12)
    # Rubric values have small denominators: a tolerance far below their spacing only absorbs float error.
    assert result.passed == (expected >= float(rubric.pass_mark) - 1e-12)
