"""GET /oncall/me/<token>.ics: one member's on-call calendar (every queue, covers included), for calendar subscriptions.

The token (escalation.calendar_tokens) names the member and a generation,
signed with a secret csbot keeps in its database. A token that is not
well-formed or not signed, one a rotation replaced, one of a member who is
no longer active or never asked for a link: all answer 404 and say nothing
more.

The rules of every anonymous route (bot/anonymous.py, as for the queue
calendars of bot/oncall_calendar.py): behind the app's gate, on the
anonymous pool, read-only, and cheap for strangers. A forged token is
refused from memory (the HMAC); a token seen to be replaced is remembered
and refused from memory too (generations only grow). Only a token csbot
signed costs a read, of the member's generation, on every request, so a
rotation stops the old link at once, in every replica; the calendar itself
is built at most once a minute per token.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import timedelta

from aiohttp import web
from sqlalchemy import select

from bot.anonymous import SharedRead, run_anonymous
from bot.refusals import refusals
from escalation import calendar_tokens
from escalation.ics import DEFAULT_DAYS, PAST, personal_calendar
from store.chart_images import KnownKey
from store.clock import Clock
from store.database import Database
from store.org import Member

ROUTE = "/oncall/me/{name}"
# Calendar apps poll every few hours; a minute-old calendar is as good as a new one.
CALENDAR_TTL_S = 60.0
# Replaced tokens remembered, at most (forgotten all at once beyond: each then costs one read again).
STALE_KEPT = 10_000


def personal_endpoint(db: Database, clock: Clock) -> Callable[[web.Request], Awaitable[web.Response]]:
    secret = KnownKey(calendar_tokens.KEY_NAME)
    built: dict[str, tuple[float, str]] = {}  # token -> (when, calendar)
    stale: set[tuple[int, int]] = set()  # (member, generation) of tokens a rotation replaced

    def read_secret() -> str | None:
        with db.sessions() as session:
            return secret.read(session)

    def generation(member_id: int) -> int | None:
        with db.sessions() as session:
            return calendar_tokens.current_generation(session, member_id)

    def build(member_id: int) -> str | None:
        with db.sessions() as session:
            member = session.get(Member, member_id)
            if member is None or not member.active:
                return None
            now = clock()
            names = {m.handle: m.name for m in session.scalars(select(Member))}
            return personal_calendar(session, member, now - PAST, now + timedelta(days=DEFAULT_DAYS), names, now)

    shared = SharedRead(read_secret, lambda: secret.value, lambda: secret.known_missing)

    async def find(text: str) -> str | None:
        token = calendar_tokens.parse_token(text)
        if token is None or (token.member_id, token.generation) in stale:
            return None
        value = await shared.get()
        if value is None or not calendar_tokens.signed(value, token):
            return None  # no link was ever made, or a forged one
        current = await run_anonymous(generation, token.member_id)
        if current != token.generation:
            if current is not None and current > token.generation:
                if len(stale) >= STALE_KEPT:
                    stale.clear()
                stale.add((token.member_id, token.generation))
            return None
        at, calendar = built.get(text, (0.0, None))
        if calendar is None or time.monotonic() - at >= CALENDAR_TTL_S:
            calendar = await run_anonymous(build, token.member_id)
            if calendar is None:
                return None
            for old in [k for k, (when, _) in built.items() if time.monotonic() - when >= CALENDAR_TTL_S]:
                del built[old]  # only fresh calendars are kept: memory bounded by the links used in a minute
            built[text] = (time.monotonic(), calendar)
        return calendar

    async def handler(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        text = await find(name.removesuffix(".ics")) if name.endswith(".ics") else None
        if text is None:
            refusals.refused("/oncall/me", "unknown or replaced calendar token", request.remote)
            return web.Response(status=404, text="not found")
        return web.Response(body=text.encode("utf-8"), content_type="text/calendar", charset="utf-8", headers={"Cache-Control": "private, max-age=60"})

    return handler


__all__ = ["ROUTE", "personal_endpoint"]
