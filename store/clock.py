"""Injectable time: everything that asks "what time is it" takes a Clock.

Tests and `csbot ask --at` pass a fixed or movable clock instead of sleeping.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(timezone.utc)


def fixed_clock(at: datetime) -> Clock:
    if at.tzinfo is None:
        raise ValueError("a clock needs a timezone-aware time")
    return lambda: at
