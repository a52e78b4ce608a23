"""`/oncall me [@member] [14d]` (one person's shifts across every queue) and `/oncall export me [new]` (their calendar link).

Anyone may see their own shifts; leads, managers and admins anyone's (who is
on call is no secret: `/oncall schedule` shows every queue's to everyone;
the rule keeps agents' answers about themselves). The calendar link is
personal: each member gets only their own, and only they can rotate it.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

from escalation import calendar_tokens
from escalation.ics import DEFAULT_DAYS
from escalation.personal import MyShift, shifts_of
from handlers.args import UsageError
from handlers.context import Context, Forbidden
from handlers.escalation_views import local_full
from handlers.kpi_lookup import find_member
from handlers.reply import Reply, Section, Table
from handlers.reply import Context as Note
from store.engine import lock_for_write
from store.org import Member

ME_USAGE = "/oncall me [@member] [14d] — your shifts on call across every queue (leads and above: anyone's)"
EXPORT_USAGE = "/oncall export me [new] — your personal calendar link (every queue, covers included); new makes another, the old one stops working"
CALENDAR_PATH = "/oncall/me/{token}.ics"


def parse_export(rest: list[str]) -> str:
    """The action of `/oncall export me [new]`: show or new."""
    if not rest or rest[0].lower() != "me" or len(rest) > 2:
        raise UsageError(f"{EXPORT_USAGE}. A queue's calendar link is under /oncall schedule QUEUE.")
    if len(rest) == 1:
        return "show"
    if rest[1].lower() in ("new", "rotate"):
        return "new"
    raise UsageError(f"{rest[1]!r}: write /oncall export me new to make a new link. {EXPORT_USAGE}")


def authorize_me(ctx: Context, who: str | None) -> None:
    if who is None:
        return
    member = find_member(ctx, who)
    if member.id != ctx.member.id and not ctx.member.at_least("lead"):
        raise Forbidden("Only leads, managers and admins may look at someone else's shifts; /oncall schedule QUEUE shows who is on call for a queue.")


def _why(shift: MyShift) -> str:
    return f"cover {shift.cover.id} by @{shift.cover.by_handle}" if shift.cover else "rotation"


def me_reply(ctx: Context, who: str | None, span: timedelta) -> Reply:
    member: Member = find_member(ctx, who) if who else ctx.member
    start, end = ctx.now, ctx.now + span
    shifts = shifts_of(ctx.session, member, start, end)
    mine = member.id == ctx.member.id
    days = span.days
    data: dict[str, Any] = {"member": member.handle, "start": start.isoformat(), "end": end.isoformat(), "shifts": [s.to_json() for s in shifts]}
    title = f"My shifts on call · next {days} days" if mine else f"Shifts on call · {member.name} · next {days} days"
    if not shifts:
        whose = "You have" if mine else f"{member.name} has"
        inactive = "" if member.active else f" ({member.name} is no longer active.)"
        return Reply(title=title, blocks=[Section(f"{whose} no shifts on call in the next {days} days.{inactive}")], data=data)
    rows = tuple((f"{s.queue} / {s.schedule}", local_full(s.start, ctx.timezone), local_full(s.end, ctx.timezone), _why(s)) for s in shifts)
    blocks: list[Any] = [Table(("Queue / schedule", "From", "Until", "Why"), rows)]
    hint = " Subscribe to yours: /oncall export me." if mine else ""
    blocks.append(Note(f"Times in {ctx.timezone}.{hint}"))
    return Reply(title=title, blocks=blocks, data=data)


def public_base() -> str | None:
    """csbot's public https address, when it has one (calendar apps fetch links from the internet)."""
    public = os.environ.get("CSBOT_PUBLIC_URL", "").strip().rstrip("/")
    return public if public.startswith("https://") else None


def export_reply(ctx: Context, action: str) -> Reply:
    lock_for_write(ctx.session)
    base = public_base()
    data: dict[str, Any] = {"member": ctx.member.handle, "calendar_url": None, "rotated": action == "new"}
    blocks: list[Any] = []
    token: str | None = None
    if action == "new":
        # Rotated even without a public address: a link shown before must stop working all the same.
        token = calendar_tokens.rotate(ctx.session, ctx.member, ctx.now)
        blocks.append(Section("Your previous calendar link no longer works; a calendar subscribed to it stops updating."))
    elif base is not None:
        token = calendar_tokens.link_token(ctx.session, ctx.member, ctx.now)
    if base is None or token is None:
        blocks.insert(0, Section("csbot has no public https address (CSBOT_PUBLIC_URL), so calendar apps cannot reach a link: ask an admin to set it."))
        return Reply(title="Your on-call calendar", blocks=blocks, data=data, visibility="ephemeral")
    link = base + CALENDAR_PATH.format(token=token)
    data["calendar_url"] = link
    what = f"every queue, covers included, the last week and the next {DEFAULT_DAYS} days"
    blocks.insert(0, Section(f"{'New link' if action == 'new' else 'Your'} on-call calendar ({what}): {link}"))
    blocks.append(
        Note(
            "Add it to Google Calendar, Outlook or Apple Calendar as a calendar from a URL; it updates itself. "
            "Anyone with the link sees your shifts: if it leaks, /oncall export me new makes another and the old one stops working at once."
        )
    )
    return Reply(title="Your on-call calendar", blocks=blocks, data=data, visibility="ephemeral")


__all__ = ["CALENDAR_PATH", "EXPORT_USAGE", "ME_USAGE", "authorize_me", "export_reply", "me_reply", "parse_export", "public_base"]
