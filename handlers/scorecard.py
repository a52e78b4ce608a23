"""`/scorecard`: a team's day against its targets, the org's day team by team, last week.

The numbers are kpi.scorecard's, which are the KPI engine's: a scorecard for
a day says exactly what `/kpi team TEAM DATE` says. The same replies are what
the morning digest posts (bot.digests), so a scheduled scorecard and one asked
for look the same.

Who sees what: a team's scorecard is open to every member, as `/kpi team`
is (shout-outs only praise). The org roll-up is for managers and admins.
The Agents button shows the per-agent table under `/kpi agents` privacy.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers.args import UsageError, mark_quoted, parse_args
from coaching.visibility import sees_pooled_qa
from handlers.context import Context, Invalid, NotFound
from handlers.humanize import NONE, change, duration, metric_value, percent, with_sample
from handlers.kpi import STATUS_LABEL, authorize_kpi, execute_kpi
from handlers.kpi_lookup import NotAWindow, find_team, team_table_refusal
from handlers.kpi_request import DAMAGED_BUTTON, KpiRequest
from handlers.window_words import split_window
from handlers.kpi_clock import column_label, team_note, teams_note
from handlers.kpi_tables import LEGEND, cell, statuses
from escalation.engine import open_for_team
from handlers.escalation_views import STATE_ICONS, queue_of
from handlers.reply import Actions, Button, Chart, Field, Fields, Reply, Section, Table
from handlers.reply import Context as Note
from handlers.router import Action, Router, closest
from kpi import business_hours, qa_figures
from kpi.business_hours import Clock, label, on_clock, team_clock
from kpi.definitions import METRIC_NAMES
from kpi.engine import Scope
from kpi.scorecard import (
    AGE_BUCKETS,
    DaysOff,
    Line,
    Scorecard,
    TrendPoint,
    WeekScorecard,
    day_window,
    days_off,
    org_day,
    org_days_off,
    team_day,
    team_week,
)
from kpi.windows import FIRST_DAY, NotStarted, Window, WindowError, is_window, parse_window
from store.org import Member, Org, Team
from store.subscriptions import ME, ORG, Subscription

AGENTS_ACTION = "scorecard.agents"
PREVIOUS_DAY_ACTION = "scorecard.previous_day"
KINDS = ("org", "week", "subscribe", "unsubscribe", "subscriptions")
SUBSCRIPTION_KINDS = ("subscribe", "unsubscribe", "subscriptions")
MAX_SUBSCRIPTIONS = 20
DEFAULT_TIME = "09:00"
_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$", re.ASCII)
# What a time written another way looks like (9h30, 9.30, 9am), to say how to write it.
_TIMEISH = re.compile(r"^\d{1,2}(?:[.hH]\d{0,2})?(?:am|pm)?$", re.ASCII | re.IGNORECASE)
DAY_HELP = "DATE: yesterday (the default), today (so far), a day of the week (friday, last monday) or YYYY-MM-DD"
DAY_WORDS = ("yesterday", "today")
SWITCHES = frozenset({"share"})
# The org roll-up's columns: the figures a manager scans first.
ORG_COLUMNS = ("tickets_created", "tickets_solved", "backlog", "first_reply_median_s", "csat", "sla_attainment")
AGE_LABELS = {"under_1d": "< 1 day", "1d_to_3d": "1–3 days", "over_3d": "> 3 days"}
SHOUT_OUT_LABELS = {
    "most_solved": "Most tickets solved",
    "best_csat": "Best CSAT",
    "fastest_first_reply": "Fastest first reply (median)",
}


@dataclass(frozen=True)
class ScorecardRequest:
    kind: str  # team | org | week | subscribe | unsubscribe | subscriptions
    target: str | None = None  # team key or name; None: the caller's team (subscribe: team, org or me)
    day: str | None = None  # as typed: yesterday | today | YYYY-MM-DD; None: yesterday
    share: bool = False
    at: datetime | None = None  # "now" of the original question (buttons keep it)
    time: str | None = None  # subscribe: "HH:MM" in the caller's zone


def parse_scorecard(words: list[str]) -> ScorecardRequest:
    args = parse_args(words, switches=SWITCHES)
    rest = list(args.words)
    for word in rest:
        # `-share` or `—-share`: an option typed with one dash is never a team (keys are slugs).
        if word.startswith("-") and (meant := _close(word.lstrip("-"), SWITCHES)):
            raise UsageError(f"{word!r} is not an option here. Did you mean --{meant}?")
    kind = "team"
    if rest and rest[0].lower() in KINDS:
        kind = rest.pop(0).lower()
    if kind in SUBSCRIPTION_KINDS:
        return _parse_subscription(kind, rest, args.flag("share"))
    split = split_window(rest)
    if split.window == "last-week" and kind == "team":
        kind = "week"  # `/scorecard support-emea last week` is the week's scorecard
    elif kind == "week" and split.window is not None:
        raise UsageError("/scorecard week is always last week against the week before; it takes a team, not a date.")
    day, rest = (split.window if kind != "week" else None), split.words
    if kind == "org" and rest:
        meant = _close(rest[-1], DAY_WORDS) if len(rest) == 1 else None
        hint = f" Did you mean /scorecard org {meant}?" if meant else ""
        raise UsageError(f"/scorecard org takes only a date, not {' '.join(rest)!r}.{hint} {DAY_HELP}.")
    target = " ".join(rest) if rest else None
    return ScorecardRequest(kind, target if kind != "org" else None, day, args.flag("share"))


def _close(word: str, vocabulary: Iterable[str]) -> str | None:
    """The word of `vocabulary` that `word` is a typo of, if any.

    Only one starting with the same letter: a team called `emea` is not a typo
    of `week`, and suggesting a subcommand for every unknown team would mislead.
    """
    word = unicodedata.normalize("NFKC", word).lower()  # `ｗｅｋ` from a full-width keyboard
    found = [c for c in closest(word, vocabulary) if c[:1] == word[:1]]
    return found[0] if found else None


def _meant(request: ScorecardRequest) -> list[str]:
    """What a `/scorecard` naming no team may have meant: a subcommand, or a day word, mistyped."""
    words = (request.target or "").split()
    share = " --share" if request.share else ""
    out = []
    if request.kind == "team" and words and (kind := _close(words[0], (*KINDS, "help"))):
        out.append(" ".join(["/scorecard", kind, *words[1:]]) + share)
    if request.kind == "team" and len(words) > 1 and (day := _close(words[-1], DAY_WORDS)):
        out.append(" ".join(["/scorecard", *words[:-1], day]) + share)
    return out


def _find_team(ctx: Context, request: ScorecardRequest) -> Team:
    """The team a /scorecard names; when there is none, what it may have meant instead."""
    try:
        return find_team(ctx, request.target, command=f"/scorecard{' week' if request.kind == 'week' else ''}")
    except (NotFound, NotAWindow) as exc:
        # `wek` reads as a mistyped window to /kpi; here it is a mistyped subcommand.
        meant = _meant(request)
        if isinstance(exc, NotAWindow) and request.kind == "week":
            raise NotFound(f"There is no team called {request.target!r}, and /scorecard week takes no date: it is always last week. /csbot teams lists the teams.") from None
        if not meant:
            raise
        raise NotFound(_no_such_team(str(exc) if isinstance(exc, NotFound) else None, request.target or "", " or ".join(meant))) from None


def _no_such_team(found: str | None, text: str, meant: str) -> str:
    """find_team's answer (`found`, with any teams it suggests) and what else `text` may have meant."""
    if found and "Did you mean" in found:
        return f"{found} Or did you mean {meant}?"
    return f"There is no team called {text!r}. Did you mean {meant}? (/csbot teams lists the teams.)"


