"""The escalation state machine: open, page, wait, escalate, acknowledge, snooze, reassign, resolve.

All state is in the escalation row; every change is a compare-and-set on
its state (two people pressing Acknowledge at once: one owner, the other
is told who) and appends a timeline event. Messages are written to the
outbox in the same transaction as the change that causes them, so a page
exists if and only if the level that sends it was reached:

- `esc_page`: a page to one target (a person's DM, or the queue channel),
  one row per (escalation, loop, level, recipient);
- `esc_status`: the queue channel's status message, edited on every change;
- `esc_note`: a timeline line in that message's thread;
- `esc_edit`: an edit of a page or the status message after a change;
- `esc_notice`: the requester told of an acknowledgement, reassignment or the end;
- `esc_hook`: every timeline event POSTed to the queue's webhook (the helpdesk notes it on the ticket).

`sweep` advances the escalations that are due (a level's wait over, a
snooze ended); a restart simply finds them due on its first sweep.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from escalation.models import OPEN_STATES, Escalation, EscalationEvent
from escalation.oncall import schedule_of, who_is_on_call
from escalation.policies import held_until, policy_for
from escalation.reach import chat_of, is_email, reach
from kpi.tickets import Ticket
from store.org import Member
from store.outbox import OutboxRow, Planned, channel_recipients, email_recipient, plan
from store.outbox import member_recipients as outbox_member_recipients
from store.queues import EscalationQueue

PAGE, STATUS, NOTE, EDIT, NOTICE, HOOK = "esc_page", "esc_status", "esc_note", "esc_edit", "esc_notice", "esc_hook"
KINDS = (PAGE, STATUS, NOTE, EDIT, NOTICE, HOOK)
# A page is worth retrying for this long; the policy moves on meanwhile.
PAGE_EXPIRY = timedelta(hours=6)
SNOOZES = {"15m": timedelta(minutes=15), "1h": timedelta(hours=1)}
RETRY_STUCK = timedelta(minutes=1)
# The requester hears of these.
TOLD = ("acknowledged", "reassigned", "resolved", "cancelled", "exhausted")


class Conflict(Exception):
    """The escalation is not in a state that allows this (someone else got there first); the message says who and what."""


@dataclass(frozen=True)
class Opened:
    escalation: Escalation
    created: bool  # False: the ticket already had an open escalation in that queue, returned as it is


def member_recipients(member: Member) -> list[str]:
    """Where a person can be paged: their DM on every platform they have an id on."""
    return outbox_member_recipients(member.slack_id, member.teams_id)


def queue_recipients(queue: EscalationQueue) -> list[str]:
    return channel_recipients(queue.slack_channel, queue.teams_channel)


def open_escalation(
    session: Session,
    queue: EscalationQueue,
    *,
    ticket: str,
    severity: str,
    reason: str,
    requester: Member | None,
    now: datetime,
    ticket_id: int | None = None,
    ticket_url: str | None = None,
    source_url: str | None = None,
    source: str | None = None,
    dedup_key: str | None = None,
    details: dict[str, Any] | None = None,
) -> Opened:
    """Open an escalation and page its first level now; the open one when the ticket already has one in the queue.

    A system opens it with `requester` None and `source` naming it (the Events API).
    """
    key = f"{queue.id}:{ticket.lower()}"[:300]
    existing = session.scalar(select(Escalation).where(Escalation.open_key == key))
    if existing is not None:
        return Opened(existing, False)
    rotation = session.scalar(select(func.count()).select_from(Escalation).where(Escalation.queue_id == queue.id)) or 0
    esc = Escalation(
        queue_id=queue.id,
        ticket=ticket,
        ticket_id=ticket_id,
        ticket_url=ticket_url,
        severity=severity,
        reason=reason,
        state="open",
        level=0,
        loop=0,
        policy=policy_for(queue.policy, severity),
        rotation=rotation,
        paged=[],
        requester_id=requester.id if requester is not None else None,
        created_at=now,
        next_action_at=None,
        repage=False,
        snoozes=0,
        source_url=source_url,
        open_key=key,
        version=0,
        dedup_key=dedup_key,
        source=source,
        details=details,
    )
    try:
        with session.begin_nested():
            session.add(esc)
            session.flush()
    except IntegrityError:
        # Someone escalated the same ticket to the same queue a moment ago.
        existing = session.scalar(select(Escalation).where(Escalation.open_key == key))
        if existing is None:
            raise
        return Opened(existing, False)
    _event(session, esc, now, "created", requester, note=reason, source=None if requester is not None else source)
    _plan(session, esc, STATUS, queue_recipients(queue), "status", now)
    if not _held(session, esc, queue, now, first=True):
        _page_level(session, esc, queue, now)
    _write_outbox(session)
    return Opened(esc, True)


def _held(session: Session, esc: Escalation, queue: EscalationQueue, now: datetime, *, first: bool = False) -> EscalationEvent | None:
    """Outside the working hours of a policy that pages only in them: the due step waits for the next opening (said in the timeline)."""
    until = held_until(esc.policy, now)
    if until is None:
        return None
    calendar = esc.policy["calendar"]
    local = until.astimezone(ZoneInfo(calendar["timezone"])).strftime("%a %Y-%m-%d %H:%M")
    step = "the first page" if first else "the next page"
    esc.next_action_at = until
    esc.repage = first or esc.repage
    esc.version += 1
    note = f"outside the {calendar['key']} calendar's working hours; {step} at {local} {calendar['timezone']}"
    event = _event(session, esc, now, "held", None, note=note)
    _noted(session, esc, queue, event, now)
    return event


def _event(
    session: Session, esc: Escalation, now: datetime, what: str, by: Member | None,
    *, targets: Sequence[str] = (), note: str | None = None, source: str | None = None,
) -> EscalationEvent:  # fmt: skip
    """A timeline event (its id comes with the next flush: events of a whole sweep are inserted together)."""
    event = EscalationEvent(
        escalation_id=esc.id, at=now, event=what, by_id=by.id if by else None, targets=list(targets), note=note, source=source
    )
    session.add(event)
    queue = _queue(session, esc)
    if queue.webhook_url:
        _plan(session, esc, HOOK, [webhook_recipient(queue)], event, now)
    return event


def webhook_recipient(queue: EscalationQueue) -> str:
    return f"webhook:queue:{queue.id}"


# Messages planned in this transaction, written to the outbox together by `_write_outbox`
# (a sweep of a thousand escalations writes them in a few statements, not thousands).
_PENDING = "escalation_outbox"
# An event stands for "e{its id}", an (event, outbox row) pair for "{event id}:{row id}" (an edit
# of that row after that event): both known once the events are flushed, all at once.
Occurrence = str | EscalationEvent | tuple[EscalationEvent, int]
# A sweep reads which pages and status messages each due escalation has once, for all of them.
_SHOWN = "escalation_shown"


def _plan(session: Session, esc: Escalation, kind: str, recipients: Sequence[str], occurrence: Occurrence, now: datetime) -> None:
    pending = session.info.setdefault(_PENDING, [])
    pending += [(kind, esc.label, r, occurrence, now) for r in recipients]


def _write_outbox(session: Session) -> None:
    """Write the planned messages (events first, for their ids); every public change ends with this."""
    pending = session.info.pop(_PENDING, [])
    if not pending:
        return
    session.flush()
    rows = [Planned(kind, subject, recipient, _occurrence(o)[:32], now, now + PAGE_EXPIRY) for kind, subject, recipient, o, now in pending]
    for start in range(0, len(rows), 500):
        plan(session, rows[start : start + 500], rows[start].due_at)


def _occurrence(o: Occurrence) -> str:
    if isinstance(o, EscalationEvent):
        return f"e{o.id}"
    if isinstance(o, tuple):
        return f"{o[0].id}:{o[1]}"
    return o


@dataclass(frozen=True)
class _Target:
    handle: str | None  # None: the queue channel
    recipients: tuple[str, ...]
    note: str | None = None  # reached another way than the level says (escalation.reach)


def _resolve(session: Session, esc: Escalation, queue: EscalationQueue, entry: str, now: datetime, via: str = "dm") -> tuple[list[_Target], list[str]]:
    """One `notify` entry of a level as targets (a schedule may have several people on call), and why anyone is missing.

    A sweep pages many escalations of a queue at one instant: who is on call
    is worked out once per (queue, entry, instant) in this transaction.
    """
    cache = session.info.setdefault("escalation_targets", {})
    key = (queue.id, entry, now, via)
    if key not in cache:
        cache[key] = _lookup(session, queue, entry, now, via)
    return cache[key]


def _lookup(session: Session, queue: EscalationQueue, entry: str, now: datetime, via: str) -> tuple[list[_Target], list[str]]:
    kind, _, name = entry.partition(":")
    if kind == "channel":
        recipients = queue_recipients(queue)
        return ([_Target(None, tuple(recipients))], []) if recipients else ([], ["the queue has no channel"])
    if kind == "schedule":
        schedule = schedule_of(queue, name)
        handles = who_is_on_call(session, queue, schedule, now) if schedule else ()
        if not handles:
            return [], [f"schedule {name}: nobody on call"]
    else:
        handles = (name,)
    found: list[_Target] = []
    missing: list[str] = []
    for handle in handles:
        member = session.scalar(select(Member).where(Member.handle == handle, Member.active.is_(True)))
        if member is None:
            missing.append(f"{handle}: not an active member")
            continue
        reached, why = reach(member, via)
        if reached is None:
            missing.append(f"{handle}: {why}")
            continue
        found.append(_Target(handle, reached.recipients, f"{handle} {reached.note}" if reached.note else None))
    return found, missing


def _page_level(
    session: Session, esc: Escalation, queue: EscalationQueue, now: datetime, *, again: str | None = None, suffix: str | None = None
) -> EscalationEvent | None:
    """Page the current level's targets; a level with nobody reachable falls through to the next (said in the timeline).

    Returns the "paged" event, or None when nobody could be paged and the escalation is exhausted.
    """
    levels = esc.policy["levels"]
    nobody = 0
    for _ in range(len(levels) * (esc.policy.get("repeat", 0) + 1)):
        level = levels[esc.level]
        entries = list(level["notify"])
        via = level.get("via", "dm")
        if level.get("how") == "round_robin" and entries:
            turn = esc.rotation % len(entries)
            entries = entries[turn:] + entries[:turn]
        targets: list[_Target] = []
        missing: list[str] = []
        for entry in entries:
            found, why = _resolve(session, esc, queue, entry, now, via)
            missing += why
            targets += [t for t in found if all(t.handle != other.handle for other in targets)]
            if found and level.get("how") == "round_robin":
                break
        where = f"level {esc.level + 1}" + (f", round {esc.loop + 1}" if esc.loop else "")
        if targets:
            handles = [t.handle or "channel" for t in targets]
            occurrence = f"{esc.loop}.{esc.level}" + (f".{again}" if again else "") + (f".{suffix}" if suffix else "")
            for target in targets:
                _plan(session, esc, PAGE, target.recipients, occurrence, now)
            esc.paged = handles
            esc.next_action_at = now + timedelta(seconds=level["wait_s"])
            esc.version += 1
            notes = "".join(f"; {t.note}" for t in targets if t.note)
            event = _event(session, esc, now, "repaged" if again else "paged", None, targets=handles, note=f"{where}{notes}" + (f"; not reached: {'; '.join(missing)}" if missing else ""))
            _noted(session, esc, queue, event, now)
            return event
        event = _event(session, esc, now, "nobody", None, note=f"{where}: nobody reachable ({'; '.join(missing) or 'no targets'}); moving on")
        _noted(session, esc, queue, event, now)
        again = None
        nobody += 1
        # A whole round of levels with nobody to page: another round would find nobody either.
        if nobody >= len(levels) or not _next_level(esc):
            break
    _exhaust(session, esc, queue, now, reached=nobody < len(levels) or bool(esc.paged))
    return None


def _next_level(esc: Escalation) -> bool:
    """Move to the next level (or round); False when the policy has run out."""
    if esc.level + 1 < len(esc.policy["levels"]):
        esc.level += 1
        return True
    if esc.loop < esc.policy.get("repeat", 0):
        esc.loop += 1
        esc.level = 0
        return True
    return False


def _exhaust(session: Session, esc: Escalation, queue: EscalationQueue, now: datetime, *, reached: bool = True) -> None:
    esc.state, esc.next_action_at, esc.open_key, esc.closed_at = "exhausted", None, None, now
    esc.version += 1
    why = "every level was paged and nobody acknowledged" if reached else "nobody could be reached at any level of the policy"
    event = _event(session, esc, now, "exhausted", None, note=why)
    _changed(session, esc, queue, event, now)


def _noted(session: Session, esc: Escalation, queue: EscalationQueue, event: EscalationEvent, now: datetime) -> None:
    """A timeline line in the status message's thread."""
    _plan(session, esc, NOTE, queue_recipients(queue), event, now)


