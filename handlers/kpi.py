"""`/kpi`: a team's, an agent's, your own or the whole org's KPIs over a window."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from handlers.args import UsageError, parse_args, split_words
from handlers.context import Context, Forbidden, NotFound
from handlers.humanize import change, metric_value
from handlers.reply import Actions, Button, Context as Note, Reply, Table
from handlers.router import Action, Router, closest
from kpi.definitions import BY_NAME, METRIC_NAMES, METRICS
from kpi.engine import Metrics, Scope, compute, compute_by_team, metrics_from
from kpi.targets import target_status
from kpi.windows import WINDOW_HELP, Window, WindowError, check_supported, is_window, parse_window
from store.org import Member, Team

KINDS = ("team", "agent", "me", "teams", "org")
SHARE_ACTION = "kpi.share"
PREVIOUS_ACTION = "kpi.previous"
DAMAGED_BUTTON = "That button's data is damaged; run the command again."
MAX_BACK = 120  # "Previous window" clicks one card remembers
STATUS_LABEL = {"met": "✅ met", "at_risk": "⚠️ at risk", "missed": "❌ missed"}
# Slack sends a mention in command text as <@U123ABC> or <@U123ABC|name>.
_SLACK_MENTION = re.compile(r"^<@([A-Z0-9]+)(?:\|[^>]*)?>$")
# Text that was meant as a window but is not one (`8x`, `2026-02-30`, `30days`).
_LOOKS_LIKE_WINDOW = re.compile(r"^(\d+[a-z]+|\d{4}-\S*|last-\S+)$", re.IGNORECASE)
# The columns of /kpi teams: the figures a manager compares teams on.
TEAMS_COLUMNS = (
    "tickets_created",
    "tickets_solved",
    "backlog",
    "first_reply_median_s",
    "resolution_median_s",
    "csat",
    "reopen_rate",
    "sla_attainment",
)


@dataclass(frozen=True)
class KpiRequest:
    kind: str  # team | agent | me | teams | org
    target: str | None  # team key/name or member handle/mention
    window: str | None
    sort: str | None = None
    share: bool = False
    at: datetime | None = None  # "now" of the original question (buttons keep it)
    back: int = 0  # windows before the asked one (Previous window button)

    def text(self) -> str:
        """The command that asks this again (what buttons carry)."""
        parts = ["/kpi", self.kind]
        if self.target and self.kind in ("team", "agent"):
            parts.append(f'"{self.target}"' if " " in self.target else self.target)
        parts.append(self.window or "7d")
        if self.sort:
            parts += ["--sort", self.sort]
        return " ".join(parts)


def parse_kpi(words: list[str]) -> KpiRequest:
    args = parse_args(words, switches=frozenset({"share"}), options=frozenset({"sort"}))
    rest = list(args.words)
    kind = rest.pop(0).lower() if rest else "team"
    if kind not in KINDS:
        if is_window(kind):  # `/kpi 30d` means my team over 30 days
            rest.insert(0, kind)
            kind = "team"
        else:
            raise UsageError(f"/kpi {kind} is not something I know; use team, agent, me, teams or org.")
    window = rest.pop() if rest and is_window(rest[-1]) else None
    if window is None and rest and _LOOKS_LIKE_WINDOW.match(rest[-1]) and (kind != "team" or len(rest) > 1):
        raise UsageError(f"{rest[-1]!r} is not a window. Windows: {WINDOW_HELP}.")
    target: str | None = None
    if kind in ("team", "agent"):
        # Forgive an unquoted team name with spaces: everything but the window.
        target = " ".join(rest) if rest else None
        if kind == "agent" and not target:
            raise UsageError("Say whose figures: /kpi agent @handle [WINDOW].")
    elif rest:
        word = rest[0]
        raise UsageError(f"{word!r} is not a window. Windows: {WINDOW_HELP}.")
    sort = args.option("sort")
    if sort is not None:
        if kind != "teams":
            raise UsageError("--sort applies to /kpi teams.")
        sort = sort.lower()
        if sort not in METRIC_NAMES and sort != "team":
            suggestions = closest(sort, sorted(METRIC_NAMES))
            raise UsageError(f"Cannot sort by {sort!r}. Try {', '.join(suggestions) or 'csat'}.")
    return KpiRequest(kind, target, window, sort, args.flag("share"))


@dataclass(frozen=True)
class Target:
    scope: Scope
    team: Team | None
    agent: Member | None
    timezone: str
    label: str


def _find_team(ctx: Context, text: str | None) -> Team:
    if text is None:
        if ctx.member.team is None:
            raise NotFound("You are not on a team, so say which: /kpi team TEAM (see /csbot teams).")
        return ctx.member.team
    wanted = text.strip().lower()
    teams = ctx.session.scalars(select(Team).where(Team.active.is_(True))).all()
    for team in teams:
        if team.key == wanted or team.name.lower() == wanted:
            return team
    by_label = {t.key: t.key for t in teams} | {t.name: t.key for t in teams}
    suggestions = list(dict.fromkeys(by_label[c] for c in closest(text, list(by_label))))
    hint = f" Did you mean {', '.join(suggestions)}?" if suggestions else " /csbot teams lists them."
    raise NotFound(f"There is no team called {text!r}.{hint}")


def _find_member(ctx: Context, text: str) -> Member:
    word = text.strip()
    active = Member.active.is_(True)
    if m := _SLACK_MENTION.match(word):
        found = ctx.session.scalar(select(Member).where(Member.slack_id == m.group(1), active))
        if found is None:
            raise NotFound("That Slack user is not a member of this organisation.")
        return found
    handle = word.lstrip("@").lower()
    found = ctx.session.scalar(select(Member).where(func.lower(Member.handle) == handle, active))
    if found is None:
        found = ctx.session.scalar(
            select(Member).where(active, (func.lower(Member.name) == handle) | (func.lower(Member.email) == handle))
        )
    if found is None:
        handles = ctx.session.scalars(select(Member.handle).where(active)).all()
        suggestions = closest(handle, handles)
        hint = f" Did you mean {', '.join('@' + s for s in suggestions)}?" if suggestions else ""
        raise NotFound(f"There is no member called {text!r}.{hint}")
    return found


def resolve(ctx: Context, request: KpiRequest) -> Target | None:
    """What the request is about; None for the all-teams table."""
    if request.kind == "teams":
        return None
    if request.kind == "org":
        return Target(Scope(), None, None, ctx.org_timezone, ctx.org.name if ctx.org else "Organisation")
    if request.kind == "team":
        team = _find_team(ctx, request.target)
        return Target(Scope(team_id=team.id), team, None, team.timezone, team.name)
    agent = ctx.member if request.kind == "me" else _find_member(ctx, request.target or "")
    return Target(Scope(agent_id=agent.id), agent.team, agent, agent.effective_timezone(ctx.org_timezone), agent.name)


def may_see_agent(viewer: Member, agent: Member) -> bool:
    """Agents see themselves; leads and managers their team's agents (role agent); admins everyone.

    A manager without a team oversees the whole organisation.
    """
    if viewer.id == agent.id or viewer.role == "admin":
        return True
    if viewer.role in ("lead", "manager") and agent.role == "agent":
        if viewer.role == "manager" and viewer.team_id is None:
            return True
        return viewer.team_id is not None and viewer.team_id == agent.team_id
    return False


def authorize_kpi(ctx: Context, request: KpiRequest) -> None:
    target = resolve(ctx, request)
    if target is None or target.agent is None:
        return  # team and org figures are open to every member
    agent = target.agent
    if not may_see_agent(ctx.member, agent):
        raise Forbidden(
            f"Agent figures are private: you can see your own, and leads and managers see their team's agents. "
            f"{agent.name} is not on your team."
        )
    if request.share and agent.id != ctx.member.id:
        raise Forbidden(f"Only {agent.name} can share their own figures in a channel.")


def _window(ctx: Context, request: KpiRequest, timezone: str) -> Window:
    try:
        window = parse_window(request.window, request.at or ctx.now, timezone)
        for _ in range(request.back):
            # Clicking "Previous window" again and again must stop at the first supported day.
            window = check_supported(window.previous())
    except WindowError as exc:
        raise UsageError(str(exc)) from None
    return window


def _has_previous(request: KpiRequest, before: Window) -> bool:
    """Whether a "Previous window" click could answer (not past MAX_BACK or before 1970)."""
    if request.back >= MAX_BACK:
        return False
    try:
        check_supported(before)
    except WindowError:
        return False
    return True


def _buttons(ctx: Context, request: KpiRequest, shareable: bool, before: Window) -> list[Actions]:
    """The card's buttons; none at all rather than an empty row (Slack refuses one)."""
    at = (request.at or ctx.now).isoformat()
    value = json.dumps({"text": request.text(), "at": at, "back": request.back}, separators=(",", ":"))
    previous = json.dumps({"text": request.text(), "at": at, "back": request.back + 1}, separators=(",", ":"))
    buttons = []
    if shareable and not request.share:
        buttons.append(Button("Share in channel", SHARE_ACTION, value, style="primary"))
    if _has_previous(request, before):
        buttons.append(Button("Previous window", PREVIOUS_ACTION, previous))
    return [Actions(tuple(buttons))] if buttons else []


