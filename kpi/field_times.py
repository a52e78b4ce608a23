"""When each ticket field was last set by a webhook event, so a late event cannot undo a newer one.

Helpdesks deliver events out of order (retries, parallel workers). A field
takes the value of its latest event by `at`; this table remembers, per ticket
and field, the event that set the value the ticket holds: its `at`, its
life-cycle rank and its id, the three parts of the order in which events
count (kpi.events.event_order). A row survives restarts, so an event that
arrives a day late is still recognised as stale.

Rows exist only for fields an event set; a ticket written by an import has
none and takes the first event for each field as it comes.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base, UTCSeconds


class TicketFieldTime(Base):
    __tablename__ = "ticket_field_times"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True, autoincrement=False)
    # "status", "csat", "priority", ... and two bookkeeping rows: "closed_at"
    # (the earliest close, a solve time only while there is no solve) and
    # "replied" (the latest reply, which opens a ticket still new at that time).
    field: Mapped[str] = mapped_column(String(32), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCSeconds)
    rank: Mapped[int] = mapped_column(Integer)
    event_id: Mapped[str] = mapped_column(String(128))
    # The value the event gave, where the ticket's column holds something
    # derived from it: the explicit status (a reply turns "new" into "open")
    # and the creation time a `created` event named (before the ticket's
    # created_at is clamped to never come after its first reply or solve).
    value: Mapped[str | None] = mapped_column(String(40))
