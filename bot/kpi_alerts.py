"""The KPI alert job: check each team's rules at their slot, and send what fired or recovered.

A breach goes to the team's channel(s) (in Slack, as a reply in the thread of
that day's scorecard when there is one) and to each of the team's leads by
direct message, once per condition per local day; its recovery goes to the
same places. Both go through the outbox like every scheduled message.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.notify import Address, MemberAddress, TeamAddress, member_addresses, team_addresses
from handlers.humanize import duration, metric_value
from handlers.kpi_alerts import SNOOZE_ACTION
from handlers.reply import Actions, Button, Reply, Section
from handlers.reply import Context as Note
from kpi import business_hours
from kpi.alerts import AlertState, check_team, rules, slot
from kpi.business_hours import label, team_clock
from kpi.definitions import BY_NAME
from store.database import Database
from store.engine import write_transaction
from store.org import Member, Team
from store.outbox import Claimed, Planned, plan, sent_row

KINDS = ("alert", "alert_recovered")


class Skip(Exception):
    """The alert can no longer be sent (its team or rule is gone)."""


def _due(db: Database, now: datetime, every_minutes: int) -> list[int]:
    """Teams with a rule not yet checked at its current slot (two reads; most minutes there are none)."""
    with db.sessions() as session:
        teams = [t for t in session.scalars(select(Team).where(Team.active.is_(True), Team.alerts.is_not(None))) if rules(t)]
        if not teams:
            return []
        slots = {t.id: slot(now, t.timezone, every_minutes) for t in teams}
        days = {t.id: slots[t.id].astimezone(ZoneInfo(t.timezone)).date().isoformat() for t in teams}
        checked = {
            (team_id, metric): at
            for team_id, metric, day, at in session.execute(
                select(AlertState.team_id, AlertState.metric, AlertState.day, AlertState.checked_slot).where(AlertState.day.in_(set(days.values())))
            )
            if days.get(team_id) == day and at is not None
        }
        return [t.id for t in teams if any(checked.get((t.id, rule.metric), slots[t.id] - timedelta(seconds=1)) < slots[t.id] for rule in rules(t))]


def plan_alerts(db: Database, now: datetime, *, platforms: set[str], every_minutes: int, catchup: timedelta) -> int:
    """Check every team whose slot is due; plan the messages of what fired or recovered. How many were planned."""
    due = _due(db, now, every_minutes)
    if not due:
        return 0
    planned = 0
    with write_transaction(db.sessions) as session:
        for team_id in due:
            team = session.get(Team, team_id)
            assert team is not None
            for change in check_team(session, team, now, every_minutes):
                at = change.state.fired_at if change.kind == "fired" else change.state.recovered_at
                assert at is not None
                kind = "alert" if change.kind == "fired" else "alert_recovered"
                rows = [
                    Planned(kind, f"{team.key}:{change.state.metric}", str(a), change.state.day, at, at + catchup)
                    for a in _addresses(session, team, platforms, channel=BY_NAME[change.state.metric].group != "qa")
                ]
                planned += plan(session, rows, now)
    return planned


def _addresses(session: Session, team: Team, platforms: set[str], *, channel: bool = True) -> list[Address]:
    """The team's channel (not for QA alerts: a pooled QA score can be one agent's review) and its leads."""
    found = team_addresses(TeamAddress(team.key, team.slack_channel, team.teams_channel)) if channel else []
    leads = session.scalars(select(Member).where(Member.team_id == team.id, Member.role == "lead", Member.active.is_(True)).order_by(Member.handle))
    for lead in leads:
        found += member_addresses(MemberAddress(lead.handle, lead.slack_id, lead.teams_id, lead.email))
    return [a for a in found if a.platform in platforms]


def _state(session: Session, row: Claimed) -> tuple[Team, AlertState]:
    team_key, _, metric = row.subject.partition(":")
    team = session.scalar(select(Team).where(Team.key == team_key, Team.active.is_(True)))
    if team is None:
        raise Skip(f"team {team_key} is no longer in the organisation")
    state = session.scalar(select(AlertState).where(AlertState.team_id == team.id, AlertState.metric == metric, AlertState.day == row.occurrence))
    if state is None:
        raise Skip(f"no alert {metric} on {row.occurrence}")
    return team, state


def compose(session: Session, row: Claimed, now: datetime) -> Reply:
    team, state = _state(session, row)
    rule = next((r for r in rules(team) if r.metric == state.metric), None)
    if rule is None:
        raise Skip(f"{team.key} has no alert on {state.metric} any more")
    # Labelled on the clock the rule judges (business hours for a team with a calendar).
    clock = team_clock(business_hours.load(session), team.id)
    said = label(rule.metric, clock)
    zone = team.timezone
    threshold = metric_value(rule.metric, rule.threshold, clock)
    value = metric_value(rule.metric, state.value, clock)
    if row.kind == "alert_recovered":
        at = state.recovered_at.astimezone(ZoneInfo(zone)) if state.recovered_at else None
        return Reply(
            title=f"✅ Recovered · {team.name} · {said}",
            blocks=[Section(f"{said} is back to {value} (alert when {rule.direction} {threshold})" + (f" at {at:%H:%M} ({zone})." if at else "."))],
            visibility="channel",
            data={"alert": _data(team, state, rule), "status": "recovered"},
        )
    fired = state.fired_at.astimezone(ZoneInfo(zone)) if state.fired_at else None
    since = state.breached_since.astimezone(ZoneInfo(zone)) if state.breached_since else None
    over = "at the check" if rule.metric == "backlog" else f"over the last {duration(rule.window_s)}"
    sample = f" (n={state.sample:,})" if state.sample is not None else ""
    blocks = [
        Section(f"{said} is {value}{sample} {over}, {rule.direction} the alert threshold of {threshold}."),
        Note(
            (f"Breached since {since:%H:%M}; " if since and fired and since < fired else "")
            + (f"checked at {fired:%H:%M} ({zone}). " if fired else "")
            + "Sent once a day per condition; a message follows when it recovers."
        ),
        Actions((Button("Snooze today", SNOOZE_ACTION, json.dumps({"team": team.key, "metric": state.metric, "day": state.day}, separators=(",", ":"))),)),
    ]
    return Reply(title=f"⚠️ KPI alert · {team.name} · {said}", blocks=blocks, visibility="channel", data={"alert": _data(team, state, rule), "status": "fired"})


def _data(team: Team, state: AlertState, rule: object) -> dict[str, object]:
    return {"team": team.key, "metric": state.metric, "day": state.day, "value": state.value, "n": state.sample, "rule": rule.__dict__}


def thread_of(session: Session, row: Claimed) -> str | None:
    """In Slack, an alert for a team's channel is a reply under that day's scorecard there, when it was posted."""
    if not row.recipient.startswith("slack:channel:"):
        return None
    team_key = row.subject.partition(":")[0]
    posted = sent_row(session, "scorecard", team_key, row.recipient, row.occurrence)
    return posted.ids[0] if posted is not None and posted.ids else None
