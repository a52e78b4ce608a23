"""What strangers may cost: anonymous GETs (health, metrics, calendars, charts) on a small pool, with a bounded queue.

Anyone on the internet can call these routes, as often as they like. They
run their blocking work on their own two threads (never the chat pool, see
bot/chat_work.py), at most RUNNING requests at a time, and at most WAITING
more queue behind those; beyond that a request is answered 503 with
Retry-After at once, before any work. A flood then costs its sender a
refusal, and the chat work the on-call depends on never waits for it.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from aiohttp import web

from bot.metrics import ANONYMOUS_REFUSED
from bot.refusals import refusals

P = ParamSpec("P")
T = TypeVar("T")

ANONYMOUS_THREADS = 2
RUNNING = 4
WAITING = 32
RETRY_AFTER_S = 1
BUSY_BODY = b'{"ok": false, "error": "busy; retry later"}'


_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None


def anonymous_pool() -> ThreadPoolExecutor:
    """The process's pool for anonymous routes (made on first use)."""
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=ANONYMOUS_THREADS, thread_name_prefix="csbot-anonymous")
        return _pool


async def run_anonymous(fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """`fn(*args, **kwargs)` on the anonymous pool."""
    loop = asyncio.get_running_loop()
    call = functools.partial(contextvars.copy_context().run, fn, *args, **kwargs)
    return await loop.run_in_executor(anonymous_pool(), call)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class SharedRead:
    """A value read once from the database on the anonymous pool, by one request while the others go on without it.

    For the keys that sign calendar and chart links (store.chart_images.KnownKey):
    until the key is known, at most one request at a time reads it; the rest are
    answered as if there were none (404, as for any link that cannot be checked).
    """

    def __init__(self, read: Callable[[], str | None], known: Callable[[], str | None], missing: Callable[[], bool]) -> None:
        self._read, self._known, self._missing = read, known, missing
        self._reading = False

    async def get(self) -> str | None:
        value = self._known()
        if value is not None or self._missing() or self._reading:
            return value
        self._reading = True
        try:
            return await run_anonymous(self._read)
        finally:
            self._reading = False



class Gate:
    """At most `running` anonymous requests at work and `waiting` queued; the rest refused at once.

    One gate per app, shared by every anonymous route, so a flood of one route
    cannot be combined with another to get more of the process.
    """

    def __init__(self, *, running: int = RUNNING, waiting: int = WAITING) -> None:
        self.running = running
        self.waiting = waiting
        self._slots = asyncio.Semaphore(running)
        self._queued = 0

    def guard(self, route: str, handler: Handler) -> Handler:
        """`handler`, behind this gate; `route` names it in refusals and the counter."""

        async def guarded(request: web.Request) -> web.StreamResponse:
            if self._slots.locked() and self._queued >= self.waiting:
                ANONYMOUS_REFUSED.labels(route).inc()
                refusals.refused(route, "too many anonymous requests waiting", request.remote)
                return web.Response(body=BUSY_BODY, status=503, content_type="application/json", headers={"Retry-After": str(RETRY_AFTER_S)})
            self._queued += 1
            try:
                await self._slots.acquire()
            finally:
                self._queued -= 1
            try:
                return await handler(request)
            finally:
                self._slots.release()

        return guarded
