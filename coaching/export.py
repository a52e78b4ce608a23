"""The coaching export for performance reviews: notes, sessions and QA reviews the caller may see, as spreadsheet rows.

What is in it follows the same privacy rules as chat (`coaching.visibility`):
a manager gets their team's agents (every team's without a team), an admin
everyone; private notes only where the caller may see them. Deleted notes
are left out. Cells are made safe for spreadsheets by `store.spreadsheet`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from coaching.models import CoachingAction, CoachingNote, CoachingSession, QaDispute, QaReview
from coaching.notes import record_reads
from coaching.visibility import may_see
from store.org import Member, Team

COLUMNS = ("type", "id", "created_at", "agent", "team", "author", "private", "tags", "ticket", "text", "score", "passed", "state", "acknowledged_at")


def rows(session: Session, viewer: Member, start: datetime, end: datetime, team: Team | None = None) -> Iterator[tuple[object, ...]]:
    """The header, then one row per note and per review created in [start, end) that `viewer` may see."""
    people = {m.id: m for m in session.scalars(select(Member))}
    teams = {t.id: t.key for t in session.scalars(select(Team))}
    yield COLUMNS

    def keep(agent_id: int, author_id: int, private: bool) -> Member | None:
        agent = people.get(agent_id)
        if agent is None or (team is not None and agent.team_id != team.id):
            return None
        return agent if may_see(viewer, agent, author_id=author_id, private=private) else None

    for note in session.scalars(
        select(CoachingNote).where(CoachingNote.created_at >= start, CoachingNote.created_at < end, CoachingNote.deleted_at.is_(None)).order_by(CoachingNote.created_at, CoachingNote.id)
    ):
        agent = keep(note.agent_id, note.author_id, note.private)
        if agent is None:
            continue
        author = people.get(note.author_id)
        yield (
            "note", note.id, note.created_at.isoformat(), agent.handle, teams.get(agent.team_id or -1, ""), author.handle if author else "",
            "yes" if note.private else "no", " ".join(f"#{t}" for t in note.tags), note.ticket or "", note.text, "", "", "",
            note.acknowledged_at.isoformat() if note.acknowledged_at else "",
        )  # fmt: skip
    for held in session.scalars(select(CoachingSession).where(CoachingSession.created_at >= start, CoachingSession.created_at < end).order_by(CoachingSession.created_at, CoachingSession.id)):
        agent = keep(held.agent_id, held.author_id, False)
        if agent is None:
            continue
        author = people.get(held.author_id)
        items = session.scalars(select(CoachingAction).where(CoachingAction.session_id == held.id).order_by(CoachingAction.id)).all()
        lines = ([f"Strengths: {held.strengths}"] if held.strengths else []) + ([f"Opportunities: {held.opportunities}"] if held.opportunities else [])
        lines += [f"Action: {i.text} (due {i.due.isoformat()}; {'done ' + i.done_at.isoformat() if i.done_at else 'open'})" for i in items]
        text = "\n".join([*lines, f"Follow-up: {held.follow_up.isoformat()}"])
        done = sum(1 for i in items if i.done_at)
        yield (
            "session", held.id, held.created_at.isoformat(), agent.handle, teams.get(agent.team_id or -1, ""), author.handle if author else "",
            "no", "", "", text, "", "", f"{done} of {len(items)} actions done", "",
        )  # fmt: skip
    for review in session.scalars(select(QaReview).where(QaReview.created_at >= start, QaReview.created_at < end).order_by(QaReview.created_at, QaReview.id)):
        agent = keep(review.agent_id, review.reviewer_id, False)
        if agent is None:
            continue
        reviewer = people.get(review.reviewer_id)
        text = "\n".join(filter(None, [review.comments.get("", ""), _dispute_text(review, session.scalar(select(QaDispute).where(QaDispute.review_id == review.id)))]))
        yield (
            "qa_review", review.id, review.created_at.isoformat(), agent.handle, teams.get(agent.team_id or -1, ""), reviewer.handle if reviewer else "",
            "no", "", review.ticket, text, "" if review.score is None else round(review.score, 4),
            "" if review.passed is None else ("yes" if review.passed else "no"), review.state, "",
        )  # fmt: skip


def _dispute_text(review: QaReview, record: QaDispute | None) -> str:
    """A review's dispute as the export writes it: the agent's comment, the scores they propose, how it was settled.

    The proposal goes wherever the review does, so a performance review read
    from the spreadsheet sees what the agent contested, not only the score.
    """
    if record is None:
        return ""
    disputed = record.before if record.before is not None else review.scores  # the scores the agent disputed
    proposed = ", ".join(f"{k} {disputed.get(k, 'na')} → {v}" for k, v in (record.proposed or {}).items() if disputed.get(k, "na") != v)
    text = f"Disputed: {record.comment}" + (f" Proposed: {proposed}." if record.proposed else " No scores proposed.")
    return text + (f" Settled {record.outcome}." if record.outcome else "")


def record_exported_reads(session: Session, viewer_id: int, written: Sequence[Sequence[object]], now: datetime) -> int:
    """Put the private notes an export wrote (someone else's) on the record as read by `viewer_id`; how many.

    An export shows a note's text as a history does, so it is a read as a history is.
    """
    viewer = session.get(Member, viewer_id)
    ids = [int(str(r[1])) for r in written[1:] if r[0] == "note" and r[6] == "yes"]
    if viewer is None or not ids:
        return 0
    found = list(session.scalars(select(CoachingNote).where(CoachingNote.id.in_(ids)).order_by(CoachingNote.id)))
    record_reads(session, viewer, found, now)
    return sum(1 for n in found if n.author_id != viewer.id)
