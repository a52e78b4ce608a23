"""Waking the escalation sweep at once when a command changed an escalation.

The sweep runs every few seconds anyway; a page planned by `/escalate`
(or an edit planned by Acknowledge) should not wait for it. Commands run
in worker threads, so the scheduler registers a wake-up that is safe to
call from any thread; with no scheduler in the process, nothing happens.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

_target: tuple[asyncio.AbstractEventLoop, Callable[[], None]] | None = None


def register(loop: asyncio.AbstractEventLoop, wake: Callable[[], None]) -> None:
    global _target
    _target = (loop, wake)


def unregister() -> None:
    global _target
    _target = None


def escalations() -> None:
    """Ask the scheduler (if this process runs one) to send due escalation messages now."""
    target = _target
    if target is None:
        return
    loop, wake = target
    if not loop.is_closed():
        loop.call_soon_threadsafe(wake)
