"""Coaching and QA messages the outbox sends: a shared note or session to its agent, a session's follow-up to both;
a review's result, dispute and settlement."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from coaching import calibration, qa, sessions
from coaching.models import CoachingNote, CoachingSession, QaCalibration, QaReview
from coaching.notes import DELIVERY
from handlers.coach import delivery_reply
from handlers.coach_sessions import followup_reply, session_reply
from handlers.qa_scores import change_text
from handlers.qa_coaching import coaching_offer
from handlers.qa_views import dispute_of, proposal_text, review_reply, settlement
from handlers.qa_calibration import calibration_reply
from handlers.reply import Reply, Section
from store.org import Member, Org
from store.outbox import Claimed

KINDS = (DELIVERY, *sessions.KINDS, *qa.KINDS, *calibration.KINDS)


class Skip(Exception):
    """The note or review is gone, or no longer this person's to read."""


def _person(session: Session, recipient: str) -> Member | None:
    platform, _, rest = recipient.partition(":")
    ident = rest.partition(":")[2]
    column = Member.slack_id if platform == "slack" else Member.teams_id
    return session.scalar(select(Member).where(column == ident))


def compose(session: Session, row: Claimed, now: datetime) -> Reply:
    org = session.get(Org, 1)
    person = _person(session, row.recipient)
    zone = person.effective_timezone(org.timezone if org else "UTC") if person else "UTC"
    if row.kind == DELIVERY:
        note = session.get(CoachingNote, int(row.subject.removeprefix("note-")) if row.subject.startswith("note-") else 0)
        if note is None or note.deleted_at is not None or note.private:
            raise Skip("the note was deleted before it was delivered")
        return delivery_reply(session, note, zone)
    if row.kind in sessions.KINDS:
        record = session.get(CoachingSession, int(row.subject.removeprefix("session-")) if row.subject.startswith("session-") else 0)
        if record is None or person is None:
            raise Skip("the session or its reader is gone")
        if row.kind == sessions.FOLLOW_UP:
            return followup_reply(session, record, person, zone, row.due_at)
        reply = session_reply(session, record, person, zone, now)
        reply.blocks.insert(0, Section("Your coaching session, as recorded. Tick off each action item when it is done."))
        return reply
    if row.kind in calibration.KINDS:
        record = session.get(QaCalibration, int(row.subject.removeprefix("calibration-")) if row.subject.startswith("calibration-") else 0)
        if record is None or person is None:
            raise Skip("the calibration or its reader is gone")
        if row.kind == calibration.ASKED and record.revealed_at is not None:
            raise Skip("the calibration was revealed before the request went out")
        reply = calibration_reply(session, record, person, zone, now)
        asked = f"You are asked to score {record.ticket} blind for a QA calibration." if row.kind == calibration.ASKED else "Everyone has scored, or the deadline passed: here is the spread."
        reply.blocks.insert(0, Section(asked))
        return reply
    review = session.get(QaReview, int(row.subject.removeprefix("review-")) if row.subject.startswith("review-") else 0)
    if review is None or person is None:
        raise Skip("the review or its reader is gone")
    reply = review_reply(session, review, person, zone, dispute_button=row.kind == qa.RESULT)
    record = dispute_of(session, review)
    rubric = qa.rubric_for(session, review)
    if row.kind == qa.DISPUTED and record is not None:
        agent = session.get(Member, review.agent_id)
        reply.blocks.insert(
            0,
            Section(
                f"{agent.name if agent else 'The agent'} disputes this review, proposing {proposal_text(rubric, review, record)}. "
                f"Settle it: /qa resolve {review.id} accepted|partial|rejected"
                + (" (accepted takes the proposed scores)." if record.proposed else " (nothing to accept as proposed: partial with the scores you agree on, or rejected).")
            ),
        )
        offer = coaching_offer(session, review, person)  # a failing review: the lead may coach on it from here too
        if offer is not None:
            reply.blocks.insert(len(reply.blocks) - 1, offer)
    elif row.kind == qa.SETTLED and record is not None:
        change = settlement(rubric, review, record)
        what = change_text(change) if change else "the scores stay as they are"
        reply.blocks.insert(0, Section(f"Your dispute is settled ({record.outcome}): {what}. The review is locked."))
    else:
        reply.blocks.insert(0, Section("A QA review of your ticket. If you disagree, dispute it (once) with a comment."))
    return reply
