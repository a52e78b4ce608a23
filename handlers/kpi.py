"""`/kpi`: a team's, an agent's, your own or the whole org's KPIs over a window,
and the side-by-side tables of every team and of a team's agents.

A card compares its window with the one before it over the same elapsed span
(a running week with last week up to the same weekday and time), says for
each change whether it is better or worse, shows how many tickets each median
and rate is over, and says "no earlier data" rather than comparing with a
window before the scope's first ticket.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from coaching.visibility import sees_pooled_qa
from handlers.args import UsageError, mark_quoted
from handlers.context import Context, Forbidden, Invalid, NotFound
from handlers.kpi_breakdown import authorize_breakdown, execute_breakdown, heading
from handlers.kpi_clock import column_label, team_note, teams_note
from handlers.kpi_csv import with_csv
from handlers.kpi_escalations import execute_escalation_kpis
from handlers.kpi_trend import authorize_trend, card_request, execute_trend
from handlers.trend_words import DEFAULT_WINDOW
from handlers.kpi_sla import execute_at_risk, execute_sla_breakdown
from handlers.kpi_alerts import SNOOZE_ACTION, authorize_snooze, execute_alerts, execute_snooze, parse_snooze
from handlers.humanize import change, metric_value, with_sample
from handlers.kpi_lookup import (
    Target,
    agent_refusal,
    find_member,
    find_team,
    fold,
    inactive_note,
    may_see_agent,
    require,
    team_table_refusal,
)
from handlers.kpi_request import (
    PREVIOUS_ACTION,
    SHARE_ACTION,
    SORT_HELP,
    KpiRequest,
    buttons,
    parse_button,
    parse_kpi,
    window_for,
)
from handlers.kpi_tables import (
    AGENTS_COLUMNS,
    LEGEND,
    QA_POOLED,
    TEAMS_COLUMNS,
    best_first,
    cell,
    columns_with,
    sort_note,
    statuses,
    with_qa,
)
from handlers.reply import Context as Note
from handlers.reply import Reply, Section, Table
from handlers.router import Action, Router
from kpi import business_hours, qa_figures
from kpi.business_hours import BUSINESS_NAMES, Calendars, Clock, label, on_clock, org_clock, team_clock
from kpi.definitions import METRIC_NAMES, METRICS, judgement, shown
from kpi.engine import (
    Metrics,
    Scope,
    compute,
    compute_by_agent,
    compute_by_team,
    first_activity_at,
    first_created_at,
    metrics_from,
)
from kpi.targets import target_status
from kpi.windows import WINDOW_HELP, Window
from store.local_time import local_date
from store.org import Member, Team

STATUS_LABEL = {"met": "✅ met", "at_risk": "⚠️ at risk", "missed": "❌ missed"}


def settle(ctx: Context, request: KpiRequest) -> KpiRequest:
    """`request`, or the one its words meant when a window was taken out of a name.

    `/kpi team shift today` asks about the team "Shift" today, unless there is
    no such team and there is one called "Shift Today": then that team, over
    the default window. A name found as typed always wins.
    """
    if request.whole is None or request.kind not in ("team", "agents", "agent"):
        return request
    find = find_member if request.kind == "agent" else find_team
    try:
        find(ctx, request.target)
        return request
    except NotFound:
        try:
            find(ctx, request.whole)
        except (NotFound, Invalid, UsageError):
            return request
        return replace(request, target=request.whole, window=None, whole=None)


def resolve(ctx: Context, request: KpiRequest) -> Target | None:
    """What the request is about; None for the all-teams table."""
    if request.kind == "teams":
        return None
    if request.kind == "org":
        return Target(Scope(), None, None, ctx.org_timezone, ctx.org.name if ctx.org else "Organisation")
    if request.kind in ("team", "agents"):
        team = find_team(ctx, request.target, command=f"/kpi {request.kind}")
        return Target(Scope(team_id=team.id), team, None, team.timezone, team.name)
    agent = ctx.member if request.kind == "me" else find_member(ctx, request.target or "")
    return Target(Scope(agent_id=agent.id), agent.team, agent, agent.effective_timezone(ctx.org_timezone), agent.name)


def authorize_kpi(ctx: Context, request: KpiRequest) -> None:
    """The one place /kpi decides who sees what (typed commands and button clicks alike)."""
    if request.kind in ("alerts", "escalations", "sla"):
        return  # team and queue figures, open to every member
    if request.trend is not None:
        card = card_request(request)
        authorize_kpi(ctx, card)
        authorize_trend(ctx, request, resolve(ctx, settle(ctx, card)))
        return
    request = settle(ctx, request)
    target = resolve(ctx, request)
    if request.by is not None and target is not None:
        authorize_breakdown(ctx, request, target)
        return  # otherwise team and org figures, open to every member
    # `/kpi teams --sort qa` is answered for everyone: sorted by the QA figures the caller may see (_teams_table).
    if request.kind == "agents" and target is not None and target.team is not None:
        require(team_table_refusal(ctx.member, target.team))
        if request.share:
            raise Forbidden("The agent table holds each agent's figures, so it is not shared in a channel.")
        return
    if target is None or target.agent is None:
        return  # team and org figures are open to every member
    require(agent_refusal(ctx.member, target.agent))
    if request.share and target.agent.id != ctx.member.id:
        raise Forbidden(f"Only {target.agent.name} can share their own figures in a channel.")


# ---------------------------------------------------------------- one scope


def _comparison(ctx: Context, scope: Scope, window: Window, calendars: Calendars) -> tuple[Window, Metrics | None]:
    """The window to compare with, and its figures; None when it reaches before the scope's first ticket.

    A quiet start still counts as covered: the first ticket may come within the
    first thirtieth of the earlier window (at most a day), e.g. the morning
    after a window that starts at midnight.
    """
    compared = window.comparison()
    first = first_created_at(ctx.session, scope)
    grace = min(timedelta(days=1), (compared.until_utc - compared.start_utc) / 30)
    if first is None or first > compared.start_utc + grace:
        return compared, None
    return compared, compute(ctx.session, scope, compared.start_utc, compared.until_utc, calendars=calendars)


def _card_rows(
    metrics: Metrics, previous: Metrics | None, targets: dict[str, Any], like_for_like: bool, qa: bool, clock: Clock
) -> tuple[tuple[str, ...], ...]:
    """The card's lines from the figures on its clock (kpi.business_hours.on_clock): a target judges the figure shown."""
    rows = []
    for m in shown(qa):
        target = targets.get(m.name)
        status = target_status(m.name, metrics[m.name], target)
        rows.append(
            (
                label(m.name, clock),
                with_sample(m.name, metrics[m.name], metrics[m.sample] if m.sample else None, clock),  # type: ignore[arg-type]
                change(m.name, metrics[m.name], previous[m.name], judged=like_for_like or not m.flow, clock=clock)
                if previous is not None
                else "—",
                metric_value(m.name, target, clock) if target is not None else "",
                STATUS_LABEL[status] if status else "",
            )
        )
    return tuple(rows)