def _parse_subscription(kind: str, rest: list[str], share: bool) -> ScorecardRequest:
    if share:
        raise UsageError(f"--share does not apply to /scorecard {kind}.")
    if kind == "subscriptions":
        if rest:
            raise UsageError("/scorecard subscriptions takes nothing more: it lists yours.")
        return ScorecardRequest(kind)
    at = None
    if kind == "subscribe" and rest and (m := _HHMM.match(rest[-1])):
        rest.pop()
        at = f"{int(m.group(1)):02d}:{m.group(2)}"
    elif kind == "subscribe" and rest and (":" in rest[-1] or (len(rest) > 1 and _TIMEISH.match(rest[-1]))):
        raise UsageError(f"{rest[-1]!r} is not a time: say HH:MM on the 24-hour clock, e.g. 08:30.")
    if not rest:
        raise UsageError(f"Say what to {kind} to: /scorecard {kind} TEAM|org|me" + (" [HH:MM]" if kind == "subscribe" else "") + ".")
    return ScorecardRequest(kind, " ".join(rest), time=at)


def local_day(request: ScorecardRequest, now: datetime, zone: str) -> date:
    """The one local day the request names (yesterday by default); UsageError for anything else."""
    try:
        window = parse_window(request.day or "yesterday", now, zone)
    except NotStarted:
        raise Invalid(f"{request.day} has not started yet in {zone}; a scorecard is for a day that has begun.") from None
    except WindowError as exc:
        # The window forms do not apply here: only the reason, then the forms of a day.
        raise UsageError(f"{str(exc).split(' Windows:')[0]} {DAY_HELP}.") from None
    first = window.start.date()
    if (window.end.date() - first).days > 1:
        raise UsageError(f"A scorecard is for one day, and {request.day!r} is longer. {DAY_HELP}; /scorecard week for last week.")
    return first


