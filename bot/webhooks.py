"""`POST /webhooks/tickets`: ticket events from a helpdesk, signed with a shared secret.

The sender signs `"{timestamp}.{raw body}"` with HMAC-SHA256 and the secret in
CSBOT_WEBHOOK_SECRET, and sends:

    X-Csbot-Timestamp: 1767225600            (Unix seconds; at most 5 minutes old)
    X-Csbot-Signature: sha256=<hex digest>

Anything unsigned, mis-signed or stale gets 401 and touches nothing; with no
secret configured every request gets 401 (fail closed). The signature is
checked on the raw bytes before anything is parsed; a body that is not a
JSON event (or holds a lone surrogate, named by its field, or is dated
more than 10 minutes ahead of the clock) is 400, a body over 256 KB 413, and a database that cannot take
the write in CSBOT_DB_TIMEOUT_S 503 with Retry-After, so the helpdesk
retries and nothing is lost. An event that names a team or agent the org does
not know creates it, as an import does, and logs one INFO line naming it.
An event older than what the ticket holds for a field it sets is stored and
leaves that field alone (kpi.events); the answer says `"stale": 1`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from datetime import datetime, timezone

from aiohttp import web

from bot.chat_work import run_chat
from bot.json_text import surrogate_problem
from bot.refusals import refusals
from bot.request_body import Refused, read_body
from kpi.day_facts import refresh_database
from kpi.events import Applied, EventError, apply_event, parse_event
from store.clock import Clock
from store.database import Database
from store.engine import write_with_retry
from store.quoting import clip

log = logging.getLogger(__name__)

ROUTE = "/webhooks/tickets"
MAX_SKEW_S = 300
# Unix seconds have 10 digits until the year 2286; anything longer is not a timestamp.
MAX_TIMESTAMP_DIGITS = 12


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header value a sender must send (also used by tests and integrators)."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(secret: str | None, timestamp: str | None, signature: str | None, body: bytes, now: float) -> str | None:
    """None when the request is authentic, else the reason it is not."""
    if not secret:
        return "webhook secret not configured"
    if not timestamp or not signature:
        return "missing signature headers"
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= MAX_TIMESTAMP_DIGITS):
        return "bad timestamp"
    if abs(now - int(timestamp)) > MAX_SKEW_S:
        return "stale timestamp"
    # Bytes, not str: compare_digest refuses str with non-ASCII characters.
    if not hmac.compare_digest(sign(secret, timestamp, body).encode(), signature.strip().encode("utf-8", "replace")):
        return "bad signature"
    return None


def _apply(db: Database, payload: object, now: datetime) -> Applied:
    event = parse_event(payload, now=now)
    # SQLite: the write lock first, so concurrent events on one ticket apply one
    # after the other (PostgreSQL locks the ticket's row). A concurrent delivery
    # of the same event, or a first event of the same new ticket, may win the
    # race to insert; the retry then sees its result.
    return write_with_retry(db.sessions, lambda session: apply_event(session, event, now=now))


# An event marks up to four days; more marks than this mean an import (or a
# bulk write) is under way, which counts its own days when it ends.
_MOST_MARKS = 500


def _count_days(db: Database) -> None:
    """Recount the days the event changed (kpi.day_facts), so /kpi reads them as counted days.

    The event is stored whatever happens here: until a later refresh counts
    them, the engine reads those days from the tickets, so a failure costs
    speed, never a right answer, and is not the sender's to retry.
    """
    try:
        refresh_database(db, wait=False, most=_MOST_MARKS)
    except Exception as exc:  # noqa: BLE001 (logged; the answer does not depend on it)
        log.warning("could not recount KPI days after a ticket event: %s", type(exc).__name__)


def _log_created(applied: Applied) -> None:
    """One line naming the teams and agents an event created, so an admin can add them to the org file."""
    created = [f"team {clip(key)}" for key in applied.teams_created] + [f"agent {clip(handle)}" for handle in applied.agents_created]
    if created:
        log.info(
            "%s: created %s, named by ticket %s and not in the org; add to the org file (csbot org show lists them)",
            ROUTE,
            " and ".join(created),
            clip(applied.external_id),
        )


def _refuse(request: web.Request, status: int, reason: str, **extra: object) -> web.Response:
    refusals.refused(ROUTE, reason, request.remote)
    return web.json_response({"ok": False, "error": reason, **extra}, status=status)


def tickets_webhook(db: Database, secret: str | None, clock: Clock):  # type: ignore[no-untyped-def]
    async def handler(request: web.Request) -> web.Response:
        try:
            body = await read_body(request)
        except Refused as refused:
            return _refuse(request, refused.status, refused.reason)
        reason = verify(
            secret, request.headers.get("X-Csbot-Timestamp"), request.headers.get("X-Csbot-Signature"), body, time.time()
        )
        if reason is not None:
            refusals.refused(ROUTE, reason, request.remote)
            return web.json_response({"ok": False, "error": "unauthorized"}, status=401)
        try:
            payload = json.loads(body)
        except (ValueError, RecursionError):  # not UTF-8, not JSON, or nested past the parser's depth
            return _refuse(request, 400, "body is not JSON")
        # Before anything reads it: a lone surrogate cannot be stored or logged.
        if (surrogate := surrogate_problem(payload)) is not None:
            return _refuse(request, 400, "invalid event", problems=[surrogate])
        try:
            applied = await run_chat(_apply, db, payload, clock().astimezone(timezone.utc))
        except EventError as exc:
            return _refuse(request, 400, "invalid event", problems=exc.problems)
        _log_created(applied)
        if not applied.duplicate:
            await run_chat(_count_days, db)
        # A busy database propagates to bot.web's middleware: 503 with Retry-After.
        # `stale`: 1 when the event was older than what the ticket held for a
        # field it sets; `superseded` names those fields, kept at their later values.
        return web.json_response(
            {
                "ok": True,
                "duplicate": applied.duplicate,
                "ticket": applied.external_id,
                "stale": int(applied.stale),
                "superseded": list(applied.superseded),
            }
        )

    return handler