def length_note(window: Window, compared: Window) -> str:
    """Why counts are compared without a verdict: the two windows differ in length."""
    if window.so_far:
        return f"The earlier window ({compared.name()}, {compared.days} days) is shorter than this one so far: counts are compared without a verdict."
    return f"{window.name()} has {window.days} days and {compared.name()} {compared.days}: counts (created, solved) are compared without a verdict."


@dataclass(frozen=True)
class DataStart:
    """Where a scope's data starts, for windows that end before it (or a scope that has none)."""

    first: datetime | None  # the first ticket or QA review; None: none at all
    label: str
    timezone: str

    def before(self, window: Window) -> bool:
        """Whether `window` ends before any data of the scope (a scope with none at all has no "before")."""
        return self.first is not None and window.until_utc <= self.first

    def said(self) -> str:
        if self.first is None:
            return f"There are no tickets and no QA reviews for {self.label} yet; tickets arrive by import (csbot import tickets) or the ticket webhook."
        day = local_date(self.first, self.timezone).isoformat()
        return f"There is no data for {self.label} in this window: it starts on {day} ({self.timezone}). Ask about a window from then, e.g. since {day}."


def data_start(ctx: Context, scope: Scope, label: str, timezone: str) -> DataStart:
    return DataStart(first_activity_at(ctx.session, scope), label, timezone)


