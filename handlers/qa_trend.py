"""`/qa trend @agent [WINDOW]`: an agent's QA score per rubric category, week by week (a chart and a table).

For the agent themselves and whoever looks after them (`coaching.visibility.oversees`,
the rule `/kpi agent` follows): a peer, another team's lead, or a reviewer
who no longer looks after the agent is refused, the same way for everyone.
Answers are private, like every QA answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from coaching.qa_trend import Mean, QaTrend, trend
from coaching.rubric import rubric_of
from coaching.visibility import oversees
from handlers.args import UsageError
from handlers.coach_summary import listed_until
from handlers.context import Context, Forbidden
from handlers.humanize import percent
from handlers.kpi_lookup import find_member
from handlers.qa_trend_chart import Line, qa_trend_png
from handlers.reply import Chart, Reply, Section, Table
from handlers.reply import Context as Note
from kpi.windows import WindowError, parse_window
from store.qa_rubrics import current

TREND_USAGE = "/qa trend @agent [WINDOW] — the agent's QA score per rubric category, week by week (default 90d)"
DEFAULT_WINDOW = "90d"


@dataclass(frozen=True)
class TrendRequest:
    agent: str
    window: str = DEFAULT_WINDOW


def parse_trend(rest: list[str]) -> TrendRequest:
    """The words after `/qa trend`: an agent, then a window (`90d`, `last month`: the rest of the words)."""
    if not rest:
        raise UsageError(TREND_USAGE)
    return TrendRequest(rest[0], " ".join(rest[1:]) or DEFAULT_WINDOW)


def authorize_trend(ctx: Context, request: TrendRequest) -> None:
    agent = find_member(ctx, request.agent)
    if ctx.member.id != agent.id and not oversees(ctx.member, agent):
        raise Forbidden(f"{agent.name}'s QA trend is for {agent.name} and those who look after them.")


def _mean(found: Mean | None) -> str:
    return f"{percent(found.value)} (n={found.n})" if found is not None and found.value is not None else "–"


def _json(found: Mean | None) -> dict[str, Any]:
    return {"score": found.value if found else None, "n": found.n if found else 0}


def execute_trend(ctx: Context, request: TrendRequest) -> Reply:
    agent = find_member(ctx, request.agent)
    try:
        window = parse_window(request.window, ctx.now, ctx.timezone)
    except WindowError as exc:
        raise UsageError(f"{exc}\n{TREND_USAGE}") from None
    until = listed_until(window, ctx.now)
    found: QaTrend = trend(ctx.session, agent.id, window.start, until, ctx.timezone)
    version = current(ctx.session)
    pass_mark = float(rubric_of(version).pass_mark) if version is not None else None
    keys = [k for k, _ in found.categories]
    names = dict(found.categories)
    title = f"QA trend · {agent.name} · {window.spec}"
    data: dict[str, Any] = {
        "agent": agent.handle, "window": {"start": window.start.isoformat(), "end": until.isoformat()}, "reviews": found.reviews,
        "score": _json(found.whole.overall), "categories": {k: _json(found.whole.categories.get(k)) for k in keys},
        "weeks": [{"week": b.week.isoformat(), "score": _json(b.overall), "categories": {k: _json(b.categories.get(k)) for k in keys}} for b in found.buckets],
    }  # fmt: skip
    if not found.reviews:
        return Reply(title=title, blocks=[Section(f"No QA reviews of {agent.name} in {window.spec}.")], data=data)
    overall = f"{found.reviews} review{'s' if found.reviews != 1 else ''}; score {_mean(found.whole.overall)}"
    per = "; ".join(f"{names[k]} {_mean(found.whole.categories.get(k))}" for k in keys)
    blocks: list[Any] = [Section(f"{overall}.\nBy category over the window: {per}.")]
    rows = tuple(
        (b.week.isoformat(), str(b.overall.n), _mean(b.overall) if b.overall.n else "–", *(_mean(b.categories.get(k)) for k in keys)) for b in found.buckets if b.overall.n or b.categories
    )
    blocks.append(Table(("Week of", "Reviews", "Score", *(names[k] for k in keys)), rows))
    labels = [b.week.strftime("%b %d") for b in found.buckets]
    lines = [Line("Score", tuple(b.overall.value for b in found.buckets), bold=True)]
    lines += [Line(names[k], tuple(b.categories[k].value if k in b.categories else None for b in found.buckets)) for k in keys]
    png = qa_trend_png(labels, lines, [b.overall.n for b in found.buckets], title=title, pass_mark=pass_mark, axis_label=f"Week ({ctx.timezone}), Monday to Sunday")
    alt = f"{title}: {overall}. {per}."
    blocks.append(Chart(title, png, alt))
    blocks.append(Note(f"A category's score is its points over its range (na left out); weeks in {ctx.timezone}; weeks without a review are not listed."))
    return Reply(title=title, blocks=blocks, data=data)
