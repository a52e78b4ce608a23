"""Ticket events from a helpdesk webhook, applied to the ticket's KPI fields.

Each event is applied once: its id is stored with a unique constraint in the
same transaction as the change, so a retried delivery finds it and changes
nothing. Events may arrive out of order: a ticket ends as if they had arrived
in event order (`at`, then life-cycle rank, then id). Replies and reopens
count whenever they arrive and the first reply is the earliest; every other
field keeps the value of its latest event, remembered per field in
kpi.field_times, so a late event is recorded as stale and leaves it alone.
A team or agent the org does not know is created as an import creates it
(kpi.resolver), and reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kpi.field_times import TicketFieldTime
from kpi.resolver import OrgResolver
from kpi.sla import settle_ticket
from store.ticket_fields import TagError, parse_tags, tags_text
from kpi.ticket_rows import MAX_LENGTH
from kpi.tickets import (
    CSAT_VALUES,
    EARLIEST_EPOCH,
    LATEST_EPOCH,
    PRIORITIES,
    STATUSES,
    Ticket,
    TicketEvent,
)
from store.name_characters import clean_name, unwanted_character
from store.quoting import clip

# How far ahead of csbot's clock an event's time may be (the sender's clock may run a little fast).
MAX_AHEAD = timedelta(minutes=10)
EVENT_TYPES = ("created", "agent_replied", "status_changed", "solved", "reopened", "rated", "assigned")


class EventError(ValueError):
    """The event cannot be applied; `problems` lists every reason."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class TicketEventIn:
    event_id: str
    type: str
    source: str
    external_id: str
    at: datetime
    fields: dict[str, Any]  # subject, team, agent, priority, channel, status, created_at, tags (stored form; None: no tags)
    rating: str | None = None
    status: str | None = None


@dataclass(frozen=True)
class Applied:
    duplicate: bool
    ticket_id: int
    external_id: str
    # What the event named that the org did not have, created as an import creates it (kpi.resolver).
    teams_created: tuple[str, ...] = ()  # team keys
    agents_created: tuple[str, ...] = ()  # member handles
    # Older than what the ticket held for a field it sets (see apply_event).
    stale: bool = False
    superseded: tuple[str, ...] = ()  # the fields it left alone


def _time(value: Any, name: str, problems: list[str]) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        problems.append(f"{name}: must be an ISO 8601 time as text, got {clip(value)}")
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if parsed.tzinfo is not None and not EARLIEST_EPOCH <= parsed.timestamp() <= LATEST_EPOCH:
            raise ValueError("out of range")
    except (ValueError, OverflowError):
        problems.append(f"{name}: {clip(value)} is not an ISO 8601 time between 1970 and 2100")
        return None
    if parsed.tzinfo is None:
        problems.append(f"{name}: {clip(value)} has no UTC offset (add Z or +01:00)")
        return None
    return parsed.astimezone(timezone.utc).replace(microsecond=0)


def _text(value: Any, name: str, limit: int, problems: list[str], *, kind: str = "text") -> str | None:
    """Non-empty text of at most `limit` characters without NUL bytes (PostgreSQL cannot store them).

    An `id` holding a character no id may (store.name_characters) is refused;
    a `name` is cleaned of them, as the helpdesk's own data cannot be fixed here.
    """
    if not isinstance(value, str) or not value.strip():
        problems.append(f"{name}: must be non-empty text")
        return None
    if len(value) > limit:
        problems.append(f"{name}: {len(value)} characters; at most {limit}")
        return None
    if "\0" in value:
        problems.append(f"{name}: contains a NUL character")
        return None
    if kind == "id" and (unwanted := unwanted_character(value)) is not None:
        problems.append(f"{name}: holds {unwanted}; an id must be one line of visible text")
        return None
    if kind == "name":
        value = clean_name(value)
        if not value.strip():
            problems.append(f"{name}: has no visible characters")
            return None
    return value.strip()


