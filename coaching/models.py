"""What coaching keeps: notes about agents, and the audit trail of every change and every private read.

Nothing is deleted from chat: a deleted note keeps its row (`deleted_at`),
and every edit keeps the text it replaced in the audit trail.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base, UTCSeconds


class CoachingNote(Base):
    __tablename__ = "coaching_notes"
    __table_args__ = (Index("ix_coaching_notes_agent", "agent_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    agent_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    text: Mapped[str] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    ticket: Mapped[str | None] = mapped_column(String(200))
    ticket_url: Mapped[str | None] = mapped_column(String(1000))
    private: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCSeconds)
    edited_at: Mapped[datetime | None] = mapped_column(UTCSeconds)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCSeconds)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCSeconds)


class CoachingAudit(Base):
    """One line of the audit trail: a note created, edited (with the text it replaced), deleted, or read while private."""

    __tablename__ = "coaching_audit"
    __table_args__ = (Index("ix_coaching_audit_note", "note_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    note_id: Mapped[int] = mapped_column(ForeignKey("coaching_notes.id"))
    at: Mapped[datetime] = mapped_column(UTCSeconds)
    by_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    action: Mapped[str] = mapped_column(String(16))  # created | edited | deleted | acknowledged | read
    before: Mapped[str | None] = mapped_column(Text)  # an edit: the text (and tags) it replaced