# ---------------------------------------------------------------- one team's day


def team_card(
    session: Session,
    team: Team,
    day: date,
    *,
    now: datetime,
    chart: bool = True,
    share: bool = False,
    qa: bool = False,
    viewer: Member | None = None,
    summarised: Sequence[date] = (),
) -> Reply:
    """The scorecard reply for `team`'s local `day` (also what the morning digest posts); `qa`: with the pooled QA figures.

    `viewer`: the one person it is for (None: a channel), who is offered the Agents button only when they may see the table.
    `summarised`: the days off after `day` that a scheduled post sums up (the
    weekend, when Monday's post shows Friday), by their volume.
    """
    card = team_day(session, team, day, now=now, qa=qa and not share)
    off = days_off(session, Scope(team_id=team.id), summarised, team.timezone, now=now) if summarised else None
    said = _clock_note(session, team, card.clock)
    blocks: list[Any] = [
        Note(f"{_day_label(card.window)} · {team.timezone} · against the team's targets · compared with the day before and the 7 days before"),
        *([Note(said)] if said else []),
        Table(("Metric", "Value", "Target", "Status", "vs day before", "vs 7-day avg"), tuple(_line_row(line, card.clock) for line in card.lines)),
        Fields(_volume_fields(card)),
    ]
    if off is not None:
        blocks.insert(0, Note(last_working_day_note(day, off.days)))
        blocks.append(Section(days_off_line(off)))
    if card.shout_outs:
        blocks.append(Section("Shout-outs 🎉\n" + "\n".join(_shout_out(s, card.clock) for s in card.shout_outs)))
    if chart:
        blocks.append(trend_chart(team, card.trend, f"{team.name} · last {len(card.trend)} days to {day:%d %b %Y}", card.clock))
    escalations = open_for_team(session, team.id)
    if escalations:
        lines = [f"{STATE_ICONS.get(e.state, '')} {e.label} · {e.ticket} · {queue_of(session, e).name} · open {duration((now - e.created_at).total_seconds())}" for e in escalations]
        blocks.append(Section(f"Open escalations ({len(lines)})\n" + "\n".join(lines)))
    if not team.slack_channel and not team.teams_channel and team.digest_time:
        blocks.append(Note(f"{team.name} has no Slack or Teams channel in the organisation file, so its daily scorecard is not posted anywhere."))
    if found := _buttons(team, day, now, agents=viewer is None or team_table_refusal(viewer, team) is None):
        blocks.append(Actions(found))  # never an empty row: Slack refuses one
    data = _card_data(card, team)
    data["days_off"] = off.to_json() if off is not None else None
    data["open_escalations"] = [
        {"id": e.label, "ticket": e.ticket, "queue": queue_of(session, e).key, "state": e.state, "age_s": int((now - e.created_at).total_seconds())} for e in escalations
    ]
    return Reply(
        title=f"Scorecard · {team.name} ({team.key}) · {day:%a %d %b %Y}",
        blocks=blocks,
        visibility="channel" if share else "ephemeral",
        data=data,
    )


