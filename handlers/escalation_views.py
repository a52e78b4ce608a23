"""What `/escalate`, `/escalation` and the pages share: finding queues and escalations, who may act, and how one looks.

A page, the queue channel's status message, a timeline line and the
requester's notice are all drawn from the escalation's current row, so a
page composed late, or edited after a change, always shows the truth.
"""

from __future__ import annotations

import json
import os
import re
from datetime import datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from escalation import engine
from escalation.models import Escalation, EscalationEvent
from escalation.queue_people import specialists
from handlers.args import UsageError
from handlers.context import Context, Forbidden, NotFound
from handlers.reply import Actions, Button, Field, Fields, Reply, Section
from handlers.reply import Context as Note
from handlers.router import closest
from store.org import Member
from store.queues import EscalationQueue

ACK, RESOLVE, SNOOZE, REASSIGN = "esc.ack", "esc.resolve", "esc.snooze", "esc.reassign"
RESOLVE_FORM, REASSIGN_FORM = "esc.resolve_form", "esc.reassign_form"
_ESC = re.compile(r"^(?:esc-?)?(\d{1,9})$", re.IGNORECASE)
STATE_ICONS = {"open": "🔴", "acknowledged": "🟡", "resolved": "✅", "cancelled": "⚪", "exhausted": "⛔"}
SEVERITY_LABELS = {"sev1": "SEV1 (critical)", "sev2": "SEV2 (major)", "sev3": "SEV3 (minor)", "sev4": "SEV4 (low)"}


def active_queues(session: Session) -> list[EscalationQueue]:
    return list(session.scalars(select(EscalationQueue).where(EscalationQueue.active.is_(True)).order_by(EscalationQueue.position, EscalationQueue.id)))


def queue_named(session: Session, text: str) -> EscalationQueue | None:
    wanted = text.strip().lower()
    return next((q for q in active_queues(session) if q.key == wanted or q.name.lower() == wanted), None)


def find_queue(ctx: Context, text: str) -> EscalationQueue:
    queue = queue_named(ctx.session, text)
    if queue is not None:
        return queue
    keys = [q.key for q in active_queues(ctx.session)]
    if not keys:
        raise NotFound("No escalation queues are set up yet: an admin adds them under `escalation:` in the organisation file.")
    guesses = closest(text, keys)
    hint = f" Did you mean {', '.join(guesses)}?" if guesses else ""
    raise NotFound(f"There is no queue called {text!r}.{hint} Queues: {', '.join(keys)}.")


def escalation_number(text: str) -> int | None:
    m = _ESC.match(text.strip())
    return int(m.group(1)) if m else None


def find_escalation(ctx: Context, text: str) -> Escalation:
    number = escalation_number(text)
    if number is None:
        raise UsageError(f"{text!r} is not an escalation id; write it as ESC-12.")
    esc = engine.find(ctx.session, number)
    if esc is None:
        raise NotFound(f"There is no ESC-{number}. /escalation list shows the open ones.")
    return esc


def queue_of(session: Session, esc: Escalation) -> EscalationQueue:
    queue = session.get(EscalationQueue, esc.queue_id)
    assert queue is not None
    return queue


def authorize_act(ctx: Context, esc: Escalation, verb: str) -> None:
    """Who may act on an escalation: leads and above; its queue's specialists, whoever it pages and its owner; its requester may resolve or cancel it."""
    member = ctx.member
    if member.at_least("lead"):
        return
    queue = queue_of(ctx.session, esc)
    if member.handle in esc.paged or member.id == esc.owner_id or member.handle in specialists(queue):
        return
    # Someone paged at an earlier level (a reassignment to them, say) may still take it.
    if any(member.handle in e.targets for e in engine.events(ctx.session, esc) if e.event in ("paged", "repaged", "reassigned")):
        return
    if verb in ("resolve", "cancel") and member.id == esc.requester_id:
        return
    raise Forbidden(f"Only the specialists of {queue.name}, whoever {esc.label} pages, its requester (to resolve or cancel) and leads may {verb} it.")


def _member(session: Session, member_id: int | None) -> Member | None:
    return session.get(Member, member_id) if member_id else None


def local(moment: datetime | None, zone: str) -> str:
    return moment.astimezone(ZoneInfo(zone)).strftime("%H:%M") if moment else "—"


def local_full(moment: datetime | None, zone: str) -> str:
    return moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M") if moment else "—"


def ticket_text(esc: Escalation) -> str:
    return f"{esc.ticket} ({esc.ticket_url})" if esc.ticket_url and esc.ticket_url != esc.ticket else esc.ticket


