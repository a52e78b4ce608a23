"""Personal scorecard subscriptions: a member's own copy of a scorecard, by direct message, at their time."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from store.base import Base, UTCSeconds
from store.org import Member

# What one can subscribe to besides a team (by key).
ORG, ME = "org", "me"


class Subscription(Base):
    __tablename__ = "subscriptions"
    __table_args__ = (UniqueConstraint("member_id", "subject", name="uq_subscriptions_member_subject"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    subject: Mapped[str] = mapped_column(String(64))  # a team key, "org" or "me"
    time: Mapped[str] = mapped_column(String(5))  # "HH:MM" in the member's own time zone, working days
    created_at: Mapped[datetime] = mapped_column(UTCSeconds)

    member: Mapped[Member] = relationship()