def _no_data_reply(title: str, window: Window, start: DataStart, data: dict[str, Any], request: KpiRequest) -> Reply:
    """The answer for a window that ends before any data: what it is and where the data starts, never a card of zeros."""
    return Reply(
        title=title,
        blocks=[Note(f"Window: {window.label()}"), Section(start.said())],
        visibility="channel" if request.share else "ephemeral",
        data={**data, "window": window.to_json(), "no_data": True, "data_starts": start.first.isoformat() if start.first else None, "sort": request.sort},
    )


def _card_notes(window: Window, compared: Window, previous: Metrics | None, agent: Member | None, timezone: str, clock_said: str | None) -> list[Note]:
    against = f"compared with {compared.label()}" if previous is not None else "no earlier data to compare with"
    notes = [Note(f"Window: {window.label()} · {against}")]
    if clock_said:
        notes.append(Note(clock_said))
    if previous is not None and not window.like_for_like(compared):
        notes.append(Note(length_note(window, compared)))
    if agent is not None and (inactive := inactive_note(agent, timezone)):
        notes.append(Note(inactive))
    return notes


def _changes(metrics: Metrics, previous: Metrics, like_for_like: bool) -> dict[str, str | None]:
    """better / worse / same for every metric, the business-hours ones too (judged as their wall-clock twins)."""
    found = {
        m.name: judgement(m.name, metrics[m.name], previous[m.name]) if like_for_like or not m.flow else None
        for m in METRICS
    }
    return found | {bh: judgement(wall, metrics[bh], previous[bh]) for wall, bh in BUSINESS_NAMES.items()}


def _clock(calendars: Calendars, kind: str, target: Target, wall: bool) -> Clock:
    """The clock of a card: the org's (any team with a calendar), else its team's (an agent's: their team's)."""
    if kind == "org":
        return org_clock(calendars, wall=wall)
    return team_clock(calendars, target.team.id if target.team is not None else None, wall=wall)


def _clock_note(ctx: Context, calendars: Calendars, kind: str, target: Target, clock: Clock) -> str | None:
    """The line that says which clock a card's durations are on (none for a team around the clock)."""
    if kind == "org":
        return teams_note(ctx.org, ctx.session.scalars(select(Team).where(Team.active.is_(True)).order_by(Team.key)).all(), calendars, clock)
    whose = target.agent.name if target.agent is not None else None
    return team_note(ctx.org, target.team, calendars, clock, whose=whose)


def execute_card(ctx: Context, request: KpiRequest, target: Target) -> Reply:
    # Buttons must mean the same for whoever clicks them, and parse again:
    # name the team by key and the member by handle, never "my team", "me",
    # or the mention, name or email the person typed.
    if request.kind == "team" and target.team is not None:
        request = replace(request, target=target.team.key)
    elif request.kind in ("me", "agent") and target.agent is not None:
        request = replace(request, kind="agent", target=target.agent.handle)
    window = window_for(ctx, request, target.timezone)
    kind = "team" if request.kind == "team" else "agent" if target.agent is not None else "org"
    title = f"KPIs · {target.label}" + (f" ({target.team.key})" if kind == "team" and target.team else "")
    start = data_start(ctx, target.scope, target.label, target.timezone)
    if start.before(window):
        return _no_data_reply(title, window, start, {"scope": kind, "team": target.team.key if kind == "team" and target.team else None, "agent": target.agent.handle if target.agent else None, "metrics": None}, request)
    calendars = business_hours.load(ctx.session)
    clock = _clock(calendars, kind, target, request.wall)
    metrics = compute(ctx.session, target.scope, window.start_utc, window.until_utc, calendars=calendars)
    compared, previous = _comparison(ctx, target.scope, window, calendars)
    # An agent's own QA figures go with their card (its rules are checked above);
    # pooled ones only to those who look after the whole team, never to a channel.
    qa = target.agent is not None or (sees_pooled_qa(ctx.member, target.team.id if request.kind == "team" and target.team else None) and not request.share)
    if not qa:
        metrics = qa_figures.hidden(metrics)
        previous = qa_figures.hidden(previous) if previous is not None else None
    # A team is measured against its targets, and an agent against their team's.
    targets = dict(target.team.targets) if target.team is not None and request.kind != "org" else {}
    shareable = target.agent is None or target.agent.id == ctx.member.id
    agent = target.agent
    on_card, before = on_clock(metrics, clock), on_clock(previous, clock) if previous is not None else None
    return Reply(
        title=title,
        blocks=[
            *_card_notes(window, compared, previous, agent, target.timezone, _clock_note(ctx, calendars, kind, target, clock)),
            *([Section(start.said())] if start.first is None else []),
            Table(
                ("Metric", "Value", "vs previous", "Target", "Status"),
                _card_rows(on_card, before, targets, window.like_for_like(compared), qa and qa_figures.in_use(ctx.session), clock),
            ),
            *buttons(ctx, request, shareable, window),
        ],
        visibility="channel" if request.share else "ephemeral",
        data={
            "scope": kind,
            "team": target.team.key if kind == "team" and target.team else None,
            "agent": agent.handle if agent is not None else None,
            "agent_active": agent.active if agent is not None else None,
            "inactive_since": agent.deactivated_at.isoformat() if agent is not None and agent.deactivated_at else None,
            "window": window.to_json(),
            "clock": clock,
            "metrics": metrics,
            "compared_with": compared.to_json() if previous is not None else None,
            "previous": previous,
            "changes": _changes(metrics, previous, window.like_for_like(compared)) if previous else None,
            "targets": {k: v for k, v in targets.items() if k in METRIC_NAMES},
            "status": statuses(on_card, targets),
        },
    )


