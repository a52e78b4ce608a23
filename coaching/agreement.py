"""Krippendorff's alpha: how far several coders (QA reviewers) agree beyond what chance would give.

Pure functions over plain data, computed exactly with fractions so a figure
never depends on the order the scores were read in. The method is the
coincidence-matrix one of Krippendorff, *Computing Krippendorff's Alpha-
Reliability* (2011):

- A unit (one calibration's category) holds the values its coders gave;
  `None` is a value missing (a coder who did not score, or scored `na`: "does
  not apply" is no judgement on the scale, so it is left out like a blank).
- Only units with at least two values are pairable; each ordered pair of
  values from different coders of a unit adds 1/(m_u - 1) to the coincidence
  o[c][k], m_u being the unit's number of values. n_c = sum over k of o[c][k],
  n = sum of n_c.
- alpha = 1 - D_o / D_e = 1 - (n - 1) * sum o[c][k] d(c,k) / sum n_c n_k d(c,k).

The metric d (squared difference function) is `nominal` (0 when equal, else 1:
pass-fail), `ordinal` (the ranks between c and k, by how often each value was
used: numeric scales such as 0-2 or 1-5) or `interval` ((c - k) squared).

Alpha is undefined, and given as None with the reason, when there is nothing
to compare (fewer than two pairable values: no unit had two coders) or when
chance disagreement is zero (every value given was the same, so agreement
cannot be told from having no variation at all).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

Level = Literal["nominal", "ordinal", "interval"]
Value = int | Fraction | float | str
NO_PAIRS = "fewer than two coders scored any one item"
NO_VARIATION = "every score given was the same, so agreement cannot be told from chance"


@dataclass(frozen=True)
class Alpha:
    """Krippendorff's alpha over some units: `value` None (with `reason`) when it is undefined."""

    value: Fraction | None
    units: int  # pairable units: those with at least two values
    values: int  # n: the pairable values
    reason: str = ""

    def __float__(self) -> float:
        return float("nan") if self.value is None else float(self.value)


def coincidences(units: Sequence[Sequence[Value | None]]) -> tuple[dict[tuple[Value, Value], Fraction], int]:
    """The coincidence matrix o[(c, k)] of the pairable units, and how many units were pairable."""
    matrix: dict[tuple[Value, Value], Fraction] = {}
    pairable = 0
    for unit in units:
        given = [v for v in unit if v is not None]
        m = len(given)
        if m < 2:
            continue  # a value nobody else coded cannot agree or disagree with anyone
        pairable += 1
        counts = Counter(given)
        for c, nc in counts.items():
            for k, nk in counts.items():
                pairs = nc * (nk - 1) if c == k else nc * nk  # ordered pairs from different coders
                if pairs:
                    matrix[(c, k)] = matrix.get((c, k), Fraction(0)) + Fraction(pairs, m - 1)
    return matrix, pairable


def _exact(v: Value) -> Fraction:
    return Fraction(v)


def _metric(level: Level, totals: dict[Value, Fraction]) -> Callable[[Value, Value], Fraction]:
    if level == "nominal":
        return lambda c, k: Fraction(0) if c == k else Fraction(1)
    if level == "interval":
        return lambda c, k: (_exact(c) - _exact(k)) ** 2
    # Ordinal: the distance between two values is how many values were used
    # from one to the other (half of each end's own), so only rank matters.
    order = sorted(totals, key=_exact)
    position = {v: i for i, v in enumerate(order)}
    cumulative = [Fraction(0)]
    for v in order:
        cumulative.append(cumulative[-1] + totals[v])

    def ordinal(c: Value, k: Value) -> Fraction:
        lo, hi = sorted((position[c], position[k]))
        between = cumulative[hi + 1] - cumulative[lo]
        return (between - (totals[c] + totals[k]) / 2) ** 2

    return ordinal


def alpha(units: Sequence[Sequence[Value | None]], level: Level) -> Alpha:
    """Krippendorff's alpha of `units` (each the values its coders gave, None where one gave none) at `level`."""
    matrix, pairable = coincidences(units)
    totals: dict[Value, Fraction] = {}
    for (c, _k), o in matrix.items():
        totals[c] = totals.get(c, Fraction(0)) + o
    n = sum(totals.values(), Fraction(0))
    if n < 2:
        return Alpha(None, pairable, int(n), NO_PAIRS)
    d = _metric(level, totals)
    observed = sum((o * d(c, k) for (c, k), o in matrix.items()), Fraction(0))
    expected = sum((totals[c] * totals[k] * d(c, k) for c in totals for k in totals), Fraction(0))
    if expected == 0:
        return Alpha(None, pairable, int(n), NO_VARIATION)
    return Alpha(1 - (n - 1) * observed / expected, pairable, int(n))


def median(values: Sequence[Value]) -> Fraction:
    """The middle value (the mean of the two middle ones for an even count), exactly."""
    ordered = sorted(_exact(v) for v in values)
    if not ordered:
        raise ValueError("the median of nothing")
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


@dataclass(frozen=True)
class Deviation:
    """A coder's mean signed and absolute distance from each item's consensus (its median), as a share of the scale."""

    coder: Hashable
    mean: Fraction  # below 0: scores lower (harsher) than the consensus; above: higher (more lenient)
    mean_absolute: Fraction
    n: int  # items the coder scored that had a consensus (two values or more)


def deviations(items: Sequence[tuple[dict[Hashable, Value | None], Value, Value]]) -> list[Deviation]:
    """Each coder's deviation from the consensus over `items`: (coder -> value or None, scale low, scale high).

    The consensus of an item is the median of the values given, the coder's
    own included; an item with fewer than two values has none and is skipped.
    Distances are shares of the item's scale, so a 0-2 and a 1-5 category weigh alike.
    """
    signed: dict[Hashable, list[Fraction]] = {}
    for given, low, high in items:
        present = {c: _exact(v) for c, v in given.items() if v is not None}
        span = _exact(high) - _exact(low)
        if len(present) < 2 or span <= 0:
            continue
        consensus = median(list(present.values()))
        for coder, v in present.items():
            signed.setdefault(coder, []).append((v - consensus) / span)
    return [
        Deviation(coder, sum(ds, Fraction(0)) / len(ds), sum((abs(d) for d in ds), Fraction(0)) / len(ds), len(ds))
        for coder, ds in signed.items()
    ]
