"""The KPI engine: exact metrics for a team, an agent or the org over a window.

Definitions (also in the README):
- tickets_created: created_at in [start, end); tickets_solved: solved_at in [start, end).
- backlog: created before end and not solved before end.
- first_reply_*: over tickets created in the window with a first reply, first_reply_at - created_at.
- resolution_*: over tickets solved in the window, solved_at - created_at.
- first_reply_bh_* / resolution_bh_*: the same tickets, the time counted in
  business hours on each ticket's team's calendar (kpi.business_hours).
- one_touch_rate / reopen_rate / csat / sla_attainment: over tickets solved in the
  window whose field is known; a ticket with an SLA policy met its SLA when every
  target the policy measures was met by its solve (kpi.day_facts.SLA_MET), one
  without a policy as its imported sla_met says.
- qa_score / qa_pass_rate / qa_reviews: over the QA reviews made in the
  window that have a score (kpi.qa_figures).
- n_*: each figure's sample size (kpi.definitions Metric.sample): how many
  tickets a median or a rate is over.
The database returns exact integer seconds; order statistics are computed in
Python (kpi.stats) so both backends agree to the second.

Team and org figures read whole UTC days from kpi_day_facts and only the
partial first and last day (and days changed since their last count) from
the tickets; agent figures read the agent's tickets (a few thousand a year).
Both give exactly what reading every ticket gives.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter
from typing import Any

import numpy as np
from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from kpi import business_hours, qa_figures
from kpi.business_hours import Calendars
from kpi.day_facts import (
    CREATED,
    DAY_COUNTS,
    DAY_S,
    DD,
    DF,
    NO_TEAM,
    SOLVED,
    Facts,
    T,
    day_runs,
    facts_from,
)
from kpi.ticket_reads import add_tickets
from store import driver_rows
from store.base import to_epoch

Metrics = dict[str, float | int | None]
# More separate stretches of tickets than this (days changed since their
# last count): reading the window's tickets is simpler and as fast.
_MOST_RANGES = 64
# The packed durations of a kpi_day_facts row, named as Facts names them.
_PACKED_COLUMNS = ("first_reply_s", "resolution_s", "first_reply_bh_s", "resolution_bh_s")
_DAY_ROWS = 5_000  # kpi_day_facts rows per fetch: the org's year is 18,000


@dataclass(frozen=True)
class Scope:
    """Whose tickets: one team, one agent, or everyone (both ids None).

    `unassigned` with a team: the team's tickets that have no agent (the row
    that makes /kpi agents add up to the team).
    """

    team_id: int | None = None
    agent_id: int | None = None
    unassigned: bool = False

    @property
    def kind(self) -> str:
        if self.unassigned:
            return "unassigned"
        return "agent" if self.agent_id is not None else "team" if self.team_id is not None else "org"

    def condition(self) -> list[ColumnElement[bool]]:
        if self.agent_id is not None:
            return [T.agent_id == self.agent_id]
        if self.unassigned:
            return [T.agent_id.is_(None), T.team_id == self.team_id]
        if self.team_id is not None:
            return [T.team_id == self.team_id]
        return []


# A solved ticket as the engine reads it: (resolution_s, replies, reopens, csat, sla_met), sla_met as
# kpi.day_facts.SLA_MET says: its policy's targets met, or the imported value without a policy.
SolvedRow = tuple[int, int | None, int | None, str | None, bool | None]


def metrics_from(
    created: int,
    first_reply_s: Iterable[int],
    solved: Sequence[SolvedRow],
    backlog: int,
    *,
    first_reply_bh_s: Iterable[int] | None = None,
    resolution_bh_s: Iterable[int] | None = None,
) -> Metrics:
    """Every metric from the raw facts of one window (pure; shared by all queries); no QA reviews.

    The business-hours durations pair with `first_reply_s` and `solved` in
    order; left out, they are the wall-clock ones (a team around the clock).
    """
    facts = facts_from(created, first_reply_s, solved, backlog, first_reply_bh_s=first_reply_bh_s, resolution_bh_s=resolution_bh_s)
    return {**facts.metrics(), **qa_figures.EMPTY}


def compute(session: Session, scope: Scope, start: datetime, end: datetime, *, calendars: Calendars | None = None) -> Metrics:
    """All metrics for `scope` over [start, end) (aware datetimes).

    `calendars`: every team's (kpi.business_hours.load), when the caller has them already.
    """
    s, e = to_epoch(start), to_epoch(end)
    calendars = calendars or business_hours.load(session)
    facts = None
    if scope.agent_id is None and not scope.unassigned:
        facts = _from_days(session, s, e, team_id=scope.team_id, grouped=False, calendars=calendars)
    if facts is None:
        facts = _from_tickets(session, scope.condition(), s, e, by=None, calendars=calendars)
    if scope.unassigned:
        return {**facts.get(None, Facts()).metrics(), **qa_figures.EMPTY}  # a review is always of an agent
    qa = qa_figures.tallies(session, qa_figures.condition(scope.team_id, scope.agent_id), start, end)
    return {**facts.get(None, Facts()).metrics(), **qa[None].metrics()}


def compute_by_team(session: Session, start: datetime, end: datetime, *, calendars: Calendars | None = None) -> dict[int | None, Metrics]:
    """Metrics for every team at once (None: tickets without a team); each equals compute() for that team."""
    s, e = to_epoch(start), to_epoch(end)
    calendars = calendars or business_hours.load(session)
    facts = _from_days(session, s, e, team_id=None, grouped=True, calendars=calendars)
    if facts is None:
        facts = _from_tickets(session, [], s, e, by=T.team_id, calendars=calendars)
    qa = qa_figures.tallies(session, [], start, end, by=qa_figures.R.team_id)
    return {key: {**facts.get(key, Facts()).metrics(), **qa[key].metrics()} for key in facts.keys() | qa.keys()}


def compute_by_agent(
    session: Session, agent_ids: Collection[int], start: datetime, end: datetime, *, backlog: bool = True, calendars: Calendars | None = None
) -> dict[int, Metrics]:
    """Metrics for each of `agent_ids` at once; each equals compute() with Scope(agent_id=...).

    With `backlog=False` the backlogs are left at 0, and the agents' open
    tickets (every ticket they ever had, for each) are not counted.
    """
    if not agent_ids:
        return {}
    calendars = calendars or business_hours.load(session)
    where = [T.agent_id.in_(list(agent_ids))]
    facts = _from_tickets(session, where, to_epoch(start), to_epoch(end), by=T.agent_id, backlog=backlog, calendars=calendars)
    qa = qa_figures.by_agent(session, agent_ids, start, end)
    return {a: {**facts.get(a, Facts()).metrics(), **qa[a].metrics()} for a in agent_ids}


def compute_series(session: Session, scope: Scope, bounds: Sequence[datetime], *, calendars: Calendars | None = None) -> list[Metrics]:
    """Metrics for each window [bounds[i], bounds[i + 1]) at once (a trend: 30 local days).

    Each equals compute() over that window; one read of the span's tickets
    instead of a few queries per window.
    """
    edges = [to_epoch(b) for b in bounds]
    if len(edges) < 2:
        return []
    if any(a >= b for a, b in zip(edges, edges[1:], strict=False)):
        raise ValueError("bounds must increase")
    where = scope.condition()
    calendars = calendars or business_hours.load(session)
    found = None
    if scope.agent_id is None and not scope.unassigned:
        found = _series_from_days(session, edges, scope.team_id, calendars)
    if found is None:
        facts = [Facts() for _ in edges[1:]]
        _add_series_tickets(session, facts, where, edges, [(edges[0], edges[-1])], calendars)
        # Backlog at each window's end: what was open at the first bound, plus what
        # each window created, less what it solved.
        before: dict[Any, Facts] = defaultdict(Facts)
        _add_open(session, before, where, None, lambda column: column < edges[0])
        open_before = before[None].backlog
    else:
        facts, open_before = found
    for f in facts:
        open_before += f.created - f.solved
        f.backlog = open_before
    qa = qa_figures.series(session, qa_figures.condition(scope.team_id, scope.agent_id), bounds)
    return [{**f.metrics(), **q.metrics()} for f, q in zip(facts, qa, strict=True)]


def first_created_at(session: Session, scope: Scope) -> datetime | None:
    """When the scope's first ticket was created; None when it has none.

    A comparison with a window that starts before this has no earlier data to
    compare with (the change would be "everything is new").
    """
    return session.scalar(select(func.min(T.created_at)).where(*scope.condition()))


def first_activity_at(session: Session, scope: Scope) -> datetime | None:
    """When the scope's first ticket or QA review was made; None when it has neither.

    A window that ends before this has no data at all: the answer says so
    rather than showing a card of zeros.
    """
    firsts = [first_created_at(session, scope)]
    if not scope.unassigned:
        firsts.append(session.scalar(select(func.min(qa_figures.R.created_at)).where(*qa_figures.condition(scope.team_id, scope.agent_id))))
    known = [f for f in firsts if f is not None]
    return min(known) if known else None


# ---------------------------------------------------------------- from tickets


def _from_tickets(
    session: Session, where: list[ColumnElement[bool]], s: int, e: int, *, by: Any, backlog: bool = True, calendars: Calendars, stream: bool = False
) -> dict[Any, Facts]:
    """Every ticket of the window read (agents, windows shorter than a day, breakdowns: `stream` for many)."""
    facts: dict[Any, Facts] = defaultdict(Facts)
    _add_tickets(session, facts, where, [(s, e)], by, calendars, stream=stream)
    if backlog:
        _add_open(session, facts, where, by, lambda column: column < e)
    return facts


def _add_open(session: Session, facts: dict[Any, Facts], where: list[ColumnElement[bool]], by: Any, within: Any) -> None:
    """Add to each backlog the tickets created, less those solved, where `within(column)` holds.

    solved_at >= created_at is a table constraint, so "solved before end"
    implies "created before end": backlog = created before end - solved before end.
    """
    key = [by] if by is not None else []
    for column, sign in ((CREATED, 1), (SOLVED, -1)):
        stmt = select(*key, func.count()).where(*where, within(column))
        for *group, n in session.execute(stmt.group_by(by) if by is not None else stmt):
            facts[group[0] if group else None].backlog += sign * n


def _within(column: Any, ranges: list[tuple[int, int]]) -> ColumnElement[bool]:
    return or_(*(and_(column >= a, column < b) for a, b in ranges))


def _add_tickets(
    session: Session,
    facts: dict[Any, Facts],
    where: list[ColumnElement[bool]],
    ranges: list[tuple[int, int]],
    by: Any,
    calendars: Calendars,
    *,
    stream: bool = False,
) -> None:
    """Add the tickets created, and those solved, within `ranges` to `facts` (by `by`)."""
    if not ranges:
        return
    created_where, solved_where = [*where, _within(CREATED, ranges)], [*where, _within(SOLVED, ranges)]
    add_tickets(facts, session, calendars, created_where=created_where, solved_where=solved_where, key=by, stream=stream)


def _add_series_tickets(
    session: Session, facts: list[Facts], where: list[ColumnElement[bool]], edges: list[int], ranges: list[tuple[int, int]], calendars: Calendars
) -> None:
    """Add the tickets created, and those solved, within `ranges` to the window of `edges` each falls in."""
    if not ranges:
        return
    bounds_at = np.array(edges, dtype=np.int64)

    def window_of(batch: Any) -> np.ndarray:
        # A ticket created (or solved) at `at` counts in the window holding `at`.
        return np.searchsorted(bounds_at, batch.at, side="right") - 1

    by_window: dict[Any, Facts] = dict(enumerate(facts))
    created_where, solved_where = [*where, _within(CREATED, ranges)], [*where, _within(SOLVED, ranges)]
    add_tickets(by_window, session, calendars, created_where=created_where, solved_where=solved_where, bucket=window_of)


def _series_from_days(session: Session, edges: list[int], team_id: int | None, calendars: Calendars) -> tuple[list[Facts], int] | None:
    """Each window's facts from its whole, clean UTC days, and the tickets of the rest; and the backlog at the first edge.

    None when the tickets alone are the better way: no window holds a whole
    day (local days off UTC midnight), too many stretches are left to read, or
    a calendar changed since the days were counted (as in _from_days: its
    business-hours durations are recounted by the next refresh).
    """
    if calendars.stale and (team_id is None or team_id in calendars.stale):
        return None
    on_team = [DD.team_key == team_id] if team_id is not None else []
    dirty = set(session.scalars(select(DD.day).distinct().where(*on_team, DD.day < -(-edges[-1] // DAY_S))))
    whole: dict[int, int] = {}  # a day counted in kpi_day_facts -> the window it is in
    for i, (a, b) in enumerate(zip(edges, edges[1:], strict=False)):
        whole.update((d, i) for d in range(-(-a // DAY_S), b // DAY_S) if d not in dirty)
    if not whole:
        return None
    ranges, cursor = [], edges[0]
    for day in sorted(whole):
        if day * DAY_S > cursor:
            ranges.append((cursor, day * DAY_S))
        cursor = (day + 1) * DAY_S
    ranges += [(cursor, edges[-1])] if cursor < edges[-1] else []
    start_day = edges[0] // DAY_S
    counted_before = [~and_(DF.day >= a, DF.day < b) for a, b in day_runs(sorted(d for d in dirty if d < start_day))]
    before = [(a * DAY_S, b * DAY_S) for a, b in day_runs(sorted(d for d in dirty if d < start_day))]
    before += [(start_day * DAY_S, edges[0])] if edges[0] > start_day * DAY_S else []
    if len(ranges) + len(before) > _MOST_RANGES:
        return None
    facts = [Facts() for _ in edges[1:]]
    mine = [DF.team_key == team_id] if team_id is not None else []
    days = select(DF.day, *(DF[name] for name in DAY_COUNTS), *(DF[c] for c in _PACKED_COLUMNS))
    for day, *row in session.execute(days.where(*mine, DF.day >= min(whole), DF.day <= max(whole))):
        if (i := whole.get(day)) is not None:  # else a changed day, read from the tickets
            facts[i].add_totals(row[: len(DAY_COUNTS)])
            for name, packed in zip(_PACKED_COLUMNS, row[len(DAY_COUNTS) :], strict=True):
                getattr(facts[i], name).append(bytes(packed))
    where = [T.team_id == team_id] if team_id is not None else []
    _add_series_tickets(session, facts, where, edges, ranges, calendars)
    # Open at the first edge: created less solved on the counted days before it, and on the rest from the tickets.
    open_before = int(session.scalar(select(func.sum(DF.created - DF.solved)).where(*mine, DF.day < start_day, *counted_before)) or 0)
    if before:
        tickets: dict[Any, Facts] = defaultdict(Facts)
        _add_open(session, tickets, where, None, lambda column: _within(column, before))
        open_before += tickets[None].backlog
    return facts, open_before


# ---------------------------------------------------------------- from day facts


def _from_days(session: Session, s: int, e: int, *, team_id: int | None, grouped: bool, calendars: Calendars) -> dict[Any, Facts] | None:
    """A team's (or every team's) facts from whole days plus the tickets of the rest.

    None when the tickets alone are the better way: a window without a whole
    day, too many days changed since they were last counted, or a calendar
    changed since (its days are recounted by the next refresh).
    """
    first_day, end_day = -(-s // DAY_S), e // DAY_S  # whole days: first_day <= day < end_day
    if end_day <= first_day or (calendars.stale and (team_id is None or team_id in calendars.stale)):
        return None
    on_team = [DD.team_key == team_id] if team_id is not None else []
    dirty = set(session.scalars(select(DD.day).distinct().where(*on_team, DD.day < end_day)))
    inside = sorted(d for d in dirty if d >= first_day)
    edge_end = [(end_day * DAY_S, e)] if e > end_day * DAY_S else []
    window = ([(s, first_day * DAY_S)] if s < first_day * DAY_S else []) + [(a * DAY_S, b * DAY_S) for a, b in day_runs(inside)] + edge_end
    before_end = [(a * DAY_S, b * DAY_S) for a, b in day_runs(sorted(dirty))] + edge_end
    if len(window) + len(before_end) > _MOST_RANGES:
        return None

    def key(team_key: int) -> int | None:
        return (None if team_key == NO_TEAM else team_key) if grouped else None

    facts: dict[Any, Facts] = defaultdict(Facts)
    mine = [DF.team_key == team_id] if team_id is not None else []
    counted = [~and_(DF.day >= a, DF.day < b) for a, b in day_runs(sorted(dirty))]
    in_window = [*mine, DF.day >= first_day, DF.day < end_day, *counted]
    # Counts add up in the database; the durations come back packed, a day per
    # row, and are joined per team for the order statistics.
    sums = select(DF.team_key, *(func.sum(DF[name]) for name in DAY_COUNTS)).where(*in_window).group_by(DF.team_key)
    for team_key, *totals in session.execute(sums):
        facts[key(team_key)].add_totals(totals)
    # A fetch of days at a time, joined per team and column as it arrives: a
    # year of the org is four columns of a million durations, never held twice.
    days = select(DF.team_key, *(DF[c] for c in _PACKED_COLUMNS)).where(*in_window).order_by(DF.team_key, DF.day)
    # Every team's days (thousands of rows) straight from the driver; one team's
    # through the session, whose compiled statement is cached.
    batches = driver_rows.batches(session, days, _DAY_ROWS) if team_id is None else session.execute(days).partitions(_DAY_ROWS)
    for rows in batches:
        for team_key, run in itertools.groupby(rows, key=itemgetter(0)):
            found, run = facts[key(team_key)], list(run)
            for column, name in enumerate(_PACKED_COLUMNS, start=1):
                getattr(found, name).append(b"".join([row[column] for row in run]))
    # Backlog at the end: everything created minus everything solved before it,
    # a day at a time from the counted days, and from the tickets for the rest.
    open_at_end = select(DF.team_key, func.sum(DF.created - DF.solved)).where(*mine, DF.day < end_day, *counted)
    for team_key, n in session.execute(open_at_end.group_by(DF.team_key)):
        facts[key(team_key)].backlog += int(n)
    where = [T.team_id == team_id] if team_id is not None else []
    by = T.team_id if grouped else None
    _add_tickets(session, facts, where, window, by, calendars)
    if before_end:
        _add_open(session, facts, where, by, lambda column: _within(column, before_end))
    return facts