def parse_event(payload: Any, *, now: datetime | None = None) -> TicketEventIn:
    """Validate a webhook body; EventError lists everything wrong with it.

    With `now`, an event (or creation time) more than MAX_AHEAD ahead of it is
    refused: a field keeps its latest event's value, so a mistyped year would
    pin it for good.
    """
    if not isinstance(payload, dict):
        raise EventError(["the body must be a JSON object"])
    problems: list[str] = []
    event_id = _text(payload.get("id"), "id", TicketEvent.__table__.c.event_id.type.length, problems, kind="id")
    kind = payload.get("type")
    if not isinstance(kind, str) or kind not in EVENT_TYPES:
        problems.append(f"type: must be one of {', '.join(EVENT_TYPES)}")
    source = _text(payload.get("source", "webhook"), "source", TicketEvent.__table__.c.source.type.length, problems, kind="id")
    ticket = payload.get("ticket")
    fields: dict[str, Any] = {}
    external_id = None
    if not isinstance(ticket, dict):
        problems.append("ticket: an object with at least external_id is required")
    else:
        external_id = ticket.get("external_id")
        if isinstance(external_id, int) and not isinstance(external_id, bool):
            external_id = str(external_id)
        external_id = _text(external_id, "ticket.external_id", MAX_LENGTH["external_id"], problems, kind="id")
        for key in ("subject", "team", "agent", "channel"):
            if ticket.get(key) is not None:
                value = _text(ticket[key], f"ticket.{key}", MAX_LENGTH[key], problems, kind="text" if key == "subject" else "name")
                if value is not None:
                    fields[key] = value
        if ticket.get("priority") is not None:
            if not isinstance(ticket["priority"], str) or ticket["priority"] not in PRIORITIES:
                problems.append(f"ticket.priority: must be one of {', '.join(PRIORITIES)}")
            else:
                fields["priority"] = ticket["priority"]
        if ticket.get("created_at") is not None:
            fields["created_at"] = _time(ticket["created_at"], "ticket.created_at", problems)
        if ticket.get("tags") is not None:
            _tags(ticket["tags"], fields, problems)
    at = _time(payload.get("at"), "at", problems)
    if payload.get("at") is None:
        problems.append("at: the time of the event (ISO 8601 with offset) is required")
    if now is not None:
        for name, when in (("at", at), ("ticket.created_at", fields.get("created_at"))):
            if when is not None and when > now + MAX_AHEAD:
                problems.append(
                    f"{name}: {when.isoformat()} is more than {MAX_AHEAD.seconds // 60} minutes ahead of csbot's clock"
                    f" ({now.replace(microsecond=0).isoformat()}); an event cannot come from the future"
                )
    rating = None
    if kind == "rated":
        raw = payload.get("rating")
        text = str(raw).strip().lower() if isinstance(raw, (str, int)) and not isinstance(raw, bool) else ""
        if text in CSAT_VALUES:
            rating = text
        elif text in ("1", "2", "3", "4", "5"):
            rating = "good" if int(text) >= 4 else "bad"
        else:
            problems.append("rating: good, bad or 1-5 is required for a rated event")
    status = None
    if kind == "status_changed":
        status = payload.get("status")
        if not isinstance(status, str) or status not in STATUSES:
            problems.append(f"status: one of {', '.join(STATUSES)} is required for a status_changed event")
    if kind == "assigned" and not fields.get("agent"):
        problems.append("ticket.agent: required for an assigned event")
    if problems:
        raise EventError(problems)
    assert at is not None and external_id is not None and event_id is not None and source is not None
    return TicketEventIn(
        event_id=event_id,
        type=kind,
        source=source,
        external_id=external_id,
        at=at,
        fields=fields,
        rating=rating,
        status=status,
    )


def _tags(value: Any, fields: dict[str, Any], problems: list[str]) -> None:
    """`ticket.tags`: a list of tags, or one text of them (commas and spaces separate); [] clears them."""
    if not isinstance(value, (str, list)) or (isinstance(value, list) and not all(isinstance(v, str) for v in value)):
        problems.append('ticket.tags: must be a list of tags or one text of them, e.g. ["billing", "vip"] or "billing vip"')
        return
    try:
        fields["tags"] = tags_text(parse_tags(value))
    except TagError as exc:
        problems.append(f"ticket.tags: {exc}")


