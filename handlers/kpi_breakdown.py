"""`/kpi team TEAM WINDOW by X` and `/kpi org WINDOW by X`: one row per value of X.

Channels, priorities, agents and tags are open-ended: the 15 busiest values
get a row each and the rest one "other" row (its medians over the pooled
tickets, not an average of medians; by tag, each of its tickets once). Weekdays and hours are a fixed set, shown in
their own order, every one of them, so a quiet hour shows as a quiet hour.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from handlers.context import Context, Forbidden
from handlers.kpi_lookup import Target, fold, may_see_agent, require, team_table_refusal
from handlers.kpi_request import KpiRequest, buttons
from handlers.kpi_clock import team_note, teams_note
from handlers.kpi_tables import LEGEND, TEAMS_COLUMNS, cell, statuses
from handlers.reply import Context as Note
from handlers.reply import Reply, Section, Table
from kpi import business_hours
from kpi.breakdown import TIME_DIMENSIONS, WEEKDAYS, breakdown, by_tag, pooled
from kpi.business_hours import Calendars, label, on_clock, org_clock, team_clock
from kpi.day_facts import Facts
from kpi.windows import Window
from store.org import Member, Team

TOP = 15
NONE_LABEL = "(none)"
UNASSIGNED = "Unassigned"
NOT_SHOWN = "Other members (not agents you look after)"
NO_TAG = "(no tag)"
HEADING = {"channel": "Channel", "priority": "Priority", "agent": "Agent", "weekday": "Weekday", "hour": "Hour", "tag": "Tag", "sla": "Policy"}
NO_QA = "No QA column: QA reviews score agents' work, not a ticket's channel, priority, tags or time."


@dataclass
class Row:
    value: Any  # the channel, priority, agent handle, weekday (0 = Monday) or hour; None: none / other
    label: str
    facts: Facts
    other: int = 0  # values pooled in the "other" row


def authorize_breakdown(ctx: Context, request: KpiRequest, target: Target) -> None:
    """`by agent` is shown to whoever /kpi agents is (team) or who oversees every team (org), never in a channel."""
    if request.by != "agent":
        return
    if target.team is not None:
        require(team_table_refusal(ctx.member, target.team))
    elif not (ctx.member.role == "admin" or (ctx.member.role == "manager" and ctx.member.team_id is None)):
        raise Forbidden("The organisation by agent is for admins and managers without a team; /kpi agents TEAM shows a team's agents to its lead.")
    if request.share:
        raise Forbidden("A breakdown by agent holds each agent's figures, so it is not shared in a channel.")


def _agent_rows(ctx: Context, found: dict[Any, Facts]) -> list[Row]:
    ids = [k for k in found if k is not None]
    members = {m.id: m for m in ctx.session.scalars(select(Member).where(Member.id.in_(ids)))} if ids else {}
    namesakes = Counter(fold(m.name) for m in members.values())
    rows, hidden = [], []
    for key, facts in found.items():
        if key is None:
            rows.append(Row(None, UNASSIGNED, facts))
            continue
        member = members[key]
        if not may_see_agent(ctx.member, member):
            hidden.append(facts)  # still counted, so the rows add up to the team
            continue
        label = f"{member.name} (@{member.handle})" if namesakes[fold(member.name)] > 1 else member.name
        rows.append(Row(member.handle, label if member.active else f"{label} (inactive)", facts))
    if hidden:
        rows.append(Row(None, NOT_SHOWN, pooled(hidden)))
    return rows


def _rows(ctx: Context, dimension: str, found: dict[Any, Facts]) -> list[Row]:
    if dimension == "weekday":
        return [Row(i, WEEKDAYS[i], found.get(i, Facts())) for i in range(7)]
    if dimension == "hour":
        return [Row(h, f"{h:02d}", found.get(h, Facts())) for h in range(24)]
    rows = _agent_rows(ctx, found) if dimension == "agent" else [Row(k, NONE_LABEL if k is None else str(k), f) for k, f in found.items()]
    rows = [r for r in rows if r.facts.created or r.facts.solved or r.facts.backlog]
    rows.sort(key=lambda r: (-r.facts.created, -r.facts.solved, -r.facts.backlog, fold(r.label)))
    if len(rows) > TOP + 1:  # an "other" row of one value would hide a value for nothing
        rest = rows[TOP:]
        rows = rows[:TOP] + [Row(None, f"other ({len(rest)} values)", pooled(r.facts for r in rest), other=len(rest))]
    return rows


def _tag_rows(ctx: Context, target: Target, window: Window, calendars: Calendars) -> tuple[list[Row], Facts]:
    """One row per tag (the busiest TOP), the other tags' tickets, and the untagged; and the scope's total."""
    found = by_tag(ctx.session, target.scope, window.start_utc, window.until_utc, TOP, calendars=calendars)
    rows = [Row(tag, tag, facts) for tag, facts in found.rows.items() if tag is not None]
    if found.other is not None:
        rows.append(Row(None, f"other ({found.others} tags)", found.other, other=found.others))
    if None in found.rows:
        rows.append(Row(None, NO_TAG, found.rows[None]))
    return rows, found.total


def _note(dimension: str, zone: str, other: bool) -> str:
    if dimension == "tag":
        top = f"The {TOP} busiest tags by tickets created; other counts each ticket with any of the rest once. " if other else ""
        return (
            f"A ticket with several tags counts in the row of each, and tickets without a tag in {NO_TAG}: "
            f"the rows add up to more than the total below. {top}{NO_QA}"
        )
    if dimension in TIME_DIMENSIONS:
        return (
            f"Each ticket is counted in the {dimension} it was created ({zone} time), for every figure: "
            f"solved and open tickets too. {NO_QA}"
        )
    top = f"The {TOP} busiest values by tickets created, the rest as other (its medians over all their tickets). " if other else ""
    return top + NO_QA


def heading(request: KpiRequest, target: Target) -> tuple[str, dict[str, Any]]:
    """The title of a breakdown of `target`, and the data every answer of it carries."""
    team = target.team if request.kind == "team" else None
    title = f"KPIs by {request.by} · {target.label}" + (f" ({team.key})" if team is not None else "")
    return title, {"scope": "team" if team else "org", "team": team.key if team else None, "agent": None, "dimension": request.by, "rows": []}


def execute_breakdown(ctx: Context, request: KpiRequest, target: Target, window: Window, start: Any) -> Reply:
    """The breakdown `request` asks for `target` (a team, or the org) over `window`; `start`: where its data starts."""
    dimension = request.by
    assert dimension is not None
    team = target.team if request.kind == "team" else None
    title, base = heading(request, target)
    calendars = business_hours.load(ctx.session)
    if dimension == "tag":
        rows, total = _tag_rows(ctx, target, window, calendars)
    else:
        found = breakdown(ctx.session, target.scope, window.start_utc, window.until_utc, dimension, target.timezone, calendars=calendars)
        rows = _rows(ctx, dimension, found)
        total = pooled(r.facts for r in rows)
    targets = dict(team.targets) if team is not None else {}
    columns = TEAMS_COLUMNS
    # Every row on the scope's clock: the team's business hours, or each ticket on its own team's calendar for the org.
    if team is not None:
        clock = team_clock(calendars, team.id, wall=request.wall)
        said = team_note(ctx.org, team, calendars, clock)
    else:
        clock = org_clock(calendars, wall=request.wall)
        said = teams_note(ctx.org, ctx.session.scalars(select(Team).where(Team.active.is_(True)).order_by(Team.key)).all(), calendars, clock)
    shown = [(r, r.facts.metrics()) for r in rows]
    table = tuple((r.label, *(cell(m, on_clock(metrics, clock), targets, clock) for m in columns)) for r, metrics in shown)
    against = "against the team's targets" if team is not None else "no targets (the org has none)"
    blocks: list[Any] = [
        Note(f"Window: {window.label()} · by {dimension} · {against}"),
        *([Note(said)] if said else []),
        *([Section(start.said())] if start.first is None else []),
        Table((HEADING[dimension], *(label(m, clock) for m in columns)), table),
        Note(_note(dimension, target.timezone, any(r.other for r in rows))),
        Note(f"{target.label} in all: {total.created:,} created, {total.solved:,} solved, {total.backlog:,} open at the end" + ("." if dimension == "tag" else "; the rows add up to it.")),
        *([Note(LEGEND)] if targets else []),
        *buttons(ctx, request, dimension != "agent", window),
    ]
    return Reply(
        title=title,
        blocks=blocks,
        visibility="channel" if request.share else "ephemeral",
        data={
            **base,
            "window": window.to_json(),
            "timezone": target.timezone,
            "clock": clock,
            "targets": targets,
            "rows": [
                {
                    "value": r.value,
                    "label": r.label,
                    "other": r.other or None,
                    "n": r.facts.created,
                    "metrics": metrics,
                    "status": statuses(on_clock(metrics, clock), targets),
                }
                for r, metrics in shown
            ],
            "total": {"tickets_created": total.created, "tickets_solved": total.solved, "backlog": total.backlog},
        },
    )
