"""Tickets read a batch at a time into Facts: durations on both clocks, rates, grouped by a key.

The engine reads tickets where the day facts do not reach (partial days,
agents, breakdowns, a trend's days). Each batch of rows becomes numpy arrays
once: the first reply and resolution on the wall clock, the same in business
hours on each ticket's team calendar (kpi.business_hours, one vectorised pass
per calendar), and the fields the rates read, as numbers. The batch is
then split by its group (a team, an agent, a channel, a day of a trend, a
local hour) and each part added to its Facts at once: no Python work per
ticket beyond reading its row.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session

from kpi.business_hours import Calendars
from kpi.day_facts import CREATED, FIRST_REPLY, SLA_MET, SOLVED, Facts, T
from store import driver_rows

STREAM_ROWS = 20_000  # tickets per batch (and per fetch, when streamed)
_UNKNOWN = -1
# The fields the rates read, as whole numbers (-1: unknown), so a row is numbers only:
# replies, reopens, csat (1 good, 0 bad), sla_met (1 met, 0 missed; as kpi.day_facts.SLA_MET
# says: the policy's targets, or the imported value without a policy). Every column
# fetched costs per row, so the rates' flags are worked out from these in numpy.
_RATE_FIELDS = (
    func.coalesce(T.replies, _UNKNOWN),
    func.coalesce(T.reopens, _UNKNOWN),
    case((T.csat == "good", 1), (T.csat == "bad", 0), else_=_UNKNOWN),
    case((SLA_MET.is_(True), 1), (SLA_MET.is_(False), 0), else_=_UNKNOWN),
)


def _rate_counts(fields: np.ndarray) -> list[int]:
    """The rate counts of solved tickets (rows of _RATE_FIELDS), in RATE_COUNTS order."""
    replies, reopens, csat, sla = (fields[:, i] for i in range(4))
    return [
        int(np.count_nonzero(replies >= 0)), int(np.count_nonzero((replies >= 0) & (replies <= 1))),
        int(np.count_nonzero(reopens >= 0)), int(np.count_nonzero(reopens >= 1)),
        int(np.count_nonzero(csat >= 0)), int(np.count_nonzero(csat == 1)),
        int(np.count_nonzero(sla >= 0)), int(np.count_nonzero(sla == 1)),
    ]  # fmt: skip


@dataclass(frozen=True)
class _Created:
    keys: list[Any] | None  # the key column's value per row (None: no key)
    created: np.ndarray
    answered: np.ndarray  # bool: has a first reply
    first_reply_s: np.ndarray  # meaningless where not answered
    first_reply_bh_s: np.ndarray

    @property
    def at(self) -> np.ndarray:
        """When each ticket counts (its creation)."""
        return self.created

    def add_to(self, facts: Facts, rows: np.ndarray | slice) -> None:
        answered = self.answered[rows]
        facts.add_created_many(int(answered.size), self.first_reply_s[rows][answered], self.first_reply_bh_s[rows][answered])


@dataclass(frozen=True)
class _Solved:
    keys: list[Any] | None
    created: np.ndarray
    solved: np.ndarray
    resolution_s: np.ndarray
    resolution_bh_s: np.ndarray
    fields: np.ndarray  # (rows, 4): _RATE_FIELDS

    @property
    def at(self) -> np.ndarray:
        """When each ticket counts (its solve)."""
        return self.solved

    def add_to(self, facts: Facts, rows: np.ndarray | slice) -> None:
        facts.add_solved_many(self.resolution_s[rows], self.resolution_bh_s[rows], _rate_counts(self.fields[rows]))


def _fetch(session: Session, stmt: Any, stream: bool) -> Iterator[Sequence[Any]]:
    """The rows of `stmt` a batch at a time.

    `stream` (a read of many tickets): straight from the driver, through a
    server-side cursor on PostgreSQL (store.driver_rows). Otherwise (a day's
    edge, an agent's month) through the session, whose compiled statements
    are cached: compiling anew would cost more than a few hundred rows.
    """
    if stream:
        return driver_rows.batches(session, stmt, STREAM_ROWS, stream=True)
    return session.execute(stmt).partitions(STREAM_ROWS)


def _numbers(rows: Sequence[Any], first: int, width: int) -> np.ndarray:
    """Columns first..first+width-1 of `rows` (whole numbers, never NULL) as an int64 matrix."""
    flat = np.fromiter(itertools.chain.from_iterable(r[first : first + width] for r in rows), dtype=np.int64, count=len(rows) * width)
    return flat.reshape(len(rows), width)


def _created_batches(session: Session, key: Any, where: Sequence[ColumnElement[bool]], calendars: Calendars, stream: bool) -> Iterator[_Created]:
    lead = [key] if key is not None else []
    stmt = select(*lead, func.coalesce(T.team_id, 0), CREATED, func.coalesce(FIRST_REPLY, _UNKNOWN)).where(*where)
    for rows in _fetch(session, stmt, stream):
        m = _numbers(rows, len(lead), 3)
        team, created, reply = m[:, 0], m[:, 1], m[:, 2]
        answered = reply != _UNKNOWN
        reply = np.where(answered, reply, created)  # no reply: no time, on either clock
        yield _Created([r[0] for r in rows] if lead else None, created, answered, reply - created, calendars.seconds(team, created, reply))


def _solved_batches(session: Session, key: Any, where: Sequence[ColumnElement[bool]], calendars: Calendars, stream: bool) -> Iterator[_Solved]:
    lead = [key] if key is not None else []
    stmt = select(*lead, func.coalesce(T.team_id, 0), CREATED, SOLVED, *_RATE_FIELDS).where(*where)
    for rows in _fetch(session, stmt, stream):
        m = _numbers(rows, len(lead), 3 + len(_RATE_FIELDS))
        team, created, solved = m[:, 0], m[:, 1], m[:, 2]
        yield _Solved([r[0] for r in rows] if lead else None, created, solved, solved - created, calendars.seconds(team, created, solved), m[:, 3:])


def _groups(keys: np.ndarray | list[Any]) -> Iterator[tuple[Any, np.ndarray]]:
    """(key, the rows holding it) for each key of a batch."""
    if isinstance(keys, np.ndarray):
        order = np.argsort(keys, kind="stable")
        found, starts = np.unique(keys[order], return_index=True)
        for value, rows in zip(found.tolist(), np.split(order, starts[1:]), strict=True):
            yield value, rows
        return
    rows_of: dict[Any, list[int]] = {}
    for i, value in enumerate(keys):
        rows_of.setdefault(value, []).append(i)
    for value, rows in rows_of.items():
        yield value, np.array(rows, dtype=np.intp)


# How a batch's rows are grouped, besides by the key column: a function of the
# batch (its `at`: when each ticket counts; `created`: when it was created).
Bucket = Callable[[Any], np.ndarray]


def add_tickets(
    facts: dict[Any, Facts],
    session: Session,
    calendars: Calendars,
    *,
    created_where: Sequence[ColumnElement[bool]],
    solved_where: Sequence[ColumnElement[bool]],
    key: Any = None,
    bucket: Bucket | None = None,
    stream: bool = False,
) -> None:
    """Add the tickets created where `created_where` holds, and those solved where `solved_where` holds.

    Grouped by the column `key` (facts[value]), by `bucket(batch)` (an int
    per row, e.g. the trend window of its `created` or `solved`), or not at all
    (facts[None]). `stream` fetches a batch at a time (an org's year).
    """
    for batches in (_created_batches(session, key, created_where, calendars, stream), _solved_batches(session, key, solved_where, calendars, stream)):
        for batch in batches:
            if bucket is not None:
                for value, rows in _groups(bucket(batch)):
                    batch.add_to(facts[value], rows)
            elif batch.keys is not None:
                for value, rows in _groups(batch.keys):
                    batch.add_to(facts[value], rows)
            else:
                batch.add_to(facts[None], slice(None))
