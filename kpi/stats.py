"""Exact order statistics over whole seconds, matching numpy's defaults.

Computed in Python over the exact integer durations the database returns, so
SQLite and PostgreSQL give identical answers (neither is asked to approximate).
"""

from __future__ import annotations

from collections.abc import Sequence


def quantile(sorted_values: Sequence[int | float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy.quantile's default, "linear")."""
    n = len(sorted_values)
    if n == 0:
        return None
    if not 0.0 <= q <= 1.0:
        raise ValueError("q must be within [0, 1]")
    pos = (n - 1) * q
    lo = int(pos)
    hi = min(lo + 1, n - 1)
    frac = pos - lo
    low, high = sorted_values[lo], sorted_values[hi]
    return float(low + (high - low) * frac)


def median(sorted_values: Sequence[int | float]) -> float | None:
    """The middle value; the mean of the two middle values for an even count."""
    n = len(sorted_values)
    if n == 0:
        return None
    mid = n // 2
    if n % 2:
        return float(sorted_values[mid])
    return (sorted_values[mid - 1] + sorted_values[mid]) / 2


def ratio(numerator: int, denominator: int) -> float | None:
    """A share, or None (shown as "—") when nothing was counted."""
    return numerator / denominator if denominator else None