def escalation_json(session: Session, esc: Escalation, *, timeline: bool = False) -> dict[str, Any]:
    requester, owner = _member(session, esc.requester_id), _member(session, esc.owner_id)
    out: dict[str, Any] = {
        "id": esc.label,
        "ticket": esc.ticket,
        "ticket_url": esc.ticket_url,
        "queue": queue_of(session, esc).key,
        "severity": esc.severity,
        "reason": esc.reason,
        "state": esc.state,
        "level": esc.level + 1,
        "loop": esc.loop + 1,
        "requester": requester.handle if requester else None,
        "source": esc.source,
        "dedup_key": esc.dedup_key,
        "owner": owner.handle if owner else None,
        "created_at": esc.created_at.isoformat(),
        "next_action_at": esc.next_action_at.isoformat() if esc.next_action_at else None,
        "paged": list(esc.paged),
        "policy": esc.policy.get("name", "default"),
    }
    if timeline:
        handles = {m.id: m.handle for m in session.scalars(select(Member))}
        out["timeline"] = [
            {
                "at": e.at.isoformat(), "event": e.event, "by": handles.get(e.by_id) if e.by_id else None,
                "source": e.source, "targets": list(e.targets), "note": e.note,
            }  # fmt: skip
            for e in engine.events(session, esc)
        ]
    return out


def state_line(session: Session, esc: Escalation, zone: str) -> str:
    """`Acknowledged by Dana at 10:42`, `Paging @dana (level 1); level 2 at 10:52`, …"""
    owner = _member(session, esc.owner_id)
    last = session.scalar(select(EscalationEvent).where(EscalationEvent.escalation_id == esc.id).order_by(EscalationEvent.id.desc()).limit(1))
    by = _member(session, last.by_id) if last is not None else None
    if esc.state == "acknowledged":
        if owner is None:  # a system acknowledged it (Events API): paging stopped, nobody owns it yet
            return f"Acknowledged through the {_system(session, esc, 'acknowledged')} at {local(esc.acknowledged_at, zone)}; nobody owns it yet."
        return f"Acknowledged by {owner.name} at {local(esc.acknowledged_at, zone)}."
    if esc.state in ("resolved", "cancelled"):
        note = f": {last.note}" if last is not None and last.note else ""
        who = by.name if by else f"the {last.source}" if last is not None and last.source else "someone"
        return f"{esc.state.title()} by {who} at {local(esc.closed_at, zone)}{note}."
    if esc.state == "exhausted":
        return f"Nobody acknowledged: every level was paged; gave up at {local(esc.closed_at, zone)}."
    paged = ", ".join("the queue channel" if h == "channel" else f"@{h}" for h in esc.paged) or "nobody yet"
    if esc.repage and esc.next_action_at and not esc.paged:
        when = esc.next_action_at.astimezone(ZoneInfo(zone)).strftime("%a %Y-%m-%d %H:%M")
        return f"Held outside working hours: level {esc.level + 1} is paged at {when}."
    if esc.repage and esc.next_action_at:
        return f"Snoozed: pages {paged} again at {local(esc.next_action_at, zone)}."
    levels = esc.policy["levels"]
    rounds = esc.policy.get("repeat", 0) + 1
    where = f"level {esc.level + 1}" + (f", round {esc.loop + 1}" if esc.loop else "")
    if esc.level + 1 < len(levels):
        after = f"level {esc.level + 2} follows"
    elif esc.loop + 1 < rounds:
        after = f"level 1 of round {esc.loop + 2} follows"
    else:
        after = "gives up"
    return f"Paging {paged} ({where}); {after} at {local(esc.next_action_at, zone)} unless acknowledged."


def _system(session: Session, esc: Escalation, event: str) -> str:
    """The system that last did `event` to the escalation, as its timeline names it."""
    source = session.scalar(
        select(EscalationEvent.source)
        .where(EscalationEvent.escalation_id == esc.id, EscalationEvent.event == event)
        .order_by(EscalationEvent.id.desc())
        .limit(1)
    )
    return source or "Events API"


def requested_by(session: Session, esc: Escalation) -> str:
    requester = _member(session, esc.requester_id)
    if requester is not None:
        return requester.name
    return f"{esc.source} (Events API)" if esc.source else "—"


def _detail_fields(details: dict[str, Any] | None) -> list[Field]:
    """What a system sent beside the summary (Events API): its links, and its custom details in one line."""
    if not details:
        return []
    fields = [Field("Link", f"{link['text']} ({link['href']})" if link.get("text") else link["href"]) for link in details.get("links", [])[:3]]
    custom = details.get("custom_details")
    if isinstance(custom, dict) and custom:
        pairs = "; ".join(f"{k}: {v}" for k, v in list(custom.items())[:10] if not isinstance(v, (dict, list)))
        if pairs:
            fields.append(Field("Details", pairs[:500] + ("…" if len(pairs) > 500 else "")))
    elif isinstance(custom, (str, int, float)) and not isinstance(custom, bool):
        fields.append(Field("Details", str(custom)[:500]))
    return fields


def _fields(session: Session, esc: Escalation, zone: str) -> Fields:
    fields = [
        Field("Ticket", ticket_text(esc)),
        Field("Severity", SEVERITY_LABELS.get(esc.severity, esc.severity)),
        Field("Queue", queue_of(session, esc).name),
        Field("Requested by", requested_by(session, esc)),
        Field("Opened", local_full(esc.created_at, zone)),
    ]
    if esc.source_url:
        fields.append(Field("From the message", esc.source_url))
    fields += _detail_fields(esc.details)
    return Fields(tuple(fields))