def _rows(metrics: Metrics, previous: Metrics, targets: dict[str, Any]) -> tuple[tuple[str, ...], ...]:
    rows = []
    for m in METRICS:
        target = targets.get(m.name)
        status = target_status(m.name, metrics[m.name], target)
        rows.append(
            (
                m.label,
                metric_value(m.name, metrics[m.name]),
                change(m.name, metrics[m.name], previous[m.name]),
                metric_value(m.name, target) if target is not None else "",
                STATUS_LABEL[status] if status else "",
            )
        )
    return tuple(rows)


def execute_kpi(ctx: Context, request: KpiRequest) -> Reply:
    target = resolve(ctx, request)
    if target is None:
        return _teams_table(ctx, request)
    # Buttons must mean the same for whoever clicks them, and parse again:
    # name the team by key and the member by handle, never "my team", "me",
    # or the mention, name or email the person typed.
    if request.kind == "team" and target.team is not None:
        request = replace(request, target=target.team.key)
    elif request.kind in ("me", "agent") and target.agent is not None:
        request = replace(request, kind="agent", target=target.agent.handle)
    window = _window(ctx, request, target.timezone)
    before = window.previous()
    metrics = compute(ctx.session, target.scope, window.start_utc, window.end_utc)
    previous = compute(ctx.session, target.scope, before.start_utc, before.end_utc)
    targets = dict(target.team.targets) if target.team is not None and request.kind == "team" else {}
    if target.agent is not None and target.team is not None:
        targets = dict(target.team.targets)  # an agent is measured against their team's targets
    kind = "team" if request.kind == "team" else "agent" if target.agent is not None else "org"
    shareable = target.agent is None or target.agent.id == ctx.member.id
    title = f"KPIs · {target.label}" + (f" ({target.team.key})" if kind == "team" and target.team else "")
    return Reply(
        title=title,
        blocks=[
            Note(f"Window: {window.label()} · compared with {before.label()}"),
            Table(("Metric", "Value", "vs previous", "Target", "Status"), _rows(metrics, previous, targets)),
            *_buttons(ctx, request, shareable, before),
        ],
        visibility="channel" if request.share else "ephemeral",
        data={
            "scope": kind,
            "team": target.team.key if kind == "team" and target.team else None,
            "agent": target.agent.handle if target.agent is not None else None,
            "window": window.to_json(),
            "metrics": metrics,
            "previous": previous,
            "targets": {k: v for k, v in targets.items() if k in METRIC_NAMES},
        },
    )


