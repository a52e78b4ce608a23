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

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from kpi.day_facts import CREATED, FIRST_REPLY, SLA_MET, SOLVED, Facts, T
from kpi.engine import Scope, _from_tickets
from store.base import to_epoch

# By sla: the policy version each ticket kept (handlers group a policy's versions).
COLUMN_DIMENSIONS = {"channel": T.channel, "priority": T.priority, "agent": T.agent_id, "sla": T.sla_policy_id}
TIME_DIMENSIONS = ("weekday", "hour")
DIMENSIONS = (*COLUMN_DIMENSIONS, *TIME_DIMENSIONS, "tag")
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
# Every zone's UTC offset is a whole number of quarter hours, and so are its changes:
# one conversion per quarter hour gives each ticket's local time exactly.
_QUARTER = 900
_STREAM_ROWS = 20_000
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


def _streamed(session: Session, where: list[Any], s: int, e: int, column: Any, keys: Callable[[Any], Iterable[Any]]) -> dict[Any, Facts]:
    """Facts per key, each ticket added to the rows `keys(its column value)` names (a ticket's tags: several).

    Streamed (a year of an org is a million rows): never the whole result in memory at once.
    """
    facts: dict[Any, Facts] = defaultdict(Facts)
    for value, delta in session.execute(select(column, FIRST_REPLY - CREATED).where(*where, CREATED >= s, CREATED < e).execution_options(yield_per=_STREAM_ROWS)):
        for key in keys(value):
            facts[key].add_created(delta)
    solved = select(column, SOLVED - CREATED, T.replies, T.reopens, T.csat, SLA_MET).where(*where, SOLVED >= s, SOLVED < e)
    for value, *rest in session.execute(solved.execution_options(yield_per=_STREAM_ROWS)):
        for key in keys(value):
            facts[key].add_solved(*rest)
    # Open at the end: created before it and not solved before it.
    open_at_end = select(column).where(*where, CREATED < e, or_(T.solved_at.is_(None), SOLVED >= e))
    for (value,) in session.execute(open_at_end.execution_options(yield_per=_STREAM_ROWS)):
        for key in keys(value):
            facts[key].backlog += 1
    return facts


def _by_local_time(session: Session, where: list[Any], s: int, e: int, dimension: str, zone: str) -> dict[Any, Facts]:
    bucket = _local_bucket(dimension, zone)
    return _streamed(session, where, s, e, CREATED, lambda created: (bucket(created),))


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


def by_tag(session: Session, scope: Scope, start: datetime, end: datetime, top: int) -> TagBreakdown:
    """The facts of `scope` over [start, end) per tag; see TagBreakdown."""
    s, e, where = to_epoch(start), to_epoch(end), scope.condition()
    found = _streamed(session, where, s, e, T.tags, lambda text: (*_tags_of(text), _ALL))
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
        other = _streamed(session, where, s, e, T.tags, lambda text: (_OTHER,) if text and not hidden.isdisjoint(text.split()) else ()).get(_OTHER, Facts())
    return TagBreakdown(rows, other, len(rest), total)


def breakdown(session: Session, scope: Scope, start: datetime, end: datetime, dimension: str, zone: str) -> dict[Any, Facts]:
    """The raw facts of `scope` over [start, end) per value of `dimension`.

    Keys: the column's value (None for none) for channel, priority, agent
    (an agent id) and sla (a policy version id); 0-6 (Monday first) for weekday and 0-23 for hour, local to
    `zone`. Empty channels and priorities are keyed None, like missing ones.
    """
    s, e = to_epoch(start), to_epoch(end)
    if dimension in TIME_DIMENSIONS:
        return dict(_by_local_time(session, scope.condition(), s, e, dimension, zone))
    if dimension not in COLUMN_DIMENSIONS:
        raise ValueError(f"unknown dimension {dimension!r}")
    found = _from_tickets(session, scope.condition(), s, e, by=COLUMN_DIMENSIONS[dimension])
    out: dict[Any, Facts] = {}
    for key, facts in found.items():
        key = None if isinstance(key, str) and not key.strip() else key
        out[key] = pooled([out[key], facts]) if key in out else facts
    return out
