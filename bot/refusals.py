"""One log line per refused request, and never a flood of them.

A stranger can send thousands of unsigned requests a minute; each refusal is
logged as one WARNING line naming the route, the reason and the source
address (never the body, a header value, a secret or a token), and at most
`per_window` such lines per route per window are written. The rest are
counted, and one line says how many were left out when the next window
starts.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger("csbot.refused")

PER_WINDOW = 20
WINDOW_S = 60.0
MAX_REASON = 120


class RefusalLog:
    def __init__(
        self,
        logger: logging.Logger = log,
        *,
        per_window: int = PER_WINDOW,
        window_s: float = WINDOW_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger = logger
        self.per_window = per_window
        self.window_s = window_s
        self.clock = clock
        self._lock = threading.Lock()
        # route -> (window start, lines written, lines left out)
        self._windows: dict[str, tuple[float, int, int]] = {}

    def refused(self, route: str, reason: str, source: str | None) -> None:
        """Record that a request to `route` from `source` was refused for `reason` (a short phrase)."""
        now = self.clock()
        with self._lock:
            start, written, dropped = self._windows.get(route, (now, 0, 0))
            if now - start >= self.window_s:
                if dropped:
                    self.logger.warning("%s: %d more refused requests not logged in the last %.0f s", route, dropped, now - start)
                start, written, dropped = now, 0, 0
            if written >= self.per_window:
                self._windows[route] = (start, written, dropped + 1)
                return
            self._windows[route] = (start, written + 1, dropped)
        self.logger.warning("%s refused from %s: %s", route, source or "unknown", _clip(reason))


def _clip(reason: str) -> str:
    # Reasons are our own phrases, but some quote a library's message: keep one short line.
    line = " ".join(str(reason).split())
    return line if len(line) <= MAX_REASON else line[: MAX_REASON - 1] + "…"


# The process-wide log every HTTP route reports its refusals to.
refusals = RefusalLog()
