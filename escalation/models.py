"""What the escalation engine keeps: escalations, their timelines, and on-call overrides.

An escalation row is the whole state the sweep needs (state, level, loop,
the policy as it was when the escalation began, when it next acts), so a
restart loses nothing: the next sweep picks up where the last one left.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base, UTCSeconds

STATES = ("open", "acknowledged", "resolved", "cancelled", "exhausted")
OPEN_STATES = ("open", "acknowledged")


class Escalation(Base):
    __tablename__ = "escalations"
    __table_args__ = (Index("ix_escalations_due", "state", "next_action_at"), Index("ix_escalations_dedup", "queue_id", "dedup_key"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    queue_id: Mapped[int] = mapped_column(ForeignKey("escalation_queues.id"), index=True)
    ticket: Mapped[str] = mapped_column(String(200))  # the reference as csbot shows it: "#12345", "T-123"
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))  # when csbot has the ticket
    ticket_url: Mapped[str | None] = mapped_column(String(1000))
    severity: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default="open")
    level: Mapped[int] = mapped_column(Integer, default=0)  # index into the policy's levels
    loop: Mapped[int] = mapped_column(Integer, default=0)  # how many times the levels have run before this pass
    policy: Mapped[dict[str, Any]] = mapped_column(JSON)  # the queue's policy when the escalation began
    rotation: Mapped[int] = mapped_column(Integer, default=0)  # which round_robin target is this escalation's turn
    paged: Mapped[list[str]] = mapped_column(JSON, default=list)  # handles paged at the current level
    # None when a system opened it through the Events API; `source` then names that system.
    requester_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    created_at: Mapped[datetime] = mapped_column(UTCSeconds)
    # When the sweep next acts (the next level, a snooze ending); None once nothing is left to do.
    next_action_at: Mapped[datetime | None] = mapped_column(UTCSeconds)
    repage: Mapped[bool] = mapped_column(Boolean, default=False)  # the next action pages this level again (after a snooze)
    snoozes: Mapped[int] = mapped_column(Integer, default=0)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCSeconds)
    acknowledged_level: Mapped[int | None] = mapped_column(Integer)  # level (counted over loops) at which it was acknowledged
    closed_at: Mapped[datetime | None] = mapped_column(UTCSeconds)
    source_url: Mapped[str | None] = mapped_column(String(1000))  # the chat message it was escalated from
    # "queue:ticket" while the escalation is open, else NULL: one open escalation per ticket and queue.
    open_key: Mapped[str | None] = mapped_column(String(300), unique=True)
    version: Mapped[int] = mapped_column(Integer, default=0)  # compare-and-set: every change bumps it
    # Events API: the sender's dedup key (acknowledge and resolve find the escalation by it),
    # its `payload.source`, and what else it sent (custom details, links), bounded.
    dedup_key: Mapped[str | None] = mapped_column(String(255))
    source: Mapped[str | None] = mapped_column(String(255))
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    @property
    def label(self) -> str:
        return f"ESC-{self.id}"


class EscalationEvent(Base):
    """One line of an escalation's timeline: who did what, when, to whom."""

    __tablename__ = "escalation_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    escalation_id: Mapped[int] = mapped_column(ForeignKey("escalations.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCSeconds)
    event: Mapped[str] = mapped_column(String(32))
    by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    targets: Mapped[list[str]] = mapped_column(JSON, default=list)
    note: Mapped[str | None] = mapped_column(Text)
    # Who acted when no member did: "Grafana (Events API)".
    source: Mapped[str | None] = mapped_column(String(300))