def _shown_of(session: Session, labels: Sequence[str]) -> dict[str, list[tuple[int, str]]]:
    """The pages and status messages of each escalation that may be on someone's screen already.

    A row still pending is composed when it is sent, from the escalation as it is then, so it needs
    no edit; one being sent now (claimed, sending) may have been composed before this change.
    """
    found: dict[str, list[tuple[int, str]]] = {label: [] for label in labels}
    for start in range(0, len(labels), 500):
        rows = session.execute(
            select(OutboxRow.subject, OutboxRow.id, OutboxRow.recipient)
            .where(OutboxRow.subject.in_(labels[start : start + 500]), OutboxRow.kind.in_((PAGE, STATUS)), OutboxRow.status.notin_(("pending", "failed", "skipped")))
            .order_by(OutboxRow.id)
        ).all()
        for subject, row_id, recipient in rows:
            found[subject].append((row_id, recipient))
    return found


def _edit_copies(session: Session, esc: Escalation, event: EscalationEvent, now: datetime) -> None:
    """Every page of the escalation and its status message, edited in place to show its state after `event`.

    Those not sent yet (planned in this transaction, or waiting in the outbox) are composed when
    they are sent, so they show it anyway.
    """
    known = session.info.get(_SHOWN)
    shown = known[esc.label] if known is not None and esc.label in known else _shown_of(session, [esc.label])[esc.label]
    for row_id, recipient in shown:
        if not is_email(recipient):  # a sent e-mail cannot change; its Acknowledge link shows the state when opened
            _plan(session, esc, EDIT, [recipient], (event, row_id), now)