def days_off_label(days: Sequence[date]) -> str:
    """`Weekend · Sat 05 Dec – Sun 06 Dec (not working days)`: which days off a post sums up."""
    if [d.weekday() for d in days] == [5, 6]:
        name = "Weekend"
    else:
        name = f"{days[0]:%A}" if len(days) == 1 else "Days off"
    span = f"{days[0]:%a %d %b}" + (f" – {days[-1]:%a %d %b}" if len(days) > 1 else "")
    return f"{name} · {span} (not {'a working day' if len(days) == 1 else 'working days'})"


def days_off_line(off: DaysOff) -> str:
    """The volume of the days off, in one line."""
    end = f"{off.days[-1]:%A}" + (" so far" if off.window.so_far else "")
    return (
        f"{days_off_label(off.days)}: {off.created:,} created, {off.solved:,} solved; "
        f"backlog {off.backlog:,} at the end of {end}"
    )


def last_working_day_note(day: date, days: Sequence[date]) -> str:
    """Why a scheduled post shows an earlier day than the day before."""
    if [d.weekday() for d in days] == [5, 6]:
        which = "the weekend's volume is"
    elif len(days) == 1:
        which = f"{days[0]:%A}'s volume is"
    else:
        which = f"the volume of the {len(days)} days off since is"
    return f"{day:%A} was the last working day before this post; {which} summed up below."


def _day_label(window: Window) -> str:
    return f"{window.start:%A %d %B %Y}" + (" (so far)" if window.so_far else "")


def _clock_note(session: Session, team: Team, clock: Clock) -> str | None:
    """Which clock a team's scorecard counts first reply and resolution on (none for a team around the clock)."""
    return team_note(session.get(Org, 1), team, business_hours.load(session), clock, hint=f"/kpi team {team.key} WINDOW --wall for the wall clock")


def _line_row(line: Line, clock: Clock) -> tuple[str, ...]:
    return (
        label(line.name, clock),
        with_sample(line.name, line.value, line.sample, clock),  # type: ignore[arg-type]
        metric_value(line.name, line.target, clock) if line.target is not None else "",
        STATUS_LABEL[line.status] if line.status else "",
        change(line.name, line.value, line.previous, clock=clock),  # type: ignore[arg-type]
        change(line.name, line.value, line.trailing, clock=clock) if line.trailing is not None or line.value is None else NONE,  # type: ignore[arg-type]
    )


def _volume_fields(card: Scorecard) -> tuple[Field, ...]:
    m = card.metrics
    ages = " · ".join(f"{AGE_LABELS[k]}: {card.backlog_by_age[k]:,}" for k in AGE_BUCKETS)
    return (
        Field("Created", f"{int(m['tickets_created'] or 0):,}"),
        Field("Solved", f"{int(m['tickets_solved'] or 0):,}"),
        Field("Backlog at end of day", f"{int(m['backlog'] or 0):,}"),
        Field("Backlog by age", ages),
    )


def _shout_out(s: Any, clock: Clock) -> str:
    said = SHOUT_OUT_LABELS[s.kind]
    if s.kind == "most_solved":
        return f"• {said}: {s.name} ({s.value:,})"
    if s.kind == "best_csat":
        return f"• {said}: {s.name} ({percent(s.value)} of {s.sample} ratings)"
    if clock == "business":
        said = said[:-1] + ", business hours)"
    return f"• {said}: {s.name} ({duration(s.value, days=clock == 'wall')} over {s.sample} replies)"


def _buttons(team: Team, day: date, now: datetime, *, agents: bool = True) -> tuple[Button, ...]:
    value = json.dumps({"team": team.key, "day": day.isoformat(), "at": now.isoformat()}, separators=(",", ":"))
    found = [Button("Agents", AGENTS_ACTION, value)] if agents else []
    if day > FIRST_DAY:
        before = json.dumps({"team": team.key, "day": (day - timedelta(days=1)).isoformat(), "at": now.isoformat()}, separators=(",", ":"))
        found.append(Button("Previous day", PREVIOUS_DAY_ACTION, before))
    return tuple(found)


def _shared_data(scope: str, team: Team, card: Scorecard | WeekScorecard) -> dict[str, Any]:
    """What the day's and the week's `--json` have in common."""
    return {
        "scope": scope,
        "team": team.key,
        "window": card.window.to_json(),
        "clock": card.clock,
        "metrics": card.metrics,
        "targets": {k: v for k, v in team.targets.items() if k in METRIC_NAMES},
        "status": statuses(on_clock(card.metrics, card.clock), team.targets),
        "trend": [_point(p) for p in card.trend],
    }