def _sort_key(metric: str):  # type: ignore[no-untyped-def]
    better_high = BY_NAME[metric].higher_is_better

    def key(item: tuple[Team, Metrics]) -> tuple[int, float]:
        value = item[1][metric]
        if value is None:
            return (1, 0.0)  # no value sorts last either way
        return (0, -value if better_high else value)

    return key


def _teams_table(ctx: Context, request: KpiRequest) -> Reply:
    # One window in the org's time zone for every team, so rows compare like for like.
    window = _window(ctx, request, ctx.org_timezone)
    by_team = compute_by_team(ctx.session, window.start_utc, window.end_utc)
    teams = ctx.session.scalars(select(Team).where(Team.active.is_(True)).order_by(Team.key)).all()
    empty = metrics_from(0, [], [], 0)
    items = [(t, by_team.get(t.id, empty)) for t in teams]
    if request.sort and request.sort != "team":
        items.sort(key=_sort_key(request.sort))
    headers = ("Team", *(BY_NAME[m].label for m in TEAMS_COLUMNS))
    rows = tuple((t.key, *(metric_value(m, metrics[m]) for m in TEAMS_COLUMNS)) for t, metrics in items)
    sort_note = f" · sorted by {BY_NAME[request.sort].label}, best first" if request.sort in BY_NAME else ""
    return Reply(
        title="KPIs by team",
        blocks=[
            Note(f"Window: {window.label()}{sort_note}"),
            Table(headers, rows),
            *_buttons(ctx, request, shareable=True, before=window.previous()),
        ],
        visibility="channel" if request.share else "ephemeral",
        data={
            "scope": "org",
            "team": None,
            "agent": None,
            "window": window.to_json(),
            "sort": request.sort,
            "rows": [{"team": t.key, "metrics": metrics} for t, metrics in items],
        },
    )