def _qa_sort_limit(teams: Sequence[Team], seen: set[int], share: bool) -> str:
    """Why a table sorted by QA shows only some teams' QA figures, and how it is sorted instead."""
    if share:
        return "QA figures are never posted in a channel, so this table is sorted by team."
    if not seen:
        return f"{QA_POOLED} You look after no team's agents, so this table is sorted by team."
    mine = ", ".join(t.key for t in teams if t.id in seen)
    return (
        f"The QA column shows {mine} only: pooled QA figures are for those who look after a team's agents (one review "
        "can be the whole figure). Those come first, best first; the other teams follow by key."
    )


# ---------------------------------------------------------------- tables


def _teams_table(ctx: Context, request: KpiRequest) -> Reply:
    # One window in the org's time zone for every team, so rows compare like for like.
    window = window_for(ctx, request, ctx.org_timezone)
    start = data_start(ctx, Scope(), ctx.org.name if ctx.org else "the organisation", ctx.org_timezone)
    if start.before(window):
        return _no_data_reply("KPIs by team", window, start, {"scope": "org", "team": None, "agent": None, "rows": []}, request)
    calendars = business_hours.load(ctx.session)
    by_team = compute_by_team(ctx.session, window.start_utc, window.until_utc, calendars=calendars)
    teams = ctx.session.scalars(select(Team).where(Team.active.is_(True)).order_by(Team.key)).all()
    empty_metrics = metrics_from(0, [], [], 0)
    # Pooled QA figures row by row: each team's for those who look after its agents, none in a channel.
    seen = set() if request.share else {t.id for t in teams if sees_pooled_qa(ctx.member, t.id)}
    raw = {t.id: by_team.get(t.id, empty_metrics) if t.id in seen else qa_figures.hidden(by_team.get(t.id, empty_metrics)) for t in teams}
    # Each team on its own clock: its business hours when it has a calendar, sorted and judged on the figure shown.
    clocks = {t.id: team_clock(calendars, t.id, wall=request.wall) for t in teams}
    items = [(t, on_clock(raw[t.id], clocks[t.id])) for t in teams]
    sort, limited = request.sort, None
    if sort in qa_figures.QA_NAMES and len(seen) < len(teams):
        limited = _qa_sort_limit(teams, seen, request.share)
        sort = sort if seen else None
    if sort:
        items.sort(key=best_first(sort))  # teams whose QA the caller may not see have none: they come last, by key
    columns = columns_with(with_qa(TEAMS_COLUMNS, bool(seen) and qa_figures.in_use(ctx.session)), sort)
    rows = tuple((t.key, *(cell(m, metrics, t.targets, clocks[t.id]) for m in columns)) for t, metrics in items)
    said = teams_note(ctx.org, teams, calendars, "wall" if request.wall else "business")
    return Reply(
        title="KPIs by team",
        blocks=[
            Note(f"Window: {window.label()} · {sort_note(sort, 'team')} · each team against its own targets"),
            *([Note(said)] if said else []),
            *([Note(limited)] if limited else []),
            *([Section(start.said())] if start.first is None else []),
            Table(("Team", *(column_label(m, list(clocks.values())) for m in columns)), rows),
            Note(LEGEND),
            *buttons(ctx, request, True, window),
        ],
        visibility="channel" if request.share else "ephemeral",
        data={
            "scope": "org",
            "team": None,
            "agent": None,
            "window": window.to_json(),
            "sort": sort,
            "sort_limited": limited,
            "rows": [{"team": t.key, "clock": clocks[t.id], "metrics": raw[t.id], "status": statuses(metrics, t.targets)} for t, metrics in items],
        },
    )