def _card_data(card: Scorecard, team: Team) -> dict[str, Any]:
    return {
        **_shared_data("scorecard", team, card),
        "day": card.day.isoformat(),
        "previous_day": {line.name: line.previous for line in card.lines},
        "vs_previous_day": {line.name: line.vs_previous for line in card.lines},
        "trailing_7d": {line.name: line.trailing for line in card.lines},
        "vs_trailing_7d": {line.name: line.vs_trailing for line in card.lines},
        "backlog_by_age": card.backlog_by_age,
        "shout_outs": [{"kind": s.kind, "agent": s.agent, "name": s.name, "value": s.value, "n": s.sample} for s in card.shout_outs],
    }


def _point(p: TrendPoint) -> dict[str, Any]:
    return {
        "day": p.day.isoformat(), "created": p.created, "solved": p.solved,
        "first_reply_median_s": p.first_reply_median_s, "first_reply_bh_median_s": p.first_reply_bh_median_s, "csat": p.csat,
    }  # fmt: skip


def trend_chart(team: Team, trend: tuple[TrendPoint, ...], title: str, clock: Clock = "wall") -> Chart:
    """The 30-day chart (matplotlib is loaded only here, the first time a chart is drawn); `clock`: its first reply's."""
    from handlers.scorecard_chart import trend_png

    if clock == "business":
        title += " · first reply in business hours"
    trend = tuple(p.on_clock(clock) for p in trend)
    targets = team.targets
    png = trend_png(
        trend,
        title=title,
        first_reply_target_s=targets.get("first_reply_median_s"),
        csat_target=targets.get("csat"),
        zone=team.timezone,
    )
    return Chart(title, png, _alt_text(trend, targets, clock))


def _alt_text(trend: tuple[TrendPoint, ...], targets: dict[str, float], clock: Clock = "wall") -> str:
    """What the chart shows, in words, for screen readers and text-only surfaces.

    Each line is read as what it is: its first and last day (with their
    dates, since a day without a value leaves a gap), its range, and on how
    many of its days it met its target.
    """
    if not trend:
        return "No days to show."
    created = sum(p.created for p in trend)
    solved = sum(p.solved for p in trend)
    span = f"{trend[0].day:%d %b} – {trend[-1].day:%d %b %Y}"
    parts = [f"{len(trend)} days, {span}: {created:,} created, {solved:,} solved"]
    frt = [(p.day, p.first_reply_median_s) for p in trend if p.first_reply_median_s is not None]
    if frt:
        goal = targets.get("first_reply_median_s")
        hours = clock == "wall"
        met = f", at or under the {duration(goal, days=hours)} target on {sum(v <= goal for _, v in frt)} of {len(frt)} days" if goal is not None else ""
        said = "daily first-reply median" + (" in business hours" if clock == "business" else "")
        parts.append(f"{said} {_series_words(frt, lambda v: duration(v, days=hours))}{met}")
    csat = [(p.day, p.csat) for p in trend if p.csat is not None]
    if csat:
        goal = targets.get("csat")
        met = f", at or above the {percent(goal)} target on {sum(v >= goal for _, v in csat)} of {len(csat)} days" if goal is not None else ""
        parts.append(f"daily CSAT {_series_words(csat, percent)}{met}")
    return "; ".join(parts)


def _series_words(points: list[tuple[date, float]], show: Any) -> str:
    """`54m 48s on 01 Nov → 57m 20s on 30 Nov (lowest 41m 2s, highest 1h 12m)`: first → last, then the range."""
    (first_day, first), (last_day, last) = points[0], points[-1]
    values = [v for _, v in points]
    if len(points) == 1:
        return f"{show(first)} on {first_day:%d %b} (the only day with one)"
    return f"{show(first)} on {first_day:%d %b} → {show(last)} on {last_day:%d %b} (lowest {show(min(values))}, highest {show(max(values))})"


# ---------------------------------------------------------------- last week