def _changed(session: Session, esc: Escalation, queue: EscalationQueue, event: EscalationEvent, now: datetime) -> None:
    """After a change of state: every page and the status message edited in place, the thread told, the requester told."""
    _noted(session, esc, queue, event, now)
    _edit_copies(session, esc, event, now)
    if event.event in TOLD:
        requester = session.get(Member, esc.requester_id) if esc.requester_id is not None else None
        if requester is not None and (event.by_id is None or event.by_id != requester.id):
            _plan(session, esc, NOTICE, member_recipients(requester), event, now)


def _queue(session: Session, esc: Escalation) -> EscalationQueue:
    # Held for the transaction: the identity map keeps objects only while something refers to
    # them, and a sweep would otherwise load the same queue (and flush) once per escalation.
    queues = session.info.setdefault("escalation_queues", {})
    if esc.queue_id not in queues:
        queues[esc.queue_id] = session.get(EscalationQueue, esc.queue_id)
    queue = queues[esc.queue_id]
    assert queue is not None
    return queue


def _set(session: Session, esc: Escalation, states: Sequence[str], **values: object) -> bool:
    """Compare-and-set: apply `values` only while the escalation is in one of `states`."""
    won = session.execute(
        update(Escalation)
        .where(Escalation.id == esc.id, Escalation.state.in_(tuple(states)))
        .values(version=Escalation.version + 1, **values)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(esc)
    return bool(won)


def _refused(session: Session, esc: Escalation, doing: str) -> Conflict:
    owner = session.get(Member, esc.owner_id) if esc.owner_id else None
    if esc.state == "acknowledged" and owner is not None:
        return Conflict(f"{esc.label} is already acknowledged by {owner.name}; nothing to {doing}.")
    return Conflict(f"{esc.label} is {esc.state}; nothing to {doing}.")


def acknowledge(session: Session, esc: Escalation, by: Member | None, now: datetime, *, source: str | None = None) -> EscalationEvent:
    """Paging stops; `by` owns it (None with `source`: a system acknowledged it, nobody owns it yet)."""
    levels = len(esc.policy["levels"])
    if not _set(
        session, esc, ("open",),
        state="acknowledged", owner_id=by.id if by is not None else None, acknowledged_at=now,
        acknowledged_level=esc.loop * levels + esc.level, next_action_at=None, repage=False,
    ):  # fmt: skip
        raise _refused(session, esc, "acknowledge")
    event = _event(session, esc, now, "acknowledged", by, source=source)
    _changed(session, esc, _queue(session, esc), event, now)
    _write_outbox(session)
    return event


def resolve(
    session: Session, esc: Escalation, by: Member | None, now: datetime, note: str | None = None,
    *, cancel: bool = False, source: str | None = None,
) -> EscalationEvent:  # fmt: skip
    state = "cancelled" if cancel else "resolved"
    if not _set(session, esc, OPEN_STATES, state=state, next_action_at=None, closed_at=now, open_key=None, repage=False):
        raise _refused(session, esc, "cancel" if cancel else "resolve")
    event = _event(session, esc, now, state, by, note=note, source=source)
    _changed(session, esc, _queue(session, esc), event, now)
    _write_outbox(session)
    return event


def retriggered(session: Session, esc: Escalation, now: datetime, summary: str, *, source: str) -> EscalationEvent:
    """Another trigger for an open escalation (the same dedup key): a line in its timeline and thread, no new page."""
    event = _event(session, esc, now, "triggered", None, note=summary, source=source)
    _noted(session, esc, _queue(session, esc), event, now)
    _write_outbox(session)
    return event


def snooze(session: Session, esc: Escalation, by: Member, now: datetime, length: str) -> EscalationEvent:
    """Hold the escalation for `length` (15m or 1h), then page the same level again."""
    until = now + SNOOZES[length]
    if not _set(session, esc, ("open",), next_action_at=until, repage=True, snoozes=Escalation.snoozes + 1):
        raise _refused(session, esc, "snooze")
    event = _event(session, esc, now, "snoozed", by, note=f"for {length}, then the same level is paged again")
    _changed(session, esc, _queue(session, esc), event, now)
    _write_outbox(session)
    return event


def reassign(session: Session, esc: Escalation, by: Member, now: datetime, *, member: Member | None = None, queue: EscalationQueue | None = None) -> EscalationEvent:
    """Hand the escalation to a person (paged now, the policy continuing if they do not acknowledge) or to another queue (its policy from the start)."""
    old_queue = _queue(session, esc)
    if queue is not None and queue.id == esc.queue_id:
        raise Conflict(f"{esc.label} is in {queue.name} already.")
    if queue is not None:
        key = f"{queue.id}:{esc.ticket.lower()}"[:300]
        if session.scalar(select(Escalation.id).where(Escalation.open_key == key)) is not None:
            raise Conflict(f"{esc.ticket} already has an open escalation in {queue.name}.")
        if not _set(
            session, esc, OPEN_STATES,
            state="open", queue_id=queue.id, policy=policy_for(queue.policy, esc.severity), level=0, loop=0, owner_id=None,
            acknowledged_at=None, acknowledged_level=None, open_key=key, repage=False,
        ):  # fmt: skip
            raise _refused(session, esc, "reassign")
        event = _event(session, esc, now, "reassigned", by, targets=[f"queue:{queue.key}"])
        session.flush()
        # The old queue's thread hears where it went; the new queue gets its own status message,
        # then its first level is paged (again, when the escalation comes back to a queue it left).
        _changed(session, esc, old_queue, event, now)
        _plan(session, esc, STATUS, queue_recipients(queue), f"status.{event.id}" if _had_status(session, esc, queue) else "status", now)
        _page_level(session, esc, queue, now, suffix=f"q{event.id}")
        _write_outbox(session)
        return event
    if member is None:
        raise Conflict("Reassign to a member or a queue.")
    if esc.state == "acknowledged" and esc.owner_id == member.id:
        # Not a handover: no timeline line, no page, no edits, nobody told.
        raise Conflict(f"{member.name} already owns {esc.label}; nothing changed.")
    found, _why = reach(member)
    if found is None:
        raise Conflict(f"{member.name} has no Slack or Teams id and no e-mail address, so csbot cannot page them; reassign to someone it can reach.")
    wait = timedelta(seconds=esc.policy["levels"][esc.level]["wait_s"])
    if not _set(
        session, esc, OPEN_STATES,
        state="open", owner_id=None, acknowledged_at=None, acknowledged_level=None, paged=[member.handle],
        next_action_at=now + wait, repage=False,
    ):  # fmt: skip
        raise _refused(session, esc, "reassign")
    event = _event(session, esc, now, "reassigned", by, targets=[member.handle])
    session.flush()
    _plan(session, esc, PAGE, found.recipients, f"{esc.loop}.{esc.level}.r{event.id}", now)
    _changed(session, esc, old_queue, event, now)
    _write_outbox(session)
    return event


def page_by_email_instead(session: Session, esc: Escalation, member: Member, occurrence: str, why: str, now: datetime) -> bool:
    """A chat page of `occurrence` that could not reach `member` (`why`), sent to their e-mail address instead; whether it was.

    Nothing when the escalation is no longer open, the member has no address,
    or that e-mail is planned already (the level said `dm+email`, or another
    platform's failure got here first).
    """
    if esc.state != "open" or not member.email:
        return False
    recipient = email_recipient(member.email)
    exists = session.scalar(
        select(OutboxRow.id).where(OutboxRow.kind == PAGE, OutboxRow.subject == esc.label, OutboxRow.recipient == recipient, OutboxRow.occurrence == occurrence)
    )
    if exists is not None:
        return False
    _plan(session, esc, PAGE, [recipient], occurrence, now)
    event = _event(session, esc, now, "emailed", None, targets=[member.handle], note=f"chat could not deliver the page: {why}")
    _noted(session, esc, _queue(session, esc), event, now)
    _write_outbox(session)
    return True


def chat_pages_pending(session: Session, esc: Escalation, member: Member, occurrence: str) -> bool:
    """Whether a chat page of `occurrence` to `member` was delivered or may still be (sent, waiting, or being sent)."""
    chat = chat_of(member)
    return bool(chat) and session.scalar(
        select(OutboxRow.id)
        .where(OutboxRow.kind == PAGE, OutboxRow.subject == esc.label, OutboxRow.occurrence == occurrence, OutboxRow.recipient.in_(chat), OutboxRow.status.notin_(("failed", "skipped")))
        .limit(1)
    ) is not None


def _had_status(session: Session, esc: Escalation, queue: EscalationQueue) -> bool:
    """Whether the escalation already has a status message in this queue's channels (it was here before)."""
    recipients = queue_recipients(queue)
    return bool(recipients) and session.scalar(
        select(OutboxRow.id).where(OutboxRow.kind == STATUS, OutboxRow.subject == esc.label, OutboxRow.recipient.in_(recipients)).limit(1)
    ) is not None


def due(session: Session, now: datetime, limit: int = 1000) -> list[Escalation]:
    """Open escalations whose next step is due, locked for this transaction (others' sweeps skip them on PostgreSQL)."""
    query = (
        select(Escalation)
        .where(Escalation.state == "open", Escalation.next_action_at.is_not(None), Escalation.next_action_at <= now)
        .order_by(Escalation.next_action_at, Escalation.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list(session.scalars(query))


def advance(session: Session, esc: Escalation, now: datetime) -> None:
    """The due step of one escalation: page again after a snooze, else the next level (or round), else exhausted.

    Whatever it does, the pages already sent and the status message are edited to say so
    (an earlier level's page must not go on saying "level 2 follows at 10:52").
    """
    queue = _queue(session, esc)
    if (held := _held(session, esc, queue, now)) is not None:
        _edit_copies(session, esc, held, now)
        return
    if esc.repage:
        esc.repage = False
        # Held before its first page (working hours), nobody was paged yet: this is the first page.
        paged = _page_level(session, esc, queue, now, again=f"s{esc.snoozes}" if esc.paged else None)
    elif not _next_level(esc):
        _exhaust(session, esc, queue, now)
        return
    else:
        paged = _page_level(session, esc, queue, now)
    if paged is not None:  # (an exhausted escalation's copies were edited by _exhaust)
        _edit_copies(session, esc, paged, now)


class Stuck(Exception):
    """An escalation that could not be advanced (a bug, data nobody foresaw); `number` says which."""

    def __init__(self, number: int) -> None:
        super().__init__(f"ESC-{number} could not be advanced")
        self.number = number


def sweep(session: Session, now: datetime, limit: int = 1000, *, skip: Collection[int] = ()) -> int:
    """Advance every escalation due at `now` but those in `skip` (call in a write transaction); how many moved.

    Raises Stuck (with the cause) for an escalation that cannot be advanced:
    the caller rolls back, puts it off (`postpone`) and sweeps again without it,
    so it never holds up the others.
    """
    moved = 0
    batch = [esc for esc in due(session, now, limit + len(skip)) if esc.id not in skip][:limit]
    session.info[_SHOWN] = _shown_of(session, [esc.label for esc in batch])
    try:
        for esc in batch:
            try:
                advance(session, esc, now)
            except Exception as exc:
                raise Stuck(esc.id) from exc
            moved += 1
        _write_outbox(session)
    finally:
        session.info.pop(_SHOWN, None)
    return moved


def postpone(session: Session, number: int, now: datetime) -> None:
    """Try a stuck escalation again a little later."""
    session.execute(update(Escalation).where(Escalation.id == number, Escalation.state == "open").values(next_action_at=now + RETRY_STUCK))


def overdue(session: Session, now: datetime, by: timedelta) -> int:
    """Open escalations whose step is more than `by` late: the sweep is not running."""
    return session.scalar(
        select(func.count()).select_from(Escalation).where(Escalation.state == "open", Escalation.next_action_at < now - by)
    ) or 0


def events(session: Session, esc: Escalation) -> list[EscalationEvent]:
    return list(session.scalars(select(EscalationEvent).where(EscalationEvent.escalation_id == esc.id).order_by(EscalationEvent.id)))


def find(session: Session, number: int) -> Escalation | None:
    return session.get(Escalation, number)


def open_for_team(session: Session, team_id: int) -> list[Escalation]:
    """A team's open escalations: those of its tickets, and those its members asked for."""
    asked = select(Member.id).where(Member.team_id == team_id)
    tickets = select(Ticket.id).where(Ticket.team_id == team_id)
    query = select(Escalation).where(
        Escalation.state.in_(OPEN_STATES), or_(Escalation.requester_id.in_(asked), Escalation.ticket_id.in_(tickets))
    )
    return list(session.scalars(query.order_by(Escalation.created_at, Escalation.id)))


def open_for(session: Session, *, queue_ids: Sequence[int] | None = None) -> list[Escalation]:
    """The open (and acknowledged) escalations, of some queues or all."""
    query = select(Escalation).where(Escalation.state.in_(OPEN_STATES))
    if queue_ids is not None:
        query = query.where(Escalation.queue_id.in_(tuple(queue_ids)))
    return list(session.scalars(query.order_by(Escalation.id)))
