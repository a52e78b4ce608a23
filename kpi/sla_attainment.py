"""SLA attainment per policy: of the tickets created in a window, how many achieved their targets, breached one, or are still open within them.

Each ticket with a policy (kpi.sla) is judged on the targets its policy
measures (first reply, resolution; next reply is not measured), as of the end
of the window (its `until`: now, for a window still running), so a past
window's figures never change:

- a target is **met** when its event (the first reply, the solve) came by its
  due time, and by the end; a solve before any reply meets the first reply
  target (the customer has their answer);
- a target is **breached** when its due time passed before the end without
  its event by then;
- otherwise it is **pending**: due after the end, its event not there yet.

A ticket **achieved** its SLA when every measured target is met, **breached**
it when any is breached, and is **open within** it otherwise. Tickets whose
policy measures neither target are not counted (`n` is achieved + breached +
open within). The counts are the database's (one grouped query), so a year of
the organisation is not read ticket by ticket.

The cards' `sla_attainment` is another figure: over tickets *solved* in the
window, like every rate of the card (kpi.day_facts.SLA_MET).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case, func, literal, or_, select
from sqlalchemy.orm import Session

from kpi.day_facts import ANSWERED, CREATED, FIRST_REPLY_DUE, RESOLUTION_DUE, SOLVED, T
from kpi.engine import Scope
from store.base import to_epoch


@dataclass
class Attainment:
    achieved: int = 0
    breached: int = 0
    open_within: int = 0

    @property
    def n(self) -> int:
        return self.achieved + self.breached + self.open_within

    @property
    def rate(self) -> float | None:
        """Achieved among those decided (achieved or breached); None when none is."""
        decided = self.achieved + self.breached
        return self.achieved / decided if decided else None

    def as_data(self) -> dict[str, int]:
        return {"achieved": self.achieved, "breached": self.breached, "open_within": self.open_within, "n": self.n}


def total(parts: Iterable[Attainment]) -> Attainment:
    out = Attainment()
    for part in parts:
        out.achieved += part.achieved
        out.breached += part.breached
        out.open_within += part.open_within
    return out


def _conditions(end: int) -> tuple[object, object]:
    """(breached, achieved) for a ticket, as of `end` (epoch seconds)."""
    until = literal(end)
    replied = ANSWERED
    breached = or_(
        and_(FIRST_REPLY_DUE.is_not(None), FIRST_REPLY_DUE < until, or_(replied.is_(None), replied > FIRST_REPLY_DUE)),
        and_(RESOLUTION_DUE.is_not(None), RESOLUTION_DUE < until, or_(SOLVED.is_(None), SOLVED > RESOLUTION_DUE)),
    )
    achieved = and_(
        or_(FIRST_REPLY_DUE.is_(None), and_(replied <= until, replied <= FIRST_REPLY_DUE)),
        or_(RESOLUTION_DUE.is_(None), and_(SOLVED <= until, SOLVED <= RESOLUTION_DUE)),
    )
    return breached, achieved


def by_policy(session: Session, scope: Scope, start: datetime, end: datetime) -> dict[int, Attainment]:
    """Per policy version id: the attainment of `scope`'s tickets created in [start, end), as of `end`."""
    s, e = to_epoch(start), to_epoch(end)
    breached, achieved = _conditions(e)
    measured = or_(FIRST_REPLY_DUE.is_not(None), RESOLUTION_DUE.is_not(None))
    counts = select(
        T.sla_policy_id,
        func.sum(case((breached, 1), else_=0)),
        func.sum(case((and_(achieved, ~breached), 1), else_=0)),
        func.count(),
    ).where(*scope.condition(), CREATED >= s, CREATED < e, T.sla_policy_id.is_not(None), measured)
    out: dict[int, Attainment] = {}
    for policy_id, n_breached, n_achieved, n in session.execute(counts.group_by(T.sla_policy_id)):
        out[policy_id] = Attainment(int(n_achieved or 0), int(n_breached or 0), int(n) - int(n_achieved or 0) - int(n_breached or 0))
    return out
