"""What /healthz and /metrics report about the process, probed at most once a second whatever the traffic.

Both routes are anonymous: a load balancer, a monitoring system or a
stranger may call them a thousand times a second. The probe (database
reachable and at the newest schema, escalations overdue, outbox rows held
by leases that look abandoned) runs once per REFRESH_S on the anonymous
pool; every request in between is served the last result, and requests
arriving while a probe is under way share that probe.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from bot import escalations
from bot.anonymous import run_anonymous
from store.claimants import is_abandoned
from store.clock import Clock
from store.database import Database
from store.outbox import Leases, lease_report

log = logging.getLogger(__name__)

REFRESH_S = 1.0


@dataclass(frozen=True)
class Status:
    http_status: int
    body: bytes  # the JSON /healthz answers
    overdue: int | None  # escalations overdue; None when the database could not tell
    leases: Leases | None


@dataclass
class StatusCache:
    db: Database
    clock: Clock
    sweep_s: int
    refresh_s: float = REFRESH_S
    monotonic: Callable[[], float] = time.monotonic
    probes: int = 0  # how many probes ran (what the tests and the bench read)
    _status: Status | None = field(default=None, repr=False)
    _at: float = field(default=0.0, repr=False)
    _running: asyncio.Future[Status] | None = field(default=None, repr=False)

    async def current(self) -> Status:
        """The last status if it is fresh, else a new one (one probe for every caller waiting on it).

        While a probe runs, callers get the previous status (at most a second or
        two old) rather than waiting: only the first request of the process waits.
        """
        if self._status is not None and self.monotonic() - self._at < self.refresh_s:
            return self._status
        if self._running is None:
            self._running = asyncio.ensure_future(self._refresh())
        if self._status is not None:
            return self._status
        # Shielded: a caller that hangs up must not cancel the probe the others wait on.
        return await asyncio.shield(self._running)

    async def _refresh(self) -> Status:
        try:
            status = await run_anonymous(self._probe)
            self._status, self._at = status, self.monotonic()
            return status
        finally:
            self._running = None

    def _probe(self) -> Status:
        self.probes += 1
        db_status = self.db.health()
        if detail := db_status.pop("detail", None):
            # The driver's message names hosts and users: the log gets it, callers do not.
            log.warning("health check: %s", detail)
        body: dict[str, object] = {"status": "ok" if db_status["ok"] else "unavailable", "database": db_status}
        overdue = leases = None
        if db_status["ok"]:
            try:
                now = self.clock()
                # Escalations whose step is late by two sweeps: pages are not going out. The process
                # still answers (200), so a load balancer keeps it; monitoring reads "degraded".
                overdue = escalations.overdue(self.db, now, self.sweep_s)
                with self.db.sessions() as session:
                    leases = lease_report(session, now, grace=timedelta(seconds=2 * self.sweep_s), abandoned=is_abandoned)
            except Exception as exc:  # noqa: BLE001 (the probe must answer; the database part said what it could)
                log.warning("health check: cannot count overdue escalations or held pages: %s", type(exc).__name__)
            if overdue is not None:
                body["escalations"] = {"overdue": overdue, "sweep_seconds": self.sweep_s}
            if leases is not None:
                body["outbox"] = {"held": leases.held, "stale": leases.stale, "expired_lease": leases.expired, "claimant_gone": leases.abandoned}
            if overdue or (leases and leases.stale):
                body["status"] = "degraded"
        return Status(200 if db_status["ok"] else 503, json.dumps(body).encode(), overdue, leases)
