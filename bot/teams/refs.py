"""Storing and finding Teams conversation references and user ids (blocking DB calls)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from botbuilder.core import TurnContext
from botbuilder.schema import Activity, ConversationReference
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from store.conversations import ChatUser, ConversationRef
from store.database import Database
from store.engine import write_with_retry
from store.org import Member

PLATFORM = "teams"


def channel_key(conversation_id: str) -> str:
    """A channel conversation id without its thread suffix (";messageid=…")."""
    return conversation_id.split(";", 1)[0]


def remember(db: Database, activity: Activity, now: datetime, *, user_key: str | None = None) -> None:
    """Upsert the conversation the activity came from, and the sender's Teams user id.

    `user_key` names the AAD user of a personal chat the bot just created
    (that turn has no sender to read it from). Safe to call from concurrent
    turns of the same conversation.
    """
    conversation = activity.conversation
    if conversation is None or not activity.service_url:
        return
    # SQLite takes turns (BEGIN IMMEDIATE); on PostgreSQL a concurrent turn may insert
    # the same conversation or person first, and the retry updates that row.
    write_with_retry(db.sessions, lambda s: _store(s, activity, conversation, now, user_key))


def _store(s: Session, activity: Activity, conversation: Any, now: datetime, user_key: str | None) -> None:
    reference = TurnContext.get_conversation_reference(activity)
    kind = conversation.conversation_type or "personal"
    channel_data = activity.channel_data or {}
    tenant = (channel_data.get("tenant") or {}).get("id") or getattr(conversation, "tenant_id", None)
    sender = activity.from_property
    aad = getattr(sender, "aad_object_id", None) if sender else None
    aad = aad if kind != "personal" or user_key is None else user_key
    key = channel_key(conversation.id) if kind == "channel" else conversation.id
    ref = s.scalar(select(ConversationRef).where(ConversationRef.platform == PLATFORM, ConversationRef.conversation_id == key))
    if ref is None:
        ref = ConversationRef(platform=PLATFORM, conversation_id=key)
        s.add(ref)
    ref.kind = kind
    ref.channel_key = key if kind == "channel" else None
    ref.user_key = aad if kind == "personal" else None
    ref.tenant_id = tenant
    ref.service_url = activity.service_url
    stored: dict[str, Any] = reference.serialize()
    if kind == "channel":
        # Post new messages to the channel, not into the thread this came from.
        stored["conversation"] = {**stored.get("conversation", {}), "id": key}
        stored.pop("activityId", None)
    ref.reference = stored
    ref.updated_at = now
    if sender is not None and aad and sender.id:
        remember_user(s, aad, sender.id, tenant, activity.service_url, None, now)


def remember_user(session: Any, aad: str, user_id: str, tenant: str | None, service_url: str, email: str | None, now: datetime) -> None:
    user = session.scalar(select(ChatUser).where(ChatUser.platform == PLATFORM, ChatUser.user_key == aad))
    if user is None:
        user = ChatUser(platform=PLATFORM, user_key=aad)
        session.add(user)
    user.platform_user_id = user_id
    user.tenant_id = tenant
    user.service_url = service_url
    user.email = email or user.email
    user.updated_at = now


def reference_for_channel(db: Database, teams_channel: str) -> ConversationReference | None:
    with db.sessions() as s:
        ref = s.scalar(
            select(ConversationRef).where(ConversationRef.platform == PLATFORM, ConversationRef.channel_key == channel_key(teams_channel))
        )
        return ConversationReference().deserialize(ref.reference) if ref else None


def reference_for_user(db: Database, aad: str) -> ConversationReference | None:
    with db.sessions() as s:
        ref = s.scalar(
            select(ConversationRef)
            .where(ConversationRef.platform == PLATFORM, ConversationRef.kind == "personal", ConversationRef.user_key == aad)
            .order_by(ConversationRef.updated_at.desc())
            .limit(1)
        )
        return ConversationReference().deserialize(ref.reference) if ref else None


def chat_user(db: Database, aad: str) -> ChatUser | None:
    with db.sessions() as s:
        return s.scalar(select(ChatUser).where(ChatUser.platform == PLATFORM, ChatUser.user_key == aad))


def any_service(db: Database, tenant: str | None) -> tuple[str, str | None] | None:
    """A service URL (and tenant) the bot has used, to open new chats in the same tenant."""
    with db.sessions() as s:
        query = select(ConversationRef).where(ConversationRef.platform == PLATFORM)
        if tenant:
            query = query.where(ConversationRef.tenant_id == tenant)
        ref = s.scalar(query.order_by(ConversationRef.updated_at.desc()).limit(1))
        return (ref.service_url, ref.tenant_id) if ref else None


def member_handle(db: Database, aad: str | None, email: str | None) -> str | None:
    """The member whose teams_id is the AAD object id, else whose email matches."""
    with db.sessions() as s:
        active = Member.active.is_(True)
        if aad:
            handle = s.scalar(select(Member.handle).where(Member.teams_id == aad, active))
            if handle:
                return handle
        if email:
            return s.scalar(select(Member.handle).where(func.lower(Member.email) == email.lower(), active))
        return None
