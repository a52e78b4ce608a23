"""Who and what a /kpi question is about, and who may see it.

Names are matched the way people type them: case, accents and repeated spaces
do not matter (`chloe  martin` finds Chloé Martin). Deactivated members are
found too, because their history stays theirs; the card says since when they
are inactive. Every refusal names its real reason.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from handlers.args import UsageError
from handlers.context import Context, Forbidden, Invalid, NotFound
from handlers.humanize import a_or_an
from handlers.router import closest
from kpi.engine import Scope
from kpi.windows import is_window, meant_as_window, not_a_window
from store.org import Member, Team
from store.team_renames import renamed_team

# Slack sends a mention in command text as <@U123ABC> or <@U123ABC|name>.
_SLACK_MENTION = re.compile(r"^<@([A-Z0-9]+)(?:\|[^>]*)?>$")


# Letters that are not a base letter plus an accent, so decomposing leaves them
# as they are; people without them on their keyboard type these instead.
_LETTERS = str.maketrans({
    "ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "ı": "i", "đ": "d", "Đ": "D", "ð": "d", "Ð": "D",
    "þ": "th", "Þ": "Th", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ß": "ss", "ħ": "h", "ŧ": "t",
})  # fmt: skip


def fold(text: str) -> str:
    """`Chloé  MARTIN` → `chloe martin`, `Søren Østergaard` → `soren ostergaard`:
    what two spellings of one name have in common."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_LETTERS))
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(bare.casefold().split())


@dataclass(frozen=True)
class Target:
    scope: Scope
    team: Team | None
    agent: Member | None
    timezone: str
    label: str


class NotAWindow(UsageError):
    """Text in the team's place that was surely meant as a window (`/kpi team 1w`)."""


def find_team(ctx: Context, text: str | None, *, command: str = "/kpi team") -> Team:
    """The active team called `text` (key or name), else the caller's own team.

    A key the org file renamed (`renamed_from:`) is answered with the team's
    new key, so whoever still types the old one learns it.
    """
    if text is None:
        if ctx.member.team is None:
            raise NotFound(f"You are not on a team, so say which: {command} TEAM (see /csbot teams).")
        return ctx.member.team
    wanted = fold(text)
    teams = ctx.session.scalars(select(Team).where(Team.active.is_(True))).all()
    for team in teams:
        if fold(team.key) == wanted or fold(team.name) == wanted:
            return team
    renamed = renamed_team(ctx.session, text)
    if renamed is not None:
        if renamed.active:
            raise NotFound(f"Team {text.strip()!r} is now called {renamed.key} ({renamed.name}): {command} {renamed.key}")
        raise NotFound(f"Team {text.strip()!r} was renamed {renamed.key}, which is no longer active.")
    if meant_as_window(text):
        # `/kpi team 1w`: the person meant a window, not a team called "1w".
        raise NotAWindow(not_a_window(text))
    by_label = {t.key: t.key for t in teams} | {t.name: t.key for t in teams}
    suggestions = list(dict.fromkeys(by_label[c] for c in closest(text, list(by_label))))
    hint = f" Did you mean {', '.join(suggestions)}?" if suggestions else " /csbot teams lists them."
    if is_window(text):
        hint += f" (In quotes it is a name; without them, {text} is a window: {command} {text}.)"
    raise NotFound(f"There is no team called {text!r}.{hint}")


def find_member(ctx: Context, text: str) -> Member:
    """The member a person named: Slack mention, @handle, handle, name or email; active or not."""
    word = text.strip()
    if m := _SLACK_MENTION.match(word):
        found = ctx.session.scalar(select(Member).where(Member.slack_id == m.group(1)))
        if found is None:
            raise NotFound("That Slack user is not a member of this organisation.")
        return found
    wanted = fold(word.removeprefix("@"))
    # Most people type a handle: a query that returns that one member instead of loading every
    # member to compare folded names (tens of milliseconds in an org of hundreds).
    exact = ctx.session.scalars(select(Member).where(func.lower(Member.handle) == wanted).limit(2)).all()
    if len(exact) == 1:
        return exact[0]
    members = ctx.session.scalars(select(Member).order_by(Member.active.desc(), Member.handle)).all()
    by_handle = [m for m in members if fold(m.handle) == wanted]
    if by_handle:
        return by_handle[0]  # handles are unique
    named = [m for m in members if fold(m.name) == wanted or (m.email is not None and fold(m.email) == wanted)]
    if len(named) > 1:
        # Never guess between namesakes, a former one included: the answer would be about the wrong person.
        handles = ", ".join("@" + m.handle + ("" if m.active else " (inactive)") for m in named[:10])
        raise Invalid(f"{len(named)} members are called {text!r}: {handles}. Name one by its handle.")
    if named:
        return named[0]
    if meant_as_window(word):
        raise NotAWindow(not_a_window(word))
    suggestions = closest(word.removeprefix("@").lower(), [m.handle for m in members if m.active])
    hint = f" Did you mean {', '.join('@' + s for s in suggestions)}?" if suggestions else ""
    raise NotFound(f"There is no member called {text!r}.{hint}")


def agent_refusal(viewer: Member, agent: Member) -> str | None:
    """Why `viewer` may not see `agent`'s figures, or None when they may.

    Agents see themselves; leads and managers their own team's agents (role
    agent; a manager without a team oversees every team); admins everyone.
    """
    if viewer.id == agent.id or viewer.role == "admin":
        return None
    if agent.role != "agent":
        return f"{agent.name} is {a_or_an(agent.role)}, not an agent; /kpi agent shows agents (and yourself: /kpi me)."
    if viewer.role == "agent":
        return (
            "Agent figures are private: you can see your own (/kpi me); "
            "your team's lead and managers see the team's agents."
        )
    if viewer.role == "manager" and viewer.team_id is None:
        return None
    if agent.team is None:
        return f"{agent.name} is not on a team, so only admins and managers without a team see their figures."
    their_team = agent.team.name
    if viewer.team_id is None:
        return f"You are not on a team, so you oversee no agents; {agent.name} is on {their_team}."
    if viewer.team_id != agent.team_id:
        yours = viewer.team.name if viewer.team is not None else "your team"
        return f"{agent.name} is on {their_team}, not your team ({yours}); their own lead sees their figures."
    return None


def may_see_agent(viewer: Member, agent: Member) -> bool:
    return agent_refusal(viewer, agent) is None


def team_table_refusal(viewer: Member, team: Team) -> str | None:
    """Why `viewer` may not see the per-agent table of `team`, or None when they may."""
    if viewer.role == "admin" or (viewer.role == "manager" and viewer.team_id is None):
        return None
    if viewer.role == "agent":
        return "The agent table is for the team's leads, managers and admins; /kpi me shows your own figures."
    if viewer.team_id != team.id:
        yours = viewer.team.name if viewer.team is not None else "no team"
        return f"You oversee {yours}, not {team.name}; its own lead and managers see its agents."
    return None


def require(refusal: str | None) -> None:
    if refusal is not None:
        raise Forbidden(refusal)


def inactive_note(member: Member, timezone: str) -> str | None:
    """`Alice Smith is inactive since 2026-11-02` for a deactivated member, else None."""
    if member.active:
        return None
    if member.deactivated_at is None:
        return f"{member.name} is inactive (deactivated before csbot kept the date)."
    day = member.deactivated_at.astimezone(ZoneInfo(timezone)).date()
    return f"{member.name} is inactive since {day.isoformat()}."
