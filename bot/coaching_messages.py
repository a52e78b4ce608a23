"""Coaching messages the outbox sends: a shared note, to the agent it is about."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from coaching.models import CoachingNote
from coaching.notes import DELIVERY
from handlers.coach import delivery_reply
from handlers.reply import Reply
from store.org import Member, Org
from store.outbox import Claimed

KINDS = (DELIVERY,)


class Skip(Exception):
    """The note is gone, private now, or no longer the agent's to read."""


def compose(session: Session, row: Claimed, now: datetime) -> Reply:
    note = session.get(CoachingNote, int(row.subject.removeprefix("note-")) if row.subject.startswith("note-") else 0)
    if note is None or note.deleted_at is not None or note.private:
        raise Skip("the note was deleted before it was delivered")
    agent = session.scalar(select(Member).where(Member.id == note.agent_id))
    org = session.get(Org, 1)
    zone = agent.effective_timezone(org.timezone if org else "UTC") if agent else "UTC"
    return delivery_reply(session, note, zone)
