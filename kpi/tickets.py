"""The tickets table: one row per helpdesk ticket, with the fields KPIs need.

Times are UTC, stored as epoch seconds (see store.base.UTCSeconds).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from store.ticket_fields import PRIORITIES, STORED_LENGTH
from store.base import Base, UTCSeconds
from store.org import Member, Team
from store.sla_policies import SlaPolicy

STATUSES = ("new", "open", "pending", "on_hold", "solved", "closed")
CSAT_VALUES = ("good", "bad")
# The tickets waiting for a first reply, and for a solve, that have a due time (the partial indexes).
_WAITING_REPLY = "first_reply_due_at IS NOT NULL AND first_reply_at IS NULL AND solved_at IS NULL"
_WAITING_SOLVE = "resolution_due_at IS NOT NULL AND solved_at IS NULL"
# Ticket times outside 1970–2100 are typos or placeholders, not history.
EARLIEST_EPOCH, LATEST_EPOCH = 0, 4_102_444_800


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        UniqueConstraint("source", "external_id", name="uq_tickets_source_external_id"),
        CheckConstraint(
            "status IN ('new', 'open', 'pending', 'on_hold', 'solved', 'closed')", name="status"
        ),
        CheckConstraint("priority IN ('low', 'normal', 'high', 'urgent')", name="priority"),
        CheckConstraint("csat IN ('good', 'bad')", name="csat"),
        CheckConstraint("solved_at IS NULL OR solved_at >= created_at", name="solved_after_created"),
        CheckConstraint(
            "first_reply_at IS NULL OR first_reply_at >= created_at", name="reply_after_created"
        ),
        # Team and agent windows by creation and by solve time; the org-wide ones too.
        Index("ix_tickets_team_created", "team_id", "created_at"),
        Index("ix_tickets_team_solved", "team_id", "solved_at"),
        Index("ix_tickets_agent_created", "agent_id", "created_at"),
        Index("ix_tickets_agent_solved", "agent_id", "solved_at"),
        Index("ix_tickets_created", "created_at"),
        Index("ix_tickets_solved", "solved_at"),
        # "Open tickets of team T due before X" (breach warnings, /kpi sla): only
        # tickets still waiting for that target are in them, a few per agent.
        Index(
            "ix_tickets_first_reply_due",
            "team_id",
            "first_reply_due_at",
            sqlite_where=text(_WAITING_REPLY),
            postgresql_where=text(_WAITING_REPLY),
        ),
        Index(
            "ix_tickets_resolution_due",
            "team_id",
            "resolution_due_at",
            sqlite_where=text(_WAITING_SOLVE),
            postgresql_where=text(_WAITING_SOLVE),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str] = mapped_column(String(128))
    subject: Mapped[str | None] = mapped_column(String(500))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    status: Mapped[str] = mapped_column(String(16), default="new")
    priority: Mapped[str | None] = mapped_column(String(16))
    channel: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCSeconds)
    first_reply_at: Mapped[datetime | None] = mapped_column(UTCSeconds)
    solved_at: Mapped[datetime | None] = mapped_column(UTCSeconds)
    replies: Mapped[int | None] = mapped_column(Integer)
    reopens: Mapped[int | None] = mapped_column(Integer)
    csat: Mapped[str | None] = mapped_column(String(8))
    sla_met: Mapped[bool | None] = mapped_column(Boolean)
    # Sorted, space-separated (store.ticket_fields): `billing refund vip`; None for none.
    tags: Mapped[str | None] = mapped_column(String(STORED_LENGTH))
    # The SLA policy version the ticket matched when csbot first recorded it
    # (kpi.sla), and when its targets fall due; None: no policy, or no such target.
    sla_policy_id: Mapped[int | None] = mapped_column(ForeignKey("sla_policies.id"))
    first_reply_due_at: Mapped[datetime | None] = mapped_column(UTCSeconds)
    resolution_due_at: Mapped[datetime | None] = mapped_column(UTCSeconds)

    team: Mapped[Team | None] = relationship()
    agent: Mapped[Member | None] = relationship()
    sla_policy: Mapped[SlaPolicy | None] = relationship()


class TicketEvent(Base):
    """A webhook event already applied; its unique (source, event id) makes replays harmless."""

    __tablename__ = "ticket_events"
    __table_args__ = (UniqueConstraint("source", "event_id", name="uq_ticket_events_source_event_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[str] = mapped_column(String(128))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    type: Mapped[str] = mapped_column(String(32))
    occurred_at: Mapped[datetime] = mapped_column(UTCSeconds)
    received_at: Mapped[datetime] = mapped_column(UTCSeconds)
    # Older (by `at`) than what the ticket already held for a field it sets:
    # recorded so a replay is still recognised, and that field left alone.
    stale: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
