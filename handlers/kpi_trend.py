"""`/kpi trend METRIC [TEAM|org|me|@handle] [WINDOW] [by week|day]`: one metric over time.

One point per local day or Monday-to-Sunday week in the team's (the org's,
the agent's) time zone, each exactly what `/kpi team TEAM FIRST..LAST` says
for its days (kpi.trend), drawn as a chart with the team's target as a line,
and said in words: the first and last point, the lowest and highest (with
their dates), whether it went the better or the worse way, how often it met
the target, and a table of every point with the tickets it is over (`n`).
The words are also the chart's description for screen readers and for
surfaces that show no picture.

Who sees a trend is who sees the card (`handlers.kpi.authorize_kpi` with the
card the trend is of); a QA metric pooled over a team or the org is for
those who look after its agents, never for a channel, as on the card.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from typing import Any

from coaching.visibility import sees_pooled_qa
from handlers.args import UsageError
from handlers.context import Context, Forbidden, Invalid
from handlers.humanize import change, metric_value
from handlers.kpi_lookup import Target, inactive_note
from handlers.kpi_request import KpiRequest, buttons
from handlers.kpi_tables import LEGEND, QA_POOLED, STATUS_MARK
from handlers.reply import Chart, Reply, Section, Table
from handlers.reply import Context as Note
from handlers.trend_words import DEFAULT_WINDOW, MAX_POINTS, too_many_points
from kpi import qa_figures
from kpi.business_hours import Clock, label, on_clock
from kpi.definitions import BY_NAME, Metric, judgement
from kpi.targets import target_status
from kpi.trend import Bucket, bucket_windows, covered_days, day_ranges, point_count, series
from kpi.windows import Window, WindowError
from store.local_time import local_date

def card_request(request: KpiRequest) -> KpiRequest:
    """The /kpi card whose figures a trend draws: who may see it, and what it is about, are the card's."""
    assert request.trend is not None
    return replace(request, kind=request.trend.of, trend=None, csv=False, window=request.window or DEFAULT_WINDOW)


def authorize_trend(ctx: Context, request: KpiRequest, target: Target | None) -> None:
    """What a trend adds to the card's rules: a QA metric pooled over a team or the org (see QA_POOLED)."""
    assert request.trend is not None
    if request.trend.metric not in qa_figures.QA_NAMES or target is None or target.agent is not None:
        return
    if request.share:
        raise Forbidden("QA figures pooled over a team are never posted in a channel.")
    if not sees_pooled_qa(ctx.member, target.team.id if request.trend.of == "team" and target.team else None):
        raise Forbidden(QA_POOLED)


def _label(bucket: Bucket, step: str) -> str:
    return f"week of {bucket.first.isoformat()}" if step == "week" else f"{bucket.first:%a} {bucket.first.isoformat()}"


def _axis_label(first: date, last: date) -> str:
    return "%b %d" if first.year == last.year else "%b %d %Y"


def _point(bucket: Bucket, metric: Metric, goal: float | None) -> dict[str, Any]:
    value = bucket.metrics[metric.name]
    return {
        "from": bucket.first.isoformat(),
        "to": bucket.last.isoformat(),
        "so_far": bucket.window.so_far,
        "value": value,
        "n": bucket.metrics[metric.sample] if metric.sample else None,
        "status": target_status(metric.name, value, goal),
        "window": bucket.window.to_json(),
        "metrics": bucket.engine if bucket.engine is not None else bucket.metrics,
    }


