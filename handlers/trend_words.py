"""The words of `/kpi trend METRIC [TEAM|org|me|@handle] [WINDOW] [by week|day]`.

The metric comes first, by name or alias (`frt`, `csat`, `first_reply_p90_s`);
then, in any order, whose trend (a team by key or name, `org`, `me`, or an
agent as `@handle`), the window (any /kpi window, default 90d) and the step
(`by week`, the default, or `by day`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from handlers.args import Literal, UsageError
from handlers.router import closest
from handlers.window_words import split_window
from kpi.definitions import ALIASES, METRIC_NAMES, metric_named
from kpi.trend import Step

DEFAULT_WINDOW = "90d"
DEFAULT_STEP: Step = "week"
# Points a chart can show and a person can read; 90d by day fits, 365d by day does not.
MAX_POINTS = 120
TREND_USAGE = "/kpi trend METRIC [TEAM|org|me|@handle] [WINDOW] [by week|day]"
METRIC_HELP = "METRIC: any metric name (first_reply_median_s, csat, …) or " + ", ".join(ALIASES)
_STEP_WORDS = {"day": "day", "days": "day", "daily": "day", "week": "week", "weeks": "week", "weekly": "week"}
# What `by` means in the other /kpi forms: one row per value, not a line over time.
_BREAKDOWN_WORDS = ("channel", "channels", "priority", "priorities", "agent", "agents", "tag", "tags", "sla", "hour", "hours", "weekday", "weekdays")
# A Slack mention, or an @handle: an agent, not a team.
_AGENT = re.compile(r"^(<@[A-Z0-9]+(\|[^>]*)?>|@\S+)$")


@dataclass(frozen=True)
class TrendAsk:
    """What a trend is of: one metric, by day or week, for a team, the org or an agent (`me` included)."""

    metric: str
    step: Step
    of: str  # team | org | agent | me


def _metric(word: str, rest: list[str]) -> str:
    """The metric `word` names; UsageError with a suggestion when it names none."""
    metric = metric_named(word) if not isinstance(word, Literal) else None
    if metric is not None:
        return metric
    if word.lower() in ("help", "?") and not isinstance(word, Literal):
        raise UsageError(
            f"{TREND_USAGE}: one metric over time, a point per week (default 90d by week) or day, as a chart with the "
            f"team's target and in words. E.g. /kpi trend frt, /kpi trend csat org 30d by day, /kpi trend solved me last month. {METRIC_HELP}."
        )
    named_later = next((w for w in rest if not isinstance(w, Literal) and metric_named(w)), None)
    if named_later is not None:
        raise UsageError(f"Say the metric first: /kpi trend {named_later} {word} … ({TREND_USAGE}).")
    suggestions = closest(word.lower(), sorted(METRIC_NAMES | set(ALIASES)))
    hint = f"Did you mean {' or '.join(suggestions)}?" if suggestions else "Try frt, csat, sla, reopen, solved or backlog."
    raise UsageError(f"There is no metric called {word!r}. {hint} {METRIC_HELP}.")


def _step(rest: list[str]) -> tuple[list[str], Step]:
    """`rest` without its `by week|day`, and the step (week when none is said).

    The last unquoted `by` is the step's: a team whose name holds the word
    is quoted ("Stand by Me").
    """
    for i in range(len(rest) - 1, -1, -1):
        word = rest[i]
        if isinstance(word, Literal) or word.lower() != "by":
            continue
        if i == len(rest) - 1:
            raise UsageError(f"By what? A trend goes by week or by day: {TREND_USAGE}.")
        after = rest[i + 1]
        found = _STEP_WORDS.get(after.lower())
        if found is not None and not isinstance(after, Literal):
            return rest[:i] + rest[i + 2 :], found  # type: ignore[return-value]
        if after.lower() in _BREAKDOWN_WORDS:
            raise UsageError(
                f"A trend goes by week or by day; for one row per {after.lower().rstrip('s')} ask "
                f"/kpi team [TEAM] [WINDOW] by {after.lower()}."
            )
        near = closest(after.lower(), list(_STEP_WORDS), n=1)
        hint = f"Did you mean by {_STEP_WORDS[near[0]]}?" if near else "Say by week or by day."
        raise UsageError(f"Cannot draw a trend by {after!r}. {hint} (Quote a team name that holds the word by: \"Stand by Me\".)")
    return rest, DEFAULT_STEP


def parse_trend(rest: list[str]) -> tuple[TrendAsk, str | None, str, str | None]:
    """The trend `rest` asks for (the words after `/kpi trend`): (what, target, window, whole).

    `target` is the team's or agent's words as typed (None: the asker's team,
    or the asker for `me`, or the org); `whole` is every word when a window
    was taken out of a team's name (`handlers.kpi.settle` tries both).
    """
    if not rest:
        raise UsageError(f"Say which metric: {TREND_USAGE}, e.g. /kpi trend frt or /kpi trend csat support-emea 30d by day. {METRIC_HELP}.")
    metric = _metric(rest[0], rest[1:])
    words, step = _step(list(rest[1:]))
    split = split_window(words, names_first=True)
    window = split.window or DEFAULT_WINDOW
    named = " ".join(split.words) if split.words else None
    if named is None:
        return TrendAsk(metric, step, "team"), None, window, None
    single = len(split.words) == 1 and not isinstance(split.words[0], Literal)
    if single and named.lower() == "org":
        return TrendAsk(metric, step, "org"), None, window, None
    if single and named.lower() == "me":
        return TrendAsk(metric, step, "me"), None, window, None
    if single and _AGENT.match(named):
        return TrendAsk(metric, step, "agent"), named, window, None
    return TrendAsk(metric, step, "team"), named, window, split.whole


def too_many_points(count: int, weeks: int, step: Step, window_words: str) -> UsageError:
    """The answer to a trend with more points (`count`) than MAX_POINTS: what to ask instead (`weeks`: the points by week)."""
    if step == "day":
        instead = f"ask by week ({weeks} points)" if weeks <= MAX_POINTS else "ask a shorter window"
        return UsageError(f"{window_words} by day is {count} points; a trend shows at most {MAX_POINTS}: {instead}, or a window of at most {MAX_POINTS}d by day.")
    return UsageError(f"{window_words} by week is {count} points; a trend shows at most {MAX_POINTS}: ask a shorter window (at most {MAX_POINTS * 7 - 6}d).")

