"""The SLA breach warning message: a team's tickets about to miss a target, or just past it, in one post.

One line per ticket and target, sorted by time left (breaches first, most
overdue first; tickets replied to or solved since come last): the ticket
(with its helpdesk link when `TICKET_URL_TEMPLATE` is set), the target and
when it falls due in the reader's zone, the time left (wall clock, as
`/kpi sla` counts it), the assignee by name, the policy and the subject. Names and subjects are
plain text like everything in a Reply: the renderers escape them, so nobody
is mentioned by this message (assignees are told by direct message instead).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from handlers.escalation_views import linked_ticket, ticket_url
from handlers.humanize import duration
from handlers.reply import Context, Reply, Section
from kpi.sla_risk import TARGET_NAMES
from kpi.sla_warnings import Announced

# Lines shown in one message; the rest are counted (Slack splits a long section into
# several, and a team with this many at once has a bigger problem than the list).
MAX_LINES = 40
SUBJECT_MAX = 80


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
    target = TARGET_NAMES.get(item.target, item.target)
    when = _when(item.due_at, now, zone)
    if item.settled is not None:
        mark, state = "✅", f"{target} was due {when}; {item.settled} since"
    elif item.left_s <= 0:
        mark, state = "🔴", f"{target} overdue since {when} ({_minutes(item.left_s)})"
    else:
        mark, state = "🟠", f"{target} due {when} ({_minutes(item.left_s)} left)"
    who = item.agent_name or "unassigned"
    subject = item.subject.strip() if item.subject else ""
    if len(subject) > SUBJECT_MAX:
        subject = subject[: SUBJECT_MAX - 1] + "…"
    parts = [f"{mark} {linked_ticket(item.ticket)}", state, who, item.policy_name] + ([f"“{subject}”"] if subject else [])
    return " · ".join(p for p in parts if p)


def item_json(item: Announced, team: str) -> dict[str, Any]:
    """A line as data, in the shape of `/kpi sla`'s `at_risk` entries (plus `kind` and `settled`)."""
    return {
        "ticket": item.ticket,
        "url": ticket_url(item.ticket),
        "team": team,
        "agent": item.agent,
        "target": item.target,
        "kind": item.kind,
        "due_at": item.due_at.isoformat(),
        "left_s": item.left_s,
        "policy": item.policy,
        "settled": item.settled,
    }


def warning_reply(
    team_key: str, team_name: str, items: list[Announced], *, slot: datetime, now: datetime, zone: str, yours: bool = False, note: str | None = None
) -> Reply:
    """The message of one slot: the team's (or, `yours`, one assignee's) tickets at risk or breached."""
    # Counted as the lines read now: a warning written after its due time reads as overdue.
    breached = sum(1 for i in items if i.settled is None and i.left_s <= 0)
    soon = sum(1 for i in items if i.settled is None and i.left_s > 0)
    settled = len(items) - breached - soon
    counts = ", ".join(
        part for part in (f"{breached} breached" if breached else "", f"{soon} due soon" if soon else "", f"{settled} settled since" if settled else "") if part
    )
    title = f"⏰ {'Your tickets · ' if yours else ''}SLA · {team_name}: {counts}"
    shown = [line(i, now, zone) for i in items[:MAX_LINES]]
    if len(items) > MAX_LINES:
        shown.append(f"… and {len(items) - MAX_LINES} more.")
    words = f"Times in {zone}. A ticket is warned once per target, when less than its policy's warn_before is left, and a breach is announced once."
    blocks: list[Any] = [Section("\n".join(shown)), Context(words)]
    if note:
        blocks.append(Context(note))
    data = {
        "sla_warnings": {
            "team": team_key,
            "slot": slot.isoformat(),
            "breached": breached,
            "due_soon": soon,
            "settled": settled,
            "at_risk": [item_json(i, team_key) for i in items],
        }
    }
    return Reply(title=title, blocks=blocks, visibility="channel", data=data)
