"""Which policy pages an escalation: the queue's, by severity, and when it may page (working hours).

A queue's stored policy is either one policy for every severity
(`{repeat, levels, …}`) or one per severity with a default
(`{by_severity: {sev1: {…}, default: {…}}}`); a level may say
`only: [sev1, sev2]`. An escalation keeps the policy that applied when it
was opened, resolved to plain levels (`policy_for`), so editing the file
never changes one under way.

A policy with `working_hours` pages only while the queue's business
calendar is open: outside it, the step that is due (the first page, or the
next level) is held until the calendar next opens, and the timeline says so.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from store.business_time import BusinessCalendar, is_open, next_open
from store.calendar_file import CalendarSpec
from store.calendars import business_calendar

SEVERITIES = ("sev1", "sev2", "sev3", "sev4")
DEFAULT = "default"


def policy_for(stored: dict[str, Any], severity: str) -> dict[str, Any]:
    """The plain policy (`repeat`, `levels`, `name`, `working_hours`, `calendar`) an escalation of `severity` follows."""
    by_severity = stored.get("by_severity")
    if by_severity:
        name = severity if severity in by_severity else DEFAULT
        chosen = by_severity[name]
    else:
        name, chosen = DEFAULT, stored
    levels = [dict(level) for level in chosen.get("levels", []) if severity in level.get("only", SEVERITIES)]
    return {
        "name": name,
        "repeat": chosen.get("repeat", 0),
        "levels": levels,
        "working_hours": bool(chosen.get("working_hours")),
        "calendar": stored.get("calendar") if chosen.get("working_hours") else None,
    }


def every_level(stored: dict[str, Any]) -> list[dict[str, Any]]:
    """Every level of every severity's policy (who a queue's policies can page)."""
    by_severity = stored.get("by_severity")
    policies = list(by_severity.values()) if by_severity else [stored]
    return [level for policy in policies for level in policy.get("levels", [])]


def calendar_of(policy: dict[str, Any]) -> BusinessCalendar | None:
    data = policy.get("calendar")
    return business_calendar(CalendarSpec.from_dict(data)) if policy.get("working_hours") and data else None


def held_until(policy: dict[str, Any], now: datetime) -> datetime | None:
    """When a policy that pages in working hours only may page, if not now; None when it may page now."""
    calendar = calendar_of(policy)
    if calendar is None or is_open(calendar, now):
        return None
    return next_open(calendar, now)


def describe(policy: dict[str, Any]) -> str:
    """One line for people: which policy, how many levels, how often it repeats, when it pages."""
    levels = policy["levels"]
    waits = ", ".join(f"{round(level['wait_s'] / 60)}m" for level in levels)
    name = "the default policy" if policy.get("name", DEFAULT) == DEFAULT else f"the {policy['name'].upper()} policy"
    rounds = policy.get("repeat", 0) + 1
    text = f"{name}: {len(levels)} level{'s' if len(levels) != 1 else ''} (waits {waits})" + (f", {rounds} rounds" if rounds > 1 else "")
    if policy.get("working_hours") and policy.get("calendar"):
        text += f", paging only in the {policy['calendar'].get('key', 'queue')} calendar's working hours"
    return text


__all__ = ["DEFAULT", "SEVERITIES", "calendar_of", "describe", "every_level", "held_until", "policy_for"]
