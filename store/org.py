"""The organisation model: the org itself, its teams and their members."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from store.base import Base, UTCSeconds

ROLES = ("agent", "lead", "manager", "admin")
# Higher rank may do everything a lower rank may.
ROLE_RANK = {role: rank for rank, role in enumerate(ROLES)}


class Org(Base):
    """The single organisation this deployment serves (row id 1)."""

    __tablename__ = "org"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, default=1)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))
    # The org roll-up, sent to every manager and admin by direct message.
    digest_time: Mapped[str | None] = mapped_column(String(5))  # "HH:MM" in the org's time zone
    digest_days: Mapped[str | None] = mapped_column(String(64))
    # The org file's `escalation` routing: {default_queue: KEY, routes: [{match, queue}]} (queues are rows of their own).
    escalation: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The org file's `calendars` as written ([CalendarSpec.as_dict()]), and the one teams use unless they name another.
    calendars: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    calendar: Mapped[str | None] = mapped_column(String(64))


class Team(Base):
    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))
    slack_channel: Mapped[str | None] = mapped_column(String(64))
    teams_channel: Mapped[str | None] = mapped_column(String(256))
    digest_time: Mapped[str | None] = mapped_column(String(5))  # "HH:MM" in the team's time zone
    digest_days: Mapped[str | None] = mapped_column(String(64))  # e.g. "mon-fri" or "mon,wed,fri"
    digest_weekly: Mapped[str | None] = mapped_column(String(3))  # "mon": the weekly scorecard that morning too
    targets: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # KPI alert rules by metric (store.org_file reads them): direction, threshold, window_s, min_n, for_s
    alerts: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=dict)
    # A calendar key of the org's, "none" (around the clock), or None: the org's calendar.
    calendar: Mapped[str | None] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    members: Mapped[list[Member]] = relationship(back_populates="team")

    def __repr__(self) -> str:
        return f"Team({self.key!r})"


class Member(Base):
    __tablename__ = "members"
    __table_args__ = (CheckConstraint("role IN ('agent', 'lead', 'manager', 'admin')", name="role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    handle: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    slack_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    teams_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)
    role: Mapped[str] = mapped_column(String(16), default="agent")
    timezone: Mapped[str | None] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Set when `org apply` deactivates the member; their tickets stay theirs.
    deactivated_at: Mapped[datetime | None] = mapped_column(UTCSeconds)

    team: Mapped[Team | None] = relationship(back_populates="members")

    def at_least(self, role: str) -> bool:
        """True when this member's role is `role` or above."""
        return ROLE_RANK[self.role] >= ROLE_RANK[role]

    def effective_timezone(self, org_timezone: str = "UTC") -> str:
        if self.timezone:
            return self.timezone
        if self.team is not None:
            return self.team.timezone
        return org_timezone

    def __repr__(self) -> str:
        return f"Member({self.handle!r}, {self.role})"
