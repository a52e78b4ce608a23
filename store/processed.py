"""Requests already handled, so a platform's retry or a double click has one effect.

A key (Slack event id, `action:message ts:user`, Teams activity id) is
inserted in the same transaction as the effect it guards; the unique
constraint makes a second delivery fail that insert and do nothing.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base, UTCSeconds


class ProcessedRequest(Base):
    __tablename__ = "processed_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    platform: Mapped[str] = mapped_column(String(16))
    processed_at: Mapped[datetime] = mapped_column(UTCSeconds, index=True)
