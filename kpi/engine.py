"""The KPI engine: exact metrics for a team, an agent or the org over a window.

Definitions (also in the README):
- tickets_created: created_at in [start, end); tickets_solved: solved_at in [start, end).
- backlog: created before end and not solved before end.
- first_reply_*: over tickets created in the window with a first reply, first_reply_at - created_at.
- resolution_*: over tickets solved in the window, solved_at - created_at.
- one_touch_rate / reopen_rate / csat / sla_attainment: over tickets solved in the
  window whose field is known.
- n_*: each figure's sample size (kpi.definitions Metric.sample): how many
  tickets a median or a rate is over.
The database returns exact integer seconds; order statistics are computed in
Python (kpi.stats) so both backends agree to the second.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, func, select, type_coerce
from sqlalchemy.orm import Session

from kpi.stats import mean, median, quantile, ratio
from kpi.tickets import Ticket

Metrics = dict[str, float | int | None]

T = Ticket.__table__.c
_CREATED = type_coerce(T.created_at, BigInteger)
_FIRST_REPLY = type_coerce(T.first_reply_at, BigInteger)
_SOLVED = type_coerce(T.solved_at, BigInteger)


@dataclass(frozen=True)
class Scope:
    """Whose tickets: one team, one agent, or everyone (both ids None)."""

    team_id: int | None = None
    agent_id: int | None = None

    @property
    def kind(self) -> str:
        return "agent" if self.agent_id is not None else "team" if self.team_id is not None else "org"

    def condition(self) -> list[ColumnElement[bool]]:
        if self.agent_id is not None:
            return [T.agent_id == self.agent_id]
        if self.team_id is not None:
            return [T.team_id == self.team_id]
        return []


# A solved ticket as the engine reads it: (resolution_s, replies, reopens, csat, sla_met).
SolvedRow = tuple[int, int | None, int | None, str | None, bool | None]


def metrics_from(created: int, first_reply_s: Iterable[int], solved: Sequence[SolvedRow], backlog: int) -> Metrics:
    """Every metric from the raw facts of one window (pure; shared by all queries)."""
    fr = sorted(first_reply_s)
    res = sorted(r[0] for r in solved)
    replies = [r[1] for r in solved if r[1] is not None]
    reopens = [r[2] for r in solved if r[2] is not None]
    rated = [r[3] for r in solved if r[3] is not None]
    sla = [r[4] for r in solved if r[4] is not None]
    return {
        "tickets_created": created,
        "tickets_solved": len(solved),
        "backlog": backlog,
        "first_reply_median_s": median(fr),
        "first_reply_p90_s": quantile(fr, 0.9),
        "first_reply_mean_s": mean(fr),
        "resolution_median_s": median(res),
        "resolution_p90_s": quantile(res, 0.9),
        "resolution_mean_s": mean(res),
        "one_touch_rate": ratio(sum(1 for n in replies if n <= 1), len(replies)),
        "reopen_rate": ratio(sum(1 for n in reopens if n >= 1), len(reopens)),
        "csat": ratio(rated.count("good"), len(rated)),
        "sla_attainment": ratio(sum(1 for ok in sla if ok), len(sla)),
        "n_first_reply": len(fr),
        "n_resolution": len(res),
        "n_one_touch": len(replies),
        "n_reopen": len(reopens),
        "n_csat": len(rated),
        "n_sla": len(sla),
    }


def _created_rows(session: Session, where: list[ColumnElement[bool]], start: datetime, end: datetime, *, by: Any = None):
    cols = [by] if by is not None else []
    stmt = select(*cols, _FIRST_REPLY - _CREATED).where(*where, T.created_at >= start, T.created_at < end)
    return session.execute(stmt)


def _solved_rows(session: Session, where: list[ColumnElement[bool]], start: datetime, end: datetime, *, by: Any = None):
    cols = [by] if by is not None else []
    stmt = select(*cols, _SOLVED - _CREATED, T.replies, T.reopens, T.csat, T.sla_met).where(
        *where, T.solved_at >= start, T.solved_at < end
    )
    return session.execute(stmt)


def _backlog(session: Session, where: list[ColumnElement[bool]], end: datetime, *, by: Any = None) -> dict[Any, int]:
    # solved_at >= created_at is a table constraint, so "solved before end"
    # implies "created before end": backlog = created before end - solved before end.
    key = [by] if by is not None else []
    created = select(*key, func.count()).where(*where, T.created_at < end)
    solved = select(*key, func.count()).where(*where, T.solved_at < end)
    if by is not None:
        created_n = dict(session.execute(created.group_by(by)).all())
        solved_n = dict(session.execute(solved.group_by(by)).all())
        return {key: n - solved_n.get(key, 0) for key, n in created_n.items()}
    return {None: (session.scalar(created) or 0) - (session.scalar(solved) or 0)}


def compute(session: Session, scope: Scope, start: datetime, end: datetime) -> Metrics:
    """All metrics for `scope` over [start, end) (aware datetimes)."""
    where = scope.condition()
    created = 0
    first_reply: list[int] = []
    for (delta,) in _created_rows(session, where, start, end):
        created += 1
        if delta is not None:
            first_reply.append(delta)
    solved: list[SolvedRow] = [tuple(row) for row in _solved_rows(session, where, start, end)]  # type: ignore[misc]
    backlog = _backlog(session, where, end)[None]
    return metrics_from(created, first_reply, solved, backlog)


def compute_by_team(session: Session, start: datetime, end: datetime) -> dict[int | None, Metrics]:
    """Metrics for every team at once (three grouped queries instead of three per team)."""
    return _compute_grouped(session, T.team_id, [], start, end)


def compute_by_agent(session: Session, agent_ids: Collection[int], start: datetime, end: datetime) -> dict[int, Metrics]:
    """Metrics for each of `agent_ids` at once; each equals compute() with Scope(agent_id=...)."""
    if not agent_ids:
        return {}
    grouped = _compute_grouped(session, T.agent_id, [T.agent_id.in_(list(agent_ids))], start, end)
    empty = metrics_from(0, [], [], 0)
    return {a: grouped.get(a, empty) for a in agent_ids}


def _compute_grouped(
    session: Session, by: Any, where: list[ColumnElement[bool]], start: datetime, end: datetime
) -> dict[Any, Metrics]:
    created: dict[Any, int] = defaultdict(int)
    first_reply: dict[Any, list[int]] = defaultdict(list)
    for key, delta in _created_rows(session, where, start, end, by=by):
        created[key] += 1
        if delta is not None:
            first_reply[key].append(delta)
    solved: dict[Any, list[SolvedRow]] = defaultdict(list)
    for row in _solved_rows(session, where, start, end, by=by):
        solved[row[0]].append(tuple(row[1:]))  # type: ignore[arg-type]
    backlog = _backlog(session, where, end, by=by)
    keys = set(created) | set(solved) | set(backlog)
    return {k: metrics_from(created.get(k, 0), first_reply.get(k, []), solved.get(k, []), backlog.get(k, 0)) for k in keys}


def first_created_at(session: Session, scope: Scope) -> datetime | None:
    """When the scope's first ticket was created; None when it has none.

    A comparison with a window that starts before this has no earlier data to
    compare with (the change would be "everything is new").
    """
    return session.scalar(select(func.min(T.created_at)).where(*scope.condition()))
