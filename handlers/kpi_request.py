"""What a /kpi question asks, parsed from words or from a button, and the window it means."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from difflib import get_close_matches
from datetime import datetime

from handlers.args import DAMAGED_BUTTON, Args, Literal, UsageError, mark_quoted, parse_args, split_words
from handlers.context import Context, Invalid
from handlers.reply import Actions, Button
from handlers.router import closest
from handlers.trend_words import DEFAULT_WINDOW as TREND_WINDOW
from handlers.trend_words import TrendAsk, parse_trend
from handlers.window_words import literal_positions, split_window
from kpi.definitions import ALIASES, METRIC_NAMES, metric_named
from kpi.windows import (
    WINDOW_HELP,
    NotStarted,
    Window,
    WindowError,
    check_supported,
    find_window,
    is_window,
    looks_like_window,
    meant_as_window,
    not_a_window,
    parse_window,
)

KINDS = ("team", "agents", "agent", "me", "teams", "org", "alerts", "escalations", "trend", "sla")
# Kinds about now, not a window: `/kpi alerts` and `/kpi sla` take only a team.
NOW_KINDS = ("alerts", "sla")
# Kinds whose one optional word names a team: `/kpi team 1w` may be a team called "1w".
TEAM_KINDS = ("team", "agents")
TABLE_KINDS = ("teams", "agents")
SHARE_ACTION = "kpi.share"
PREVIOUS_ACTION = "kpi.previous"
MAX_BACK = 120  # "Previous window" clicks one card remembers
SORT_HELP = (
    "METRIC: tickets_created, tickets_solved, backlog, first_reply_median_s, first_reply_p90_s, first_reply_mean_s, "
    "resolution_median_s, resolution_p90_s, resolution_mean_s, one_touch_rate, reopen_rate, csat, sla_attainment; "
    "or " + ", ".join(ALIASES) + "; or name (alphabetical, the default)"
)
_BY_NAME = ("name", "team", "agent")
# `/kpi team TEAM WINDOW by X` and `/kpi org WINDOW by X`: one row per value of X.
BREAKDOWN_KINDS = ("team", "org")
BREAKDOWNS = ("channel", "priority", "tag", "sla", "agent", "weekday", "hour")
BREAKDOWN_HELP = "by channel|priority|tag|sla|agent|weekday|hour"
_BREAKDOWN_WORDS = {
    **{d: d for d in BREAKDOWNS},
    **{d + "s": d for d in BREAKDOWNS},
    "day": "weekday", "days": "weekday", "assignee": "agent", "assignees": "agent", "policy": "sla", "policies": "sla",
}  # fmt: skip

@dataclass(frozen=True)
class KpiRequest:
    kind: str  # team | agents | agent | me | teams | org
    target: str | None  # team key/name or member handle/mention
    window: str | None  # canonical window text (kpi.windows.canonical)
    sort: str | None = None  # a metric name, or None for alphabetical
    share: bool = False
    at: datetime | None = None  # "now" of the original question (buttons keep it)
    back: int = 0  # windows before the asked one (Previous window button)
    # All the words, when a window was taken out of the target's: a team called
    # "Shift Today" typed without quotes is still found (handlers.kpi.settle).
    whole: str | None = None
    by: str | None = None  # a breakdown (BREAKDOWNS): one row per value
    trend: TrendAsk | None = None  # /kpi trend: one metric over days or weeks
    csv: bool = False  # answer with the figures as a CSV file too
    # First reply and resolution on the wall clock, not in the team's business hours (kpi.business_hours).
    wall: bool = False

    def text(self) -> str:
        """The command that asks this again (what buttons carry)."""
        if self.trend is not None:
            return self._trend_text(self.trend)
        parts = ["/kpi", self.kind]
        if self.target and self.kind in ("team", "agent", "agents", "escalations", "sla"):
            literal = " " in self.target or is_window(self.target) or meant_as_window(self.target)
            parts.append(f'"{self.target}"' if literal else self.target)
        if self.kind not in NOW_KINDS:
            parts.append(self.window or "7d")
        if self.by:
            parts += ["by", self.by]
        if self.sort:
            parts += ["--sort", self.sort]
        if self.wall:
            parts.append("--wall")
        return " ".join(parts)

    def _trend_text(self, trend: TrendAsk) -> str:
        parts = ["/kpi", "trend", trend.metric]
        if trend.of in ("org", "me"):
            parts.append(trend.of)
        elif trend.of == "agent" and self.target:
            parts.append("@" + self.target.removeprefix("@"))
        elif self.target:
            literal = " " in self.target or is_window(self.target) or meant_as_window(self.target)
            # A team keyed org or me, or whose key starts like a handle, is quoted to stay a team.
            literal = literal or self.target.lower() in ("org", "me", "by") or self.target.startswith("@")
            parts.append(f'"{self.target}"' if literal else self.target)
        return " ".join([*parts, self.window or TREND_WINDOW, "by", trend.step])


def _sort(text: str | None, kind: str) -> str | None:
    if text is None:
        return None
    if kind not in TABLE_KINDS:
        raise UsageError("--sort applies to /kpi teams and /kpi agents.")
    if text.strip().lower() in _BY_NAME:
        return None
    metric = metric_named(text)
    if metric is None:
        suggestions = closest(text.lower(), sorted(METRIC_NAMES | set(ALIASES) | set(_BY_NAME)))
        hint = f"Did you mean {' or '.join(suggestions)}?" if suggestions else "Try csat, frt, sla, reopen or name."
        raise UsageError(f"Cannot sort by {text!r}. {hint}")
    return metric


def _unknown_kind(kind: str) -> UsageError:
    suggestions = closest(kind, KINDS)
    hint = f" Did you mean {' or '.join('/kpi ' + k for k in suggestions)}?" if suggestions else ""
    return UsageError(f"/kpi {kind} is not something I know.{hint} Use team, agents, agent, me, teams, org, trend, alerts, escalations or sla.")


def _breakdown_word(word: str) -> str:
    """The breakdown `word` names; UsageError for a word that is none."""
    found = _BREAKDOWN_WORDS.get(word.lower())
    if found is None:
        suggestions = closest(word.lower(), list(BREAKDOWNS))
        hint = f"Did you mean by {' or by '.join(suggestions)}?" if suggestions else f"Try {BREAKDOWN_HELP}."
        raise UsageError(f"Cannot break down by {word!r}. {hint}")
    return found


def _take_breakdown(rest: list[str], kind: str) -> tuple[list[str], str | None]:
    """`rest` without its `by X`, and X.

    The last unquoted `by` followed by an unquoted word is the breakdown; in a
    team's words, one whose next word names no breakdown, nor nearly one, is
    left as part of the name (an unquoted team "Stand by Team").
    """
    for i in range(len(rest) - 2, -1, -1):
        word, after = rest[i], rest[i + 1]
        if isinstance(word, Literal) or isinstance(after, Literal) or word.lower() != "by":
            continue
        # A near miss (`by chanel`) is a breakdown mistyped; a word far from any (`by team`) is a name's.
        known = after.lower() in _BREAKDOWN_WORDS or get_close_matches(after.lower(), list(_BREAKDOWN_WORDS), n=1, cutoff=0.75)
        if kind == "team" and not known:
            continue
        if kind not in BREAKDOWN_KINDS:
            raise UsageError(f"Breakdowns ({BREAKDOWN_HELP}) are for /kpi team and /kpi org, e.g. /kpi team support-emea 30d by channel.")
        return rest[:i] + rest[i + 2 :], _breakdown_word(after)
    if kind == "org" and rest and not isinstance(rest[-1], Literal) and rest[-1].lower() == "by":
        raise UsageError(f"By what? Say /kpi org [WINDOW] {BREAKDOWN_HELP}.")
    return rest, None


def parse_kpi(words: list[str]) -> KpiRequest:
    """The request `words` ask (after `/kpi`); words typed in quotes (args.Literal) are names, never windows."""
    args = parse_args(words, switches=frozenset({"share", "csv", "wall"}), options=frozenset({"sort"}))
    rest = list(args.words)
    first = rest.pop(0) if rest else "team"
    kind = first.lower()
    if kind == "by" and not isinstance(first, Literal) and rest:
        rest.insert(0, first)  # `/kpi by channel`: my team, broken down
        kind = "team"
    elif kind not in KINDS:
        if isinstance(first, Literal) or not (looks_like_window(kind) or (rest and looks_like_window(f"{kind} {rest[0]}"))):
            raise _unknown_kind(first)
        rest.insert(0, first)  # `/kpi 30d`, `/kpi last week`: my team over that window
        kind = "team"
    if args.flag("wall") and kind in (*NOW_KINDS, "escalations"):
        raise UsageError(f"--wall is for first reply and resolution figures (/kpi team, agents, agent, me, teams, org, trend), not /kpi {kind}.")
    if kind == "trend":
        return _trend_request(rest, args)
    if args.flag("csv") and kind in (*NOW_KINDS, "escalations"):
        raise UsageError(f"--csv applies to the KPI forms of /kpi (team, org, agents, agent, me, teams, trend), not /kpi {kind}.")
    rest, by = _take_breakdown(rest, kind) if kind not in (*NOW_KINDS, "escalations") else (rest, None)
    if kind in NOW_KINDS:
        shares = kind == "sla"  # the tickets at risk can be posted for the team to see; alerts post themselves
        if (args.flag("share") and not shares) or args.option("sort"):
            raise UsageError(f"/kpi {kind} takes only a team: /kpi {kind} [TEAM]" + (" [--share]." if shares else "."))
        found = find_window(rest, literal=literal_positions(rest))
        if (found is not None and found.stop == len(rest)) or (rest and not isinstance(rest[-1], Literal) and meant_as_window(rest[-1])):
            what = "today's alerts" if kind == "alerts" else "the tickets at risk now"
            raise UsageError(f"/kpi {kind} shows {what}; it takes a team, not a window.")
        return KpiRequest(kind, " ".join(rest) or None, None, share=args.flag("share"))
    if kind == "escalations":
        if args.option("sort"):
            raise UsageError("/kpi escalations takes a queue and a window: /kpi escalations [QUEUE] [WINDOW].")
        split = split_window(rest, names_first=False)
        if len(split.words) > 1:
            raise UsageError("/kpi escalations takes one queue: /kpi escalations [QUEUE] [WINDOW].")
        return KpiRequest("escalations", split.words[0] if split.words else None, split.window, None, args.flag("share"))
    split = split_window(rest, names_first=kind in TEAM_KINDS, needs_name=kind == "agent")
    target: str | None = None
    whole = split.whole
    if kind in ("team", "agent", "agents"):
        # Forgive an unquoted name with spaces: everything but the window.
        target = " ".join(split.words) if split.words else None
        if kind == "agent" and not target:
            if len(rest) == 1 and rest[0].isalpha():
                # `/kpi agent may`: a person's name that is also a window, and no one else named.
                return KpiRequest("agent", rest[0], None, None, args.flag("share"), wall=args.flag("wall"))
            raise UsageError("Say whose figures: /kpi agent @handle [WINDOW].")
    elif split.words:
        extra = " ".join(split.words)
        raise UsageError(not_a_window(extra) if meant_as_window(extra) or is_window(extra) else f"/kpi {kind} takes only a window, and {extra!r} is not one. Windows: {WINDOW_HELP}.")
    else:
        whole = None
    sort = _sort(args.option("sort"), kind)
    return KpiRequest(
        kind, target, split.window, sort, args.flag("share"), whole=whole if target else None, by=by, csv=args.flag("csv"), wall=args.flag("wall")
    )


def _trend_request(rest: list[str], args: Args) -> KpiRequest:
    """`/kpi trend …` (handlers.trend_words), with the switches every /kpi form takes."""
    if args.option("sort"):
        raise UsageError("--sort applies to /kpi teams and /kpi agents; a trend is in time order.")
    trend, target, window, whole = parse_trend(rest)
    return KpiRequest("trend", target, window, None, args.flag("share"), whole=whole, trend=trend, csv=args.flag("csv"), wall=args.flag("wall"))


def window_for(ctx: Context, request: KpiRequest, timezone: str) -> Window:
    """The window the request means in `timezone`, stepped back `request.back` times."""
    try:
        window = parse_window(request.window, request.at or ctx.now, timezone)
        for _ in range(request.back):
            # Clicking "Previous window" again and again must stop at the first supported day.
            window = check_supported(window.previous())
    except NotStarted as exc:
        raise Invalid(str(exc)) from None
    except WindowError as exc:
        raise UsageError(str(exc)) from None
    return window


def _has_previous(request: KpiRequest, window: Window) -> bool:
    """Whether a "Previous window" click could answer (not past MAX_BACK or before 1970)."""
    if request.back >= MAX_BACK:
        return False
    try:
        check_supported(window.previous())
    except WindowError:
        return False
    return True


def buttons(ctx: Context, request: KpiRequest, shareable: bool, window: Window | None) -> list[Actions]:
    """The card's buttons; none at all rather than an empty row (Slack refuses one). No window: no Previous window."""
    at = (request.at or ctx.now).isoformat()
    value = json.dumps({"text": request.text(), "at": at, "back": request.back}, separators=(",", ":"))
    previous = json.dumps({"text": request.text(), "at": at, "back": request.back + 1}, separators=(",", ":"))
    found = []
    if shareable and not request.share:
        found.append(Button("Share in channel", SHARE_ACTION, value, style="primary"))
    if window is not None and _has_previous(request, window):
        found.append(Button("Previous window", PREVIOUS_ACTION, previous))
    return [Actions(tuple(found))] if found else []


def parse_button(value: str, *, share: bool) -> KpiRequest:
    """The request a button carries, exactly as `buttons` wrote it; anything else is damaged.

    A click's value can be forged (Teams card data comes from the client), so
    every field is checked for the type `buttons` gives it.
    """
    try:
        payload = json.loads(value)
        text, at_text, back = payload["text"], payload["at"], payload.get("back", 0)
        # bool is an int to Python; JSON true is not a count of clicks.
        if not isinstance(text, str) or not isinstance(at_text, str) or type(back) is not int:
            raise TypeError("a field has the wrong type")
        words = mark_quoted(text, split_words(text))
        if not words or words[0].lower() != "/kpi":
            raise ValueError("not a /kpi command")
        request = parse_kpi(words[1:])
        at = datetime.fromisoformat(at_text)
    # RecursionError: json.loads on deeply nested arrays; UsageError: text a person could not have typed.
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError, UsageError):
        raise UsageError(DAMAGED_BUTTON) from None
    if at.tzinfo is None or not 0 <= back <= MAX_BACK:
        raise UsageError(DAMAGED_BUTTON)
    return replace(request, at=at, back=back, share=share or request.share)