_ACTIVITY = ("tickets_created", "tickets_solved", "backlog")
UNASSIGNED = "Unassigned (no agent)"


def _reconciled(team: Team, total: Metrics, rows: list[Metrics]) -> str:
    """The team's solved and open tickets, and whether the rows add up to them (and why not, when not)."""
    solved, backlog = int(total["tickets_solved"] or 0), int(total["backlog"] or 0)
    summed = (sum(int(m["tickets_solved"] or 0) for m in rows), sum(int(m["backlog"] or 0) for m in rows))
    said = f"{team.name} in all: {solved:,} solved, {backlog:,} open at the end of the window"
    if summed == (solved, backlog):
        return f"{said}; the rows add up to it."
    return (
        f"{said}; the rows add up to {summed[0]:,} solved and {summed[1]:,} open: the difference is tickets of members "
        "not listed here (leads, agents who moved teams, agents you do not look after)."
    )


def _agent_label(agent: Member, namesake: bool) -> str:
    """The agent's name; with the handle when another row has the same name."""
    label = f"{agent.name} (@{agent.handle})" if namesake else agent.name
    return label if agent.active else f"{label} (inactive)"


def _agents_table(ctx: Context, request: KpiRequest, target: Target) -> Reply:
    team = target.team
    assert team is not None  # resolve() gives /kpi agents a team
    request = replace(request, target=team.key)
    window = window_for(ctx, request, team.timezone)
    title = f"Agents · {team.name} ({team.key})"
    start = data_start(ctx, Scope(team_id=team.id), team.name, team.timezone)
    if start.before(window):
        return _no_data_reply(title, window, start, {"scope": "agents", "team": team.key, "agent": None, "rows": [], "unassigned": None}, request)
    agents = ctx.session.scalars(select(Member).where(Member.team_id == team.id, Member.role == "agent")).all()
    agents = sorted((a for a in agents if may_see_agent(ctx.member, a)), key=lambda a: (fold(a.name), a.handle))
    calendars = business_hours.load(ctx.session)
    clock = team_clock(calendars, team.id, wall=request.wall)
    by_agent = compute_by_agent(ctx.session, [a.id for a in agents], window.start_utc, window.until_utc, calendars=calendars)
    # A former agent stays in the table for windows in which they worked, and
    # while tickets are still open in their name (someone must pick them up).
    items = [(a, on_clock(by_agent[a.id], clock)) for a in agents if a.active or any(by_agent[a.id][k] for k in _ACTIVITY)]
    if request.sort:
        items.sort(key=best_first(request.sort))
    columns = columns_with(with_qa(AGENTS_COLUMNS, qa_figures.in_use(ctx.session)), request.sort)
    targets = dict(team.targets)
    namesakes = Counter(fold(a.name) for a, _ in items)
    rows = tuple(
        (_agent_label(a, namesakes[fold(a.name)] > 1), *(cell(m, metrics, targets, clock) for m in columns)) for a, metrics in items
    )
    # The team's tickets nobody is assigned: last, whatever the sort, so the rows add up to the team.
    unassigned = compute(ctx.session, Scope(team_id=team.id, unassigned=True), window.start_utc, window.until_utc, calendars=calendars)
    if any(unassigned[k] for k in _ACTIVITY):
        rows += ((UNASSIGNED, *(cell(m, on_clock(unassigned, clock), targets, clock) for m in columns)),)
    team_total = compute(ctx.session, Scope(team_id=team.id), window.start_utc, window.until_utc, calendars=calendars)
    said = team_note(ctx.org, team, calendars, clock)
    blocks: list[Any] = [
        Note(f"Window: {window.label()} · {sort_note(request.sort, 'name')} · against the team's targets"),
        *([Note(said)] if said else []),
        Table(("Agent", *(label(m, clock) for m in columns)), rows),
        Note(_reconciled(team, team_total, [m for _, m in items] + [unassigned])),
        Note(LEGEND),
    ]
    if start.first is None:
        blocks.insert(1 + bool(said), Section(start.said()))
    if not items:
        blocks.insert(1 + bool(said), Section(f"{team.name} has no agents (role agent) in the organisation file."))
    return Reply(
        title=title,
        blocks=[*blocks, *buttons(ctx, request, False, window)],
        visibility="ephemeral",
        data={
            "scope": "agents",
            "team": team.key,
            "agent": None,
            "window": window.to_json(),
            "sort": request.sort,
            "clock": clock,
            "targets": {k: v for k, v in targets.items() if k in METRIC_NAMES},
            "rows": [
                {
                    "agent": a.handle,
                    "name": a.name,
                    "active": a.active,
                    "metrics": by_agent[a.id],
                    "status": statuses(metrics, targets),
                }
                for a, metrics in items
            ],
            "unassigned": {"metrics": unassigned, "status": statuses(on_clock(unassigned, clock), targets)},
            "team_total": {k: team_total[k] for k in ("tickets_solved", "backlog")},
        },
    )


