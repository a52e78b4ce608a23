"""Numbers as people read them in chat: `1h 12m`, `93.4%`, `—` for no value."""

from __future__ import annotations

from kpi.business_hours import Clock
from kpi.definitions import BY_NAME, judgement

NONE = "—"


def duration(seconds: float | None, *, days: bool = True) -> str:
    """`45s`, `3m 20s`, `1h 0m 30s`, `1d 0h 25m`: the three most significant units.

    Three, not two: with two, 1 day 25 minutes reads `1d`, the same as a target
    of one day it is missing. Trailing zero units are left out (`2h`, `1d 4h`).
    `days=False` counts hours past 24 (`38h 55m`): business hours, where a
    day of 24 of them would read as one working day.
    """
    if seconds is None:
        return NONE
    total = int(round(seconds))
    sign = "-" if total < 0 else ""
    total = abs(total)
    days, rem = divmod(total, 86400) if days else (0, total)
    hours, rem = divmod(rem, 3600)
    minutes, secs = divmod(rem, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "m"), (secs, "s")]
    first = next((i for i, (n, _) in enumerate(parts) if n), len(parts) - 1)
    shown = parts[first : first + 3]
    while len(shown) > 1 and shown[-1][0] == 0:
        shown.pop()
    return sign + " ".join(f"{n}{unit}" for n, unit in shown)


def percent(rate: float | None) -> str:
    if rate is None:
        return NONE
    return f"{rate * 100:.1f}%"


def metric_value(name: str, value: float | None, clock: Clock = "wall") -> str:
    """A figure as people read it; a duration in business hours (`clock`) in hours, never days."""
    if value is None:
        return NONE
    unit = BY_NAME[name].unit
    if unit == "seconds":
        return duration(value, days=clock == "wall")
    if unit == "rate":
        return percent(value)
    return f"{round(value):,}"


def change(name: str, value: float | None, previous: float | None, *, judged: bool = True, clock: Clock = "wall") -> str:
    """The change against the previous window: direction, size in the metric's unit, and
    whether that is better or worse (`▼ 4m 10s better`), in words that survive plain text.

    `judged=False` leaves the verdict out (counts over spans of different lengths).
    """
    if value is None or previous is None:
        return NONE
    delta = value - previous
    unit = BY_NAME[name].unit
    if unit == "seconds":
        size = duration(abs(delta), days=clock == "wall")
    elif unit == "rate":
        size = f"{abs(delta) * 100:.1f} pts"
    else:
        # Rounded as durations are: a count against an average (73 vs 64.29) is ▲ 9, not ▲ 8.
        size = f"{round(abs(delta)):,}"
    if delta == 0 or size in ("0s", "0.0 pts", "0"):
        return "= same"  # a change too small to show is no change to a reader
    arrow = "▲" if delta > 0 else "▼"
    verdict = judgement(name, value, previous) if judged else None
    return f"{arrow} {size}" + (f" {verdict}" if verdict else "")


def with_sample(name: str, value: float | None, n: int | None, clock: Clock = "wall") -> str:
    """A median or a rate with the count it is over: `83.3% (n=42)`, so 2 ratings read differently from 200."""
    text = metric_value(name, value, clock)
    if BY_NAME[name].sample is None or n is None or value is None:
        return text  # no value, nothing it is over
    return f"{text} (n={n:,})"


def a_or_an(word: str) -> str:
    """`word` with its indefinite article: `an admin`, `an agent`, `a lead`, `a manager`."""
    return f"{'an' if word[:1].lower() in 'aeiou' else 'a'} {word}"
