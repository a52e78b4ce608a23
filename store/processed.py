"""Requests already handled, so a platform's retry of one request has one effect.

A key names one delivery's identity: a Slack event id, a Slack click
(`action_ts` of the click and who made it), a Teams activity (its
conversation and id). It is inserted in the same transaction as the effect
it guards; the unique constraint makes a second delivery of the same request
fail that insert and do nothing. A different button, or the same button
pressed again later, is a different request with a different key.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base, UTCSeconds

KEY_LENGTH = 255


class ProcessedRequest(Base):
    __tablename__ = "processed_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(KEY_LENGTH), unique=True)
    platform: Mapped[str] = mapped_column(String(16))
    processed_at: Mapped[datetime] = mapped_column(UTCSeconds, index=True)


def request_key(*parts: str) -> str:
    """`parts` joined by ':', readable when it fits the column, else shortened by a digest of the whole.

    Cutting a long key short instead would make two requests that differ only
    after the cut one request, and the second would be ignored.
    """
    key = ":".join(parts)
    if len(key) <= KEY_LENGTH:
        return key
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{key[: KEY_LENGTH - len(digest) - 1]}#{digest}"
