"""How escalations went over a window: how many, how fast they were owned and closed, how often nobody came.

Escalations count in the window they were opened in. Times are exact
(the KPI engine's median and linear-interpolation p90, `kpi.stats`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from escalation.models import Escalation, EscalationEvent
from kpi.stats import median, quantile

RESOLVED = ("resolved",)


@dataclass(frozen=True)
class EscalationStats:
    count: int
    acknowledged: int
    ack_median_s: float | None
    ack_p90_s: float | None
    resolved: int
    resolve_median_s: float | None
    resolve_p90_s: float | None
    first_level_ack_rate: float | None  # of the acknowledged, the share owned at the first page
    exhausted: int
    open: int

    def to_json(self) -> dict[str, object]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def _median_p90(values: list[float]) -> tuple[float | None, float | None]:
    ranked = sorted(values)
    return median(ranked), quantile(ranked, 0.9)


def escalation_stats(session: Session, start: datetime, end: datetime, queue_ids: Sequence[int] | None = None) -> EscalationStats:
    query = select(Escalation).where(Escalation.created_at >= start, Escalation.created_at < end)
    if queue_ids is not None:
        query = query.where(Escalation.queue_id.in_(tuple(queue_ids)))
    found = list(session.scalars(query))
    # The first acknowledgement counts (a reassignment may clear it and another follow).
    acks: dict[int, datetime] = {}
    if found:
        rows = session.execute(
            select(EscalationEvent.escalation_id, EscalationEvent.at)
            .where(EscalationEvent.escalation_id.in_([e.id for e in found]), EscalationEvent.event == "acknowledged")
            .order_by(EscalationEvent.id)
        ).all()
        for esc_id, at in rows:
            acks.setdefault(esc_id, at)
    ack_times = [(acks[e.id] - e.created_at).total_seconds() for e in found if e.id in acks]
    closed = [(e.closed_at - e.created_at).total_seconds() for e in found if e.state in RESOLVED and e.closed_at is not None]
    first = [e for e in found if e.acknowledged_level is not None]
    ack_m, ack_p = _median_p90(ack_times)
    res_m, res_p = _median_p90(closed)
    return EscalationStats(
        count=len(found),
        acknowledged=len(ack_times),
        ack_median_s=ack_m,
        ack_p90_s=ack_p,
        resolved=len(closed),
        resolve_median_s=res_m,
        resolve_p90_s=res_p,
        first_level_ack_rate=(sum(1 for e in first if e.acknowledged_level == 0) / len(first)) if first else None,
        exhausted=sum(1 for e in found if e.state == "exhausted"),
        open=sum(1 for e in found if e.state in ("open", "acknowledged")),
    )