class OncallOverride(Base):
    """`/oncall cover`: `member_id` is on call for a queue's schedule from `start_at` to `end_at` (exclusive)."""

    __tablename__ = "oncall_overrides"
    __table_args__ = (Index("ix_oncall_overrides_window", "queue_id", "schedule", "end_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    queue_id: Mapped[int] = mapped_column(ForeignKey("escalation_queues.id"))
    schedule: Mapped[str] = mapped_column(String(64))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    start_at: Mapped[datetime] = mapped_column(UTCSeconds)
    end_at: Mapped[datetime] = mapped_column(UTCSeconds)
    created_by: Mapped[int] = mapped_column(ForeignKey("members.id"))
    created_at: Mapped[datetime] = mapped_column(UTCSeconds)
    removed_at: Mapped[datetime | None] = mapped_column(UTCSeconds)
    removed_by: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    swap_id: Mapped[int | None] = mapped_column(ForeignKey("oncall_swaps.id"))  # the accepted swap that made it
    # replace: on call instead of whoever is; add: on call beside them; remove: taken off (escalation.rotations).
    kind: Mapped[str] = mapped_column(String(8), default="replace", server_default="replace")


SWAP_STATES = ("pending", "accepted", "declined")


class OncallSwap(Base):
    """`/oncall swap`: `requester` asks `other` to swap who is on call over [start_at, end_at) of one schedule."""

    __tablename__ = "oncall_swaps"
    __table_args__ = (Index("ix_oncall_swaps_other_state", "other_id", "state"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    queue_id: Mapped[int] = mapped_column(ForeignKey("escalation_queues.id"))
    schedule: Mapped[str] = mapped_column(String(64))
    requester_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    other_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    start_at: Mapped[datetime] = mapped_column(UTCSeconds)
    end_at: Mapped[datetime] = mapped_column(UTCSeconds)
    reason: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[datetime] = mapped_column(UTCSeconds)
    decided_at: Mapped[datetime | None] = mapped_column(UTCSeconds)


class RoutingKey(Base):
    """A queue's Events API integration key, stored as its SHA-256 only; `revoked_at` once rotated or revoked."""

    __tablename__ = "escalation_routing_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    queue_id: Mapped[int] = mapped_column(ForeignKey("escalation_queues.id"), index=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    hint: Mapped[str] = mapped_column(String(8))  # the key's last characters, to tell keys apart
    created_at: Mapped[datetime] = mapped_column(UTCSeconds)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("members.id"))  # None: from the command line
    revoked_at: Mapped[datetime | None] = mapped_column(UTCSeconds)
    revoked_by: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    last_used_at: Mapped[datetime | None] = mapped_column(UTCSeconds)


class InboundEvent(Base):
    """One Events API event csbot accepted, and what it did with it (opened, added, acknowledged, resolved, ignored)."""

    __tablename__ = "escalation_inbound_events"
    __table_args__ = (Index("ix_escalation_inbound_events_key_at", "key_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_id: Mapped[int] = mapped_column(ForeignKey("escalation_routing_keys.id"))
    at: Mapped[datetime] = mapped_column(UTCSeconds)
    action: Mapped[str] = mapped_column(String(16))
    dedup_key: Mapped[str] = mapped_column(String(255))
    outcome: Mapped[str] = mapped_column(String(16))
    escalation_id: Mapped[int | None] = mapped_column(ForeignKey("escalations.id"))
    summary: Mapped[str | None] = mapped_column(String(1024))


class PersonalCalendar(Base):
    """A member's personal on-call calendar link: only a generation counter, the link itself is derived.

    The token in the link is an HMAC of (member, generation) under a secret
    csbot keeps (escalation.calendar_tokens), so csbot can show the link again
    whenever its owner asks; rotating adds one to `generation`, and every
    link made with a lower generation stops working at once.
    """

    __tablename__ = "oncall_personal_calendars"

    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), primary_key=True)
    generation: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCSeconds)
    rotated_at: Mapped[datetime | None] = mapped_column(UTCSeconds)


class OncallPlan(Base):
    """`/oncall plan`: a temporary schedule; over [start_at, end_at) `members` take turns in `shift`s from its start
    (the schedule's wall clock), instead of the schedule's layers."""

    __tablename__ = "oncall_plans"
    __table_args__ = (Index("ix_oncall_plans_window", "queue_id", "schedule", "end_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    queue_id: Mapped[int] = mapped_column(ForeignKey("escalation_queues.id"))
    schedule: Mapped[str] = mapped_column(String(64))
    start_at: Mapped[datetime] = mapped_column(UTCSeconds)
    end_at: Mapped[datetime] = mapped_column(UTCSeconds)
    members: Mapped[list[str]] = mapped_column(JSON)  # handles, in turn
    shift: Mapped[str] = mapped_column(String(16))  # 1d, 12h, …
    created_by: Mapped[int] = mapped_column(ForeignKey("members.id"))
    created_at: Mapped[datetime] = mapped_column(UTCSeconds)
    removed_at: Mapped[datetime | None] = mapped_column(UTCSeconds)
    removed_by: Mapped[int | None] = mapped_column(ForeignKey("members.id"))


class OncallStretch(Base):
    """Recorded history (escalation.history): `member_id` was on call for a queue's schedule over [start_at, end_at).

    Written as time passes from the effective timeline of that moment and
    never recomputed, so a later edit of the org file or removal of a cover
    does not rewrite who was on call.
    """

    __tablename__ = "oncall_history"
    __table_args__ = (
        UniqueConstraint("queue_id", "schedule", "member_id", "start_at", name="uq_oncall_history_stretch"),
        Index("ix_oncall_history_window", "queue_id", "schedule", "end_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    queue_id: Mapped[int] = mapped_column(ForeignKey("escalation_queues.id"))
    schedule: Mapped[str] = mapped_column(String(64))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    start_at: Mapped[datetime] = mapped_column(UTCSeconds)
    end_at: Mapped[datetime] = mapped_column(UTCSeconds)


class OncallRecorded(Base):
    """A stretch of time over which a schedule's history was recorded; the latest one's `end_at` is how far it has got.

    Outside these spans nothing is known (before recording began, an
    outage longer than the catch-up, a time the schedule was not in the
    file); inside them, a time with no OncallStretch had nobody on call.
    """

    __tablename__ = "oncall_history_spans"
    __table_args__ = (UniqueConstraint("queue_id", "schedule", "start_at", name="uq_oncall_history_spans_start"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    queue_id: Mapped[int] = mapped_column(ForeignKey("escalation_queues.id"))
    schedule: Mapped[str] = mapped_column(String(64))
    start_at: Mapped[datetime] = mapped_column(UTCSeconds)
    end_at: Mapped[datetime] = mapped_column(UTCSeconds)
    # The schedule (or its queue) left the file: never extended again; if it comes back, a new span begins.
    closed: Mapped[bool] = mapped_column(Boolean, default=False)
