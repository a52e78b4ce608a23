"""Signed Slack requests seen in the last few minutes, so a replayed one does nothing.

A signature is valid for 5 minutes either side of its timestamp, so anyone
who captures a signed slash command (a proxy log, a misdirected request) can
post it again, and `/kpi team --share` would post in the channel again. The
first delivery of a signature claims a row in `processed_requests` (key
`slack:sig:<digest>`); the unique key makes a second claim fail on every
csbot replica sharing the database, so a replay is acknowledged (200) and
does nothing else.

The claim is made by the lazy listener, after the acknowledgement Slack waits
3 seconds for, never on its path. Keys are kept for KEEP_S (a request stamped
up to 5 minutes ahead stays replayable for 10 minutes after it arrives) and
pruned at most once a minute per process.

`claim(key)` is the same first-claim-wins insert for other keys, such as the
message an @mention was in: Slack retries an event with a new signature, so
only the message's own identity tells that it was answered. Those keys are
never pruned (like clicks').
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from bot.chat_work import run_chat
from bot.refusals import RefusalLog
from bot.slack.verification import MAX_SKEW_S
from store.busy import is_busy
from store.database import Database
from store.processed import ProcessedRequest

log = logging.getLogger(__name__)

KEY_PREFIX = "slack:sig:"
# Replayable until timestamp + 5 min, and the timestamp may be 5 min ahead of
# arrival; the extra minute covers clocks that differ between replicas.
KEEP_S = 2 * MAX_SKEW_S + 60
PRUNE_EVERY_S = 60.0

# Where the HTTP endpoint leaves the request's signature and sender for the
# lazy listeners (Bolt copies custom context keys into their request).
SIGNATURE = "csbot_signature"
SOURCE = "csbot_source"


def _at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, timezone.utc)


class ReplayGuard:
    def __init__(self, db: Database, refusals: RefusalLog, route: str, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self.refusals = refusals
        self.route = route
        self.clock = clock
        self._lock = threading.Lock()
        self._next_prune = 0.0
        # Everything older than this was deleted by this process's last prune.
        self._pruned_below: float | None = None

    async def replayed(self, context: Mapping[str, Any]) -> bool:
        """True when the request in a listener's Bolt `context` was seen before (and say so in the log).

        Socket Mode requests carry no signature (the websocket is authenticated
        and Slack does not replay them): never a replay.
        """
        signature = context.get(SIGNATURE)
        if not signature:
            return False
        if await run_chat(self.first_delivery, signature):
            return False
        self.refusals.refused(self.route, "replayed signed request ignored", context.get(SOURCE))
        return True

    def first_delivery(self, signature: str) -> bool:
        """Claim `signature`: True the first time (on any replica), False for a replay.

        Blocking (run it in a thread). A busy database raises, as everywhere.
        """
        now = self.clock()
        if not self.claim(KEY_PREFIX + signature.removeprefix("v0="), now):
            return False
        try:
            self._prune(now)
        except Exception as exc:
            # Housekeeping only: it must not cost the request its answer; a
            # claim a minute from now tries again (the floor has not moved).
            if is_busy(exc):
                log.warning("replay keys not pruned: the database is busy")
            else:
                log.exception("replay keys not pruned")
        return True

    def claim(self, key: str, now: float | None = None) -> bool:
        """Record `key` as handled: True the first time (on any replica), False ever after.

        Blocking (run it in a thread). A busy database raises, as everywhere.
        """
        stamp = _at(self.clock() if now is None else now)
        try:
            with self.db.sessions() as session, session.begin():
                session.add(ProcessedRequest(key=key[:255], platform="slack", processed_at=stamp))
        except IntegrityError:
            return False
        return True

    def _prune(self, now: float) -> None:
        with self._lock:
            if now < self._next_prune:
                return
            self._next_prune = now + PRUNE_EVERY_S
            below, floor = now - KEEP_S, self._pruned_below
        # processed_at is indexed, `key LIKE 'prefix%'` cannot use the key index
        # on every backend (SQLite's LIKE ignores case, PostgreSQL's needs a C
        # collation), and other keys (clicks, events) are never deleted: so
        # after this process's first prune, only the slice of the index since
        # its previous one is read, not the whole history.
        stmt = delete(ProcessedRequest).where(ProcessedRequest.key.like(KEY_PREFIX + "%"), ProcessedRequest.processed_at < _at(below))
        if floor is not None:
            stmt = stmt.where(ProcessedRequest.processed_at >= _at(floor - 60))
        with self.db.sessions() as session, session.begin():
            session.execute(stmt)
        with self._lock:
            self._pruned_below = below
