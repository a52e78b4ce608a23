"""KPI alerts: a team's thresholds, checked on a schedule, firing once per condition per local day.

A rule (from the org file) says a metric must not go above (or below) a
threshold over a rolling window (default a day; backlog is counted at the
check itself), judged only on at least `min_n` tickets, and only once the
breach has held for `for`. Checks happen at fixed local slots (every
ALERT_CHECK_MINUTES from midnight in the team's zone), each evaluated once,
over the window that ends at the slot, so the same moment always gives the
same answer.

State is one row per (team, metric, local day): when the breach began, when
it fired, when it recovered, who snoozed it. A breach fires once a day; a
recovery closes it (and a new breach the same day stays quiet: once per
day); a snooze silences the rest of that day.

A rule on a duration (`first_reply_median_s`) judges the figure the team's
cards show: in business hours when the team has a calendar
(kpi.business_hours), on the wall clock when it works around the clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Float, ForeignKey, Integer, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from kpi import business_hours
from kpi.business_hours import Calendars, on_clock, team_clock
from kpi.definitions import BY_NAME
from kpi.engine import Scope, compute
from store.base import Base, UTCSeconds
from store.org import Team


class AlertState(Base):
    __tablename__ = "kpi_alerts"
    __table_args__ = (UniqueConstraint("team_id", "metric", "day", name="uq_kpi_alerts_team_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"))
    metric: Mapped[str] = mapped_column(String(64))
    day: Mapped[str] = mapped_column(String(10))  # the team's local date
    checked_slot: Mapped[datetime | None] = mapped_column(UTCSeconds)  # the last slot evaluated
    value: Mapped[float | None] = mapped_column(Float)  # at that slot
    sample: Mapped[int | None] = mapped_column(Integer)
    breached_since: Mapped[datetime | None] = mapped_column(UTCSeconds)
    fired_at: Mapped[datetime | None] = mapped_column(UTCSeconds)
    recovered_at: Mapped[datetime | None] = mapped_column(UTCSeconds)
    snoozed_at: Mapped[datetime | None] = mapped_column(UTCSeconds)
    snoozed_by: Mapped[int | None] = mapped_column(ForeignKey("members.id"))


@dataclass(frozen=True)
class Rule:
    metric: str
    direction: str  # above | below
    threshold: float
    window_s: int = 86400
    min_n: int = 0
    for_s: int = 0

    @classmethod
    def of(cls, metric: str, spec: dict[str, Any]) -> Rule:
        return cls(metric, spec["direction"], float(spec["threshold"]), int(spec.get("window_s", 86400)), int(spec.get("min_n", 0)), int(spec.get("for_s", 0)))

    def breached_by(self, value: float) -> bool:
        return value > self.threshold if self.direction == "above" else value < self.threshold


def rules(team: Team) -> list[Rule]:
    return [Rule.of(metric, spec) for metric, spec in sorted((team.alerts or {}).items()) if metric in BY_NAME]


@dataclass(frozen=True)
class Reading:
    value: float | None
    sample: int | None
    breached: bool | None  # None: no value, or fewer than min_n tickets: not judged


def read(session: Session, team: Team, rule: Rule, at: datetime, *, calendars: Calendars | None = None) -> Reading:
    """The rule's metric for `team` over the window that ends at `at` (backlog: at `at`), on the team's clock."""
    metric = BY_NAME[rule.metric]
    calendars = calendars or business_hours.load(session)
    figures = compute(session, Scope(team_id=team.id), at - timedelta(seconds=rule.window_s), at, calendars=calendars)
    value = on_clock(figures, team_clock(calendars, team.id))[rule.metric]
    sample = int(figures[metric.sample] or 0) if metric.sample else None  # type: ignore[literal-required]
    if value is None or (sample is not None and sample < rule.min_n):
        return Reading(value, sample, None)
    return Reading(float(value), sample, rule.breached_by(float(value)))


def slot(at: datetime, zone: str, minutes: int) -> datetime:
    """The start of the check slot holding `at`: every `minutes` from local midnight, in UTC."""
    local = at.astimezone(ZoneInfo(zone))
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    since = int((local.replace(tzinfo=None) - midnight.replace(tzinfo=None)).total_seconds() // 60)
    start = midnight.replace(tzinfo=None) + timedelta(minutes=since - since % minutes)
    return start.replace(tzinfo=ZoneInfo(zone)).astimezone(timezone.utc)


@dataclass(frozen=True)
class Change:
    """An alert that fired or recovered at this check: what the outbox is to send."""

    kind: str  # fired | recovered
    team: Team
    state: AlertState


def check_team(session: Session, team: Team, now: datetime, every_minutes: int) -> list[Change]:
    """Evaluate each of the team's rules at the slot holding `now` (once per slot); what changed."""
    at = slot(now, team.timezone, every_minutes)
    day = at.astimezone(ZoneInfo(team.timezone)).date()
    changes: list[Change] = []
    calendars: Calendars | None = None
    for rule in rules(team):
        state = _state(session, team, rule.metric, day)
        if state.checked_slot is not None and state.checked_slot >= at:
            continue
        calendars = calendars or business_hours.load(session)
        reading = read(session, team, rule, at, calendars=calendars)
        state.checked_slot, state.value, state.sample = at, reading.value, reading.sample
        if reading.breached is None:
            continue  # too few tickets to judge: neither a breach nor a recovery
        if reading.breached:
            state.breached_since = state.breached_since or at
            held = (at - state.breached_since).total_seconds() >= rule.for_s
            if held and state.fired_at is None and state.snoozed_at is None:
                state.fired_at = at
                changes.append(Change("fired", team, state))
        else:
            state.breached_since = None
            if state.fired_at is not None and state.recovered_at is None:
                state.recovered_at = at
                if state.snoozed_at is None:
                    changes.append(Change("recovered", team, state))
    session.flush()
    return changes


def _state(session: Session, team: Team, metric: str, day: date) -> AlertState:
    state = session.scalar(select(AlertState).where(AlertState.team_id == team.id, AlertState.metric == metric, AlertState.day == day.isoformat()))
    if state is not None:
        return state
    # A breach that runs across midnight keeps counting toward `for`.
    yesterday = session.scalar(
        select(AlertState).where(AlertState.team_id == team.id, AlertState.metric == metric, AlertState.day == (day - timedelta(days=1)).isoformat())
    )
    state = AlertState(team_id=team.id, metric=metric, day=day.isoformat(), breached_since=yesterday.breached_since if yesterday else None)
    session.add(state)
    session.flush()
    return state


def active(session: Session, team: Team, day: date) -> list[AlertState]:
    """The team's alert states for its local `day`."""
    return list(session.scalars(select(AlertState).where(AlertState.team_id == team.id, AlertState.day == day.isoformat()).order_by(AlertState.metric)))
