"""`/coach summary [TEAM] [WINDOW]`: coaching at a glance for leads and above.

Per agent: notes (shared and private) and sessions in the window, open and
overdue action items, and how many agreed items were done; per tag, how often
it was used. Only the agents the caller looks after are counted, and only the
notes the caller may see (coaching.visibility), so a summary never tells a
lead about another team.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from coaching import notes, sessions
from coaching.visibility import oversees
from handlers.args import UsageError
from handlers.context import Context, Forbidden
from handlers.kpi_lookup import find_team
from handlers.window_words import split_window
from handlers.reply import Reply, Section, Table
from handlers.reply import Context as Note
from kpi.windows import Window, WindowError, looks_like_window, parse_window
from store.local_time import local_date
from store.org import Member, Team

SUMMARY_USAGE = "/coach summary [TEAM] [WINDOW] — notes, sessions, tags and open action items per agent (leads and above; default: those you look after, 30d)"


@dataclass(frozen=True)
class SummaryRequest:
    team: str | None = None
    window: str = "30d"


def listed_until(window: Window, now: datetime) -> datetime:
    """Where a listing or count over `window` stops, exclusive.

    Times are kept in whole seconds, so a window that reaches `now` ends one
    second after it: what was written this very second is in it.
    """
    if window.until >= now:
        return now.replace(microsecond=0) + timedelta(seconds=1)
    return window.until


def parse_summary(rest: list[str]) -> SummaryRequest:
    words = rest[1:]
    tags = [w for w in words if w.startswith("#")]
    if tags:
        # A tag is not a team: every tag's use is in the summary already.
        raise UsageError(
            f"{tags[0]!r} is a tag, not a team: the summary counts every tag (under the table). "
            f"For the notes with it: /coach history @agent {tags[0]}.\n{SUMMARY_USAGE}"
        )
    if len(words) > 8:
        raise UsageError(SUMMARY_USAGE)
    # A window's form decides (`last week`, `2026-02-30`); whether it is a valid window is said when it is read.
    split = split_window(words, names_first=False)
    if any(looks_like_window(w) for w in split.words):
        raise UsageError(f"One team and one window at most.\n{SUMMARY_USAGE}")
    return SummaryRequest(team=" ".join(split.words) or None, window=split.window or "30d")


def _team(ctx: Context, request: SummaryRequest) -> Team | None:
    """The team asked for; None: everyone the caller looks after (a manager without a team, an admin)."""
    if request.team is not None:
        return find_team(ctx, request.team, command="/coach summary")
    return ctx.member.team


def authorize_summary(ctx: Context, request: SummaryRequest) -> None:
    me = ctx.member
    if me.role == "agent":
        raise Forbidden("The coaching summary is for leads, managers and admins; /coach mine shows yours.")
    team = _team(ctx, request)
    if team is not None and not (me.role == "admin" or (me.role == "manager" and me.team_id is None) or me.team_id == team.id):
        raise Forbidden(f"The coaching summary of {team.name} is for its leads, its managers, managers without a team, and admins.")


def execute_summary(ctx: Context, request: SummaryRequest) -> Reply:
    team = _team(ctx, request)
    try:
        window = parse_window(request.window, ctx.now, team.timezone if team else ctx.timezone)
    except WindowError as exc:
        raise UsageError(str(exc)) from None
    query = select(Member).where(Member.role == "agent", Member.active.is_(True))
    if team is not None:
        query = query.where(Member.team_id == team.id)
    agents = [a for a in ctx.session.scalars(query.order_by(Member.name, Member.handle)) if oversees(ctx.member, a)]
    ids = [a.id for a in agents]
    # Everyone listed is looked after by the caller, who may therefore see all
    # their notes (private ones too) and sessions: counting in the database is
    # the same as counting what `notes.visible` would list, agent by agent.
    done = sessions.completion(ctx.session, ids)
    pending = sessions.open_counts(ctx.session, ids, local_date(ctx.now, ctx.timezone))
    until = listed_until(window, ctx.now)
    held = sessions.held_counts(ctx.session, ids, window.start, until)
    written = notes.counts(ctx.session, ids, window.start, until)
    tags: Counter[str] = Counter()
    for _, _, used in written.values():
        tags.update(used)
    rows = []
    data = []
    for agent in agents:
        shared, private, _ = written.get(agent.id, (0, 0, Counter()))
        open_now, overdue = pending[agent.id]
        c = done[agent.id]
        rows.append((agent.name, str(shared), str(private), str(held[agent.id]), str(open_now), str(overdue), f"{c.done}/{c.total} ({c.rate:.0%})" if c.rate is not None else "—"))
        data.append({
            "agent": agent.handle, "notes": shared, "private_notes": private, "sessions": held[agent.id],
            "open_actions": open_now, "overdue_actions": overdue, "actions_done": c.done, "actions_total": c.total, "completion_rate": c.rate,
        })  # fmt: skip
    blocks: list[Any] = [Note(f"Window: {window.label()} · {team.name if team else 'every agent you look after'}")]
    if rows:
        blocks.append(Table(("Agent", "Notes", "Private", "Sessions", "Open actions", "Overdue", "Actions done"), tuple(rows)))
    else:
        blocks.append(Section("No agents you look after here."))
    blocks.append(Section("Tags: " + (" · ".join(f"#{t} {n}" for t, n in sorted(tags.items(), key=lambda tn: (-tn[1], tn[0]))) if tags else "none in this window")))
    blocks.append(Note("Private notes are counted, never shown here; Actions done counts every item agreed with the agent."))
    return Reply(
        title=f"Coaching summary · {team.name if team else 'everyone you look after'}",
        blocks=blocks,
        data={"team": team.key if team else None, "window": window.to_json(), "agents": data, "tags": dict(sorted(tags.items()))},
    )
