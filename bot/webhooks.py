"""`POST /webhooks/tickets`: ticket events from a helpdesk, signed with a shared secret.

The sender signs `"{timestamp}.{raw body}"` with HMAC-SHA256 and the secret in
CSBOT_WEBHOOK_SECRET, and sends:

    X-Csbot-Timestamp: 1767225600            (Unix seconds; at most 5 minutes old)
    X-Csbot-Signature: sha256=<hex digest>

Anything unsigned, mis-signed or stale gets 401 and touches nothing; with no
secret configured every request gets 401 (fail closed).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from datetime import datetime, timezone

from aiohttp import web
from sqlalchemy.exc import IntegrityError

from kpi.events import Applied, EventError, apply_event, parse_event
from store.clock import Clock
from store.database import Database

log = logging.getLogger(__name__)

MAX_SKEW_S = 300
MAX_BODY = 256 * 1024


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
    try:
        ts = int(timestamp)
    except ValueError:
        return "bad timestamp"
    if abs(now - ts) > MAX_SKEW_S:
        return "stale timestamp"
    if not hmac.compare_digest(sign(secret, timestamp, body), signature.strip()):
        return "bad signature"
    return None


def _apply(db: Database, payload: object, now: datetime) -> Applied:
    event = parse_event(payload)
    for attempt in range(2):
        try:
            with db.sessions() as session, session.begin():
                return apply_event(session, event, now=now)
        except IntegrityError:
            # A concurrent delivery of the same event (or first event of the
            # same new ticket) won the race; the retry sees its result.
            if attempt:
                raise
    raise AssertionError("unreachable")


def tickets_webhook(db: Database, secret: str | None, clock: Clock):  # type: ignore[no-untyped-def]
    async def handler(request: web.Request) -> web.Response:
        if request.content_length is not None and request.content_length > MAX_BODY:
            return web.json_response({"ok": False, "error": "body too large"}, status=413)
        body = await request.read()
        if len(body) > MAX_BODY:
            return web.json_response({"ok": False, "error": "body too large"}, status=413)
        reason = verify(
            secret, request.headers.get("X-Csbot-Timestamp"), request.headers.get("X-Csbot-Signature"), body, time.time()
        )
        if reason is not None:
            log.warning("ticket webhook refused from %s: %s", request.remote, reason)
            return web.json_response({"ok": False, "error": "unauthorized"}, status=401)
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return web.json_response({"ok": False, "error": "body is not JSON"}, status=400)
        try:
            applied = await asyncio.to_thread(_apply, db, payload, clock().astimezone(timezone.utc))
        except EventError as exc:
            return web.json_response({"ok": False, "error": "invalid event", "problems": exc.problems}, status=400)
        return web.json_response({"ok": True, "duplicate": applied.duplicate, "ticket": applied.external_id})

    return handler
