"""Shift swaps: one specialist asks another to trade who is on call over a stretch of one schedule.

Over [start, end), wherever the requester is on call the other person will
be, and wherever the other person is on call the requester will be: each
piece becomes a cover (`OncallOverride`, `swap_id` set), so the swap shows
in every timeline, calendar and page exactly as covers do. A stretch where
only the requester is on call is a plain handover.

Nothing changes until the other person accepts. The pieces are worked out
again at that moment (the schedule or its covers may have changed since
the request), under a lock on the queue, so two swaps accepted at once for
the same stretch cannot both take it: the second finds the requester no
longer on call there and is refused. A stretch that has begun cannot be
swapped: a request can no longer be accepted once its stretch begins.

Messages go through the outbox: ASK to the other person (Accept / Decline
buttons), TOLD to the requester and the queue's leads when it is decided.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from escalation.models import OncallOverride, OncallSwap
from escalation.oncall import Interval, queue_timeline
from escalation.queue_people import queue_leads
from escalation.rotations import Schedule
from store.engine import lock_for_write
from store.org import Member
from store.outbox import Planned, member_recipients, plan
from store.queues import EscalationQueue

ASK, TOLD = "oncall_swap_ask", "oncall_swap_told"
KINDS = (ASK, TOLD)
MAX_SWAP = timedelta(days=90)
MAX_AHEAD = timedelta(days=366)
MAX_REASON = 500


class SwapError(Exception):
    """The swap cannot be asked for or accepted; the message says why and what to do."""


@dataclass(frozen=True)
class Piece:
    start: datetime
    end: datetime
    to: str  # the handle on call over it after the swap


def pieces(session: Session, queue: EscalationQueue, schedule: Schedule, mine: str, theirs: str, start: datetime, end: datetime) -> list[Piece]:
    """The covers the swap makes: my stretches to them, theirs to me (stretches held by both stay as they are)."""
    found: list[Piece] = []
    for part in queue_timeline(session, queue, schedule, start, end):
        found += _swapped(part, mine, theirs)
    return found


def _swapped(part: Interval, mine: str, theirs: str) -> list[Piece]:
    if mine in part.handles and theirs not in part.handles:
        return [Piece(part.start, part.end, theirs)]
    if theirs in part.handles and mine not in part.handles:
        return [Piece(part.start, part.end, mine)]
    return []


def _check_span(start: datetime, end: datetime, now: datetime) -> None:
    if end <= start:
        raise SwapError("The swap ends before it starts.")
    if start <= now:
        raise SwapError("That stretch has begun (or is over): a swap must start in the future. Ask a lead to cover it now (/oncall cover).")
    if end - start > MAX_SWAP:
        raise SwapError(f"A swap is at most {MAX_SWAP.days} days; change the rotation in the organisation file for longer.")
    if start > now + MAX_AHEAD:
        raise SwapError(f"A swap may start at most {MAX_AHEAD.days} days from now.")


def ask(
    session: Session, queue: EscalationQueue, schedule: Schedule, requester: Member, other: Member,
    start: datetime, end: datetime, reason: str | None, now: datetime,
) -> tuple[OncallSwap, list[Piece]]:  # fmt: skip
    """Record the request and ask the other person; the pieces it would swap as things stand."""
    if other.id == requester.id:
        raise SwapError("A swap is with someone else.")
    if not other.active:
        raise SwapError(f"{other.name} is no longer active.")
    if not member_recipients(other.slack_id, other.teams_id):
        raise SwapError(f"{other.name} has no Slack or Teams id, so csbot cannot ask them; ask a lead to arrange it with /oncall cover.")
    _check_span(start, end, now)
    found = pieces(session, queue, schedule, requester.handle, other.handle, start, end)
    if not any(p.to == other.handle for p in found):
        raise SwapError(f"You are not on call for {queue.name} / {schedule.key} at any time in that stretch, so there is nothing of yours to swap.")
    lock_for_write(session)
    swap = OncallSwap(
        queue_id=queue.id, schedule=schedule.key, requester_id=requester.id, other_id=other.id,
        start_at=start, end_at=end, reason=reason, state="pending", created_at=now,
    )  # fmt: skip
    session.add(swap)
    session.flush()
    # Worth asking until the stretch begins; after that it can only be refused.
    plan(session, [Planned(ASK, f"swap-{swap.id}", r, "ask", now, start) for r in member_recipients(other.slack_id, other.teams_id)], now)
    return swap, found


def _lock_queue(session: Session, queue: EscalationQueue) -> None:
    """Serialise swaps of one queue: SQLite's write lock, a row lock on PostgreSQL."""
    lock_for_write(session)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(EscalationQueue.id).where(EscalationQueue.id == queue.id).with_for_update())


def _decide(session: Session, swap: OncallSwap, state: str, now: datetime) -> None:
    won = session.execute(
        update(OncallSwap)
        .where(OncallSwap.id == swap.id, OncallSwap.state == "pending")
        .values(state=state, decided_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(swap)
    if not won:
        raise SwapError(f"Swap {swap.id} was {swap.state} already; nothing changed.")


def _tell(session: Session, swap: OncallSwap, queue: EscalationQueue, now: datetime) -> None:
    requester = session.get(Member, swap.requester_id)
    leads = list(session.scalars(select(Member).where(Member.handle.in_(queue_leads(session, queue)), Member.active.is_(True))))
    told = [m for m in ([requester] if requester else []) + leads if m.id != swap.other_id]
    seen: set[int] = set()
    rows = []
    for member in told:
        if member.id in seen:
            continue
        seen.add(member.id)
        rows += [Planned(TOLD, f"swap-{swap.id}", r, swap.state, now, now + timedelta(days=1)) for r in member_recipients(member.slack_id, member.teams_id)]
    plan(session, rows, now)


def accept(session: Session, swap: OncallSwap, queue: EscalationQueue, schedule: Schedule, by: Member, now: datetime) -> list[OncallOverride]:
    """The other person accepts: the covers are made now, from the timeline as it is now, all or none."""
    _lock_queue(session, queue)
    session.refresh(swap)
    if swap.state != "pending":
        raise SwapError(f"Swap {swap.id} was {swap.state} already; nothing changed.")
    if swap.start_at <= now:
        raise SwapError(f"Swap {swap.id} was for a stretch that has begun, so it can no longer be accepted. Ask a lead to cover it now (/oncall cover).")
    requester = session.get(Member, swap.requester_id)
    assert requester is not None
    found = pieces(session, queue, schedule, requester.handle, by.handle, swap.start_at, swap.end_at)
    if not any(p.to == by.handle for p in found):
        raise SwapError(f"{requester.name} is no longer on call for {queue.name} / {schedule.key} in that stretch (another swap or a cover took it), so there is nothing to swap.")
    _decide(session, swap, "accepted", now)
    members = {m.handle: m for m in (requester, by)}
    covers = [
        OncallOverride(
            queue_id=queue.id, schedule=schedule.key, member_id=members[p.to].id, start_at=p.start, end_at=p.end,
            created_by=by.id, created_at=now, swap_id=swap.id,
        )  # fmt: skip
        for p in found
    ]
    session.add_all(covers)
    session.flush()
    _tell(session, swap, queue, now)
    return covers


def decline(session: Session, swap: OncallSwap, queue: EscalationQueue, now: datetime) -> None:
    lock_for_write(session)
    _decide(session, swap, "declined", now)
    _tell(session, swap, queue, now)


__all__ = ["ASK", "KINDS", "MAX_REASON", "Piece", "SwapError", "TOLD", "accept", "ask", "decline", "pieces"]
