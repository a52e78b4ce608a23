"""Where a bot can reach people proactively: stored conversation references.

Teams only lets a bot post into a conversation it has seen (or creates a 1:1
chat with a user it knows), so every channel, group chat and personal chat
the bot sees is remembered here, with the user ids needed to open a 1:1.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base, UTCSeconds


class ConversationRef(Base):
    __tablename__ = "conversation_refs"
    __table_args__ = (UniqueConstraint("platform", "conversation_id", name="uq_conversation_refs_platform_conversation"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    conversation_id: Mapped[str] = mapped_column(String(512))
    kind: Mapped[str] = mapped_column(String(16))  # personal | channel | groupChat
    channel_key: Mapped[str | None] = mapped_column(String(256), index=True)  # Teams channel id, for team posts
    user_key: Mapped[str | None] = mapped_column(String(64), index=True)  # AAD object id, for personal chats
    tenant_id: Mapped[str | None] = mapped_column(String(64))
    service_url: Mapped[str] = mapped_column(String(512))
    reference: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCSeconds)


class ChatUser(Base):
    """A platform user id (Teams "29:…") for an AAD object id, to open a 1:1 chat with them."""

    __tablename__ = "chat_users"
    __table_args__ = (UniqueConstraint("platform", "user_key", name="uq_chat_users_platform_user_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    user_key: Mapped[str] = mapped_column(String(64))  # AAD object id
    platform_user_id: Mapped[str] = mapped_column(String(256))
    tenant_id: Mapped[str | None] = mapped_column(String(64))
    service_url: Mapped[str] = mapped_column(String(512))
    email: Mapped[str | None] = mapped_column(String(320))
    updated_at: Mapped[datetime] = mapped_column(UTCSeconds)
