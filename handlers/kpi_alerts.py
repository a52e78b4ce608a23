"""`/kpi alerts [TEAM]` and the Snooze today button of an alert.

Alert figures are team figures, open to every member, as `/kpi team` is.
Snoozing silences a team's alert for the rest of its local day, so it is for
whoever answers for the team: its leads, its managers (or a manager without
a team) and admins.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from coaching.visibility import sees_pooled_qa
from handlers.args import UsageError
from handlers.context import Context, Forbidden, NotFound
from handlers.humanize import duration, metric_value, with_sample
from handlers.kpi_lookup import find_team
from handlers.kpi_request import DAMAGED_BUTTON
from handlers.reply import Reply, Section, Table
from handlers.reply import Context as Note
from kpi import business_hours
from kpi.alerts import AlertState, Reading, Rule, read, rules
from kpi.business_hours import Clock, team_clock
from kpi.business_hours import label as clock_label
from kpi.definitions import BY_NAME
from store.org import Member, Team
from store.team_renames import renamed_team

SNOOZE_ACTION = "alerts.snooze"


@dataclass(frozen=True)
class SnoozeRequest:
    team: str
    metric: str
    day: str


def parse_alerts(rest: list[str]) -> str | None:
    """The team named after `/kpi alerts`, if any."""
    return " ".join(rest) if rest else None


def execute_alerts(ctx: Context, team_text: str | None) -> Reply:
    if team_text is None and ctx.member.team is None:
        teams = [t for t in ctx.session.scalars(select(Team).where(Team.active.is_(True)).order_by(Team.key)) if rules(t)]
    else:
        teams = [find_team(ctx, team_text, command="/kpi alerts")]
    rows: list[tuple[str, ...]] = []
    data: list[dict[str, Any]] = []
    calendars = business_hours.load(ctx.session)
    for team in teams:
        day = ctx.now.astimezone(ZoneInfo(team.timezone)).date()
        states = {s.metric: s for s in ctx.session.scalars(select(AlertState).where(AlertState.team_id == team.id, AlertState.day == day.isoformat()))}
        for rule in rules(team):
            if BY_NAME[rule.metric].group == "qa" and not sees_pooled_qa(ctx.member, team.id):
                continue  # a pooled QA score can be one agent's review
            reading = read(ctx.session, team, rule, ctx.now, calendars=calendars)
            state = states.get(rule.metric)
            status = _status(ctx, team, rule, reading, state)
            clock = team_clock(calendars, team.id)
            rows.append((team.key, clock_label(rule.metric, clock), describe(rule, clock), _now(rule, reading, clock), status))
            data.append(
                {
                    "team": team.key,
                    "metric": rule.metric,
                    "rule": {"direction": rule.direction, "threshold": rule.threshold, "window_s": rule.window_s, "min_n": rule.min_n, "for_s": rule.for_s},
                    "value": reading.value,
                    "n": reading.sample,
                    "breached": reading.breached,
                    "active": bool(state and state.fired_at and not state.recovered_at and not state.snoozed_at),
                    "snoozed": bool(state and state.snoozed_at),
                    "fired_at": state.fired_at.isoformat() if state and state.fired_at else None,
                    "recovered_at": state.recovered_at.isoformat() if state and state.recovered_at else None,
                }
            )
    label = teams[0].name if len(teams) == 1 else "every team"
    if not rows:
        blocks: list[Any] = [Section(f"{label} has no KPI alerts in the organisation file (a team's `alerts:`).")]
    else:
        active = sum(1 for d in data if d["active"])
        blocks = [
            Section(f"{active} active alert{'' if active == 1 else 's'} today." if active else "No active alerts today."),
            Table(("Team", "Metric", "Alert when", "Now", "Today"), tuple(rows)),
            Note(f"Checked every few minutes in each team's zone; an alert fires once a day per condition and says when it recovers. Now: {ctx.now:%Y-%m-%d %H:%M} UTC."),
        ]
    return Reply(title=f"KPI alerts · {label}", blocks=blocks, data={"scope": "alerts", "alerts": data})


def describe(rule: Rule, clock: Clock = "wall") -> str:
    """`above 2h over 4h, n ≥ 5, for 30m`: a rule as the org file means it; the threshold on the team's clock."""
    text = f"{rule.direction} {metric_value(rule.metric, rule.threshold, clock)}"
    if rule.metric != "backlog":
        text += f" over {duration(rule.window_s)}"
    if rule.min_n:
        text += f", n ≥ {rule.min_n}"
    if rule.for_s:
        text += f", for {duration(rule.for_s)}"
    return text


