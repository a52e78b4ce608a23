"""GET /oncall/{QUEUE}.ics?key=…: a queue's on-call calendar for calendar subscriptions.

The key is an HMAC of the queue's key with a secret csbot keeps in its
database (`escalation.ics.subscription_key`); a wrong key, an unknown or
inactive queue all answer 404 and say nothing more.

Anyone can call this route, so it costs as little as it can: the secret is
read once and kept, a forged key is refused from memory, the database is
only read (never the write lock a GET does not need), a calendar is
rebuilt at most once a minute per queue, and the work runs on the
anonymous pool behind the app's gate (bot/anonymous.py).
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta

from aiohttp import web
from sqlalchemy import select

from bot.anonymous import SharedRead, run_anonymous
from bot.refusals import refusals
from escalation.ics import DEFAULT_DAYS, KEY_NAME, PAST, key_for, queue_calendar
from store.chart_images import KnownKey
from store.clock import Clock
from store.database import Database
from store.org import Member
from store.queues import EscalationQueue

ROUTE = "/oncall/{name}"
# Calendar apps poll every few hours; a minute-old calendar is as good as a new one.
CALENDAR_TTL_S = 60.0


def calendar_endpoint(db: Database, clock: Clock) -> Callable[[web.Request], Awaitable[web.Response]]:
    secret = KnownKey(KEY_NAME)
    built: dict[str, tuple[float, str | None]] = {}  # queue key -> (when, calendar or None for no such queue)

    def read_secret() -> str | None:
        with db.sessions() as session:
            return secret.read(session)

    def build(queue_key: str) -> str | None:
        with db.sessions() as session:
            queue = session.scalar(select(EscalationQueue).where(EscalationQueue.key == queue_key, EscalationQueue.active.is_(True)))
            if queue is None:
                return None
            now = clock()
            names = {m.handle: m.name for m in session.scalars(select(Member))}
            return queue_calendar(session, queue, None, now - PAST, now + timedelta(days=DEFAULT_DAYS), names, now)

    shared = SharedRead(read_secret, lambda: secret.value, lambda: secret.known_missing)

    async def find(queue_key: str, key: str) -> str | None:
        value = await shared.get()
        if value is None or not hmac.compare_digest(key_for(value, queue_key), key):
            return None  # no link was ever made, or a forged one
        at, text = built.get(queue_key, (0.0, None))
        if time.monotonic() - at >= CALENDAR_TTL_S:
            text = await run_anonymous(build, queue_key)
            built[queue_key] = (time.monotonic(), text)
        return text

    async def handler(request: web.Request) -> web.Response:
        name, key = request.match_info["name"], request.query.get("key", "")
        queue_key = name.removesuffix(".ics")
        text = None
        if name.endswith(".ics") and 0 < len(queue_key) <= 64 and len(key) == 40 and key.isascii():
            text = await find(queue_key, key)
        if text is None:
            refusals.refused("/oncall", "unknown queue or calendar key", request.remote)
            return web.Response(status=404, text="not found")
        return web.Response(body=text.encode("utf-8"), content_type="text/calendar", charset="utf-8", headers={"Cache-Control": "private, max-age=300"})

    return handler