def _summary(metric: Metric, points: list[Bucket], goal: float | None, step: str) -> tuple[list[str], dict[str, Any] | None, str]:
    """The trend in sentences, as data (first, last, lowest, highest, direction, target met), and in a line for the chart's description."""
    name = metric.name
    valued = [(b, float(b.metrics[name])) for b in points if b.metrics[name] is not None]  # type: ignore[arg-type]
    unit = "weeks" if step == "week" else "days"
    if not valued:
        return [f"No {step} in this window has a {metric.label} value (no tickets it could be measured on)."], None, ""

    def said(item: tuple[Bucket, float], *, n: bool = True) -> str:
        bucket, value = item
        notes = [_label(bucket, step)] + (["so far"] if bucket.window.so_far else [])
        if n and metric.sample:
            notes.append(f"n={int(bucket.metrics[metric.sample] or 0):,}")
        return f"{metric_value(name, value)} ({', '.join(notes)})"

    first, last = valued[0], valued[-1]
    lowest = min(valued, key=lambda item: item[1])  # the earliest of equal values
    highest = max(valued, key=lambda item: item[1])
    # A count over a week still running is not comparable with a whole one: the direction is read to the last whole one.
    compared = last
    if metric.flow and last[0].window.so_far and len(valued) > 1:
        compared = valued[-2]
    verdict = judgement(name, compared[1], first[1])
    lines = [
        f"First {said(first)} · last {said(last)} · lowest {said(lowest, n=False)} · highest {said(highest, n=False)}.",
    ]
    if compared is first:
        lines.append(f"Only one {step} has a value, so there is no direction yet.")
    else:
        better = "higher" if metric.higher_is_better else "lower"
        why = f" ({better} is better)" if verdict in ("better", "worse") else ""
        since = f" (the last whole {step}: {_label(compared[0], step)})" if compared is not last else ""
        lines.append(f"From the first {step} to the last{since}: {change(name, compared[1], first[1], judged=metric.judged)}{why}.")
    met = None
    line = (
        f"{said(first, n=False)} → {said(last, n=False)}, lowest {said(lowest, n=False)}, highest {said(highest, n=False)}"
    )
    if goal is not None:
        met = sum(target_status(name, v, goal) == "met" for _, v in valued)
        lines.append(f"Target {metric_value(name, goal)}: met in {met} of {len(valued)} {unit} with a value.")
        line += f"; the {metric_value(name, goal)} target is a dashed line, met in {met} of {len(valued)} {unit}"

    def data(item: tuple[Bucket, float]) -> dict[str, Any]:
        return {"from": item[0].first.isoformat(), "value": item[1], "n": item[0].metrics[metric.sample] if metric.sample else None}

    summary = {
        "first": data(first),
        "last": data(last),
        "min": data(lowest),
        "max": data(highest),
        "direction": {"from": first[0].first.isoformat(), "to": compared[0].first.isoformat(), "change": compared[1] - first[1], "verdict": verdict},
        "target_met": met,
        "points_with_value": len(valued),
    }
    return lines, summary, line + "."


def _table(metric: Metric, points: list[Bucket], goal: float | None, step: str) -> Table:
    """Every point: its first day, value, `n` (where the metric has a sample) and status against the target."""
    columns = ["Week of" if step == "week" else "Day", metric.label] + (["n"] if metric.sample else []) + (["Target"] if goal is not None else [])
    rows = []
    for b in points:
        value = b.metrics[metric.name]
        row = [b.first.isoformat() + (" (so far)" if b.window.so_far else ""), metric_value(metric.name, value)]  # type: ignore[arg-type]
        if metric.sample:
            row.append(f"{int(b.metrics[metric.sample] or 0):,}")
        if goal is not None:
            status = target_status(metric.name, value, goal)  # type: ignore[arg-type]
            row.append(STATUS_MARK[status] if status else "")
        rows.append(tuple(row))
    return Table(tuple(columns), tuple(rows))


def _chart(title: str, metric: Metric, points: list[Bucket], goal: float | None, step: str, zone: str, alt: str) -> Chart:
    """The chart (matplotlib is loaded only here, the first time a trend is drawn)."""
    from handlers.trend_chart import ChartPoint, trend_png

    form = _axis_label(points[0].first, points[-1].last)
    drawn = [
        ChartPoint(
            b.first.strftime(form),
            b.metrics[metric.name],  # type: ignore[arg-type]
            int(b.metrics[metric.sample] or 0) if metric.sample else None,
            b.window.so_far,
        )
        for b in points
    ]
    axis = f"Week ({zone}), Monday to Sunday, by its Monday" if step == "week" else f"Day ({zone})"
    return Chart(title, trend_png(drawn, metric=metric, title=title, target=goal, axis_label=axis), alt)


