"""The Bot Framework CloudAdapter, mounted at POST /api/messages in the csbot app."""

from __future__ import annotations

import logging
import traceback

import jwt

from aiohttp import web
from botbuilder.core import TurnContext
from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication

from bot.config import TeamsSettings
from bot.teams.bot import CsbotTeamsBot
from bot.teams.delivery import TeamsNotifier
from handlers.router import Router
from store.clock import Clock
from store.database import Database

log = logging.getLogger(__name__)


def make_adapter(settings: TeamsSettings) -> CloudAdapter:
    """A CloudAdapter that checks Bot Framework tokens, unless auth is explicitly disabled."""
    adapter = CloudAdapter(ConfigurationBotFrameworkAuthentication(settings))

    async def on_error(turn_context: TurnContext, error: Exception) -> None:
        log.error("Teams turn failed: %s\n%s", error, "".join(traceback.format_exception(error)))
        try:
            await turn_context.send_activity("Something went wrong on our side; it has been logged.")
        except Exception:  # noqa: BLE001 (the error itself is already logged)
            pass

    adapter.on_turn_error = on_error
    return adapter


class TeamsApp:
    def __init__(self, settings: TeamsSettings, db: Database, router: Router, clock: Clock) -> None:
        if settings.auth_disabled:
            log.warning(
                "!!! TEAMS_AUTH_DISABLED=true: /api/messages accepts requests WITHOUT Bot Framework tokens. "
                "For local testing only; never expose this server. !!!"
            )
        self.settings = settings
        self.adapter = make_adapter(settings)
        self.notifier = TeamsNotifier(self.adapter, settings.app_id, db, clock)
        self.bot = CsbotTeamsBot(db, router, clock, self.notifier)

    async def messages(self, request: web.Request) -> web.StreamResponse:
        if "application/json" not in request.headers.get("Content-Type", ""):
            return web.Response(status=415, text="Activities are JSON")
        try:
            response = await self.adapter.process(request, self.bot)
        except jwt.PyJWTError as exc:
            # botbuilder turns a missing or rejected token into 401 but lets a
            # malformed one escape as an error: it is just as unauthenticated.
            log.warning("Teams request refused from %s: malformed token (%s)", request.remote, exc)
            raise web.HTTPUnauthorized() from None
        return response if response is not None else web.Response(status=201)


def mount(web_app: web.Application, teams: TeamsApp) -> None:
    web_app.router.add_post("/api/messages", teams.messages)