def buttons(esc: Escalation) -> list[Actions]:
    if esc.state not in ("open", "acknowledged"):
        return []
    value = json.dumps({"id": esc.id})
    row: list[Button] = []
    if esc.state == "open":
        row.append(Button("Acknowledge", ACK, value, "primary"))
    row.append(Button("Resolve", RESOLVE, value))
    row.append(Button("Reassign", REASSIGN, value))
    if esc.state == "open":
        row += [Button("Snooze 15m", SNOOZE, json.dumps({"id": esc.id, "for": "15m"})), Button("Snooze 1h", SNOOZE, json.dumps({"id": esc.id, "for": "1h"}))]
    return [Actions(tuple(row))]


def page_reply(session: Session, esc: Escalation, zone: str) -> Reply:
    """The page a target gets, and what it becomes after a change (edited in place)."""
    icon = STATE_ICONS.get(esc.state, "")
    return Reply(
        title=f"{icon} {esc.label} · {esc.severity.upper()} · {esc.ticket}",
        blocks=[Section(esc.reason), _fields(session, esc, zone), Section(state_line(session, esc, zone)), *buttons(esc)],
        data={"escalation": escalation_json(session, esc)},
    )


def status_reply(session: Session, esc: Escalation, zone: str) -> Reply:
    """The queue channel's one message about an escalation; its thread holds the timeline."""
    reply = page_reply(session, esc, zone)
    reply.blocks.append(Note("The timeline is in this message's thread. /escalation " + esc.label + " shows it too."))
    reply.visibility = "channel"
    return reply


EVENT_TEXT = {
    "created": "opened",
    "paged": "paged",
    "repaged": "paged again",
    "emailed": "paged by e-mail",
    "nobody": "nobody to page",
    "acknowledged": "acknowledged",
    "snoozed": "snoozed",
    "reassigned": "reassigned",
    "resolved": "resolved",
    "cancelled": "cancelled",
    "exhausted": "gave up",
    "triggered": "triggered again",
    "held": "held",
}


def event_line(session: Session, event: EscalationEvent, zone: str) -> str:
    by = _member(session, event.by_id)
    targets = ", ".join("the queue channel" if t == "channel" else t if t.startswith("queue:") else f"@{t}" for t in event.targets)
    parts = [local(event.at, zone), EVENT_TEXT.get(event.event, event.event)]
    if targets:
        parts.append(targets)
    if by is not None:
        parts.append(f"by {by.name}")
    elif event.source:
        parts.append("through the Events API" if event.source == "Events API" else f"by {event.source}")
    line = " ".join(parts)
    return f"{line} ({event.note})" if event.note else line


def timeline_table_rows(session: Session, esc: Escalation, zone: str) -> list[str]:
    return [event_line(session, e, zone) for e in engine.events(session, esc)]


def notice_reply(session: Session, esc: Escalation, event: EscalationEvent, zone: str) -> Reply:
    """What the requester is told when their escalation is acknowledged, reassigned or ends."""
    return Reply(
        title=f"{STATE_ICONS.get(esc.state, '')} {esc.label} ({esc.ticket}): {EVENT_TEXT.get(event.event, event.event)}",
        blocks=[Section(event_line(session, event, zone)), Section(state_line(session, esc, zone))],
        data={"escalation": escalation_json(session, esc)},
    )


def webhook_reply(session: Session, esc: Escalation, event: EscalationEvent) -> Reply:
    """What a queue's webhook receives for one timeline event: the event, and the escalation as it is when sent."""
    by = _member(session, event.by_id)
    data = {
        "event": {
            "id": event.id,
            "type": event.event,
            "at": event.at.isoformat(),
            "by": by.handle if by else None,
            "source": event.source,
            "targets": list(event.targets),
            "note": event.note,
        },
        "escalation": escalation_json(session, esc),
    }
    return Reply(title=f"{esc.label}: {EVENT_TEXT.get(event.event, event.event)}", blocks=[], data=data)


def ticket_url_template() -> str | None:
    """`TICKET_URL_TEMPLATE` (checked by bot.config at start-up): a helpdesk URL with `{id}`."""
    template = os.environ.get("TICKET_URL_TEMPLATE", "").strip()
    try:
        template.format(id="1")
    except (ValueError, KeyError, IndexError):
        return None
    return template if "{id}" in template else None


def ticket_url(ident: str) -> str | None:
    """The helpdesk page of ticket `ident` (`TICKET_URL_TEMPLATE` with the id, quoted as one path segment), or None without a template."""
    template = ticket_url_template()
    return template.format(id=quote(ident, safe="")) if template else None


def linked_ticket(ident: str) -> str:
    """`D-019991 (https://acme.zendesk.com/agent/tickets/D-019991)`, or the id alone without a template."""
    url = ticket_url(ident)
    return f"{ident} ({url})" if url else ident
