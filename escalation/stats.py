"""How escalations went over a window: how many, how fast they were owned and closed, how often nobody came; who carried the pages.

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
from store.business_time import BusinessCalendar, is_open
from store.calendars import team_calendar
from store.org import Member, Org

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


def escalation_stats(
    session: Session, start: datetime, end: datetime, queue_ids: Sequence[int] | None = None, *, severity: str | None = None
) -> EscalationStats:
    query = select(Escalation).where(Escalation.created_at >= start, Escalation.created_at < end)
    if queue_ids is not None:
        query = query.where(Escalation.queue_id.in_(tuple(queue_ids)))
    if severity is not None:
        query = query.where(Escalation.severity == severity)
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


# The working week of someone with no business calendar: what "out of hours" means for their pages.
DEFAULT_HOURS = ("mon-fri 09:00-17:00",)


@dataclass(frozen=True)
class PersonLoad:
    handle: str
    name: str
    pages: int  # pages received (each page of each level, round, snooze end or reassignment)
    out_of_hours: int  # of them, outside the person's working hours
    escalations: int  # distinct escalations that paged them

    def to_json(self) -> dict[str, object]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def _working_hours(session: Session, member: Member, org: Org | None) -> BusinessCalendar:
    """The member's team calendar (or the org's); without one, weekdays 09:00-17:00 in the member's zone."""
    calendar = team_calendar(org, member.team)
    if calendar is not None:
        return calendar
    return BusinessCalendar.parse(list(DEFAULT_HOURS), member.effective_timezone(org.timezone if org else "UTC"))


def load_by_person(session: Session, start: datetime, end: datetime, queue_ids: Sequence[int] | None = None) -> list[PersonLoad]:
    """Who was paged how often in [start, end) (pages counted when sent), most paged first: on-call fairness."""
    query = (
        select(EscalationEvent.escalation_id, EscalationEvent.at, EscalationEvent.event, EscalationEvent.targets)
        .join(Escalation, Escalation.id == EscalationEvent.escalation_id)
        .where(EscalationEvent.at >= start, EscalationEvent.at < end, EscalationEvent.event.in_(("paged", "repaged", "reassigned")))
    )
    if queue_ids is not None:
        query = query.where(Escalation.queue_id.in_(tuple(queue_ids)))
    pages: dict[str, list[tuple[int, datetime]]] = {}
    for esc_id, at, _event, targets in session.execute(query):
        for handle in targets or ():
            if handle != "channel" and not handle.startswith("queue:"):
                pages.setdefault(handle, []).append((esc_id, at))
    if not pages:
        return []
    org = session.get(Org, 1)
    members = {m.handle: m for m in session.scalars(select(Member).where(Member.handle.in_(tuple(pages))))}
    found = []
    for handle, received in pages.items():
        member = members.get(handle)
        hours = _working_hours(session, member, org) if member is not None else None
        outside = sum(1 for _, at in received if hours is not None and not is_open(hours, at))
        found.append(PersonLoad(handle, member.name if member else handle, len(received), outside, len({e for e, _ in received})))
    return sorted(found, key=lambda p: (-p.pages, -p.out_of_hours, p.handle))


def stats_by_severity(session: Session, start: datetime, end: datetime, queue_ids: Sequence[int] | None = None) -> dict[str, EscalationStats]:
    """The window's figures for each severity that had an escalation."""
    severities = select(Escalation.severity).where(Escalation.created_at >= start, Escalation.created_at < end).distinct()
    if queue_ids is not None:
        severities = severities.where(Escalation.queue_id.in_(tuple(queue_ids)))
    return {sev: escalation_stats(session, start, end, queue_ids, severity=sev) for sev in sorted(session.scalars(severities))}
