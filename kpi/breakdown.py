"""A scope's figures broken down by one property of its tickets (`/kpi team TEAM by channel`).

By a column (channel, priority, agent) the engine groups every metric, the
backlog included. By local weekday or hour every metric follows the ticket's
CREATION: a ticket created on Monday at 23:50 in the team's time zone and
solved on Tuesday counts as solved in the Monday row. Every ticket falls in
exactly one row, so the rows' counts add up to the scope's. By tag a ticket
counts in the row of each of its tags (tickets without any in a row of their
own), so those rows add up to more than the scope (`by_tag`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from kpi import business_hours
from kpi.business_hours import Calendars
from kpi.day_facts import CREATED, SOLVED, Facts, T
from kpi.engine import Scope, _from_tickets
from kpi.ticket_reads import STREAM_ROWS, add_tickets
from store.base import to_epoch

# By sla: the policy version each ticket kept (handlers group a policy's versions).
COLUMN_DIMENSIONS = {"channel": T.channel, "priority": T.priority, "agent": T.agent_id, "sla": T.sla_policy_id}
TIME_DIMENSIONS = ("weekday", "hour")
DIMENSIONS = (*COLUMN_DIMENSIONS, *TIME_DIMENSIONS, "tag")
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
# Every zone's UTC offset is a whole number of quarter hours, and so are its changes:
# one conversion per quarter hour gives each ticket's local time exactly.
_QUARTER = 900
# Row keys no tag can be (a tag is text): every ticket once, and the tickets of tags not shown.
_ALL, _OTHER = 0, 1


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


def _local_buckets(dimension: str, zone: str) -> Callable[[np.ndarray], np.ndarray]:
    """The local weekday (0 = Monday) or hour, in `zone`, of each epoch second of an array."""
    tz = ZoneInfo(zone)
    cache: dict[int, int] = {}

    def bucket(quarter: int) -> int:
        found = cache.get(quarter)
        if found is None:
            local = datetime.fromtimestamp(quarter * _QUARTER, timezone.utc).astimezone(tz)
            found = cache[quarter] = local.weekday() if dimension == "weekday" else local.hour
        return found

    def buckets(at: np.ndarray) -> np.ndarray:
        # A batch spans few quarter hours: each converted once, then looked up for every row.
        quarters, rows = np.unique(at // _QUARTER, return_inverse=True)
        return np.array([bucket(q) for q in quarters.tolist()], dtype=np.int64)[rows]

    return buckets


def _by_local_time(session: Session, where: list[Any], s: int, e: int, dimension: str, zone: str, calendars: Calendars) -> dict[Any, Facts]:
    buckets = _local_buckets(dimension, zone)
    facts: dict[Any, Facts] = defaultdict(Facts)
    # Streamed (a year of an org is a million rows): never the whole result in memory at once.
    add_tickets(
        facts, session, calendars,
        created_where=[*where, CREATED >= s, CREATED < e], solved_where=[*where, SOLVED >= s, SOLVED < e],
        bucket=lambda batch: buckets(batch.created), stream=True,
    )  # fmt: skip
    # Open at the end: created before it and not solved before it.
    open_at_end = select(CREATED).where(*where, CREATED < e, or_(T.solved_at.is_(None), SOLVED >= e))
    for rows in session.execute(open_at_end.execution_options(yield_per=STREAM_ROWS)).partitions(STREAM_ROWS):
        found, counts = np.unique(buckets(np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))), return_counts=True)
        for value, n in zip(found.tolist(), counts.tolist(), strict=True):
            facts[value].backlog += n
    return facts


def _streamed(
    session: Session, where: list[Any], s: int, e: int, column: Any, keys: Callable[[Any], Iterable[Any]], calendars: Calendars
) -> dict[Any, Facts]:
    """Facts per key, each ticket added to the rows `keys(its column value)` names (a ticket's tags: several).

    The tickets are read per value of `column` (streamed: a year of an org is
    a million rows), on both clocks (kpi.ticket_reads), then each value's
    facts pooled into every row its keys name.
    """
    by_value: dict[Any, Facts] = defaultdict(Facts)
    add_tickets(
        by_value, session, calendars,
        created_where=[*where, CREATED >= s, CREATED < e], solved_where=[*where, SOLVED >= s, SOLVED < e], key=column, stream=True,
    )  # fmt: skip
    # Open at the end: created before it and not solved before it.
    open_at_end = select(column, func.count()).where(*where, CREATED < e, or_(T.solved_at.is_(None), SOLVED >= e)).group_by(column)
    for value, n in session.execute(open_at_end):
        by_value[value].backlog += n
    parts: dict[Any, list[Facts]] = defaultdict(list)
    for value, facts in by_value.items():
        for key in keys(value):
            parts[key].append(facts)
    return {key: pooled(found) for key, found in parts.items()}


def _tags_of(text: str | None) -> list[str | None]:
    return text.split() if text else [None]


@dataclass
class TagBreakdown:
    """A scope's facts per tag over a window: a ticket counts in the row of each of its tags.

    `rows`: the `top` tags with most tickets created (then solved, then open)
    and None (tickets without tags); `other`: every ticket with a tag not
    shown (each once, however many such tags it has), and how many tags that
    is; `total`: every ticket once, so the rows add up to more than it.
    """

    rows: dict[str | None, Facts]
    other: Facts | None
    others: int
    total: Facts


def by_tag(session: Session, scope: Scope, start: datetime, end: datetime, top: int, *, calendars: Calendars | None = None) -> TagBreakdown:
    """The facts of `scope` over [start, end) per tag; see TagBreakdown."""
    s, e, where = to_epoch(start), to_epoch(end), scope.condition()
    calendars = calendars or business_hours.load(session)
    found = _streamed(session, where, s, e, T.tags, lambda text: (*_tags_of(text), _ALL), calendars)
    total = found.pop(_ALL, Facts())
    untagged = found.pop(None, None)
    ranked = sorted(found, key=lambda tag: (-found[tag].created, -found[tag].solved, -found[tag].backlog, tag))
    shown, rest = (ranked, []) if len(ranked) <= top + 1 else (ranked[:top], ranked[top:])
    rows: dict[str | None, Facts] = {tag: found[tag] for tag in shown}
    if untagged is not None:
        rows[None] = untagged
    other = None
    if rest:
        # Again over the window: a ticket with two of the other tags is one ticket of the other row.
        hidden = frozenset(rest)
        hidden_facts = _streamed(session, where, s, e, T.tags, lambda text: (_OTHER,) if text and not hidden.isdisjoint(text.split()) else (), calendars)
        other = hidden_facts.get(_OTHER, Facts())
    return TagBreakdown(rows, other, len(rest), total)


def breakdown(
    session: Session, scope: Scope, start: datetime, end: datetime, dimension: str, zone: str, *, calendars: Calendars | None = None
) -> dict[Any, Facts]:
    """The raw facts of `scope` over [start, end) per value of `dimension`.

    Keys: the column's value (None for none) for channel, priority, agent
    (an agent id) and sla (a policy version id); 0-6 (Monday first) for weekday and 0-23 for hour, local to
    `zone`. Empty channels and priorities are keyed None, like missing ones.
    """
    s, e = to_epoch(start), to_epoch(end)
    calendars = calendars or business_hours.load(session)
    if dimension in TIME_DIMENSIONS:
        return dict(_by_local_time(session, scope.condition(), s, e, dimension, zone, calendars))
    if dimension not in COLUMN_DIMENSIONS:
        raise ValueError(f"unknown dimension {dimension!r}")
    found = _from_tickets(session, scope.condition(), s, e, by=COLUMN_DIMENSIONS[dimension], calendars=calendars, stream=True)
    out: dict[Any, Facts] = {}
    for key, facts in found.items():
        key = None if isinstance(key, str) and not key.strip() else key
        out[key] = pooled([out[key], facts]) if key in out else facts
    return out
