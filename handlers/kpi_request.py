"""What a /kpi question asks, parsed from words or from a button, and the window it means."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from datetime import datetime

from handlers.args import DAMAGED_BUTTON, UsageError, parse_args, split_words
from handlers.context import Context, Invalid
from handlers.reply import Actions, Button
from handlers.router import closest
from kpi.definitions import ALIASES, METRIC_NAMES, metric_named
from kpi.windows import WINDOW_HELP, NotStarted, Window, WindowError, check_supported, is_window, meant_as_window, not_a_window, parse_window

KINDS = ("team", "agents", "agent", "me", "teams", "org", "alerts", "escalations")
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
# Words people put between two dates to mean a span: `2026-11-01 – 2026-11-30`.
_JOINERS = frozenset({"-", "\u2013", "\u2014", "to", "..", "~"})
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)


def _two_windows(rest: list[str], last: str) -> str:
    """The answer to two windows in one question (`2026-11-01 2026-11-30`, `week 30d`)."""
    words = [w for w in rest if w.lower() not in _JOINERS]
    first = words[-1] if words else rest[-1]
    if _ISO_DATE.match(first) and _ISO_DATE.match(last):
        return f"That is two windows, {first} and {last}; for the days between them ask for {first}..{last}."
    return f"That is two windows, {first} and {last}; ask for one at a time. Windows: {WINDOW_HELP}."


@dataclass(frozen=True)
class KpiRequest:
    kind: str  # team | agents | agent | me | teams | org
    target: str | None  # team key/name or member handle/mention
    window: str | None
    sort: str | None = None  # a metric name, or None for alphabetical
    share: bool = False
    at: datetime | None = None  # "now" of the original question (buttons keep it)
    back: int = 0  # windows before the asked one (Previous window button)

    def text(self) -> str:
        """The command that asks this again (what buttons carry)."""
        parts = ["/kpi", self.kind]
        if self.target and self.kind in ("team", "agent", "agents"):
            parts.append(f'"{self.target}"' if " " in self.target else self.target)
        parts.append(self.window or "7d")
        if self.sort:
            parts += ["--sort", self.sort]
        return " ".join(parts)


def _sort(text: str | None, kind: str) -> str | None:
    if text is None:
        return None
    if kind not in TABLE_KINDS:
        raise UsageError("--sort applies to /kpi teams and /kpi agents.")
    if text.strip().lower() in _BY_NAME:
        return None
    metric = metric_named(text)
    if metric is None:
        suggestions = closest(text.lower(), sorted(METRIC_NAMES | set(ALIASES)))
        raise UsageError(f"Cannot sort by {text!r}. Try {', '.join(suggestions) or 'csat, frt, sla or reopen'}.")
    return metric


def parse_kpi(words: list[str]) -> KpiRequest:
    args = parse_args(words, switches=frozenset({"share"}), options=frozenset({"sort"}))
    rest = list(args.words)
    kind = rest.pop(0).lower() if rest else "team"
    if kind not in KINDS:
        if is_window(kind) or meant_as_window(kind):  # `/kpi 30d` means my team over 30 days
            rest.insert(0, kind)
            kind = "team"
        else:
            raise UsageError(f"/kpi {kind} is not something I know; use team, agents, agent, me, teams, org, alerts or escalations.")
    if kind == "alerts":
        if args.flag("share") or args.option("sort"):
            raise UsageError("/kpi alerts takes only a team: /kpi alerts [TEAM].")
        if rest and (is_window(rest[-1]) or meant_as_window(rest[-1])):
            raise UsageError("/kpi alerts shows today's alerts; it takes a team, not a window.")
        return KpiRequest("alerts", " ".join(rest) or None, None)
    if kind == "escalations":
        if args.option("sort"):
            raise UsageError("/kpi escalations takes a queue and a window: /kpi escalations [QUEUE] [WINDOW].")
        window = rest.pop() if rest and is_window(rest[-1]) else None
        if rest and meant_as_window(rest[-1]):
            raise UsageError(not_a_window(rest[-1]))
        if len(rest) > 1:
            raise UsageError("/kpi escalations takes one queue: /kpi escalations [QUEUE] [WINDOW].")
        return KpiRequest("escalations", rest[0] if rest else None, window, None, args.flag("share"))
    window = rest.pop() if rest and is_window(rest[-1]) else None
    if window is not None and rest and (is_window(rest[-1]) or rest[-1].lower() in _JOINERS):
        raise UsageError(_two_windows(rest, window))
    # A mistyped window after a name is surely a window; alone after `team` it may be a team's name.
    if window is None and rest and meant_as_window(rest[-1]) and (kind not in TEAM_KINDS or len(rest) > 1):
        raise UsageError(not_a_window(rest[-1]))
    target: str | None = None
    if kind in ("team", "agent", "agents"):
        # Forgive an unquoted team name with spaces: everything but the window.
        target = " ".join(rest) if rest else None
        if kind == "agent" and not target:
            raise UsageError("Say whose figures: /kpi agent @handle [WINDOW].")
    elif rest:
        raise UsageError(_two_windows(rest[:1], window or "7d") if is_window(rest[0]) else not_a_window(rest[0]))
    return KpiRequest(kind, target, window, _sort(args.option("sort"), kind), args.flag("share"))


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


def buttons(ctx: Context, request: KpiRequest, shareable: bool, window: Window) -> list[Actions]:
    """The card's buttons; none at all rather than an empty row (Slack refuses one)."""
    at = (request.at or ctx.now).isoformat()
    value = json.dumps({"text": request.text(), "at": at, "back": request.back}, separators=(",", ":"))
    previous = json.dumps({"text": request.text(), "at": at, "back": request.back + 1}, separators=(",", ":"))
    found = []
    if shareable and not request.share:
        found.append(Button("Share in channel", SHARE_ACTION, value, style="primary"))
    if _has_previous(request, window):
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
        words = split_words(text)
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
