"""`/kpi team TEAM WINDOW by sla` and `/kpi org WINDOW by sla`: one row per SLA policy; `/kpi sla [TEAM]`: the tickets at risk now.

A row is a policy, whatever versions of it its tickets kept (a ticket keeps
the version it matched; the row is named by the latest), with its targets,
how many of the window's new tickets achieved, breached or are still open
within them (kpi.sla_attainment), and the key figures of its tickets. Current
policies come in the file's order, then retired ones, then the tickets
without a policy, whose SLA the import's sla_met says.

`/kpi sla` lists team figures like `/kpi team` and `/kpi alerts` do, open to
every member: which open ticket is about to breach, who holds it and how
long is left (kpi.sla_risk), each linked to the helpdesk.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select

from handlers.context import Context
from handlers.escalation_views import linked_ticket, local_full, ticket_url
from handlers.humanize import NONE, duration
from handlers.kpi_breakdown import heading
from handlers.kpi_lookup import Target, find_team
from handlers.kpi_request import KpiRequest, buttons
from handlers.kpi_tables import cell, statuses
from handlers.reply import Context as Note
from handlers.reply import Reply, Section, Table
from kpi.breakdown import breakdown, pooled
from kpi.day_facts import Facts
from kpi.definitions import BY_NAME
from kpi.sla_attainment import Attainment, by_policy, total
from kpi.sla_risk import TARGET_NAMES, AtRisk, at_risk
from kpi.windows import Window
from store.org import Member, Team
from store.sla_file import TARGETS
from store.sla_policies import SlaPolicy

NO_POLICY = "(no policy)"
COLUMNS = ("first_reply_median_s", "resolution_median_s", "backlog")
TARGET_WORDS = {"first_reply": "first reply", "next_reply": "next reply", "resolution": "resolution"}
NOT_MEASURED = "Next reply is not measured: no import or webhook event says when a customer wrote, so a next reply cannot be timed."


@dataclass
class PolicyRow:
    key: str | None  # None: tickets without a policy
    label: str
    targets: str
    facts: Facts
    attainment: Attainment | None  # None for tickets without a policy
    next_reply: bool = False  # the policy has a next reply target (not measured)


def targets_text(policy: SlaPolicy) -> str:
    """`first reply 1h · resolution 1d (business hours)`."""
    said = [f"{TARGET_WORDS[t]} {getattr(policy, t)}" for t in TARGETS if getattr(policy, t)]
    return " · ".join(said) + (" (business hours)" if policy.business else " (calendar time)")


def _rows(ctx: Context, found: dict[Any, Facts], attained: dict[int, Attainment]) -> list[PolicyRow]:
    ids = [k for k in found.keys() | attained.keys() if k is not None]
    versions = list(ctx.session.scalars(select(SlaPolicy).where(SlaPolicy.id.in_(ids)))) if ids else []
    keys = {v.key for v in versions}
    # Each policy named by its latest version, wherever its tickets' versions are.
    latest = {p.key: p for p in ctx.session.scalars(select(SlaPolicy).where(SlaPolicy.key.in_(keys)).order_by(SlaPolicy.version))} if keys else {}
    by_key: dict[str, list[int]] = {}
    for version in versions:
        by_key.setdefault(version.key, []).append(version.id)
    rows = []
    order = sorted(by_key, key=lambda k: (latest[k].retired_at is not None, latest[k].position if latest[k].retired_at is None else 0, k))
    for key in order:
        policy = latest[key]
        label = policy.name if policy.retired_at is None else f"{policy.name} (retired)"
        facts = pooled(found.get(i, Facts()) for i in by_key[key])
        rows.append(PolicyRow(key, label, targets_text(policy), facts, total(attained.get(i, Attainment()) for i in by_key[key]), bool(policy.next_reply)))
    if None in found:
        rows.append(PolicyRow(None, NO_POLICY, "its imported sla_met", found[None], None))
    return rows


def _share(count: int, n: int) -> str:
    return f"{count:,} ({count / n * 100:.0f}%)" if n else f"{count:,}"


def _attainment_cells(a: Attainment | None) -> tuple[str, str, str]:
    if a is None:
        return NONE, NONE, NONE
    return _share(a.achieved, a.n), _share(a.breached, a.n), _share(a.open_within, a.n)


def execute_sla_breakdown(ctx: Context, request: KpiRequest, target: Target, window: Window, start: Any) -> Reply:
    """The `by sla` breakdown of `target` (a team, or the org) over `window`; `start`: where its data starts."""
    team = target.team if request.kind == "team" else None
    title, base = heading(request, target)
    found = breakdown(ctx.session, target.scope, window.start_utc, window.until_utc, "sla", target.timezone)
    attained = by_policy(ctx.session, target.scope, window.start_utc, window.until_utc)
    rows = _rows(ctx, found, attained)
    targets = dict(team.targets) if team is not None else {}
    shown = [(r, r.facts.metrics()) for r in rows]
    overall = total(r.attainment for r in rows if r.attainment is not None)
    everything = pooled(r.facts for r in rows)
    table = tuple(
        (r.label, r.targets, f"{r.facts.created:,}", *_attainment_cells(r.attainment), *(cell(m, metrics, targets) for m in COLUMNS))
        for r, metrics in shown
    )
    header = ("Policy", "Targets", "Created", "Achieved", "Breached", "Open within", *(BY_NAME[m].label for m in COLUMNS))
    as_of = f"as of {window.until:%Y-%m-%d %H:%M} ({target.timezone})"
    notes = [
        Note(f"Window: {window.label()} · by sla"),
        *([Section(start.said())] if start.first is None else []),
        Table(header, table),
        Note(
            f"Achieved, breached and open within: the tickets created in the window, {as_of}: achieved when every target "
            "its policy measures was met in time (a solve meets the first reply target too), breached when one was missed, "
            "open within while a target is still ahead. A ticket keeps the policy version it matched when it arrived."
        ),
        Note(
            f"{target.label} in all: {overall.n:,} tickets measured, {overall.achieved:,} achieved, {overall.breached:,} breached, "
            f"{overall.open_within:,} open within; {everything.created:,} created, {everything.solved:,} solved, "
            f"{everything.backlog:,} open at the end. The cards' SLA attainment is over tickets solved in the window: "
            "their policy's targets for those with one, the imported sla_met for those without."
        ),
        *([Note(NOT_MEASURED)] if any(r.next_reply for r in rows) else []),
        *buttons(ctx, request, True, window),
    ]
    if not rows:
        notes.insert(1, Section(f"No tickets of {target.label} in this window."))
    return Reply(
        title=title,
        blocks=notes,
        visibility="channel" if request.share else "ephemeral",
        data={
            **base,
            "window": window.to_json(),
            "timezone": target.timezone,
            "targets": targets,
            "rows": [
                {
                    "value": r.key,
                    "label": r.label,
                    "targets": r.targets,
                    "n": r.facts.created,
                    "metrics": metrics,
                    "status": statuses(metrics, targets),
                    "sla": r.attainment.as_data() if r.attainment is not None else None,
                }
                for r, metrics in shown
            ],
            "sla": {r.key: r.attainment.as_data() for r in rows if r.key is not None and r.attainment is not None},
            "sla_overall": overall.as_data(),
            "total": {"tickets_created": everything.created, "tickets_solved": everything.solved, "backlog": everything.backlog},
        },
    )


# ---------------------------------------------------------------- /kpi sla [TEAM]

SHOWN = 15  # rows per table on a card; --json lists up to MAX_LISTED
MAX_LISTED = 500


def _left(seconds: int) -> str:
    return f"breached {duration(-seconds)} ago" if seconds < 0 else f"in {duration(seconds)}"


def _teams_asked(ctx: Context, team_text: str | None) -> list[Team] | None:
    """The teams `/kpi sla` lists: the one named, else the caller's; None: every team (a caller without a team)."""
    if team_text is None and ctx.member.team is None:
        return None
    return [find_team(ctx, team_text, command="/kpi sla")]