def week_card(session: Session, team: Team, *, now: datetime, chart: bool = True, share: bool = False, qa: bool = False) -> Reply:
    """Last full local week (Monday to Sunday) of `team` against the week before."""
    card = team_week(session, team, now=now, qa=qa and not share)
    rows = tuple(
        (
            label(line.name, card.clock),
            with_sample(line.name, line.value, line.sample, card.clock),  # type: ignore[arg-type]
            metric_value(line.name, line.previous, card.clock),  # type: ignore[arg-type]
            change(line.name, line.value, line.previous, clock=card.clock),  # type: ignore[arg-type]
            metric_value(line.name, line.target, card.clock) if line.target is not None else "",
            STATUS_LABEL[line.status] if line.status else "",
        )
        for line in card.lines
    )
    said = _clock_note(session, team, card.clock)
    blocks: list[Any] = [
        Note(f"Week: {card.window.label()} · compared with {card.compared.label()}"),
        *([Note(said)] if said else []),
        Table(("Metric", "Last week", "Week before", "Change", "Target", "Status"), rows),
    ]
    if chart:
        last_day = card.window.until.date() - timedelta(days=1)
        blocks.append(trend_chart(team, card.trend, f"{team.name} · last {len(card.trend)} days to {last_day:%d %b %Y}", card.clock))
    return Reply(
        title=f"Weekly scorecard · {team.name} ({team.key}) · week of {card.window.start:%d %b %Y}",
        blocks=blocks,
        visibility="channel" if share else "ephemeral",
        data=_week_data(card, team),
    )


def _week_data(card: WeekScorecard, team: Team) -> dict[str, Any]:
    return {
        **_shared_data("scorecard_week", team, card),
        "compared_with": card.compared.to_json(),
        "previous": card.previous,
        "changes": {line.name: line.vs_previous for line in card.lines},
    }


# ---------------------------------------------------------------- the org's day


def org_card(
    session: Session,
    day: date,
    *,
    now: datetime,
    org_name: str,
    share: bool = False,
    viewer: Member | None = None,
    summarised: Sequence[date] = (),
) -> Reply:
    """One row per active team: its own local `day`, key KPIs with their status against its targets.

    Each team's pooled QA figures are in the data only for a `viewer` who may
    see them for that team (as `/kpi team`), never when shared in a channel.
    `summarised`: the days off after `day` a scheduled post sums up, team by team.
    """
    teams = session.scalars(select(Team).where(Team.active.is_(True)).order_by(Team.key)).all()
    rows = [
        (team, window, metrics if not share and sees_pooled_qa(viewer, team.id) else qa_figures.hidden(metrics))
        for team, window, metrics in org_day(session, teams, day, now=now)
    ]
    # Each team on its own clock: its business hours when it has a calendar.
    calendars = business_hours.load(session)
    clocks = {team.id: team_clock(calendars, team.id) for team in teams}
    table = tuple((team.key, *(cell(m, on_clock(metrics, clocks[team.id]), team.targets, clocks[team.id]) for m in ORG_COLUMNS)) for team, _window, metrics in rows)
    zones = sorted({team.timezone for team in teams})
    said = teams_note(session.get(Org, 1), teams, calendars, "business", hint="/kpi teams WINDOW --wall for the wall clock")
    blocks: list[Any] = [
        Note(f"{day:%A %d %B %Y} in each team's own time zone ({', '.join(zones) or 'no teams'}) · each team against its own targets"),
        *([Note(said)] if said else []),
        Table(("Team", *(column_label(m, list(clocks.values())) for m in ORG_COLUMNS)), table),
        Note(LEGEND),
    ]
    if not teams:
        blocks.insert(1, Section("The organisation has no active teams yet."))
    off = org_days_off(session, teams, summarised, now=now) if summarised and teams else []
    if summarised:
        blocks.insert(0, Note(last_working_day_note(day, summarised)))
    if off:
        blocks.append(Section(f"{days_off_label(summarised)}, in each team's own days:"))
        blocks.append(Table(("Team", "Created", "Solved", f"Backlog at the end of {summarised[-1]:%A}"), tuple((t.key, f"{o.created:,}", f"{o.solved:,}", f"{o.backlog:,}") for t, o in off)))
    return Reply(
        title=f"Scorecard · {org_name} · {day:%a %d %b %Y}",
        blocks=blocks,
        visibility="channel" if share else "ephemeral",
        data={
            "scope": "scorecard_org",
            "day": day.isoformat(),
            "rows": [
                {"team": team.key, "window": window.to_json(), "clock": clocks[team.id], "metrics": metrics, "status": statuses(on_clock(metrics, clocks[team.id]), team.targets)}
                for team, window, metrics in rows
            ],
            "days_off": {"days": [d.isoformat() for d in summarised], "rows": [{"team": t.key, **o.to_json()} for t, o in off]} if summarised else None,
        },
    )


