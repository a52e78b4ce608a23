"""Announcing who is on call in a queue's channels, for the queues whose `announce:` asks for it.

- `oncall_announce`: weekly (or on the days given) at the queue's `at`, in its
  zone; the occurrence is the local date, so it is posted once that day, not
  before its time, and not after the catch-up window.
- `oncall_announce_handoff`: whenever who is on call for one of the queue's
  schedules changes (a handoff, working hours opening or closing, a cover);
  the occurrence is the instant of the change, so two schedules changing
  together make one post. A change at the weekly post's instant is left to it.

Both are outbox rows keyed by queue and occurrence, planned by the `oncall`
job of `csbot tick`: planning twice, or from two processes, posts once. The
message is composed when sent, from the timeline as it is then.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from escalation.engine import queue_recipients
from escalation.oncall import now_and_next, queue_timeline, schedules_of
from handlers.oncall_announcements import announcement_reply
from handlers.reply import Reply
from store.announce_spec import Announce
from store.database import Database
from store.engine import write_transaction
from store.local_time import latest_occurrence
from store.org import Org
from store.outbox import Claimed, Planned, plan
from store.queues import EscalationQueue

WEEKLY, HANDOFF = "oncall_announce", "oncall_announce_handoff"
KINDS = (WEEKLY, HANDOFF)
# How far back a change is looked for; a change older than the catch-up is not announced anyway.
LOOKBACK = timedelta(days=1)


class Skip(Exception):
    """The announcement no longer applies (the queue is gone, or no longer announces so)."""


def _zone(session: Session, announce: Announce) -> str:
    org = session.get(Org, 1)
    return announce.timezone or (org.timezone if org else "UTC")


def plan_announcements(db: Database, now: datetime, *, catchup: timedelta) -> int:
    """Plan the announcements due as of `now`; how many were new."""
    rows: list[Planned] = []
    with db.sessions() as session:
        for queue in session.scalars(select(EscalationQueue).where(EscalationQueue.active.is_(True), EscalationQueue.announce.is_not(None))):
            recipients = queue_recipients(queue)
            if not queue.announce or not recipients:
                continue
            announce = Announce.from_dict(queue.announce)
            zone = _zone(session, announce)
            weekly_at = None
            if announce.time is not None:
                due = latest_occurrence(now, announce.time, list(announce.days), zone)
                if due is not None and now - due[1] <= catchup:
                    weekly_at = due[1]
                    rows += [Planned(WEEKLY, queue.key, r, due[0].isoformat(), due[1], due[1] + catchup) for r in recipients]
            if announce.on_handoff:
                for at in _changes(session, queue, now, min(catchup, LOOKBACK)):
                    if at != weekly_at:
                        stamp = at.strftime("%Y-%m-%dT%H:%M:%SZ")
                        rows += [Planned(HANDOFF, queue.key, r, stamp, at, at + catchup) for r in recipients]
    if not rows:
        return 0
    with write_transaction(db.sessions) as session:
        return plan(session, rows, now)


def _changes(session: Session, queue: EscalationQueue, now: datetime, within: timedelta) -> set[datetime]:
    """The instants, within `within` before `now`, at which who is on call last changed, one per schedule."""
    found = set()
    for schedule in schedules_of(queue):
        pieces = queue_timeline(session, queue, schedule, now - LOOKBACK, now + timedelta(seconds=1))
        current = pieces[-1] if pieces else None
        # A piece starting at the window's start is no change: nothing differs before it that we looked at.
        if current is not None and current.start > now - LOOKBACK and now - current.start <= within:
            found.add(current.start)
    return found


def compose(session: Session, row: Claimed, now: datetime) -> Reply:
    queue = session.scalar(select(EscalationQueue).where(EscalationQueue.key == row.subject, EscalationQueue.active.is_(True)))
    if queue is None:
        raise Skip(f"queue {row.subject} is no longer in the organisation file")
    if not queue.announce:
        raise Skip(f"queue {row.subject} no longer announces who is on call")
    announce = Announce.from_dict(queue.announce)
    if (row.kind == WEEKLY and announce.time is None) or (row.kind == HANDOFF and not announce.on_handoff):
        raise Skip(f"queue {row.subject} no longer announces {'weekly' if row.kind == WEEKLY else 'handoffs'}")
    schedules = [now_and_next(session, queue, s, now) for s in schedules_of(queue)]
    return announcement_reply(queue, schedules, _zone(session, announce), handoff=row.kind == HANDOFF)
