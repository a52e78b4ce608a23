"""GET /oncall/{QUEUE}.ics?key=…: a queue's on-call calendar for calendar subscriptions.

The key is an HMAC of the queue's key with a secret csbot keeps in its
database (`escalation.ics.subscription_key`); a wrong key, an unknown or
inactive queue all answer 404 and say nothing more.
"""

from __future__ import annotations

import asyncio
import hmac
from datetime import timedelta

from aiohttp import web
from sqlalchemy import select

from bot.refusals import refusals
from escalation.ics import DEFAULT_DAYS, PAST, queue_calendar, subscription_key
from store.clock import Clock
from store.database import Database
from store.engine import write_transaction
from store.org import Member
from store.queues import EscalationQueue

ROUTE = "/oncall/{name}"


def calendar_endpoint(db: Database, clock: Clock):  # type: ignore[no-untyped-def]
    def find(queue_key: str, key: str) -> str | None:
        with write_transaction(db.sessions) as session:
            queue = session.scalar(select(EscalationQueue).where(EscalationQueue.key == queue_key, EscalationQueue.active.is_(True)))
            if queue is None or not hmac.compare_digest(subscription_key(session, queue.key), key):
                return None
            now = clock()
            names = {m.handle: m.name for m in session.scalars(select(Member))}
            return queue_calendar(session, queue, None, now - PAST, now + timedelta(days=DEFAULT_DAYS), names, now)

    async def handler(request: web.Request) -> web.Response:
        name, key = request.match_info["name"], request.query.get("key", "")
        queue_key = name.removesuffix(".ics")
        text = None
        if name.endswith(".ics") and 0 < len(queue_key) <= 64 and len(key) == 40 and key.isascii():
            text = await asyncio.to_thread(find, queue_key, key)
        if text is None:
            refusals.refused("/oncall", "unknown queue or calendar key", request.remote)
            return web.Response(status=404, text="not found")
        return web.Response(body=text.encode("utf-8"), content_type="text/calendar", charset="utf-8", headers={"Cache-Control": "private, max-age=300"})

    return handler