# Same-`at` tie-break: the life-cycle order below, then the event id. A reply
# and a solve stamped with the same second count as reply, then solve; a solve
# and a reopen in the same second leave the ticket open.
LIFECYCLE = ("created", "assigned", "agent_replied", "status_changed", "solved", "reopened", "rated")
_RANK = {kind: rank for rank, kind in enumerate(LIFECYCLE)}
# Fields an event may set, each keeping the value of its latest event.
_TICKET_FIELDS = ("subject", "priority", "channel", "team", "agent", "tags")

OrderKey = tuple[datetime, int, str]


def event_order(event: TicketEventIn) -> OrderKey:
    """The order in which events count: by `at`, then life-cycle rank, then id."""
    return (event.at, _RANK[event.type], event.event_id)


class _Fields:
    """The ticket's field times (kpi.field_times) while one event is applied."""

    def __init__(self, session: Session, ticket: Ticket, event: TicketEventIn) -> None:
        self.session = session
        self.ticket = ticket
        self.key = event_order(event)
        self.rows: dict[str, TicketFieldTime] = {}
        if ticket.id is not None:
            rows = session.scalars(select(TicketFieldTime).where(TicketFieldTime.ticket_id == ticket.id))
            self.rows = {row.field: row for row in rows}
        self.set: list[str] = []
        self.superseded: list[str] = []
        self.pending: list[TicketFieldTime] = []  # rows this event adds

    def newer(self, field: str, value: str | None = None) -> bool:
        """True (and the event recorded as the field's latest) when this event is newer than the one that set it."""
        row = self.rows.get(field)
        if row is not None and self.key <= (row.at, row.rank, row.event_id):
            self.superseded.append(field)
            return False
        self._put(field, value)
        self.set.append(field)
        return True

    def earliest(self, field: str) -> None:
        """Record the event's time for `field` if it is the earliest so far (order-free)."""
        row = self.rows.get(field)
        if row is None or self.key < (row.at, row.rank, row.event_id):
            self._put(field, None)

    def latest(self, field: str) -> None:
        """Record the event's time for `field` if it is the latest so far (order-free)."""
        row = self.rows.get(field)
        if row is None or self.key > (row.at, row.rank, row.event_id):
            self._put(field, None)

    def _put(self, field: str, value: str | None) -> None:
        at, rank, event_id = self.key
        row = self.rows.get(field)
        if row is None:
            row = TicketFieldTime(field=field)
            self.rows[field] = row
            self.pending.append(row)
        row.at, row.rank, row.event_id, row.value = at, rank, event_id, value

    def save(self) -> None:
        for row in self.pending:
            row.ticket_id = self.ticket.id
            self.session.add(row)