class KpiCommand:
    name = "kpi"
    summary = "KPIs for a team, an agent, yourself or every team, over any window"
    usage = (
        "/kpi team [TEAM] [WINDOW] — your team, or another by key or name (quote names with spaces)\n"
        "/kpi agent @handle [WINDOW] — one agent (yourself; leads and managers: their team's agents)\n"
        "/kpi me [WINDOW] — your own figures\n"
        "/kpi teams [WINDOW] [--sort METRIC] — every team side by side\n"
        "/kpi org [WINDOW] — the whole organisation\n"
        "Add --share to post the answer in the channel.\n"
        f"WINDOW: {WINDOW_HELP}. Default 7d."
    )
    examples = (
        "/kpi team",
        '/kpi team "Support EMEA" 30d',
        "/kpi agent @alice last-week",
        "/kpi me month",
        "/kpi teams 30d --sort csat",
        "/kpi org 2026-03-01..2026-03-31",
    )

    def parse(self, words: list[str]) -> KpiRequest:
        return parse_kpi(words)

    def authorize(self, ctx: Context, request: KpiRequest) -> None:
        authorize_kpi(ctx, request)

    def execute(self, ctx: Context, request: KpiRequest) -> Reply:
        return execute_kpi(ctx, request)


def _parse_button(value: str, *, share: bool) -> KpiRequest:
    """The request a button carries, exactly as _buttons wrote it; anything else is damaged.

    A click's value can be forged (Teams card data comes from the client), so
    every field is checked for the type _buttons gives it.
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


def register(router: Router) -> None:
    router.register(KpiCommand())
    router.register_action(
        Action(SHARE_ACTION, lambda v: _parse_button(v, share=True), authorize_kpi, execute_kpi)
    )
    router.register_action(
        Action(PREVIOUS_ACTION, lambda v: _parse_button(v, share=False), authorize_kpi, execute_kpi, once_per_click=False)
    )
