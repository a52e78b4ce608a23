"""A team's scorecard for one local day: the numbers a lead starts the morning with.

Every figure comes from the KPI engine over the same window `/kpi team TEAM
DATE` uses, so a scorecard and `/kpi` never disagree. This module is the
numbers only; handlers/scorecard.py turns them into a reply and a
chart.

Decisions where the spec leaves room:
- "Previous day" is the local day before, measured the same way.
- "Trailing 7-day average" is the 7 local days before the day: counts
  (created, solved) per day, backlog the mean of the 7 end-of-day backlogs,
  and medians, means and rates over all of those 7 days' tickets (the week's
  CSAT is its good ratings over its ratings, not a mean of daily shares that
  would weigh a day with 1 rating like a day with 100).
- Backlog by age: the tickets open at the end of the day, by how long they
  had been open then (< 1 day, 1–3 days, > 3 days).
- Days off (the weekend before Monday's post, which shows Friday): their
  volume only, created and solved over all of them and the backlog at the end
  of the last, each team in its own local days.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from kpi.day_facts import CREATED, DAY_S, SOLVED, T
from kpi import business_hours, qa_figures
from kpi.business_hours import Calendars, Clock, on_clock, team_clock
from kpi.definitions import judgement, shown
from kpi.engine import Metrics, Scope, compute, compute_by_agent, compute_by_team, compute_series, metrics_from
from kpi.targets import Status, target_status
from kpi.windows import Window, parse_window
from store.base import to_epoch
from store.org import Member, Team

TREND_DAYS = 30
TRAILING_DAYS = 7
# Shout-outs need enough tickets to mean something.
MIN_CSAT_RATINGS = 5
MIN_FIRST_REPLIES = 10
AGE_BUCKETS = ("under_1d", "1d_to_3d", "over_3d")


@dataclass(frozen=True)
class Line:
    """One metric of the day: value, sample, target status and its two comparisons."""

    name: str
    value: float | int | None
    sample: int | None
    target: float | None
    status: Status | None
    previous: float | int | None  # the day before (the week before, on a weekly card)
    vs_previous: str | None  # better | worse | same | None (not judged)
    trailing: float | None = None  # the trailing 7-day average (daily cards only)
    vs_trailing: str | None = None


@dataclass(frozen=True)
class ShoutOut:
    kind: str  # most_solved | best_csat | fastest_first_reply
    agent: str  # handle
    name: str
    value: float | int
    sample: int


@dataclass(frozen=True)
class TrendPoint:
    day: date
    created: int
    solved: int
    first_reply_median_s: float | None
    csat: float | None
    first_reply_bh_median_s: float | None = None

    def on_clock(self, clock: Clock) -> TrendPoint:
        """The point as a chart on `clock` draws it: its first reply in business hours under the plain name."""
        return replace(self, first_reply_median_s=self.first_reply_bh_median_s) if clock == "business" else self


@dataclass(frozen=True)
class Scorecard:
    team: str  # key
    day: date
    window: Window
    metrics: Metrics  # exactly compute() over the day, as /kpi team TEAM DATE
    lines: tuple[Line, ...]
    backlog_by_age: dict[str, int]
    shout_outs: tuple[ShoutOut, ...]
    trend: tuple[TrendPoint, ...] = field(default=())
    # The clock of `lines`, the shout-outs and the trend (kpi.business_hours); `metrics` holds both.
    clock: Clock = "wall"


@dataclass(frozen=True)
class WeekScorecard:
    team: str  # key
    window: Window  # the week, Monday to Sunday in the team's zone
    compared: Window  # the week before
    metrics: Metrics
    previous: Metrics
    lines: tuple[Line, ...]  # `previous` is the week before; no trailing average
    trend: tuple[TrendPoint, ...]  # the 30 days that end with the week
    clock: Clock = "wall"


@dataclass(frozen=True)
class DaysOff:
    """The volume of the days off a scheduled post sums up (the weekend, on Monday's post of Friday)."""

    days: tuple[date, ...]  # consecutive local days, in order
    window: Window  # from the first one's start to the last one's end (or now, while it runs)
    created: int
    solved: int
    backlog: int  # open at the end of the last day

    def to_json(self) -> dict[str, Any]:
        return {
            "days": [d.isoformat() for d in self.days],
            "window": self.window.to_json(),
            "tickets_created": self.created,
            "tickets_solved": self.solved,
            "backlog": self.backlog,
        }


def day_window(day: date, team: Team, now: datetime) -> Window:
    """The team's local day, as `/kpi team TEAM YYYY-MM-DD` reads it."""
    return local_day_window(day, team.timezone, now)


def local_day_window(day: date, zone: str, now: datetime) -> Window:
    """The local `day` in `zone`, as `/kpi … YYYY-MM-DD` reads it."""
    return parse_window(day.isoformat(), now, zone)


def days_window(days: Sequence[date], zone: str, now: datetime) -> Window:
    """The local days `days` (consecutive, in order) as one window in `zone`."""
    first, last = local_day_window(days[0], zone, now), local_day_window(days[-1], zone, now)
    spec = f"{days[0].isoformat()}..{days[-1].isoformat()}"
    return Window(spec, first.start, last.end, zone, "range", cut=last.cut, running=last.running)


def _days_off(days: Sequence[date], window: Window, metrics: Metrics) -> DaysOff:
    return DaysOff(tuple(days), window, int(metrics["tickets_created"] or 0), int(metrics["tickets_solved"] or 0), int(metrics["backlog"] or 0))


def days_off(session: Session, scope: Scope, days: Sequence[date], zone: str, *, now: datetime) -> DaysOff:
    """The volume of `scope` over the local `days` in `zone` (a team's, or one agent's own)."""
    window = days_window(days, zone, now)
    return _days_off(days, window, compute(session, scope, window.start_utc, window.until_utc))


def org_days_off(session: Session, teams: Sequence[Team], days: Sequence[date], *, now: datetime) -> list[tuple[Team, DaysOff]]:
    """Each team's volume over its own local `days`, in the order given (one query per time zone)."""
    by_zone: dict[str, list[Team]] = {}
    for team in teams:
        by_zone.setdefault(team.timezone, []).append(team)
    found: dict[int, DaysOff] = {}
    for zone, members in by_zone.items():
        window = days_window(days, zone, now)
        figures = compute_by_team(session, window.start_utc, window.until_utc)
        for team in members:
            found[team.id] = _days_off(days, window, figures.get(team.id) or metrics_from(0, [], [], 0))
    return [(team, found[team.id]) for team in teams]


def team_day(session: Session, team: Team, day: date, *, now: datetime, qa: bool = False) -> Scorecard:
    """The scorecard of `team` for its local `day` (raises kpi.windows.WindowError for a day not begun).

    With `qa` False (a channel, or a reader who does not look after the whole
    team) the pooled QA figures are left out: one review can be the whole figure.
    """
    scope = Scope(team_id=team.id)
    window = day_window(day, team, now)
    days = [day - timedelta(days=n) for n in range(TREND_DAYS - 1, -1, -1)]
    windows = [day_window(d, team, now) for d in days]
    bounds = [w.start_utc for w in windows] + [window.until_utc]
    calendars = business_hours.load(session)
    clock = team_clock(calendars, team.id)
    daily = dict(zip(days, compute_series(session, scope, bounds, calendars=calendars), strict=True))
    if not qa:
        daily = {d: qa_figures.hidden(m) for d, m in daily.items()}
    metrics = daily[day]
    previous = daily[day - timedelta(days=1)]
    trailing = _trailing(session, scope, team, day, now, daily, calendars)
    if not qa:
        trailing = qa_figures.hidden(trailing)
    return Scorecard(
        team=team.key,
        day=day,
        window=window,
        metrics=metrics,
        lines=_lines(*(on_clock(m, clock) for m in (metrics, previous, trailing)), dict(team.targets), qa and qa_figures.in_use(session)),
        backlog_by_age=backlog_by_age(session, team.id, window.until_utc, int(metrics["backlog"] or 0)),
        shout_outs=shout_outs(session, team, window, calendars=calendars),
        trend=_trend(daily),
        clock=clock,
    )


def team_week(session: Session, team: Team, *, now: datetime, qa: bool = False) -> WeekScorecard:
    """Last full local week (Monday to Sunday) of `team` against the week before (`qa`: as team_day)."""
    scope = Scope(team_id=team.id)
    window = parse_window("last-week", now, team.timezone)
    compared = window.previous()
    last_day = window.until.date() - timedelta(days=1)
    days = [last_day - timedelta(days=n) for n in range(TREND_DAYS - 1, -1, -1)]
    bounds = [day_window(d, team, now).start_utc for d in days] + [window.until_utc]
    calendars = business_hours.load(session)
    clock = team_clock(calendars, team.id)
    daily = dict(zip(days, compute_series(session, scope, bounds, calendars=calendars), strict=True))
    metrics = compute(session, scope, window.start_utc, window.until_utc, calendars=calendars)
    previous = compute(session, scope, compared.start_utc, compared.until_utc, calendars=calendars)
    if not qa:
        metrics, previous = qa_figures.hidden(metrics), qa_figures.hidden(previous)
    return WeekScorecard(
        team=team.key,
        window=window,
        compared=compared,
        metrics=metrics,
        previous=previous,
        lines=_lines(on_clock(metrics, clock), on_clock(previous, clock), None, dict(team.targets), qa and qa_figures.in_use(session)),
        trend=_trend(daily),
        clock=clock,
    )


def org_day(session: Session, teams: Sequence[Team], day: date, *, now: datetime) -> list[tuple[Team, Window, Metrics]]:
    """Each team's figures for its own local `day`, in the order given.

    Teams that share a time zone share a window, so the engine is asked once
    per zone, not once per team.
    """
    by_zone: dict[str, list[Team]] = {}
    for team in teams:
        by_zone.setdefault(team.timezone, []).append(team)
    found: dict[int, tuple[Window, Metrics]] = {}
    calendars = business_hours.load(session)
    for members in by_zone.values():
        window = day_window(day, members[0], now)
        figures = compute_by_team(session, window.start_utc, window.until_utc, calendars=calendars)
        for team in members:
            found[team.id] = (window, figures.get(team.id) or metrics_from(0, [], [], 0))
    return [(team, *found[team.id]) for team in teams]


def _lines(metrics: Metrics, previous: Metrics, trailing: dict[str, Any] | None, targets: dict[str, float], qa: bool) -> tuple[Line, ...]:
    return tuple(
        Line(
            name=m.name,
            value=metrics[m.name],
            sample=metrics[m.sample] if m.sample else None,  # type: ignore[arg-type]
            target=targets.get(m.name),
            status=target_status(m.name, metrics[m.name], targets.get(m.name)),
            previous=previous[m.name],
            vs_previous=judgement(m.name, metrics[m.name], previous[m.name]),
            trailing=trailing[m.name] if trailing is not None else None,
            vs_trailing=judgement(m.name, metrics[m.name], trailing[m.name]) if trailing is not None else None,
        )
        for m in shown(qa)
    )


def _trend(daily: dict[date, Metrics]) -> tuple[TrendPoint, ...]:
    return tuple(
        TrendPoint(d, int(v["tickets_created"] or 0), int(v["tickets_solved"] or 0), v["first_reply_median_s"], v["csat"], v["first_reply_bh_median_s"])  # type: ignore[arg-type]
        for d, v in sorted(daily.items())
    )


def _trailing(
    session: Session, scope: Scope, team: Team, day: date, now: datetime, daily: dict[date, Metrics], calendars: Calendars
) -> dict[str, Any]:
    days = [day - timedelta(days=n) for n in range(1, TRAILING_DAYS + 1)]
    first = day_window(days[-1], team, now)
    last = day_window(days[0], team, now)
    pooled = compute(session, scope, first.start_utc, last.until_utc, calendars=calendars)
    out: dict[str, Any] = dict(pooled)
    for name in ("tickets_created", "tickets_solved", "qa_reviews"):
        out[name] = (pooled[name] or 0) / TRAILING_DAYS
    out["backlog"] = sum(daily[d]["backlog"] or 0 for d in days) / TRAILING_DAYS
    return out


def backlog_by_age(session: Session, team_id: int, at: datetime, backlog: int) -> dict[str, int]:
    """The team's `backlog` tickets open at `at`, by how long they had been open then.

    Only the last three days' tickets are read (an index range); the rest of
    the backlog, which the engine has counted already, is older than that.
    """
    end = to_epoch(at)
    created, solved, day = CREATED, SOLVED, DAY_S
    stmt = select(
        func.count(case((created > end - day, 1))),
        func.count(case((created <= end - day, 1))),
    ).where(T.team_id == team_id, created > end - 3 * day, created < end, or_(solved.is_(None), solved >= end))
    under_1d, one_to_3d = (int(n) for n in session.execute(stmt).one())
    return {"under_1d": under_1d, "1d_to_3d": one_to_3d, "over_3d": backlog - under_1d - one_to_3d}


def shout_outs(session: Session, team: Team, window: Window, *, calendars: Calendars | None = None) -> tuple[ShoutOut, ...]:
    """Who to thank: most solved; best CSAT (>= 5 ratings); fastest median first reply (>= 10 replies).

    The first reply on the team's clock (business hours when it has a
    calendar). Ties go to the larger sample, then to the name, so the same
    data always thanks the same person.
    """
    calendars = calendars or business_hours.load(session)
    clock = team_clock(calendars, team.id)
    agents = session.scalars(select(Member).where(Member.team_id == team.id, Member.role == "agent")).all()
    # Shout-outs need no backlog, and counting each agent's open tickets would read all their history.
    figures = compute_by_agent(session, [a.id for a in agents], window.start_utc, window.until_utc, backlog=False, calendars=calendars)
    by_agent = {a: on_clock(m, clock) for a, m in figures.items()}
    people = {a.id: a for a in agents}
    found: list[ShoutOut] = []

    def best(kind: str, metric: str, sample: str, minimum: int, higher: bool) -> None:
        eligible = [(a, m) for a, m in by_agent.items() if m[metric] is not None and (m[sample] or 0) >= minimum]
        if not eligible:
            return
        a, m = min(eligible, key=lambda am: ((-1 if higher else 1) * am[1][metric], -(am[1][sample] or 0), people[am[0]].name, people[am[0]].handle))  # type: ignore[operator]
        found.append(ShoutOut(kind, people[a].handle, people[a].name, m[metric], int(m[sample] or 0)))  # type: ignore[arg-type]

    best("most_solved", "tickets_solved", "tickets_solved", 1, True)
    best("best_csat", "csat", "n_csat", MIN_CSAT_RATINGS, True)
    best("fastest_first_reply", "first_reply_median_s", "n_first_reply", MIN_FIRST_REPLIES, False)
    return tuple(found)
