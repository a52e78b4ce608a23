"""Events sent to csbot as PagerDuty's Events API v2 defines them: trigger, acknowledge, resolve.

`parse_event` checks a decoded body and lists every problem in PagerDuty's
words, so a tool's error log reads the same against csbot as against
PagerDuty. `apply_event` acts on a queue's escalations:

- trigger: opens an escalation paged by the queue's policy; with a
  `dedup_key` that names an open escalation of the queue (or a ticket the
  queue already has open), it adds a line to that escalation's timeline
  instead of opening another. Without a key, csbot makes one and returns it.
- acknowledge / resolve: act on the open escalation with that key; an
  unknown or closed key is accepted and ignored (as PagerDuty does), and
  recorded like every event.

Nothing here knows HTTP: the route (bot/events_api.py) reads, authenticates
and rate-limits; this module decides.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from escalation import engine
from escalation.models import OPEN_STATES, Escalation, InboundEvent, RoutingKey
from kpi.tickets import Ticket
from store.queues import EscalationQueue

ACTIONS = ("trigger", "acknowledge", "resolve")
# PagerDuty's severities, most urgent first, and csbot's for each.
SEVERITIES = {"critical": "sev1", "error": "sev2", "warning": "sev3", "info": "sev4"}
MAX_SUMMARY = 1024  # PagerDuty truncates a longer summary; so does csbot
MAX_DEDUP_KEY = 255
MAX_SOURCE = 255
MAX_LINKS = 10
MAX_DETAILS_JSON = 16 * 1024  # custom details kept (and shown) per escalation
MAX_TICKET = 200
VIA = "Events API"
_TICKET_FIELDS = ("ticket", "ticket_id")


class InvalidEvent(Exception):
    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class Event:
    action: str
    dedup_key: str | None
    summary: str | None = None
    source: str | None = None
    severity: str | None = None  # csbot's: sev1..sev4
    ticket: str | None = None
    ticket_url: str | None = None
    details: dict[str, Any] | None = None  # custom details, links, component, group, class, client


@dataclass(frozen=True)
class Applied:
    dedup_key: str
    outcome: str  # opened | added | acknowledged | resolved | ignored
    escalation: Escalation | None
    why: str | None = None  # for an ignored event: what there was to act on


def _text(value: object) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _clean(text: str, limit: int) -> str:
    # One line, no control characters: it becomes a title, a field, a timeline note.
    flat = "".join(c if c.isprintable() else " " for c in text)
    return " ".join(flat.split())[:limit]


def _links(value: object, errors: list[str]) -> list[dict[str, str]]:
    if value is None:
        return []
    if not isinstance(value, list):
        errors.append("'links' is invalid (must be an array)")
        return []
    kept: list[dict[str, str]] = []
    for index, link in enumerate(value):
        href = link.get("href") if isinstance(link, dict) else None
        if not isinstance(href, str) or not href.startswith(("https://", "http://")) or len(href) > 2000:
            errors.append(f"'links[{index}].href' is invalid (must be an http or https URL)")
            continue
        if len(kept) < MAX_LINKS:
            text = link.get("text")
            kept.append({"href": href, "text": _clean(text, 200) if isinstance(text, str) else ""})
    return kept


def _ticket(details: object) -> tuple[str | None, str | None]:
    """A helpdesk ticket the sender names in `custom_details` (`ticket` or `ticket_id`, and `ticket_url`)."""
    if not isinstance(details, dict):
        return None, None
    ticket = next((details[f] for f in _TICKET_FIELDS if isinstance(details.get(f), (str, int)) and not isinstance(details.get(f), bool)), None)
    shown = _clean(str(ticket), MAX_TICKET) if ticket is not None else None
    url = details.get("ticket_url")
    url = url if isinstance(url, str) and url.startswith(("https://", "http://")) and len(url) <= 1000 and url.isprintable() else None
    return shown or None, url


def _kept_details(payload: Mapping[str, Any], event: Mapping[str, Any], links: list[dict[str, str]]) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    for name in ("component", "group", "class"):
        if (text := _text(payload.get(name))) is not None:
            kept[name] = _clean(text, 255)
    for name in ("client", "client_url"):
        if (text := _text(event.get(name))) is not None:
            kept[name] = _clean(text, 1000)
    if links:
        kept["links"] = links
    custom = payload.get("custom_details")
    if custom is not None:
        text = json.dumps(custom, ensure_ascii=False, sort_keys=True)
        kept["custom_details"] = custom if len(text) <= MAX_DETAILS_JSON else {"truncated": text[:MAX_DETAILS_JSON]}
    return kept


def parse_event(body: object) -> Event:
    """The event, or InvalidEvent listing every problem (the routing key is checked before this)."""
    if not isinstance(body, dict):
        raise InvalidEvent(["Event object is invalid (must be a JSON object)"])
    errors: list[str] = []
    action = body.get("event_action")
    if action not in ACTIONS:
        errors.append("'event_action' is invalid (must be one of the following: 'trigger', 'acknowledge' or 'resolve')")
    dedup = body.get("dedup_key")
    if dedup is not None and not isinstance(dedup, str):
        errors.append("'dedup_key' is invalid (must be a string)")
        dedup = None
    elif isinstance(dedup, str) and len(dedup) > MAX_DEDUP_KEY:
        errors.append(f"'dedup_key' is invalid (must be at most {MAX_DEDUP_KEY} characters)")
    elif isinstance(dedup, str) and not dedup.isprintable():
        errors.append("'dedup_key' is invalid (must not hold control characters)")
    dedup = dedup if isinstance(dedup, str) and dedup.strip() else None
    if action in ("acknowledge", "resolve"):
        if dedup is None and not any("'dedup_key'" in e for e in errors):
            errors.append("'dedup_key' is missing or blank")
        if errors:
            raise InvalidEvent(errors)
        return Event(str(action), dedup)
    payload = body.get("payload")
    summary = source = severity = None
    links = _links(body.get("links"), errors)
    if not isinstance(payload, dict):
        if action == "trigger" or payload is not None:
            errors.append("'payload' is missing or blank" if payload is None else "'payload' is invalid (must be an object)")
        payload = {}
    elif action == "trigger":
        summary, source = _text(payload.get("summary")), _text(payload.get("source"))
        if summary is None:
            errors.append("'payload.summary' is missing or blank")
        if source is None:
            errors.append("'payload.source' is missing or blank")
        severity = SEVERITIES.get(payload.get("severity"))  # type: ignore[arg-type]
        if severity is None:
            errors.append("'payload.severity' is invalid (must be one of the following: 'critical', 'warning', 'error' or 'info')")
        custom = payload.get("custom_details")
        if custom is not None and not isinstance(custom, (dict, list, str, int, float, bool)):
            errors.append("'payload.custom_details' is invalid")
    if errors:
        raise InvalidEvent(errors)
    assert summary is not None and source is not None
    ticket, ticket_url = _ticket(payload.get("custom_details"))
    return Event(
        "trigger",
        dedup,
        summary=_clean(summary, MAX_SUMMARY),
        source=_clean(source, MAX_SOURCE),
        severity=severity,
        ticket=ticket,
        ticket_url=ticket_url,
        details=_kept_details(payload, body, links),
    )


def _open_with_key(session: Session, queue: EscalationQueue, dedup_key: str) -> Escalation | None:
    return session.scalar(
        select(Escalation)
        .where(Escalation.queue_id == queue.id, Escalation.dedup_key == dedup_key, Escalation.state.in_(OPEN_STATES))
        .order_by(Escalation.id.desc())
        .limit(1)
    )


def _ticket_row(session: Session, ticket: str | None) -> Ticket | None:
    if ticket is None:
        return None
    ident = ticket.removeprefix("#")
    return session.scalar(select(Ticket).where(Ticket.external_id == ident).order_by(Ticket.created_at.desc()).limit(1))


def _trigger(
    session: Session, queue: EscalationQueue, event: Event, now: datetime, ticket_url: Callable[[str], str | None]
) -> Applied:
    dedup = event.dedup_key or uuid.uuid4().hex
    via = f"{event.source} ({VIA})"
    assert event.summary is not None and event.severity is not None
    esc = _open_with_key(session, queue, dedup)
    if esc is None:
        ticket = event.ticket or dedup[:MAX_TICKET]
        row = _ticket_row(session, event.ticket)
        opened = engine.open_escalation(
            session, queue,
            ticket=ticket, ticket_id=row.id if row else None,
            ticket_url=event.ticket_url or (ticket_url(ticket.removeprefix("#")) if event.ticket else None),
            severity=event.severity, reason=event.summary, requester=None, now=now,
            source=event.source, dedup_key=dedup, details=event.details,
        )  # fmt: skip
        if opened.created:
            return Applied(dedup, "opened", opened.escalation)
        esc = opened.escalation  # the ticket was escalated to this queue already (from chat, or another sender)
        if esc.dedup_key is None:
            esc.dedup_key = dedup
    engine.retriggered(session, esc, now, event.summary, source=via)
    return Applied(dedup, "added", esc)


def _act(session: Session, queue: EscalationQueue, event: Event, now: datetime) -> Applied:
    assert event.dedup_key is not None
    esc = _open_with_key(session, queue, event.dedup_key)
    if esc is None:
        return Applied(event.dedup_key, "ignored", None, "no open escalation has this dedup_key")
    via = VIA
    try:
        if event.action == "acknowledge":
            if esc.state != "open":
                return Applied(event.dedup_key, "ignored", esc, f"{esc.label} is {esc.state} already")
            engine.acknowledge(session, esc, None, now, source=via)
            return Applied(event.dedup_key, "acknowledged", esc)
        engine.resolve(session, esc, None, now, source=via)
        return Applied(event.dedup_key, "resolved", esc)
    except engine.Conflict as exc:  # someone got there first, between the read and the change
        return Applied(event.dedup_key, "ignored", esc, str(exc))


def apply_event(
    session: Session,
    key: RoutingKey,
    queue: EscalationQueue,
    event: Event,
    now: datetime,
    *,
    ticket_url: Callable[[str], str | None] = lambda _ident: None,
) -> Applied:
    """Act on the event for the key's queue and record it; the caller holds the write lock and commits."""
    applied = _trigger(session, queue, event, now, ticket_url) if event.action == "trigger" else _act(session, queue, event, now)
    key.last_used_at = now
    session.add(
        InboundEvent(
            key_id=key.id,
            at=now,
            action=event.action,
            dedup_key=applied.dedup_key[:MAX_DEDUP_KEY],
            outcome=applied.outcome,
            escalation_id=applied.escalation.id if applied.escalation is not None else None,
            summary=event.summary,
        )
    )
    session.flush()
    return applied


__all__ = ["ACTIONS", "Applied", "Event", "InvalidEvent", "SEVERITIES", "apply_event", "parse_event"]