def execute_at_risk(ctx: Context, request: KpiRequest) -> Reply:
    """`/kpi sla [TEAM]`: the open tickets due within their policy's warning time, and those past due, by time left."""
    now = request.at or ctx.now
    teams = _teams_asked(ctx, request.target)
    if teams is not None:
        request = replace(request, target=teams[0].key)  # the button names the team by key
    found = at_risk(ctx.session, now, [t.id for t in teams] if teams is not None else None)
    names = {t.id: t for t in ctx.session.scalars(select(Team))}
    people = {m.id: m for m in ctx.session.scalars(select(Member).where(Member.id.in_({r.ticket.agent_id for r in found if r.ticket.agent_id})))} if found else {}
    zone = teams[0].timezone if teams is not None else ctx.org_timezone
    label = teams[0].name if teams is not None else "every team"
    listed = [_at_risk_data(r, names, people) for r in found[:MAX_LISTED]]

    def table(rows: list[AtRisk]) -> Table:
        return Table(
            ("Ticket", "Team", "Assignee", "Policy", "Target", "Due", "Left"),
            tuple(
                (
                    linked_ticket(r.ticket.external_id),
                    names[r.ticket.team_id].key if r.ticket.team_id in names else "—",
                    people[r.ticket.agent_id].name if r.ticket.agent_id in people else "unassigned",
                    r.policy.name,
                    TARGET_NAMES[r.target],
                    local_full(r.due_at, names[r.ticket.team_id].timezone if r.ticket.team_id in names else zone),
                    _left(r.left_s),
                )
                for r in rows[:SHOWN]
            ),
        )

    soon = [r for r in found if not r.breached]
    late = [r for r in found if r.breached]
    blocks: list[Any] = [
        Section(f"{len(soon)} due within their warning time, {len(late)} past due." if found else f"No open ticket of {label} is at risk of breaching its SLA now.")
    ]
    for title, rows in (("Due soon", soon), ("Past due", late)):
        if rows:
            counted = f"{len(rows):,}" if len(rows) <= SHOWN else f"the first {SHOWN} of {len(rows):,}"
            blocks.append(replace(table(rows), title=f"{title}: {counted}"))
    blocks += [
        Note(
            f"Open tickets with a first reply or resolution due within their policy's warn_before, or past due, least time left first; "
            f"a ticket is listed once, for its target due first. Now: {local_full(now, zone)} ({zone}); due times in each team's zone."
        ),
        *buttons(ctx, request, True, None),
    ]
    return Reply(
        title=f"SLA at risk · {label}" + (f" ({teams[0].key})" if teams is not None else ""),
        blocks=blocks,
        visibility="channel" if request.share else "ephemeral",
        data={"scope": "sla", "team": teams[0].key if teams is not None else None, "now": now.isoformat(), "at_risk": listed, "total": len(found)},
    )


def _at_risk_data(r: AtRisk, teams: dict[int, Team], people: dict[int, Member]) -> dict[str, Any]:
    team = teams.get(r.ticket.team_id) if r.ticket.team_id is not None else None
    agent = people.get(r.ticket.agent_id) if r.ticket.agent_id is not None else None
    return {
        "ticket": r.ticket.external_id,
        "url": ticket_url(r.ticket.external_id),
        "team": team.key if team is not None else None,
        "agent": agent.handle if agent is not None else None,
        "policy": r.policy.key,
        "target": r.target,
        "due_at": r.due_at.isoformat(),
        "left_s": r.left_s,
    }
