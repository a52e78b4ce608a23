"""Acknowledge links in e-mailed pages: each works once, recorded here.

A link is used by inserting its row (the outbox row of the e-mail it came
in) with "do nothing on conflict": of any number of clicks at once, on any
replica, on SQLite or PostgreSQL, exactly one insert wins, and only that one
acknowledges.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from store.base import Base, UTCSeconds


class UsedEmailLink(Base):
    __tablename__ = "used_email_links"

    # The e-mail's outbox row: one link per e-mail, so a resent copy's link is the same link.
    link_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    escalation_id: Mapped[int] = mapped_column(ForeignKey("escalations.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    used_at: Mapped[datetime] = mapped_column(UTCSeconds)


def use_link(session: Session, link_id: int, escalation_id: int, member_id: int, now: datetime) -> bool:
    """Record the link as used; False when it was used before (by this click's twin or an earlier one)."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = (
        insert(UsedEmailLink)
        .values(link_id=link_id, escalation_id=escalation_id, member_id=member_id, used_at=now)
        .on_conflict_do_nothing(index_elements=["link_id"])
        .returning(UsedEmailLink.link_id)
    )
    return session.execute(stmt).first() is not None


def link_used(session: Session, link_id: int) -> UsedEmailLink | None:
    return session.get(UsedEmailLink, link_id)