def _breakdown(ctx: Context, request: KpiRequest, target: Target) -> Reply:
    if request.kind == "team" and target.team is not None:
        request = replace(request, target=target.team.key)  # buttons name the team by key
    window = window_for(ctx, request, target.timezone)
    start = data_start(ctx, target.scope, target.label, target.timezone)
    if start.before(window):
        title, data = heading(request, target)
        return _no_data_reply(title, window, start, data, request)
    if request.by == "sla":
        return execute_sla_breakdown(ctx, request, target, window, start)
    return execute_breakdown(ctx, request, target, window, start)


def _trend(ctx: Context, request: KpiRequest) -> Reply:
    card = settle(ctx, card_request(request))
    target = resolve(ctx, card)
    assert target is not None  # a trend is of a team, the org or an agent
    # Buttons name the team by key and the agent by handle, as the card's do.
    named = target.team.key if card.kind == "team" and target.team else target.agent.handle if target.agent else None
    # A window taken back into a team's name (settle) leaves the trend's own default.
    request = replace(request, target=named, window=card.window or DEFAULT_WINDOW, whole=None)
    window = window_for(ctx, request, target.timezone)
    start = data_start(ctx, target.scope, target.label, target.timezone)
    if start.before(window):
        scope = "agent" if target.agent is not None else card.kind
        return _no_data_reply(f"Trend · {target.label}", window, start, {"scope": scope, "series": []}, request)
    # On the card's clock: a team with a calendar draws its durations in business hours (--wall: the wall clock).
    calendars = business_hours.load(ctx.session)
    kind = "org" if card.kind == "org" else "team"
    clock = _clock(calendars, kind, target, request.wall)
    return execute_trend(ctx, request, target, window, start.first, clock, _clock_note(ctx, calendars, kind, target, clock))


def execute_kpi(ctx: Context, request: KpiRequest) -> Reply:
    reply = _execute(ctx, request)
    return with_csv(ctx, reply) if request.csv else reply


def _execute(ctx: Context, request: KpiRequest) -> Reply:
    if request.kind == "alerts":
        return execute_alerts(ctx, request.target)
    if request.kind == "escalations":
        return execute_escalation_kpis(ctx, request)
    if request.trend is not None:
        return _trend(ctx, request)
    if request.kind == "sla":
        return execute_at_risk(ctx, request)
    request = settle(ctx, request)
    target = resolve(ctx, request)
    if target is None:
        return _teams_table(ctx, request)
    if request.kind == "agents":
        return _agents_table(ctx, request, target)
    if request.by is not None:
        return _breakdown(ctx, request, target)
    return execute_card(ctx, request, target)