# ---------------------------------------------------------------- the command


def authorize_scorecard(ctx: Context, request: ScorecardRequest) -> None:
    """The one place /scorecard decides who sees what."""
    if request.kind == "org" or (request.kind == "subscribe" and (request.target or "").lower() == ORG):
        ctx.require_role("manager", "see the org scorecard")


def execute_scorecard(ctx: Context, request: ScorecardRequest) -> Reply:
    now = request.at or ctx.now
    if request.kind in SUBSCRIPTION_KINDS:
        return execute_subscription(ctx, request)
    if request.kind == "org":
        day = local_day(request, now, ctx.org_timezone)
        return org_card(ctx.session, day, now=now, org_name=ctx.org.name if ctx.org else "Organisation", share=request.share, viewer=ctx.member)
    team = _find_team(ctx, request)
    qa = sees_pooled_qa(ctx.member, team.id)
    if request.kind == "week":
        return week_card(ctx.session, team, now=now, share=request.share, qa=qa)
    viewer = None if request.share else ctx.member
    return team_card(ctx.session, team, local_day(request, now, team.timezone), now=now, share=request.share, qa=qa, viewer=viewer)


def parse_day_button(value: str) -> ScorecardRequest:
    """The request a scorecard button carries; anything else is damaged (Teams card data can be forged)."""
    try:
        payload = json.loads(value)
        team, day_text, at_text = payload["team"], payload["day"], payload["at"]
        if not all(isinstance(v, str) for v in (team, day_text, at_text)):
            raise TypeError("a field has the wrong type")
        day = date.fromisoformat(day_text)
        at = datetime.fromisoformat(at_text)
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
        raise UsageError(DAMAGED_BUTTON) from None
    if at.tzinfo is None or len(team) > 64 or day < FIRST_DAY:
        raise UsageError(DAMAGED_BUTTON)
    return ScorecardRequest("team", team, day.isoformat(), False, at)


def _agents_request(request: ScorecardRequest) -> KpiRequest:
    return KpiRequest("agents", request.target, request.day, at=request.at)


def authorize_agents(ctx: Context, request: ScorecardRequest) -> None:
    authorize_kpi(ctx, _agents_request(request))


def execute_agents(ctx: Context, request: ScorecardRequest) -> Reply:
    reply = execute_kpi(ctx, _agents_request(request))
    # The table is for the clicker alone, whatever the card was posted in.
    return replace(reply, visibility="ephemeral")


# ---------------------------------------------------------------- subscriptions


def _subject(ctx: Context, target: str, kind: str = "subscribe") -> tuple[str, str]:
    """(what is stored, how it reads) for `target`: org, me, or a team by key or name."""
    word = target.strip().lower()
    if word == ORG:
        return ORG, "the org scorecard"
    if word in (ME, "mine", "myself"):
        return ME, "your own day (only you see it)"
    try:
        team = find_team(ctx, target, command=f"/scorecard {kind}")
    except NotFound as exc:
        meant = _close(word, (ORG, ME))
        if meant is None:
            raise
        raise NotFound(_no_such_team(str(exc), target, f"/scorecard {kind} {meant}")) from None
    return team.key, f"{team.name}'s scorecard"


