"""Which day a scheduled post covers, in a working week.

A team's digest days are its working days. A post made on a working day
covers the last working day before it, and summarises the days in between
that were not working days: a `mon-fri` team's Monday post is Friday's
scorecard with the weekend's volume, and a `daily` team's post is always the
day before with nothing to summarise.

Closed days (public holidays, a company shutdown) are not working days either:
the digests pass their calendar's (`store.calendars`) as `closed`, and every
digest (team, org roll-up, subscriptions) follows, because they all ask
`coverage` which day to show.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, timedelta

# The longest run of days off looked through for the last working day (a long
# holiday shutdown included); beyond it a post covers the day before.
LOOKBACK_DAYS = 31


@dataclass(frozen=True)
class Coverage:
    """What one post covers: its day, and the days off after it that it sums up."""

    day: date  # the working day whose figures the post shows
    summarised: tuple[date, ...] = ()  # the days between `day` and the post that were not working days, in order

    @property
    def after_days_off(self) -> bool:
        return bool(self.summarised)


def is_working(day: date, weekdays: Collection[int], closed: Collection[date] = ()) -> bool:
    """Whether `day` is a working day: one of `weekdays` (Mon=0) and not `closed`."""
    return day.weekday() in weekdays and day not in closed


def coverage(post_day: date, weekdays: Collection[int], closed: Collection[date] = ()) -> Coverage:
    """Which day a post made on `post_day` covers, and which non-working days it summarises.

    `weekdays` are the working days of the week (Mon=0; the digest's `days`),
    `closed` the dates that are not worked although their weekday is.
    """
    for back in range(1, LOOKBACK_DAYS + 1):
        day = post_day - timedelta(days=back)
        if is_working(day, weekdays, closed):
            return Coverage(day, tuple(day + timedelta(days=n) for n in range(1, back)))
    return Coverage(post_day - timedelta(days=1))


__all__ = ["Coverage", "coverage", "is_working"]