class KpiCommand:
    name = "kpi"
    summary = "KPIs for a team, its agents, an agent, yourself or every team, over any window"
    usage = (
        "/kpi team [TEAM] [WINDOW] — your team, or another by key or name (quote names with spaces)\n"
        "/kpi team [TEAM] [WINDOW] by channel|priority|tag|sla|agent|weekday|hour — one row per value (by agent: as /kpi agents)\n"
        "/kpi agents [TEAM] [WINDOW] [--sort METRIC] — one row per agent (leads, managers and admins)\n"
        "/kpi agent @handle [WINDOW] — one agent (yourself; leads and managers: their team's agents)\n"
        "/kpi me [WINDOW] — your own figures\n"
        "/kpi teams [WINDOW] [--sort METRIC] — every team side by side\n"
        "/kpi org [WINDOW] [by channel|priority|tag|sla|agent|weekday|hour] — the whole organisation, or one row per value\n"
        "/kpi trend METRIC [TEAM|org|me|@handle] [WINDOW] [by week|day] — one metric over time, a point per week "
        "(default: 90d by week) or day, as a chart with the target and in words\n"
        "/kpi alerts [TEAM] — the team's KPI alerts and where they stand today\n"
        "/kpi sla [TEAM] — open tickets about to breach their SLA policy's targets, and those past due\n"
        "/kpi escalations [QUEUE] [WINDOW] — escalations opened: how fast owned and resolved, how many ran out\n"
        "Add --share to post the answer in the channel, --csv to get its figures as a CSV file too "
        "(Slack: uploaded, to your direct messages unless shared; Teams: a link valid for a day), "
        "--wall for first reply and resolution on the wall clock "
        "(a team with a business calendar is shown in its business hours).\n"
        f"WINDOW: {WINDOW_HELP}. Default 7d; a window still running is shown so far. It may come before or after "
        "the team; quote a name that holds window words: \"Week Shift\".\n"
        f"{SORT_HELP}. Sorted best first."
    )
    examples = (
        "/kpi team",
        "/kpi team support-emea last week",
        '/kpi team "Support EMEA" 30d',
        "/kpi agents support-emea since monday --sort frt",
        "/kpi agent @alice last month",
        "/kpi me this month",
        "/kpi teams 30d --sort csat",
        "/kpi org november",
        "/kpi team support-emea 30d --wall",
        "/kpi team support-emea 30d by channel",
        "/kpi team support-emea 30d by tag",
        "/kpi team support-emea 30d by sla",
        "/kpi org last week by hour",
        "/kpi trend frt",
        "/kpi trend csat support-emea 30d by day",
        "/kpi trend solved org",
        "/kpi team support-emea last month --csv",
        "/kpi org 2026-03-01 to 2026-03-31",
        "/kpi alerts support-emea",
        "/kpi sla support-emea",
        "/kpi escalations billing 30d",
    )

    def parse(self, words: list[str]) -> KpiRequest:
        return parse_kpi(words)

    def parse_text(self, words: list[str], raw: str) -> KpiRequest:
        # The raw text says which words were quoted: `/kpi team "November"` is a team.
        return parse_kpi(mark_quoted(raw, words))

    def authorize(self, ctx: Context, request: KpiRequest) -> None:
        authorize_kpi(ctx, request)

    def execute(self, ctx: Context, request: KpiRequest) -> Reply:
        return execute_kpi(ctx, request)


def register(router: Router) -> None:
    router.register(KpiCommand())
    router.register_action(Action(SHARE_ACTION, lambda v: parse_button(v, share=True), authorize_kpi, execute_kpi))
    router.register_action(
        Action(PREVIOUS_ACTION, lambda v: parse_button(v, share=False), authorize_kpi, execute_kpi, once_per_click=False)
    )
    router.register_action(Action(SNOOZE_ACTION, parse_snooze, authorize_snooze, execute_snooze))