def execute_subscription(ctx: Context, request: ScorecardRequest) -> Reply:
    mine = ctx.session.scalars(select(Subscription).where(Subscription.member_id == ctx.member.id).order_by(Subscription.subject)).all()
    if request.kind == "subscriptions":
        return _subscriptions_reply(ctx, list(mine))
    subject, label = _subject(ctx, request.target or "", request.kind)
    existing = next((s for s in mine if s.subject == subject), None)
    zone = ctx.timezone
    if request.kind == "unsubscribe":
        if existing is None:
            raise Invalid(f"You are not subscribed to {label}; /scorecard subscriptions lists what you are.")
        ctx.session.delete(existing)
        return Reply(title="Unsubscribed", blocks=[Section(f"You will no longer get {label} by direct message.")], data={"subscription": None, "subject": subject})
    at = request.time or _default_time(ctx, subject)
    if existing is None:
        if len(mine) >= MAX_SUBSCRIPTIONS:
            raise Invalid(f"You have {len(mine)} subscriptions, the most one person may have; unsubscribe from one first.")
        existing = Subscription(member_id=ctx.member.id, subject=subject, time=at, created_at=ctx.now)
        ctx.session.add(existing)
    else:
        existing.time = at
    ctx.session.flush()
    blocks: list[Any] = [Section(f"You will get {label} by direct message at {at} ({zone}), Monday to Friday: the working day before's figures (on Monday, Friday's, with the weekend summed up).")]
    if not ctx.member.slack_id and not ctx.member.teams_id:
        blocks.append(Note("You have no Slack or Teams id in the organisation file, so csbot cannot message you yet: ask an admin to add yours."))
    return Reply(title="Subscribed", blocks=blocks, data={"subscription": {"subject": subject, "time": at, "timezone": zone, "days": "mon-fri"}})


def _default_time(ctx: Context, subject: str) -> str:
    """A team's own digest time, else 09:00."""
    if subject not in (ORG, ME):
        team = ctx.session.scalar(select(Team).where(Team.key == subject))
        if team is not None and team.digest_time:
            return team.digest_time
    return DEFAULT_TIME


def _subscriptions_reply(ctx: Context, mine: list[Subscription]) -> Reply:
    zone = ctx.timezone
    rows = tuple((s.subject, s.time, "Mon–Fri") for s in mine)
    blocks: list[Any] = [Table(("Scorecard", f"Time ({zone})", "Days"), rows)] if rows else [Section("You have no scorecard subscriptions.")]
    blocks.append(Note("/scorecard subscribe TEAM|org|me [HH:MM] to add one; /scorecard unsubscribe … to stop one."))
    return Reply(
        title="Your scorecard subscriptions",
        blocks=blocks,
        data={"subscriptions": [{"subject": s.subject, "time": s.time, "timezone": zone, "days": "mon-fri"} for s in mine]},
    )


class ScorecardCommand:
    name = "scorecard"
    summary = "a team's day against its targets, with a 30-day chart; the org's day; last week"
    usage = (
        "/scorecard [TEAM] [DATE] — a team's day (your team, yesterday by default)\n"
        "/scorecard org [DATE] — every team's day side by side (managers and admins)\n"
        "/scorecard week [TEAM] — last week against the week before\n"
        "/scorecard subscribe TEAM|org|me [HH:MM] — get it by direct message on working days (me: your own day)\n"
        "/scorecard unsubscribe TEAM|org|me · /scorecard subscriptions\n"
        "Add --share to post it in the channel.\n"
        f"{DAY_HELP}; each team's day is in its own time zone."
    )
    examples = (
        "/scorecard",
        "/scorecard support-emea 2026-11-30",
        "/scorecard org",
        "/scorecard week support-emea",
        "/scorecard subscribe me 08:30",
        "/scorecard --share",
    )

    def parse(self, words: list[str]) -> ScorecardRequest:
        return parse_scorecard(words)

    def parse_text(self, words: list[str], raw: str) -> ScorecardRequest:
        # The raw text says which words were quoted: `/scorecard "Monday Crew"` is a team, never a day.
        return parse_scorecard(mark_quoted(raw, words))

    def authorize(self, ctx: Context, request: ScorecardRequest) -> None:
        authorize_scorecard(ctx, request)

    def execute(self, ctx: Context, request: ScorecardRequest) -> Reply:
        return execute_scorecard(ctx, request)


def register(router: Router) -> None:
    router.register(ScorecardCommand())
    router.register_action(Action(AGENTS_ACTION, parse_day_button, authorize_agents, execute_agents, once_per_click=False))
    router.register_action(
        Action(PREVIOUS_DAY_ACTION, parse_day_button, authorize_scorecard, execute_scorecard, once_per_click=False)
    )


__all__ = ["ScorecardCommand", "ScorecardRequest", "day_window", "org_card", "register", "team_card", "week_card"]