def apply_event(session: Session, event: TicketEventIn, *, now: datetime) -> Applied:
    """Apply `event` inside the caller's transaction (once per event id).

    Whatever order events arrive in, the ticket ends as if they had arrived in
    event order (event_order): counters (replies, reopens) count every event,
    the first reply is the earliest, and every other field keeps the value of
    its latest event; an older event for a field is recorded as stale and
    leaves that field alone.
    """
    seen = session.scalar(
        select(TicketEvent).where(TicketEvent.source == event.source, TicketEvent.event_id == event.event_id)
    )
    if seen is not None:
        ticket = session.get(Ticket, seen.ticket_id)
        return Applied(True, seen.ticket_id, ticket.external_id if ticket else event.external_id, stale=bool(seen.stale))
    ticket = session.scalar(
        select(Ticket).where(Ticket.source == event.source, Ticket.external_id == event.external_id).with_for_update()
    )
    resolver = OrgResolver(session)
    hint = event.fields.get("created_at") or event.at
    if ticket is None:
        ticket = Ticket(source=event.source, external_id=event.external_id, created_at=hint, status="new")
    fields = _Fields(session, ticket, event)
    # Matched when the ticket is first recorded, or by its `created` event when other events came first.
    new = ticket.id is None
    rematch = new or (event.type == "created" and bool(fields.rows) and "created_at" not in fields.rows)
    created_before = ticket.created_at
    for key in ("subject", "priority", "channel", "tags"):
        if key in event.fields and fields.newer(key):
            setattr(ticket, key, event.fields[key])
    # A stale event creates no team or agent: it names what the ticket no longer has.
    if "team" in event.fields and fields.newer("team"):
        ticket.team_id = resolver.team(session, event.fields["team"])
    if "agent" in event.fields and fields.newer("agent"):
        ticket.agent_id = resolver.agent(session, event.fields["agent"], ticket.team_id)
    _apply_kind(ticket, event, fields)
    _settle(ticket, fields, hint)
    settle_ticket(session, ticket, rematch=rematch and "created_at" not in fields.superseded, moved=not new and ticket.created_at != created_before)
    if ticket.id is None:
        session.add(ticket)
    session.flush()
    fields.save()
    stale = bool(fields.superseded)
    session.add(
        TicketEvent(
            source=event.source,
            event_id=event.event_id,
            ticket_id=ticket.id,
            type=event.type,
            occurred_at=event.at,
            received_at=now,
            stale=stale,
        )
    )
    session.flush()
    return Applied(
        False,
        ticket.id,
        ticket.external_id,
        tuple(resolver.teams_created),
        tuple(resolver.agents_created),
        stale=stale,
        superseded=tuple(fields.superseded),
    )


def _apply_kind(ticket: Ticket, event: TicketEventIn, fields: _Fields) -> None:
    if event.type == "created":
        created = event.fields.get("created_at") or event.at
        fields.newer("created_at", created.isoformat())
        fields.newer("status", "new")
    elif event.type == "agent_replied":
        ticket.replies = (ticket.replies or 0) + 1
        if ticket.first_reply_at is None or event.at < ticket.first_reply_at:
            ticket.first_reply_at = event.at
        fields.latest("replied")
    elif event.type == "solved" or (event.type == "status_changed" and event.status == "solved"):
        fields.newer("solved_at")
        fields.newer("status", "solved")
    elif event.type == "status_changed" and event.status == "closed":
        # Helpdesks close solved tickets days later: that is not a new solve.
        fields.earliest("closed_at")
        fields.newer("status", "closed")
    elif event.type == "status_changed":
        fields.newer("status", event.status)
    elif event.type == "reopened":
        # The reopen happened whenever it arrives: it counts; whether the
        # ticket is open now is for the latest status event to say.
        ticket.reopens = (ticket.reopens or 0) + 1
        fields.newer("status", "open")
    elif event.type == "rated":
        if fields.newer("csat"):
            ticket.csat = event.rating


def _settle(ticket: Ticket, fields: _Fields, hint: datetime) -> None:
    """Derive the ticket's times and status from its field times, the same whatever the arrival order."""
    rows = fields.rows
    if "solved_at" in rows:
        ticket.solved_at = rows["solved_at"].at
    elif "closed_at" in rows:
        # A close stands for the solve only while no solve is known (an
        # imported solve time, or an earlier close, stays).
        closed = rows["closed_at"].at
        ticket.solved_at = closed if ticket.solved_at is None else min(ticket.solved_at, closed)
    status = rows.get("status")
    explicit = status.value if status is not None and status.value else ticket.status
    replied = rows.get("replied")
    # A reply opens a ticket that was new when it was sent.
    if explicit == "new" and replied is not None and (status is None or replied.at >= status.at):
        explicit = "open"
    ticket.status = explicit
    if "created_at" in rows and rows["created_at"].value:
        base = datetime.fromisoformat(rows["created_at"].value)
    else:
        # No `created` event yet: the earliest time any event said the ticket existed.
        base = min(ticket.created_at, hint)
    # Never later than anything that happened to it (a clock-skewed reply or solve).
    ticket.created_at = min([base, *(t for t in (ticket.first_reply_at, ticket.solved_at) if t is not None)])
