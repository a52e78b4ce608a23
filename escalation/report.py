"""What an escalation's timeline says after the fact: who was paged when, how long until someone owned it and until it ended.

The facts of a postmortem draft (`/escalation report ESC-n`), read from the
timeline alone, so a report written a month later says what happened then,
whatever the org file says now.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from escalation.models import Escalation, EscalationEvent

PAGING = ("paged", "repaged")


@dataclass(frozen=True)
class Page:
    at: datetime
    handle: str  # "channel" for the queue's channel
    where: str  # "level 2, round 2" as the timeline wrote it


@dataclass(frozen=True)
class Report:
    opened_at: datetime
    first_page_at: datetime | None
    acknowledged_at: datetime | None  # the first acknowledgement
    acknowledged_by: int | None  # member id; None when a system acknowledged it
    acknowledged_via: str | None  # the system, when one did
    closed_at: datetime | None
    closed_state: str | None  # resolved | cancelled | exhausted
    closed_by: int | None
    pages: list[Page] = field(default_factory=list)
    notes: list[tuple[datetime, str, str]] = field(default_factory=list)  # (at, event, note) written by people or systems
    held_s: float = 0.0  # time held outside working hours before the first page

    @property
    def to_acknowledge_s(self) -> float | None:
        return (self.acknowledged_at - self.opened_at).total_seconds() if self.acknowledged_at else None

    @property
    def to_close_s(self) -> float | None:
        return (self.closed_at - self.opened_at).total_seconds() if self.closed_at else None

    @property
    def people_paged(self) -> list[str]:
        seen: list[str] = []
        for page in self.pages:
            if page.handle not in seen:
                seen.append(page.handle)
        return seen


def report_of(session: Session, esc: Escalation) -> Report:
    events = list(session.scalars(select(EscalationEvent).where(EscalationEvent.escalation_id == esc.id).order_by(EscalationEvent.id)))
    pages: list[Page] = []
    notes: list[tuple[datetime, str, str]] = []
    ack: EscalationEvent | None = None
    closed: EscalationEvent | None = None
    for event in events:
        if event.event in PAGING or (event.event == "reassigned" and event.targets and not event.targets[0].startswith("queue:")):
            where = (event.note or "").split(";")[0] if event.event in PAGING else "reassigned"
            pages += [Page(event.at, handle, where) for handle in event.targets]
        elif event.event == "acknowledged" and ack is None:
            ack = event
        elif event.event in ("resolved", "cancelled", "exhausted"):
            closed = event
        if event.event in ("created", "resolved", "cancelled", "triggered") and event.note:
            notes.append((event.at, event.event, event.note))
    first_page = pages[0].at if pages else None
    return Report(
        opened_at=esc.created_at,
        first_page_at=first_page,
        acknowledged_at=ack.at if ack else None,
        acknowledged_by=ack.by_id if ack else None,
        acknowledged_via=ack.source if ack else None,
        closed_at=closed.at if closed else None,
        closed_state=closed.event if closed else None,
        closed_by=closed.by_id if closed else None,
        pages=pages,
        notes=notes,
        held_s=(first_page - esc.created_at).total_seconds() if first_page and any(e.event == "held" for e in events) else 0.0,
    )


__all__ = ["Page", "Report", "report_of"]
