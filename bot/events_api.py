"""`POST /events/v2/enqueue`: PagerDuty's Events API v2, so monitoring and helpdesk tools escalate to csbot.

A tool that can send to PagerDuty sends to csbot by changing the URL: the
body carries a queue's routing key (`csbot oncall key QUEUE`), the action
and the dedup key, and the answers are PagerDuty's:

    202 {"status": "success", "message": "Event processed", "dedup_key": "…"}
    400 {"status": "invalid event", "message": "Event object is invalid", "errors": ["…", …]}
    404 {"status": "invalid routing key", …}   unknown and revoked keys alike
    413 over 512 KB;  429 beyond the key's rate, with Retry-After;  503 database busy, with Retry-After

The key is in the body, so the body is read (bounded in size and time) and
decoded before anything is authenticated; an unknown key is then refused
from memory: the keys in force are read at most once every few seconds,
whatever a stranger sends. Only an event with a key in force reaches the
database, on the chat pool, within the key's rate.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import timezone

from aiohttp import web

from bot.chat_work import run_chat
from bot.anonymous import run_anonymous
from bot.json_text import surrogate_problem
from bot.refusals import refusals
from bot.request_body import Refused, read_body
from escalation import routing_keys
from escalation.events_api import Event, InvalidEvent, apply_event, parse_event
from handlers.escalation_views import ticket_url
from store.clock import Clock
from store.database import Database
from store.engine import lock_for_write

ROUTE = "/events/v2/enqueue"
MAX_EVENT_BODY = 512 * 1024
# A key created a moment ago is known within this long; a flood of made-up keys costs one read per period.
KEYS_TTL_S = 2.0
WINDOW_S = 60.0

Handler = Callable[[web.Request], Awaitable[web.Response]]


def _answer(status: int, body: dict[str, object], headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(body, status=status, headers=headers)


def _invalid(request: web.Request, errors: list[str], reason: str) -> web.Response:
    refusals.refused(ROUTE, reason, request.remote)
    return _answer(400, {"status": "invalid event", "message": "Event object is invalid", "errors": errors})


def _unknown_key(request: web.Request) -> web.Response:
    refusals.refused(ROUTE, "unknown routing key", request.remote)
    return _answer(404, {"status": "invalid routing key", "message": "Routing key not found", "errors": ["Routing key not found"]})


class KnownKeys:
    """The digests of the keys in force, read again at most every KEYS_TTL_S (and whenever a key is unknown)."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._digests: dict[str, int] = {}
        self._read_at = -math.inf
        self._lock = asyncio.Lock()

    def _read(self) -> dict[str, int]:
        with self._db.sessions() as session:
            return routing_keys.live_digests(session)

    async def knows(self, key: str) -> bool:
        digest = routing_keys.digest_of(key)
        if digest in self._digests:
            return True
        async with self._lock:  # one read for everyone asking meanwhile
            if digest not in self._digests and time.monotonic() - self._read_at >= KEYS_TTL_S:
                self._digests = await run_anonymous(self._read)
                self._read_at = time.monotonic()
        return digest in self._digests

    def forget(self, key: str) -> None:
        """A key the database no longer has in force: revoked since the last read, most likely by a rotation
        whose new key is about to be used, so the next unknown key reads the keys again at once."""
        self._digests.pop(routing_keys.digest_of(key), None)
        self._read_at = -math.inf


class RateLimit:
    """At most `per_minute` events per key in any 60 seconds (this process's count)."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._seen: dict[str, deque[float]] = {}

    def wait_s(self, key: str) -> int:
        """0 when this event may go ahead (and it is counted), else the seconds until one may."""
        now = time.monotonic()
        seen = self._seen.setdefault(routing_keys.digest_of(key), deque())
        while seen and now - seen[0] >= WINDOW_S:
            seen.popleft()
        if len(seen) >= self.per_minute:
            return max(1, math.ceil(WINDOW_S - (now - seen[0])))
        seen.append(now)
        return 0


def _apply(db: Database, key: str, event: Event, clock: Clock) -> dict[str, object] | None:
    """The event applied for the key's queue, as the answer says it; None when the key is not (or no longer) in force."""
    now = clock().astimezone(timezone.utc)
    with db.sessions() as session:
        lock_for_write(session)
        found = routing_keys.find(session, key)
        if found is None:
            return None
        row, queue = found
        applied = apply_event(session, row, queue, event, now, ticket_url=ticket_url)
        answer: dict[str, object] = {"status": "success", "message": "Event processed", "dedup_key": applied.dedup_key}
        answer["outcome"] = applied.outcome
        if applied.escalation is not None:
            answer["escalation"] = applied.escalation.label
        session.commit()
        return answer


def events_endpoint(db: Database, clock: Clock, per_minute: int) -> Handler:
    known = KnownKeys(db)
    limit = RateLimit(per_minute)

    async def handler(request: web.Request) -> web.Response:
        try:
            raw = await read_body(request, limit=MAX_EVENT_BODY)
        except Refused as refused:
            refusals.refused(ROUTE, refused.reason, request.remote)
            status = "request too large" if refused.status == 413 else "invalid event"
            return _answer(refused.status, {"status": status, "message": refused.public, "errors": [refused.public]})
        try:
            body = json.loads(raw)
        except (ValueError, RecursionError):  # not UTF-8, not JSON, or nested past the parser's depth
            return _invalid(request, ["Event object is invalid (the body is not JSON)"], "body is not JSON")
        if not isinstance(body, dict):
            return _invalid(request, ["Event object is invalid (must be a JSON object)"], "body is not an object")
        key = body.get("routing_key")
        if not isinstance(key, str) or not key.strip():
            return _invalid(request, ["'routing_key' is missing or blank"], "no routing key")
        if not routing_keys.KEY_SHAPE.match(key) or not await known.knows(key):
            return _unknown_key(request)
        if (wait := limit.wait_s(key)) > 0:
            refusals.refused(ROUTE, "rate limited", request.remote)
            message = f"More than {limit.per_minute} events a minute for this routing key; retry after {wait} s"
            return _answer(429, {"status": "throttle event", "message": message, "errors": [message]}, {"Retry-After": str(wait)})
        # Before anything stores it: a lone surrogate cannot be stored or logged.
        if (surrogate := surrogate_problem(body)) is not None:
            return _invalid(request, [surrogate], "lone surrogate")
        try:
            event = parse_event(body)
        except InvalidEvent as invalid:
            return _invalid(request, invalid.errors, "invalid event")
        answer = await run_chat(_apply, db, key, event, clock)
        # (A busy database propagates to bot.web's middleware: 503 with Retry-After, and the sender retries.)
        if answer is None:
            known.forget(key)
            return _unknown_key(request)
        return _answer(202, answer)

    return handler


__all__ = ["MAX_EVENT_BODY", "ROUTE", "events_endpoint"]
