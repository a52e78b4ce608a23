"""A scope's figures broken down by one property of its tickets (`/kpi team TEAM by channel`).

By a column (channel, priority, agent) the engine groups every metric, the
backlog included. By local weekday or hour every metric follows the ticket's
CREATION: a ticket created on Monday at 23:50 in the team's time zone and
solved on Tuesday counts as solved in the Monday row. Every ticket falls in
exactly one row, so the rows' counts add up to the scope's.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import fields
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from kpi import business_hours
from kpi.business_hours import Calendars
from kpi.day_facts import CREATED, SOLVED, Facts, T
from kpi.engine import Scope, _from_tickets, read_created, read_solved
from store.base import to_epoch

COLUMN_DIMENSIONS = {"channel": T.channel, "priority": T.priority, "agent": T.agent_id}
TIME_DIMENSIONS = ("weekday", "hour")
DIMENSIONS = (*COLUMN_DIMENSIONS, *TIME_DIMENSIONS)
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
# Every zone's UTC offset is a whole number of quarter hours, and so are its changes:
# one conversion per quarter hour gives each ticket's local time exactly.
_QUARTER = 900
_STREAM_ROWS = 20_000


def pooled(parts: Iterable[Facts]) -> Facts:
    """One Facts holding all of `parts`: counts add, and medians are over the pooled durations."""
    total = Facts()
    for part in parts:
        for f in fields(Facts):
            mine, theirs = getattr(total, f.name), getattr(part, f.name)
            if isinstance(mine, list):
                mine.extend(theirs)
            else:
                setattr(total, f.name, mine + theirs)
    return total


def _local_bucket(dimension: str, zone: str) -> Callable[[int], int]:
    """The local weekday (0 = Monday) or hour of an epoch second in `zone`."""
    tz = ZoneInfo(zone)
    cache: dict[int, int] = {}

    def bucket(epoch: int) -> int:
        quarter = epoch // _QUARTER
        found = cache.get(quarter)
        if found is None:
            local = datetime.fromtimestamp(quarter * _QUARTER, timezone.utc).astimezone(tz)
            found = cache[quarter] = local.weekday() if dimension == "weekday" else local.hour
        return found

    return bucket


def _by_local_time(session: Session, where: list[Any], s: int, e: int, dimension: str, zone: str, calendars: Calendars) -> dict[Any, Facts]:
    bucket = _local_bucket(dimension, zone)
    facts: dict[Any, Facts] = defaultdict(Facts)
    # Streamed (a year of an org is a million rows): never the whole result in memory at once.
    for (created,), delta, bh in read_created(session, [CREATED], [*where, CREATED >= s, CREATED < e], calendars, stream=True):
        facts[bucket(created)].add_created(delta, bh)
    for (created,), resolution, bh, *rates in read_solved(session, [CREATED], [*where, SOLVED >= s, SOLVED < e], calendars, stream=True):
        facts[bucket(created)].add_solved(resolution, *rates, resolution_bh_s=bh)
    # Open at the end: created before it and not solved before it.
    open_at_end = select(CREATED).where(*where, CREATED < e, or_(T.solved_at.is_(None), SOLVED >= e))
    for (created,) in session.execute(open_at_end.execution_options(yield_per=_STREAM_ROWS)):
        facts[bucket(created)].backlog += 1
    return facts


def breakdown(
    session: Session, scope: Scope, start: datetime, end: datetime, dimension: str, zone: str, *, calendars: Calendars | None = None
) -> dict[Any, Facts]:
    """The raw facts of `scope` over [start, end) per value of `dimension`.

    Keys: the column's value (None for none) for channel, priority and agent
    (an agent id); 0-6 (Monday first) for weekday and 0-23 for hour, local to
    `zone`. Empty channels and priorities are keyed None, like missing ones.
    """
    s, e = to_epoch(start), to_epoch(end)
    calendars = calendars or business_hours.load(session)
    if dimension in TIME_DIMENSIONS:
        return dict(_by_local_time(session, scope.condition(), s, e, dimension, zone, calendars))
    if dimension not in COLUMN_DIMENSIONS:
        raise ValueError(f"unknown dimension {dimension!r}")
    found = _from_tickets(session, scope.condition(), s, e, by=COLUMN_DIMENSIONS[dimension], calendars=calendars)
    out: dict[Any, Facts] = {}
    for key, facts in found.items():
        key = None if isinstance(key, str) and not key.strip() else key
        out[key] = pooled([out[key], facts]) if key in out else facts
    return out
