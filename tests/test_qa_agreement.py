"""Krippendorff's alpha (coaching.agreement) against the `krippendorff` package and the literature's worked examples,
and reviewers' deviation from a calibration's consensus."""

from __future__ import annotations

import math
from fractions import Fraction

import krippendorff
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from coaching.agreement import NO_PAIRS, NO_VARIATION, alpha, deviations, median

N = None
# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C: 4 observers, 12 units, values 1-5, missing data.
CANONICAL = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, N, N, N],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, N, 3],
    [N, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, N],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, N],
]


def units_of(coders: list[list[int | None]]) -> list[tuple[int | None, ...]]:
    return list(zip(*coders, strict=True))


def package(coders: list[list[int | None]], level: str) -> float:
    data = np.array([[np.nan if v is None else v for v in row] for row in coders], dtype=float)
    return float(krippendorff.alpha(reliability_data=data, level_of_measurement=level))


@pytest.mark.parametrize(("level", "published", "exact"), [("nominal", 0.743, Fraction(113, 152)), ("ordinal", 0.815, Fraction(108577, 133160)), ("interval", 0.849, Fraction(951, 1120))])
def test_the_canonical_example_with_missing_data(level: str, published: float, exact: Fraction) -> None:
    got = alpha(units_of(CANONICAL), level)  # type: ignore[arg-type]
    # The published three decimals, the package's figure, and the exact fraction worked by hand from the coincidence matrix.
    assert round(float(got), 3) == published
    assert float(got) == pytest.approx(package(CANONICAL, level), abs=1e-12)
    assert got.value == exact and got.units == 11 and got.values == 40  # unit 12 has one value: not pairable


def test_two_coders_binary_example() -> None:
    # Krippendorff (2011), section A: two observers, ten units, binary data: alpha = 0.095.
    a = [0, 1, 0, 0, 0, 0, 0, 0, 1, 0]
    b = [1, 1, 1, 0, 0, 1, 0, 0, 0, 0]
    got = alpha(units_of([a, b]), "nominal")  # type: ignore[list-item]
    assert round(float(got), 3) == 0.095 and got.value == Fraction(2, 21)
    assert float(got) == pytest.approx(package([a, b], "nominal"), abs=1e-12)  # type: ignore[list-item]


def test_undefined_cases_say_why() -> None:
    assert alpha([], "ordinal").reason == NO_PAIRS
    assert alpha([(1, N, N), (N, 2, N)], "ordinal").value is None  # nobody coded the same unit as anyone
    same = alpha([(2, 2, 2), (2, N, 2)], "nominal")
    assert same.value is None and same.reason == NO_VARIATION and same.units == 2
    assert math.isnan(float(same))
    assert alpha([(1, 1), (2, 2), (1, 1)], "ordinal").value == 1  # perfect agreement with variation
    # Systematic disagreement goes below zero.
    assert alpha([(1, 2), (2, 1)], "nominal").value is not None and alpha([(1, 2), (2, 1)], "nominal").value < 0  # type: ignore[operator]


@st.composite
def reliability(draw: st.DrawFn, values: tuple[int, ...]) -> list[list[int | None]]:
    coders = draw(st.integers(2, 5))
    units = draw(st.integers(2, 12))
    cell = st.one_of(st.none(), st.sampled_from(values))
    data = draw(st.lists(st.lists(cell, min_size=units, max_size=units), min_size=coders, max_size=coders))
    # The package needs two distinct pairable values; the cases where alpha is undefined are tested above.
    pairable = [v for u in units_of(data) if sum(x is not None for x in u) >= 2 for v in u if v is not None]
    assume(len(set(pairable)) >= 2)
    return data


@settings(max_examples=150, deadline=None)
@given(data=reliability((0, 1, 2)))
def test_ordinal_matches_the_package_on_a_0_2_scale(data: list[list[int | None]]) -> None:
    assert float(alpha(units_of(data), "ordinal")) == pytest.approx(package(data, "ordinal"), abs=1e-9)


@settings(max_examples=150, deadline=None)
@given(data=reliability((1, 2, 3, 4, 5)))
def test_ordinal_and_interval_match_the_package_on_a_1_5_scale(data: list[list[int | None]]) -> None:
    for level in ("ordinal", "interval"):
        assert float(alpha(units_of(data), level)) == pytest.approx(package(data, level), abs=1e-9), level  # type: ignore[arg-type]


@settings(max_examples=150, deadline=None)
@given(data=reliability((0, 1)))
def test_nominal_matches_the_package_on_pass_fail(data: list[list[int | None]]) -> None:
    assert float(alpha(units_of(data), "nominal")) == pytest.approx(package(data, "nominal"), abs=1e-9)


def test_deviation_from_the_median_consensus() -> None:
    # Three reviewers, three items on a 0-2 scale and one on 1-5; carl skipped the last.
    items = [
        ({"ann": 2, "ben": 2, "carl": 0}, 0, 2),  # consensus 2: carl -1 (a whole scale below)
        ({"ann": 1, "ben": 2, "carl": 1}, 0, 2),  # consensus 1: ben +1/2 (ben: 0 + 1/2 + 0 - 1/4 over 4)
        ({"ann": 5, "ben": 3, "carl": 1}, 1, 5),  # consensus 3: ann +1/2, carl -1/2
        ({"ann": 2, "ben": 1, "carl": None}, 0, 2),  # consensus 3/2: ann +1/4, ben -1/4
        ({"ann": 2, "ben": None, "carl": None}, 0, 2),  # one value: no consensus, skipped
    ]
    found = {d.coder: d for d in deviations(items)}
    assert (found["ann"].mean, found["ann"].mean_absolute, found["ann"].n) == (Fraction(3, 16), Fraction(3, 16), 4)
    assert (found["ben"].mean, found["ben"].mean_absolute, found["ben"].n) == (Fraction(1, 16), Fraction(3, 16), 4)
    assert (found["carl"].mean, found["carl"].mean_absolute, found["carl"].n) == (Fraction(-1, 2), Fraction(1, 2), 3)
    assert median([3, 1, 2]) == 2 and median([1, 2]) == Fraction(3, 2)
