"""Escalation queues as the org file defines them: who answers, on which schedules, under which policy.

A queue missing from the file is deactivated, never deleted: its
escalations keep pointing at it. Schedules and the policy are stored as
the file wrote them (`store.escalation_file` checked them); the
`escalation` package reads them into rotations and policies.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base


class EscalationQueue(Base):
    __tablename__ = "escalation_queues"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    slack_channel: Mapped[str | None] = mapped_column(String(64))
    teams_channel: Mapped[str | None] = mapped_column(String(256))
    schedules: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    policy: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    position: Mapped[int] = mapped_column(Integer, default=0)  # the file's order (for listings)
    # Every change of its escalations is POSTed here, signed (bot/escalation_webhook.py); None: not sent.
    webhook_url: Mapped[str | None] = mapped_column(String(1000))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Announcing who is on call in its channel (store.announce_spec): {at: "mon 09:00", on: "handoff", timezone}; None: never.
    announce: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    def __repr__(self) -> str:
        return f"EscalationQueue({self.key!r})"
