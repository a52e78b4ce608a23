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
from store.chart_images import app_key
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


def calendar(
    queue: EscalationQueue, events: Iterable[tuple[str, Interval]], names: Mapping[str, str], now: datetime, *, title: str | None = None
) -> str:
    """The VCALENDAR text (CRLF line ends) for `events`: (schedule key, interval with one handle)."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{_text(title or f'On call · {queue.name}')}",
    ]
    for schedule, piece in events:
        for handle in piece.handles:
            uid = hashlib.sha256(f"{queue.key}/{schedule}/{handle}/{piece.start.isoformat()}".encode()).hexdigest()[:32]
            name = names.get(handle, handle)
            lines += [
                "BEGIN:VEVENT",
                f"UID:{uid}@csbot",
                f"DTSTAMP:{_stamp(now)}",
                f"DTSTART:{_stamp(piece.start)}",
                f"DTEND:{_stamp(piece.end)}",
                f"SUMMARY:{_text(f'On call: {name} ({queue.key}/{schedule})')}",
                f"DESCRIPTION:{_text(f'{name} (@{handle}) is on call for {queue.name}, schedule {schedule}.')}",
                "TRANSP:TRANSPARENT",
                "END:VEVENT",
            ]
    lines.append("END:VCALENDAR")
    return "".join(part + "\r\n" for line in lines for part in _fold(line))


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


def subscription_key(session: Session, queue_key: str) -> str:
    """The key in a queue's calendar link: whoever has it may read that queue's on-call calendar, nothing else."""
    return key_for(app_key(session, KEY_NAME), queue_key)


def key_for(secret: str, queue_key: str) -> str:
    """The calendar key of `queue_key` under the app's `secret` (no database: a forged key is refused from memory)."""
    return hmac.new(secret.encode(), f"oncall:{queue_key}".encode(), hashlib.sha256).hexdigest()[:40]
