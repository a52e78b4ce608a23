"""A queue's on-call timeline as iCalendar (RFC 5545), for `csbot oncall export` and calendar subscriptions.

One event per person per stretch on call (the effective timeline: layers,
hours and covers applied; a person's back-to-back shifts are one event),
whole even where the window cuts it: the stretch in progress is shown from
its start, and named by it.
Times are UTC (`…Z`), so no VTIMEZONE is needed and every calendar shows
them in its reader's zone. UIDs are stable for the same stretch, so a
subscribed calendar updates events instead of duplicating them.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone

from sqlalchemy.orm import Session

from escalation.oncall import Interval, queue_timeline, schedules_of, stretch_of
from escalation.personal import stretches_of
from store.chart_images import app_key
from store.org import Member
from store.queues import EscalationQueue

KEY_NAME = "oncall_calendar"
PRODID = "-//csbot//on-call//EN"
DEFAULT_DAYS, MAX_DAYS = 60, 366
PAST = timedelta(days=7)  # a subscribed calendar keeps the last week too


def _stamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def _text(value: str) -> str:
    """RFC 5545 TEXT: backslash, semicolon, comma and newlines escaped."""
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n")


def _fold(line: str) -> list[str]:
    """Lines of at most 75 octets, continuations starting with a space (never splitting a UTF-8 character)."""
    out: list[str] = []
    current, size = "", 0
    limit = 75
    for ch in line:
        width = len(ch.encode("utf-8"))
        if size + width > limit:
            out.append(current)
            current, size, limit = " ", 1, 75
        current += ch
        size += width
    out.append(current)
    return out


def uid_of(queue_key: str, schedule: str, handle: str, start: datetime) -> str:
    """A stretch's UID: from its queue, schedule, person and start, so every calendar that shows it names it the same."""
    return hashlib.sha256(f"{queue_key}/{schedule}/{handle}/{start.isoformat()}".encode()).hexdigest()[:32] + "@csbot"


def event_lines(queue: EscalationQueue, schedule: str, piece: Interval, names: Mapping[str, str], now: datetime, *, note: str = "") -> list[str]:
    """The VEVENTs of one stretch (one per person on call in it); `note` ends the description."""
    lines: list[str] = []
    for handle in piece.handles:
        name = names.get(handle, handle)
        lines += [
            "BEGIN:VEVENT",
            f"UID:{uid_of(queue.key, schedule, handle, piece.start)}",
            f"DTSTAMP:{_stamp(now)}",
            f"DTSTART:{_stamp(piece.start)}",
            f"DTEND:{_stamp(piece.end)}",
            f"SUMMARY:{_text(f'On call: {name} ({queue.key}/{schedule})')}",
            f"DESCRIPTION:{_text(f'{name} (@{handle}) is on call for {queue.name}, schedule {schedule}.' + (f' {note}' if note else ''))}",
            "TRANSP:TRANSPARENT",
            "END:VEVENT",
        ]
    return lines


def wrap(title: str, events: Iterable[str]) -> str:
    """The VCALENDAR text (CRLF line ends, folded) around event lines."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{PRODID}", "CALSCALE:GREGORIAN", "METHOD:PUBLISH", f"X-WR-CALNAME:{_text(title)}", *events, "END:VCALENDAR"]
    return "".join(part + "\r\n" for line in lines for part in _fold(line))


def calendar(
    queue: EscalationQueue, events: Iterable[tuple[str, Interval]], names: Mapping[str, str], now: datetime, *, title: str | None = None
) -> str:
    """The VCALENDAR text (CRLF line ends) for `events`: (schedule key, interval with one handle)."""
    lines = [line for schedule, piece in events for line in event_lines(queue, schedule, piece, names, now)]
    return wrap(title or f"On call · {queue.name}", lines)


def queue_calendar(session: Session, queue: EscalationQueue, schedule: str | None, start: datetime, end: datetime, names: Mapping[str, str], now: datetime) -> str:
    """The calendar of one schedule of the queue, or of all of them."""
    events: list[tuple[str, Interval]] = []
    for s in schedules_of(queue):
        if schedule is None or s.key == schedule:
            # Each event is a whole stretch, even the one in progress at `start`: its UID (from its start)
            # is then the same in every export, and a subscribed calendar updates it rather than adding another.
            events += [(s.key, stretch_of(session, queue, s, piece, start, end)) for piece in queue_timeline(session, queue, s, start, end) if piece.handles]
    events.sort(key=lambda e: (e[1].start, e[0]))
    return calendar(queue, events, names, now)


def personal_calendar(session: Session, member: Member, start: datetime, end: datetime, names: Mapping[str, str], now: datetime) -> str:
    """One person's calendar: their stretches on call for every queue, each the same event (and UID) as in its queue's calendar."""
    lines: list[str] = []
    for stretch in stretches_of(session, member, start, end):
        note = " ".join(f"Cover {c.id} added by {c.by_name}." for c in stretch.covers)
        lines += event_lines(stretch.queue, stretch.schedule, stretch.interval, names, now, note=note)
    return wrap(f"On call · {member.name}", lines)


def subscription_key(session: Session, queue_key: str) -> str:
    """The key in a queue's calendar link: whoever has it may read that queue's on-call calendar, nothing else."""
    return key_for(app_key(session, KEY_NAME), queue_key)


def key_for(secret: str, queue_key: str) -> str:
    """The calendar key of `queue_key` under the app's `secret` (no database: a forged key is refused from memory)."""
    return hmac.new(secret.encode(), f"oncall:{queue_key}".encode(), hashlib.sha256).hexdigest()[:40]
