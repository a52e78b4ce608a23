"""Coaching notes: written by whoever looks after an agent, shared with the agent or private, changed only by their author for a day.

Every change and every read of a private note by someone other than its
author goes into the audit trail; nothing is ever removed from the database.
Who may see what is `coaching.visibility`'s one rule set.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from coaching.models import CoachingAudit, CoachingNote
from coaching.visibility import may_see
from store.org import Member
from store.outbox import Planned, member_recipients, plan

MAX_TEXT = 4000
EDIT_WINDOW = timedelta(hours=24)
TAG = re.compile(r"^#[a-z0-9][a-z0-9_-]{0,31}$")
MAX_TAGS = 10


class NoteError(ValueError):
    """The note cannot be written or changed as asked; the message says why and how."""


def check_text(text: str) -> str:
    text = text.strip()
    if not text:
        raise NoteError("Write the note itself after the agent, e.g. /coach @alice great save on the refund call #empathy")
    if len(text) > MAX_TEXT:
        raise NoteError(f"The note is {len(text):,} characters long; at most {MAX_TEXT:,}. Keep it to what you would say in a one-on-one.")
    return text


def check_tags(words: Sequence[str]) -> list[str]:
    """`#empathy` style tags, lowercased and without repeats; NoteError naming a malformed one."""
    tags: list[str] = []
    for word in words:
        tag = word.strip().lower()
        if not TAG.match(tag):
            raise NoteError(f"{word!r} is not a tag: write # and a word of letters, digits, - or _ (up to 32), e.g. #empathy")
        if tag[1:] not in tags:
            tags.append(tag[1:])
    if len(tags) > MAX_TAGS:
        raise NoteError(f"{len(tags)} tags; at most {MAX_TAGS}.")
    return tags


def _audit(session: Session, note: CoachingNote, by: Member, action: str, now: datetime, before: str | None = None) -> None:
    session.add(CoachingAudit(note_id=note.id, at=now, by_id=by.id, action=action, before=before))


def add(
    session: Session,
    author: Member,
    agent: Member,
    text: str,
    *,
    tags: Sequence[str] = (),
    ticket: str | None = None,
    ticket_url: str | None = None,
    private: bool = False,
    now: datetime,
) -> CoachingNote:
    note = CoachingNote(
        author_id=author.id, agent_id=agent.id, text=check_text(text), tags=list(tags), ticket=ticket, ticket_url=ticket_url, private=private, created_at=now
    )
    session.add(note)
    session.flush()
    _audit(session, note, author, "created", now)
    return note


def changeable(note: CoachingNote | None, by: Member, now: datetime) -> CoachingNote:
    """The note, when `by` may still change it; NoteError otherwise, saying the same whether or not it exists."""
    if note is None or note.author_id != by.id or note.deleted_at is not None or now - note.created_at > EDIT_WINDOW:
        raise NoteError("There is no note of yours with that number that can still be changed: a note can be edited or deleted by its author for 24 hours.")
    return note


def edit(session: Session, note: CoachingNote, by: Member, text: str, tags: Sequence[str], now: datetime) -> CoachingNote:
    """Change the text and tags; an acknowledgement was of the old text, so the agent is asked again."""
    changeable(note, by, now)
    before = json.dumps({"text": note.text, "tags": note.tags}, ensure_ascii=False)
    note.text, note.tags, note.edited_at, note.acknowledged_at = check_text(text), list(tags), now, None
    _audit(session, note, by, "edited", now, before)
    agent = session.get(Member, note.agent_id)
    if agent is not None:
        session.flush()
        deliver(session, note, agent, now, occurrence=f"edit-{int(now.timestamp())}")
    return note


def wrote_about(session: Session, author: Member, agent: Member) -> bool:
    """Whether `author` wrote a note about `agent` (the author always sees their own notes)."""
    return session.scalar(select(CoachingNote.id).where(CoachingNote.author_id == author.id, CoachingNote.agent_id == agent.id).limit(1)) is not None


def delete(session: Session, note: CoachingNote, by: Member, now: datetime) -> CoachingNote:
    changeable(note, by, now)
    note.deleted_at = now
    _audit(session, note, by, "deleted", now)
    return note


def acknowledge(session: Session, note: CoachingNote, by: Member, now: datetime) -> bool:
    """The agent has read it: True the first time (compare-and-set), False when it was already acknowledged."""
    won = session.execute(
        update(CoachingNote)
        .where(CoachingNote.id == note.id, CoachingNote.acknowledged_at.is_(None))
        .values(acknowledged_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(note)
    if won:
        _audit(session, note, by, "acknowledged", now)
    return bool(won)


def visible(session: Session, viewer: Member, agent: Member, *, since: datetime | None = None, until: datetime | None = None, tag: str | None = None) -> list[CoachingNote]:
    """The notes about `agent` that `viewer` may see, newest first (deleted ones never)."""
    query = select(CoachingNote).where(CoachingNote.agent_id == agent.id, CoachingNote.deleted_at.is_(None))
    if since is not None:
        query = query.where(CoachingNote.created_at >= since)
    if until is not None:
        query = query.where(CoachingNote.created_at < until)
    notes = [n for n in session.scalars(query.order_by(CoachingNote.created_at.desc(), CoachingNote.id.desc())) if may_see(viewer, agent, author_id=n.author_id, private=n.private)]
    return [n for n in notes if tag is None or tag in n.tags]


def counts(session: Session, agent_ids: Sequence[int], since: datetime, until: datetime) -> dict[int, tuple[int, int, Counter[str]]]:
    """Per agent: shared notes, private notes and tag uses in [since, until), deleted notes left out.

    For someone who may see every note about these agents (they look after them).
    """
    found: dict[int, tuple[int, int, Counter[str]]] = {}
    stmt = select(CoachingNote.agent_id, CoachingNote.private, CoachingNote.tags).where(
        CoachingNote.agent_id.in_(list(agent_ids)), CoachingNote.deleted_at.is_(None), CoachingNote.created_at >= since, CoachingNote.created_at < until
    )
    for agent_id, private, tags in session.execute(stmt):
        shared, hidden, used = found.get(agent_id, (0, 0, Counter()))
        used.update(tags or [])
        found[agent_id] = (shared + (not private), hidden + bool(private), used)
    return found


DELIVERY = "coach_note"  # the outbox kind: a shared note, to its agent


def deliver(session: Session, note: CoachingNote, agent: Member, now: datetime, *, occurrence: str = "0") -> int:
    """Plan the shared note's message to its agent (a private note goes nowhere); an edit is delivered again."""
    if note.private:
        return 0
    rows = [Planned(DELIVERY, f"note-{note.id}", r, occurrence, now, now + timedelta(days=1)) for r in member_recipients(agent.slack_id, agent.teams_id)]
    return plan(session, rows, now)


def record_reads(session: Session, viewer: Member, notes: Sequence[CoachingNote], now: datetime) -> None:
    """Reading someone else's private note is on the record (`/coach audit`)."""
    for note in notes:
        if note.private and note.author_id != viewer.id:
            _audit(session, note, viewer, "read", now)


def trail(session: Session, agent: Member) -> list[tuple[CoachingAudit, CoachingNote]]:
    """Every audit line about notes on `agent`, oldest first."""
    rows = session.execute(
        select(CoachingAudit, CoachingNote).join(CoachingNote, CoachingNote.id == CoachingAudit.note_id).where(CoachingNote.agent_id == agent.id).order_by(CoachingAudit.id)
    ).all()
    return [(a, n) for a, n in rows]