def execute_trend(
    ctx: Context, request: KpiRequest, target: Target, window: Window, data_from: datetime | None, clock: Clock, clock_note: str | None
) -> Reply:
    """The trend `request` asks for `target` over `window` (resolved and authorized by handlers.kpi).

    Points that end before `data_from` (the scope's first ticket or review)
    are left out, as a card for their days would say "no data" rather than
    show zeros: the trend starts where the data does. A duration is drawn on
    `clock`, the card's (business hours for a team with a calendar), and
    `clock_note` says so; each point's `metrics` in --json keep both clocks.
    """
    trend = request.trend
    assert trend is not None
    metric = BY_NAME[trend.metric]
    if metric.group == "qa" and not qa_figures.in_use(ctx.session):
        raise Invalid("The organisation does not review tickets (there is no QA rubric), so there are no QA figures to draw.")
    first, last = covered_days(window)
    count = point_count(first, last, trend.step)
    if count > MAX_POINTS:
        raise too_many_points(count, point_count(first, last, "week"), trend.step, request.window or DEFAULT_WINDOW)
    try:
        buckets = bucket_windows(day_ranges(first, last, trend.step, whole_weeks=True), target.timezone, request.at or ctx.now)
    except WindowError as exc:
        raise UsageError(str(exc)) from None
    before = [b for b in buckets if data_from is not None and b[2].until_utc <= data_from]
    points = [replace(b, metrics=on_clock(b.metrics, clock), engine=b.metrics) for b in series(ctx.session, target.scope, buckets[len(before) :])]
    # As on the card: an agent's own QA figures go with their trend; pooled ones only to whoever looks after the team.
    of_team = target.team.id if trend.of == "team" and target.team else None
    if not (target.agent is not None or (sees_pooled_qa(ctx.member, of_team) and not request.share)):
        points = [replace(b, metrics=qa_figures.hidden(b.metrics), engine=qa_figures.hidden(b.engine) if b.engine else None) for b in points]
    targets = dict(target.team.targets) if target.team is not None and trend.of != "org" else {}
    goal = targets.get(metric.name)
    goal = float(goal) if isinstance(goal, (int, float)) else None
    team_key = f" ({target.team.key})" if trend.of == "team" and target.team else ""
    metric = replace(metric, label=label(metric.name, clock))
    title = f"Trend · {metric.label} · {target.label}{team_key}"
    lines, summary, described = _summary(metric, points, goal, trend.step)
    unit = "weeks" if trend.step == "week" else "days"
    span = f"{len(points)} {unit if len(points) != 1 else trend.step}, {points[0].first.isoformat()} to {points[-1].last.isoformat()}" if points else "no days"
    who = f"{target.label}{team_key}"
    alt = f"{metric.label} of {who} by {trend.step}, {span} ({target.timezone}): {described}"
    shareable = (target.agent is None or target.agent.id == ctx.member.id) and not (metric.group == "qa" and target.agent is None)
    blocks: list[Any] = [
        Note(f"Window: {window.label()} · by {trend.step}: {span} ({'whole weeks, Monday to Sunday' if trend.step == 'week' else 'local days'})"),
    ]
    if clock_note:
        blocks.append(Note(clock_note))
    if before:
        blocks.append(Note(f"The data of {target.label} starts on {local_date(data_from, target.timezone).isoformat()}: the trend starts with its {trend.step}."))  # type: ignore[arg-type]
    if target.agent is not None and (inactive := inactive_note(target.agent, target.timezone)):
        blocks.append(Note(inactive))
    blocks.append(Section("\n".join(lines)))
    if summary is not None:
        blocks.append(_chart(f"{target.label} · {metric.label} by {trend.step}", metric, points, goal, trend.step, target.timezone, alt))
    blocks.append(_table(metric, points, goal, trend.step))
    if goal is not None:
        blocks.append(Note(LEGEND))
    blocks += buttons(ctx, request, shareable, window)
    return Reply(
        title=title,
        blocks=blocks,
        visibility="channel" if request.share else "ephemeral",
        data={
            "scope": "agent" if target.agent is not None else "team" if trend.of == "team" else "org",
            "team": target.team.key if trend.of == "team" and target.team else None,
            "agent": target.agent.handle if target.agent is not None else None,
            "metric": metric.name,
            "step": trend.step,
            "clock": clock,
            "window": window.to_json(),
            "timezone": target.timezone,
            "target": goal,
            "higher_is_better": metric.higher_is_better,
            "series": [_point(b, metric, goal) for b in points],
            "summary": summary,
        },
    )
