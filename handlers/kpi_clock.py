"""The clock a KPI answer shows first reply and resolution on, and the line that says which.

A team with a business calendar is shown in business hours (kpi.business_hours),
labelled so on every line ("First reply (median, business hours)"); `--wall`
shows the wall clock. A team around the clock has one clock only, and its
answers say nothing about it. The org, and tables of several teams, count
each ticket on its own team's calendar.
"""

from __future__ import annotations

from collections.abc import Sequence

from kpi.business_hours import Calendars, Clock, label
from store.calendar_file import NO_CALENDAR
from store.org import Org, Team

WALL_HINT = "--wall for the wall clock"
WALL_SAID = "First reply and resolution on the wall clock (--wall): nights, weekends and holidays count"


def calendar_key(org: Org | None, team: Team, calendars: Calendars) -> str | None:
    """The key of the calendar `team` works by (its own, else the org's); None around the clock."""
    if calendars.of(team.id) is None:
        return None
    key = team.calendar or (org.calendar if org is not None else None)
    return key if key and key != NO_CALENDAR else None


def team_note(
    org: Org | None, team: Team | None, calendars: Calendars, clock: Clock, *, whose: str | None = None, hint: str | None = WALL_HINT
) -> str | None:
    """What clock a team's (or, `whose`, an agent's) figures are on; None for a team around the clock.

    `hint`: how to ask for the other clock (None where the command has no --wall).
    """
    key = calendar_key(org, team, calendars) if team is not None else None
    if key is None:
        return None
    if clock == "wall":
        return WALL_SAID
    of = f" of {whose}'s team" if whose else ""
    return f"First reply and resolution in business hours, on the {key} calendar{of}" + (f" · {hint}" if hint else "")


def teams_note(org: Org | None, teams: Sequence[Team], calendars: Calendars, clock: Clock, *, hint: str | None = WALL_HINT) -> str | None:
    """What clock figures pooled or listed over `teams` are on: each ticket on its own team's calendar."""
    if not calendars.any:
        return None
    if clock == "wall":
        return WALL_SAID
    around = [t.key for t in teams if calendar_key(org, t, calendars) is None]
    rest = f"; around the clock: {', '.join(around)}" if around else ""
    return f"First reply and resolution in business hours, each ticket on its own team's calendar{rest}" + (f" · {hint}" if hint else "")


def column_label(name: str, clocks: Sequence[Clock]) -> str:
    """A table column's label: on business hours when every row is, plain when the rows differ (the note says which)."""
    return label(name, clocks[0] if clocks and len(set(clocks)) == 1 else "wall")
