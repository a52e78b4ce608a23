"""The Bolt AsyncApp, mounted at POST /slack/events and, with SLACK_APP_TOKEN, on Socket Mode.

Bolt gets only what is known to be good. The HTTP endpoint reads the raw
bytes (413 over MAX_BODY), checks the signature and timestamp on them (401),
then decodes and parses (400) and checks the payload's shape (400), logging
one line per refusal; Bolt's own verification is off because nothing reaches
it unverified. Socket Mode envelopes (authenticated by the websocket) get the
same shape check before Bolt reads them. A replayed signed command, click or
mention is acknowledged and ignored by its lazy listener (bot.slack.replays).

Bolt and slack_sdk write whole payloads to their logs (Bolt at INFO for a
bad signature, both at DEBUG for every request and reply), so they get
loggers that never go below INFO (WARNING for Bolt); csbot writes its own
one-line summaries.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from urllib.parse import urlsplit
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.adapter.socket_mode.async_internals import send_async_response
from slack_bolt.adapter.socket_mode.internals import build_headers
from slack_bolt.async_app import AsyncApp
from slack_bolt.error import BoltUnhandledRequestError
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import SlackSettings
from bot.refusals import RefusalLog, refusals
from bot.request_body import Refused, read_body
from bot.slack.client import make_client, quiet_logger
from bot.slack.delivery import SLACK_RESPONSE_HOSTS, ResponseUrls
from bot.slack.deps import SlackDeps
from bot.slack.identity import SlackIdentity
from bot.slack.listeners import actions, commands, events, mentions, views
from bot.slack.payloads import FORM_TYPE, JSON_TYPE, Malformed, parse
from bot.slack.replays import SIGNATURE, SOURCE, ReplayGuard
from bot.slack.shapes import problem
from bot.slack.verification import unauthentic
from handlers.router import Router
from store.busy import RETRY_AFTER_S, is_busy
from store.clock import Clock
from store.database import Database

log = logging.getLogger(__name__)

ROUTE = "/slack/events"
SOCKET_ROUTE = "Slack Socket Mode"
SLOW_WORK_AT_ONCE = 2
# The only request headers passed on to Bolt. Others could steer it: with
# x-slack-bolt-lazy-only, Bolt would run a lazy listener instead of acknowledging.
BOLT_HEADERS = ("x-slack-retry-num", "x-slack-retry-reason")
_SAFE_NAME = re.compile(r"/?[a-z0-9_.-]{1,40}")


def _is_ssl_check(raw: bytes, content_type: str) -> bool:
    """Slack's certificate check: unsigned, `ssl_check=1` (and a token), nothing else.

    Nothing else: a request carrying a command or payload beside ssl_check=1
    is refused like any unsigned request, never answered as a check.
    """
    if content_type != FORM_TYPE or len(raw) > 1024:
        return False
    try:
        fields = parse(raw, FORM_TYPE)
    except Malformed:
        return False
    return fields.get("ssl_check") == "1" and set(fields) <= {"ssl_check", "token"}


def _kind(body: dict[str, Any]) -> str:
    """What a payload is, for a log line: names Slack uses, never arbitrary sender text."""
    if isinstance(body.get("command"), str):
        name = body["command"]
    elif body.get("type") == "event_callback":
        name = f"event {body['event'].get('type')}"
    else:
        name = str(body.get("type"))
    return name if _SAFE_NAME.fullmatch(name.removeprefix("event ")) else "payload"


def bolt_context(app: AsyncApp, **values: Any) -> dict[str, Any]:
    """The context a request starts with: Bolt logs while building it from a payload
    with several response_urls, and fails with a KeyError when it has no logger yet."""
    return {"logger": app.logger, **values}


class CheckedSocketModeHandler(AsyncSocketModeHandler):
    """Socket Mode with the same shape check as HTTP, before Bolt reads the payload.

    (A Bolt middleware would be too late: Bolt builds its request context from
    the payload, and fails on a wrong type, before any middleware runs.)
    """

    def __init__(self, app: AsyncApp, app_token: str, web_client: AsyncWebClient, refusal_log: RefusalLog) -> None:
        # The client logs every received message at DEBUG.
        super().__init__(app, app_token, logger=quiet_logger("csbot.slack.socket"), web_client=web_client)
        self.refusal_log = refusal_log

    async def handle(self, client: SocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
        started = time.time()
        found = problem(req.payload)
        if found is not None:
            self.refusal_log.refused(SOCKET_ROUTE, found, "slack")
            # Acknowledged, so Slack does not deliver it again; nothing else happens.
            await client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))
            return
        # What the adapter does, with a logger in the context (see bolt_context).
        request = AsyncBoltRequest(mode="socket_mode", body=req.payload, headers=build_headers(req), context=bolt_context(self.app))
        await send_async_response(client, req, await self.app.async_dispatch(request), started)


class SlackBot:
    """The Bolt app with csbot's listeners, its HTTP endpoint and its Socket Mode connection."""

    def __init__(self, settings: SlackSettings, db: Database, router: Router, clock: Clock) -> None:
        self.settings = settings
        self.client = make_client(settings)
        self.refusals = refusals
        self.deps = SlackDeps(
            db=db,
            router=router,
            clock=clock,
            client=self.client,
            identity=SlackIdentity(db, self.client),
            # Slack's own hooks host, and the API's host when SLACK_API_URL points elsewhere
            # (an enterprise proxy, or the local stand-in in tests).
            responses=ResponseUrls(SLACK_RESPONSE_HOSTS | {urlsplit(settings.api_url).hostname or ""}),
            work=asyncio.Semaphore(SLOW_WORK_AT_ONCE),
            replays=ReplayGuard(db, refusals, ROUTE),
        )
        self.app = AsyncApp(
            client=self.client,
            logger=quiet_logger("csbot.slack.bolt", logging.WARNING),
            # http_endpoint verifies every HTTP request before Bolt sees it; Socket Mode needs no signature.
            signing_secret="",
            request_verification_enabled=False,
            # Unhandled requests go to on_error (one line) instead of Bolt's multi-line hint with the payload.
            raise_error_for_unhandled_request=True,
            process_before_response=False,
        )
        self.app.error(self.on_error)
        for module in (commands, actions, events, mentions, views):
            module.register(self.app, self.deps)
        self._socket: AsyncSocketModeHandler | None = None

    async def http_endpoint(self, request: web.Request) -> web.StreamResponse:
        """POST /slack/events: 413, 401 and 400 for what is not a signed, well-formed Slack request."""
        try:
            bolt_request = await self._bolt_request(request)
        except Refused as refusal:
            self.refusals.refused(ROUTE, refusal.reason, request.remote)
            return web.json_response({"ok": False, "error": refusal.public}, status=refusal.status)
        if bolt_request is None:
            return web.Response(status=200)
        return await to_aiohttp_response(await self.app.async_dispatch(bolt_request))

    async def _bolt_request(self, request: web.Request) -> AsyncBoltRequest | None:
        """The verified, parsed and checked request for Bolt; None for Slack's ssl_check."""
        secret = self.settings.signing_secret
        if secret is None:
            raise Refused(401, "Slack HTTP requests are not configured (Socket Mode only)", "unauthorized")
        raw = await read_body(request)
        stamp = request.headers.get("X-Slack-Request-Timestamp")
        sent = request.headers.get("X-Slack-Signature")
        if sent is None and stamp is None and _is_ssl_check(raw, request.content_type):
            return None
        reason = unauthentic(secret, stamp, sent, raw, time.time())
        if reason is not None:
            raise Refused(401, reason, "unauthorized")
        try:
            payload = parse(raw, request.content_type)
        except Malformed as exc:
            raise Refused(400, str(exc)) from None
        found = problem(payload)
        if found is not None:
            raise Refused(400, found)
        headers = {name: request.headers[name] for name in BOLT_HEADERS if name in request.headers}
        # Bolt re-reads the body text for lazy listeners: give it the payload as
        # checked, as JSON, rather than have it parse the original a second way.
        return AsyncBoltRequest(
            body=json.dumps(payload),
            headers=headers | {"content-type": JSON_TYPE},
            context=bolt_context(self.app, **{SIGNATURE: sent, SOURCE: request.remote}),
        )

    async def on_error(self, error: Exception, body: dict[str, Any], response: BoltResponse | None) -> BoltResponse | None:
        """Bolt's error handler: unhandled requests and failed listeners, one line each."""
        if isinstance(error, BoltUnhandledRequestError):
            kind = _kind(body)
            if body.get("type") == "event_callback":
                # Slack retries an event that is not acknowledged, and disables the subscription.
                log.debug("no listener for Slack %s; acknowledged", kind)
                status = 200
            else:
                log.info("no listener for Slack %s", kind)
                status = 404
            return BoltResponse(status=status, body="") if response is not None else None
        if is_busy(error):
            log.warning("Slack %s not handled: the database is busy", _kind(body))
            if response is None:  # already acknowledged
                return None
            return BoltResponse(status=503, body={"ok": False, "error": "busy"}, headers={"Retry-After": str(RETRY_AFTER_S)})
        # A bug, not something a sender can cause (payloads are checked first): keep the traceback.
        log.error("Slack %s failed", _kind(body), exc_info=error)
        return None

    async def start(self, _app: web.Application) -> None:
        if self.settings.app_token:
            self._socket = CheckedSocketModeHandler(self.app, self.settings.app_token, self.client, self.refusals)
            await self._socket.connect_async()
            log.info("Slack Socket Mode connected")

    async def stop(self, _app: web.Application) -> None:
        if self._socket is not None:
            await self._socket.close_async()
        await self.deps.responses.close()


def mount(web_app: web.Application, bot: SlackBot) -> None:
    """Serve `bot` at POST /slack/events, and connect Socket Mode when the app starts."""
    web_app.router.add_post(ROUTE, bot.http_endpoint)
    web_app.on_startup.append(bot.start)
    web_app.on_cleanup.append(bot.stop)