def _now(rule: Rule, reading: Reading, clock: Clock) -> str:
    return with_sample(rule.metric, reading.value, reading.sample, clock)


def _status(ctx: Context, team: Team, rule: Rule, reading: Reading, state: AlertState | None) -> str:
    zone = ZoneInfo(team.timezone)

    def at(moment: datetime | None) -> str:
        return moment.astimezone(zone).strftime("%H:%M") if moment else "?"

    if state is not None and state.snoozed_at is not None:
        who = ctx.session.get(Member, state.snoozed_by) if state.snoozed_by else None
        return f"😴 snoozed by {who.name if who else 'someone'} at {at(state.snoozed_at)}"
    if state is not None and state.fired_at is not None and state.recovered_at is None:
        return f"🔴 firing since {at(state.fired_at)}"
    if state is not None and state.recovered_at is not None:
        return f"✅ recovered at {at(state.recovered_at)} (fired {at(state.fired_at)})"
    if state is not None and state.breached_since is not None:
        return f"🟡 breached since {at(state.breached_since)}; fires after {duration(rule.for_s)}"
    if reading.breached is None:
        return f"not judged (n below {rule.min_n})" if reading.value is not None else "no data"
    return "🟡 breached (next check)" if reading.breached else "ok"


def parse_snooze(value: str) -> SnoozeRequest:
    try:
        payload = json.loads(value)
        team, metric, day = payload["team"], payload["metric"], payload["day"]
        if not all(isinstance(v, str) and 0 < len(v) <= 64 for v in (team, metric, day)):
            raise TypeError("a field has the wrong type")
        date.fromisoformat(day)
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
        raise UsageError(DAMAGED_BUTTON) from None
    if metric not in BY_NAME:
        raise UsageError(DAMAGED_BUTTON)
    return SnoozeRequest(team, metric, day)


def _team(ctx: Context, key: str) -> Team:
    # An alert posted before the org file renamed its team still snoozes that team.
    team = ctx.session.scalar(select(Team).where(Team.key == key)) or renamed_team(ctx.session, key)
    if team is None:
        raise NotFound(f"There is no team {key!r} any more.")
    return team


def authorize_snooze(ctx: Context, request: SnoozeRequest) -> None:
    team = _team(ctx, request.team)
    member = ctx.member
    if member.role == "admin" or (member.role == "manager" and member.team_id in (None, team.id)):
        return
    if member.role == "lead" and member.team_id == team.id:
        return
    raise Forbidden(f"Only {team.name}'s leads, its managers and admins may snooze its alerts.")


def execute_snooze(ctx: Context, request: SnoozeRequest) -> Reply:
    team = _team(ctx, request.team)
    state = ctx.session.scalar(
        select(AlertState).where(AlertState.team_id == team.id, AlertState.metric == request.metric, AlertState.day == request.day)
    )
    if state is None:
        state = AlertState(team_id=team.id, metric=request.metric, day=request.day)
        ctx.session.add(state)
    label = BY_NAME[request.metric].label
    if state.snoozed_at is None:
        state.snoozed_at, state.snoozed_by = ctx.now, ctx.member.id
    ctx.session.flush()
    return Reply(
        title="Alert snoozed",
        blocks=[Section(f"{label} alerts for {team.name} are snoozed until the end of {request.day} ({team.timezone}), by {ctx.member.name}.")],
        data={"team": team.key, "metric": request.metric, "day": request.day, "snoozed_by": ctx.member.handle},
    )
