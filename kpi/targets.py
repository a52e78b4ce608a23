"""How a metric stands against its target: met, at risk, or missed.

"At risk" means within 5% of the target on the wrong side: close enough that a
lead should look now, before the next window turns it into a miss.

A target on a duration (`first_reply_median_s`) judges the figure the card
shows: callers pass the figures on the card's clock (kpi.business_hours.on_clock),
so a team with a business calendar is judged in business hours, and `--wall`
judges the same target on the wall clock.
"""

from __future__ import annotations

from typing import Literal

from kpi.definitions import BY_NAME

Status = Literal["met", "at_risk", "missed"]
AT_RISK_BAND = 0.05


def target_status(metric: str, value: float | None, target: float | None) -> Status | None:
    """None when there is no target or no value to judge."""
    if value is None or target is None or metric not in BY_NAME:
        return None
    if BY_NAME[metric].higher_is_better:
        if value >= target:
            return "met"
        return "at_risk" if value >= target * (1 - AT_RISK_BAND) else "missed"
    if value <= target:
        return "met"
    return "at_risk" if value <= target * (1 + AT_RISK_BAND) else "missed"
