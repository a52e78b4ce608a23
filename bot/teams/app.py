"""The Bot Framework CloudAdapter, mounted at POST /api/messages in the csbot app.

A request is checked in the order that costs a stranger the least of our
time and tells them the least: the content type (400), the bearer token's
shape and then the token itself (401, before the body is read), the body's
size (413) and shape (400; activity types csbot does not act on get 200),
then the token again against the activity it came with (401). Only then
does botbuilder run the turn. A database too busy to remember the
conversation is 503 with Retry-After, and so is a token that cannot be
checked because the signing keys cannot be fetched in time (bot.teams.keys),
and a turn that could not answer because csbot's own token for the Bot
Connector cannot be had in time (bot.teams.credentials); each time nothing
was done, so the Bot Connector can simply send the activity again. Each
refusal is one line in the refusal log, never with the body or the token.
"""

from __future__ import annotations

import asyncio
import logging
import traceback

import aiohttp
from aiohttp import web
from botbuilder.core import TurnContext, serializer_helper
from botbuilder.integration.aiohttp import (
    CloudAdapter,
    ConfigurationBotFrameworkAuthentication,
    ConfigurationServiceClientCredentialFactory,
)
from msrest.exceptions import ClientRequestError, HttpOperationError

from bot.chart_links import ChartLinks
from bot.config import TeamsSettings
from bot.refusals import refusals
from bot.request_body import Refused, read_body
from bot.teams import keys
from bot.teams.activity import MalformedActivity, read_activity
from bot.teams.bot import CsbotTeamsBot
from bot.teams.credentials import TokenUnavailable, TokenWarmingFactory
from bot.teams.delivery import TeamsNotifier
from bot.teams.keys import KeysUnavailable
from bot.teams.tokens import Unauthorized, authenticate, bearer_problem
from handlers.router import Router
from store.busy import BUSY_MESSAGE, RETRY_AFTER_S, is_busy
from store.clock import Clock
from store.database import Database

log = logging.getLogger(__name__)

ROUTE = "/api/messages"
KEYS_UNAVAILABLE = "Bot Framework signing keys are unavailable right now; try again shortly."
NO_TOKEN = "csbot cannot get a token to answer through the Bot Connector right now; try again shortly."
# The Bot Connector could not be reached or refused a reply: a platform problem, not a csbot bug.
CONNECTOR_FAILURES = (ClientRequestError, HttpOperationError, aiohttp.ClientError, asyncio.TimeoutError)
_PHRASES = {401: "unauthorized", 413: "body too large"}


def make_adapter(settings: TeamsSettings) -> CloudAdapter:
    """A CloudAdapter that checks Bot Framework tokens, unless auth is explicitly disabled."""
    credentials = TokenWarmingFactory(ConfigurationServiceClientCredentialFactory(settings))
    adapter = CloudAdapter(ConfigurationBotFrameworkAuthentication(settings, credentials_factory=credentials))

    async def on_error(turn_context: TurnContext, error: Exception) -> None:
        if is_busy(error):
            # Up to the endpoint: 503 with Retry-After, so the Connector sends the activity again.
            raise error
        if isinstance(error, CONNECTOR_FAILURES):
            log.warning("Teams turn could not answer through the Bot Connector: %s", type(error).__name__)
            return
        log.error("Teams turn failed: %s\n%s", error, "".join(traceback.format_exception(error)))
        try:
            await turn_context.send_activity("Something went wrong on our side; it has been logged.")
        except Exception:  # noqa: BLE001 (the error itself is already logged)
            pass

    adapter.on_turn_error = on_error
    return adapter


class TeamsApp:
    """The Teams side of csbot: the adapter, the activity handler and proactive delivery."""

    def __init__(self, settings: TeamsSettings, db: Database, router: Router, clock: Clock, links: ChartLinks | None = None) -> None:
        if settings.auth_disabled:
            log.warning(
                "!!! TEAMS_AUTH_DISABLED=true: /api/messages accepts requests WITHOUT Bot Framework tokens. "
                "For local testing only; never expose this server. !!!"
            )
        self.settings = settings
        keys.install()
        self.adapter = make_adapter(settings)
        self.notifier = TeamsNotifier(self.adapter, settings.app_id, db, clock, links)
        self.bot = CsbotTeamsBot(db, router, clock, self.notifier)

    async def messages(self, request: web.Request) -> web.StreamResponse:
        """POST /api/messages: one Bot Framework activity."""
        if request.content_type != "application/json":
            return _refuse(request, 400, "content type is not application/json")
        auth = self.adapter.bot_framework_authentication
        header = request.headers.get("Authorization", "")
        if header or not self.settings.auth_disabled:
            problem = bearer_problem(header)
            if problem is not None:
                return _refuse(request, 401, problem)
            try:
                await authenticate(auth, header)  # the token alone: nothing of the body is read for a stranger
            except Unauthorized as exc:
                return _refuse(request, 401, exc.reason)
            except KeysUnavailable:
                return _unavailable(request, "signing keys unavailable", KEYS_UNAVAILABLE)
        try:
            body = await read_body(request)
        except Refused as refused:
            return _refuse(request, refused.status, refused.reason)
        try:
            activity = read_activity(body)
        except MalformedActivity as exc:
            return _refuse(request, 400, exc.reason)
        if activity is None:
            log.debug("ignored a Teams activity csbot does not act on")
            return web.Response(status=200)
        try:
            # Again with the activity: its service URL and channel must be the ones the token was issued for.
            authenticated = await authenticate(auth, header, activity)
        except Unauthorized as exc:
            return _refuse(request, 401, exc.reason)
        except KeysUnavailable:
            return _unavailable(request, "signing keys unavailable", KEYS_UNAVAILABLE)
        try:
            invoke = await self.adapter.process_activity(authenticated, activity, self.bot.on_turn)
        except TokenUnavailable:  # before the turn started: nothing was done
            return _unavailable(request, "no token to answer with", NO_TOKEN)
        except Exception as exc:
            if not is_busy(exc):
                raise
            return _unavailable(request, "database busy", BUSY_MESSAGE)
        if invoke is not None:
            # A task module's answer is plain JSON already; Bot Framework models need serialising.
            body = invoke.body if isinstance(invoke.body, dict) else serializer_helper(invoke.body)
            return web.json_response(body, status=invoke.status)
        return web.Response(status=201)


def _refuse(request: web.Request, status: int, reason: str) -> web.Response:
    refusals.refused(ROUTE, reason, request.remote)
    # Only the body's problem is worth telling the sender; an authentication failure says nothing more.
    return web.json_response({"ok": False, "error": reason if status == 400 else _PHRASES[status]}, status=status)


def _unavailable(request: web.Request, reason: str, message: str) -> web.Response:
    refusals.refused(ROUTE, reason, request.remote)
    return web.json_response({"ok": False, "error": message}, status=503, headers={"Retry-After": str(RETRY_AFTER_S)})


def mount(web_app: web.Application, teams: TeamsApp) -> None:
    web_app.router.add_post(ROUTE, teams.messages)
