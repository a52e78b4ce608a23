"""What coaching keeps: notes about agents and their audit trail, QA reviews and their disputes.

Nothing is deleted from chat: a deleted note keeps its row (`deleted_at`),
and every edit keeps the text it replaced in the audit trail.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
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


class QaReview(Base):
    """One ticket scored against a rubric version; `score` None when every category was `na`."""

    __tablename__ = "qa_reviews"
    __table_args__ = (
        Index("ix_qa_reviews_agent", "agent_id", "created_at"),
        Index("ix_qa_reviews_team", "team_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    # The agent's team when the review was made: a review stays with that team's
    # figures if the agent moves, as a ticket stays with its team.
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    ticket: Mapped[str] = mapped_column(String(200))
    ticket_url: Mapped[str | None] = mapped_column(String(1000))
    rubric_version: Mapped[int] = mapped_column(Integer)
    scores: Mapped[dict[str, int | str]] = mapped_column(JSON)  # category key -> value on its scale, or "na"
    comments: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)  # category key (or "" for the review) -> comment
    score: Mapped[float | None] = mapped_column(Float)
    passed: Mapped[bool | None] = mapped_column(Boolean)
    state: Mapped[str] = mapped_column(String(16), default="open")  # open | disputed | locked
    created_at: Mapped[datetime] = mapped_column(UTCSeconds)
    locked_at: Mapped[datetime | None] = mapped_column(UTCSeconds)


class QaDispute(Base):
    """An agent's dispute of a review, and how it was settled (the review is locked then)."""

    __tablename__ = "qa_disputes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("qa_reviews.id"), unique=True)  # one dispute per review
    by_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    comment: Mapped[str] = mapped_column(Text)
    proposed: Mapped[dict[str, int | str] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCSeconds)
    resolved_by: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCSeconds)
    outcome: Mapped[str | None] = mapped_column(String(16))  # accepted | partial | rejected
    note: Mapped[str | None] = mapped_column(Text)
    before: Mapped[dict[str, int | str] | None] = mapped_column(JSON)  # the scores the resolution replaced


class CoachingSession(Base):
    """A structured one-on-one: what went well, what to work on, the agreed actions and when to look again.

    Always shared with the agent (a session is held with them); `follow_up` is
    the local date on which both get a reminder with the KPIs since the session.
    """

    __tablename__ = "coaching_sessions"
    __table_args__ = (Index("ix_coaching_sessions_agent", "agent_id", "created_at"), Index("ix_coaching_sessions_follow_up", "follow_up"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    agent_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    strengths: Mapped[str] = mapped_column(Text, default="")
    opportunities: Mapped[str] = mapped_column(Text, default="")
    follow_up: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCSeconds)


class CoachingAction(Base):
    """An action item agreed in a session, due on a local date, done once (by the agent or whoever coaches them)."""

    __tablename__ = "coaching_actions"
    __table_args__ = (Index("ix_coaching_actions_agent", "agent_id", "done_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("coaching_sessions.id"))
    agent_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    text: Mapped[str] = mapped_column(Text)
    due: Mapped[date] = mapped_column(Date)
    done_at: Mapped[datetime | None] = mapped_column(UTCSeconds)
    done_by: Mapped[int | None] = mapped_column(ForeignKey("members.id"))


class QaCalibration(Base):
    """Several reviewers score the same ticket blind; the scores are revealed when all have scored or at the deadline.

    Kept apart from qa_reviews, so calibration scores can never count in a KPI.
    """

    __tablename__ = "qa_calibrations"
    __table_args__ = (Index("ix_qa_calibrations_deadline", "revealed_at", "deadline"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket: Mapped[str] = mapped_column(String(200))
    ticket_url: Mapped[str | None] = mapped_column(String(1000))
    created_by: Mapped[int] = mapped_column(ForeignKey("members.id"))
    rubric_version: Mapped[int] = mapped_column(Integer)
    deadline: Mapped[datetime] = mapped_column(UTCSeconds)
    created_at: Mapped[datetime] = mapped_column(UTCSeconds)
    revealed_at: Mapped[datetime | None] = mapped_column(UTCSeconds)


class QaCalibrationScore(Base):
    """One reviewer's blind scores for a calibration (`scored_at` None until they score)."""

    __tablename__ = "qa_calibration_scores"
    __table_args__ = (UniqueConstraint("calibration_id", "reviewer_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    calibration_id: Mapped[int] = mapped_column(ForeignKey("qa_calibrations.id"))
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    scores: Mapped[dict[str, int | str] | None] = mapped_column(JSON)
    comments: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    score: Mapped[float | None] = mapped_column(Float)
    scored_at: Mapped[datetime | None] = mapped_column(UTCSeconds)


class QaAssignment(Base):
    """A ticket the weekly sample gave a reviewer (coaching.sampling, coaching.assignments).

    One row per team, week and ticket, so the weekly job run twice assigns
    once. `state`: open | done (a review was saved for it) | skipped (given
    back to the pool, with why) | rolled (carried into the next week once, as
    a new row whose `rolled_from` is this one) | lapsed (unfinished after its
    roll-over: reported to the lead).
    """

    __tablename__ = "qa_assignments"
    __table_args__ = (
        UniqueConstraint("team_id", "week", "ticket_id", name="uq_qa_assignments_team_week_ticket"),
        Index("ix_qa_assignments_reviewer", "reviewer_id", "state"),
        Index("ix_qa_assignments_agent", "agent_id", "week"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"))
    week: Mapped[str] = mapped_column(String(8))  # ISO week the sample is for: 2026-W49
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    ticket: Mapped[str] = mapped_column(String(200))  # as shown and as a review names it: #12345, T-123
    agent_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    due_at: Mapped[datetime] = mapped_column(UTCSeconds)
    state: Mapped[str] = mapped_column(String(16), default="open")
    rolled_from: Mapped[int | None] = mapped_column(ForeignKey("qa_assignments.id"))
    review_id: Mapped[int | None] = mapped_column(ForeignKey("qa_reviews.id"))
    reason: Mapped[str | None] = mapped_column(Text)  # why it was skipped
    closed_by: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    created_at: Mapped[datetime] = mapped_column(UTCSeconds)
    closed_at: Mapped[datetime | None] = mapped_column(UTCSeconds)
