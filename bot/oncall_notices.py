"""On-call notices: the handoff DM when a shift starts, and the daily warning of gaps ahead.

- `oncall_handoff`: whoever comes on call for a queue's schedule is told, with
  the queue's open escalations and the cover that put them on call if one
  did, once per stretch on call (the occurrence is
  the stretch's start). Only stretches that began within the catch-up window
  are announced, so a restart (or turning this on) does not announce
  stretches that began long ago.
- `oncall_gaps`: once a day at 09:00 in the org's zone, a queue's channels
  hear of every period in the next 7 days when a schedule has nobody on call.

Both are outbox rows, so planning twice, or from two processes, sends once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from escalation.engine import member_recipients, open_for, queue_recipients
from escalation.oncall import Interval, queue_timeline, schedules_of
from escalation.personal import cover_at
from handlers.oncall import gaps_reply, handoff_reply
from handlers.reply import Reply
from store.database import Database
from store.engine import write_transaction
from store.local_time import latest_occurrence
from store.org import Member, Org
from store.outbox import Claimed, Planned, plan
from store.queues import EscalationQueue

HANDOFF, GAPS = "oncall_handoff", "oncall_gaps"
KINDS = (HANDOFF, GAPS)
GAP_TIME = "09:00"
GAP_SPAN = timedelta(days=7)
LOOKBACK = timedelta(days=1)


class Skip(Exception):
    """The notice no longer applies (the queue or schedule is gone)."""


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%MZ")


def plan_oncall(db: Database, now: datetime, *, catchup: timedelta) -> int:
    """Plan the handoffs and gap warnings due as of `now`; how many were new."""
    rows: list[Planned] = []
    with db.sessions() as session:
        org = session.get(Org, 1)
        zone = org.timezone if org else "UTC"
        gaps_due = latest_occurrence(now, GAP_TIME, list(range(7)), zone)
        for queue in session.scalars(select(EscalationQueue).where(EscalationQueue.active.is_(True))):
            for schedule in schedules_of(queue):
                pieces = queue_timeline(session, queue, schedule, now - LOOKBACK, now + timedelta(seconds=1))
                current = pieces[-1] if pieces else None
                if current is None or not current.handles or now - current.start > min(catchup, LOOKBACK) or current.start <= now - LOOKBACK:
                    continue
                # Those who came on call at this piece's start (several at once with `mode: all` or a cover
                # that adds someone); those still on call from the piece before were told when they came.
                before = pieces[-2].handles if len(pieces) > 1 and pieces[-2].end == current.start else ()
                arriving = [h for h in current.handles if h not in before]
                subject = f"{queue.key}/{schedule.key}"
                for member in session.scalars(select(Member).where(Member.handle.in_(arriving), Member.active.is_(True))):
                    rows += [Planned(HANDOFF, subject, r, _stamp(current.start), current.start, current.start + catchup) for r in member_recipients(member)]
            if gaps_due is not None and now - gaps_due[1] <= catchup and queue_recipients(queue):
                day, due = gaps_due
                if _gaps(session, queue, now):
                    rows += [Planned(GAPS, queue.key, r, day.isoformat(), due, due + catchup) for r in queue_recipients(queue)]
    if not rows:
        return 0
    with write_transaction(db.sessions) as session:
        return plan(session, rows, now)


def _gaps(session: Session, queue: EscalationQueue, now: datetime) -> list[tuple[str, Interval]]:
    return [(s.key, p) for s in schedules_of(queue) for p in queue_timeline(session, queue, s, now, now + GAP_SPAN) if not p.handles]


def _queue(session: Session, key: str) -> EscalationQueue:
    queue = session.scalar(select(EscalationQueue).where(EscalationQueue.key == key, EscalationQueue.active.is_(True)))
    if queue is None:
        raise Skip(f"queue {key} is no longer in the organisation file")
    return queue


def compose(session: Session, row: Claimed, now: datetime) -> Reply:
    org = session.get(Org, 1)
    zone = org.timezone if org else "UTC"
    if row.kind == GAPS:
        queue = _queue(session, row.subject)
        return gaps_reply(queue, _gaps(session, queue, now), zone)
    queue_key, _, schedule_key = row.subject.partition("/")
    queue = _queue(session, queue_key)
    schedule = next((s for s in schedules_of(queue) if s.key == schedule_key), None)
    if schedule is None:
        raise Skip(f"schedule {row.subject} is no longer in the organisation file")
    ahead = queue_timeline(session, queue, schedule, now, now + timedelta(days=62))
    until = ahead[0].end if len(ahead) > 1 else None
    recipient = row.recipient.split(":", 2)
    column = Member.slack_id if recipient[0] == "slack" else Member.teams_id
    person = session.scalar(select(Member).where(column == recipient[-1]))
    # The stretch began at the row's due time: was a cover, rather than the rotation, what put them on call then?
    cover = cover_at(session, queue, schedule.key, person.handle, row.due_at) if person else None
    return handoff_reply(
        session, queue, schedule.key, until, open_for(session, queue_ids=[queue.id]), person.effective_timezone(zone) if person else zone,
        cover=cover, reader=person.handle if person else None,
    )
