"""The SLA breach warning message: a team's tickets about to miss a target, or just past it, in one post.

One line per ticket and target, sorted by time left (breaches first, most
overdue first; tickets replied to or solved since come last): the ticket
(with its helpdesk link when `TICKET_URL_TEMPLATE` is set), the target and
when it falls due in the reader's zone, the time left in the policy's time,
the assignee by name, the policy and the subject. Names and subjects are
plain text like everything in a Reply: the renderers escape them, so nobody
is mentioned by this message (assignees are told by direct message instead).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from handlers.escalation_views import ticket_url
from handlers.humanize import duration
from handlers.reply import Context, Reply, Section
from kpi.sla_warnings import BREACH, Announced

# Lines shown in one message; the rest are counted (Slack splits a long section into
# several, and a team with this many at once has a bigger problem than the list).
MAX_LINES = 40
SUBJECT_MAX = 80
TARGET_WORDS = {"first_reply": "first reply", "resolution": "resolution"}


def _when(moment: datetime, now: datetime, zone: str) -> str:
    """`14:05` today, `Mon 7 Dec 08:10` on another day, in `zone`."""
    here = ZoneInfo(zone)
    local, today = moment.astimezone(here), now.astimezone(here).date()
    return f"{local:%H:%M}" if local.date() == today else f"{local:%a} {local.day} {local:%b %H:%M}"


def _minutes(seconds: int) -> str:
    """A time left or overdue to the minute."""
    magnitude = abs(seconds)
    return "under a minute" if magnitude < 60 else duration(round(magnitude / 60) * 60)


def line(item: Announced, now: datetime, zone: str) -> str:
    """One ticket and target, as the message lists it."""
    url = ticket_url(item.ticket)
    ticket = f"{item.ticket} ({url})" if url else item.ticket
    target = TARGET_WORDS.get(item.target, item.target)
    when = _when(item.due_at, now, zone)
    clock = " of business time" if item.business else ""
    if item.settled is not None:
        mark, state = "✅", f"{target} was due {when}; {item.settled} since"
    elif item.left_s < 0 or (item.left_s == 0 and item.due_at <= now):
        mark, state = "🔴", f"{target} overdue since {when} ({_minutes(item.left_s)}{clock})"
    elif item.left_s == 0:
        mark, state = "🟠", f"{target} due {when} (no working time left before it)"
    else:
        mark, state = "🟠", f"{target} due {when} ({_minutes(item.left_s)}{clock} left)"
    who = item.agent_name or "unassigned"
    subject = item.subject.strip() if item.subject else ""
    if len(subject) > SUBJECT_MAX:
        subject = subject[: SUBJECT_MAX - 1] + "…"
    parts = [f"{mark} {ticket}", state, who, item.policy] + ([f"“{subject}”"] if subject else [])
    return " · ".join(p for p in parts if p)


def item_json(item: Announced, team: str) -> dict[str, Any]:
    """A line as --json data, in the shape of `/kpi sla`'s `at_risk` entries."""
    return {
        "ticket": item.ticket,
        "url": ticket_url(item.ticket),
        "team": team,
        "agent": item.agent,
        "target": item.target,
        "kind": item.kind,
        "due_at": item.due_at.isoformat(),
        "left_s": item.left_s,
        "time": "business" if item.business else "calendar",
        "policy": item.policy,
        "settled": item.settled,
    }


def warning_reply(
    team_key: str, team_name: str, items: list[Announced], *, slot: datetime, now: datetime, zone: str, yours: bool = False, note: str | None = None
) -> Reply:
    """The message of one slot: the team's (or, `yours`, one assignee's) tickets at risk or breached."""
    breached = sum(1 for i in items if i.kind == BREACH)
    soon = len(items) - breached
    counts = ", ".join(
        part for part in (f"{breached} breached" if breached else "", f"{soon} due soon" if soon else "") if part
    )
    title = f"⏰ {'Your tickets · ' if yours else ''}SLA · {team_name}: {counts}"
    shown = [line(i, now, zone) for i in items[:MAX_LINES]]
    if len(items) > MAX_LINES:
        shown.append(f"… and {len(items) - MAX_LINES} more.")
    words = (
        f"Times in {zone}. A ticket is warned once per target, when less than its policy's warn_before is left "
        "(business time on the team's calendar for a business-time policy), and a breach is announced once."
    )
    blocks: list[Any] = [Section("\n".join(shown)), Context(words)]
    if note:
        blocks.append(Context(note))
    data = {
        "sla_warnings": {
            "team": team_key,
            "slot": slot.isoformat(),
            "breached": breached,
            "due_soon": soon,
            "at_risk": [item_json(i, team_key) for i in items],
        }
    }
    return Reply(title=title, blocks=blocks, visibility="channel", data=data)
