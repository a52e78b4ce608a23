"""Numbers as people read them in chat: `1h 12m`, `93.4%`, `—` for no value."""

from __future__ import annotations

from kpi.definitions import BY_NAME, judgement

NONE = "—"


def duration(seconds: float | None) -> str:
    """`45s`, `3m 20s`, `1h 12m`, `2d 4h` (two most significant units)."""
    if seconds is None:
        return NONE
    total = int(round(seconds))
    sign = "-" if total < 0 else ""
    total = abs(total)
    days, rem = divmod(total, 86400)
    hours, rem = divmod(rem, 3600)
    minutes, secs = divmod(rem, 60)
    if days:
        text = f"{days}d {hours}h" if hours else f"{days}d"
    elif hours:
        text = f"{hours}h {minutes}m" if minutes else f"{hours}h"
    elif minutes:
        text = f"{minutes}m {secs}s" if secs else f"{minutes}m"
    else:
        text = f"{secs}s"
    return sign + text


def percent(rate: float | None) -> str:
    if rate is None:
        return NONE
    return f"{rate * 100:.1f}%"


def metric_value(name: str, value: float | None) -> str:
    if value is None:
        return NONE
    unit = BY_NAME[name].unit
    if unit == "seconds":
        return duration(value)
    if unit == "rate":
        return percent(value)
    return f"{int(value):,}"


def change(name: str, value: float | None, previous: float | None) -> str:
    """The change against the previous window: direction, size in the metric's unit, and
    whether that is better or worse (`▼ 4m 10s better`), in words that survive plain text."""
    if value is None or previous is None:
        return NONE
    delta = value - previous
    if delta == 0:
        return "= same"
    arrow = "▲" if delta > 0 else "▼"
    unit = BY_NAME[name].unit
    if unit == "seconds":
        size = duration(abs(delta))
    elif unit == "rate":
        size = f"{abs(delta) * 100:.1f} pts"
    else:
        size = f"{abs(int(delta)):,}"
    verdict = judgement(name, value, previous)
    return f"{arrow} {size}" + (f" {verdict}" if verdict else "")


def with_sample(name: str, value: float | None, n: int | None) -> str:
    """A median or a rate with the count it is over: `83.3% (n=42)`, so 2 ratings read differently from 200."""
    text = metric_value(name, value)
    if BY_NAME[name].sample is None or n is None or value is None:
        return text  # no value, nothing it is over
    return f"{text} (n={n:,})"
