"""The message that announces who is on call in a queue's channel (bot.oncall_announcements sends it)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from escalation.oncall import Now
from handlers.escalation_views import local_full
from handlers.reply import Reply, Section, Table
from handlers.reply import Context as Note
from store.queues import EscalationQueue


def _people(handles: Sequence[str]) -> str:
    return ", ".join(f"@{h}" for h in handles)


def announcement_reply(queue: EscalationQueue, schedules: Sequence[Now], zone: str, *, handoff: bool) -> Reply:
    """Each schedule's people on call now and until when, and who is next from when."""
    rows = tuple(
        (
            n.schedule,
            _people(n.handles) or "⚠️ nobody",
            local_full(n.until, zone) if n.until else "—",
            f"{_people(n.next_handles)} from {local_full(n.next_from, zone)}" if n.next_handles else "—",
        )
        for n in schedules
    )
    blocks: list[Any] = []
    if handoff:
        blocks.append(Section(f"Who is on call for {queue.name} has changed."))
    blocks.append(Table(("Schedule", "On call", "Until", "Next"), rows))
    blocks.append(Note(f"Times in {zone}. /oncall {queue.key} shows it any time; /escalate … {queue.key} pages whoever is on call."))
    data = {
        "queue": queue.key,
        "occasion": "handoff" if handoff else "weekly",
        "schedules": [
            {
                "key": n.schedule,
                "on_call": list(n.handles),
                "until": n.until.isoformat() if n.until else None,
                "next": list(n.next_handles),
                "next_from": n.next_from.isoformat() if n.next_from else None,
            }
            for n in schedules
        ],
    }
    return Reply(title=f"On call · {queue.name}", blocks=blocks, visibility="channel", data=data)


__all__ = ["announcement_reply"]
