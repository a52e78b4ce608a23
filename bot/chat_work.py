"""The threads chat work runs on: slash commands, clicks, Teams messages, pages and the outbox.

Blocking database and composing work is run off the event loop. asyncio's
default pool is shared with everything in the process (aiohttp's DNS
lookups, libraries, anonymous GETs), so a flood of strangers' requests could
queue in front of an on-call page. Chat work gets its own bounded pool here;
anonymous routes get a separate, smaller one (bot/anonymous.py), so neither
can starve the other.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

# Chat work is mostly waiting on the database: more threads than cores pay off,
# but not more than the connection pool (5 + 10 overflow) can serve at once.
CHAT_THREADS = 12

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None


def chat_pool() -> ThreadPoolExecutor:
    """The process's chat pool (made on first use, so importing csbot starts no threads)."""
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=CHAT_THREADS, thread_name_prefix="csbot-chat")
        return _pool


async def run_chat(fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """`asyncio.to_thread`, on the chat pool: `fn(*args, **kwargs)` in a chat thread, with the caller's context."""
    loop = asyncio.get_running_loop()
    call = functools.partial(contextvars.copy_context().run, fn, *args, **kwargs)
    return await loop.run_in_executor(chat_pool(), call)
