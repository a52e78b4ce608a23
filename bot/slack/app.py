"""The Bolt AsyncApp, mounted at POST /slack/events and, with SLACK_APP_TOKEN, on Socket Mode."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest

from bot.config import SlackSettings
from bot.slack.client import make_client
from bot.slack.delivery import ResponseUrls
from bot.slack.deps import SlackDeps
from bot.slack.identity import SlackIdentity
from bot.slack.listeners import actions, commands, events, views
from handlers.router import Router
from store.clock import Clock
from store.database import Database

log = logging.getLogger(__name__)

SLOW_WORK_AT_ONCE = 2


class SlackBot:
    def __init__(self, settings: SlackSettings, db: Database, router: Router, clock: Clock) -> None:
        self.settings = settings
        self.client = make_client(settings)
        self.deps = SlackDeps(
            db=db,
            router=router,
            clock=clock,
            client=self.client,
            identity=SlackIdentity(db, self.client),
            responses=ResponseUrls(),
            work=asyncio.Semaphore(SLOW_WORK_AT_ONCE),
        )
        self.app = AsyncApp(
            client=self.client,
            # Without a signing secret (Socket Mode only) the HTTP route refuses everything itself.
            signing_secret=settings.signing_secret or "",
            request_verification_enabled=settings.signing_secret is not None,
            process_before_response=False,
        )
        for module in (commands, actions, events, views):
            module.register(self.app, self.deps)
        self._socket: AsyncSocketModeHandler | None = None

    async def http_endpoint(self, request: web.Request) -> web.StreamResponse:
        """POST /slack/events: verified by Bolt with the signing secret (401 otherwise)."""
        if self.settings.signing_secret is None:
            return web.Response(status=401, text="Slack HTTP requests are not configured (Socket Mode only)")
        body = await request.text()
        bolt_request = AsyncBoltRequest(body=body, query=request.query_string, headers=dict(request.headers))
        return await to_aiohttp_response(await self.app.async_dispatch(bolt_request))

    async def start(self, _app: web.Application) -> None:
        if self.settings.app_token:
            self._socket = AsyncSocketModeHandler(self.app, self.settings.app_token, web_client=self.client)
            await self._socket.connect_async()
            log.info("Slack Socket Mode connected")

    async def stop(self, _app: web.Application) -> None:
        if self._socket is not None:
            await self._socket.close_async()
        await self.deps.responses.close()


def mount(web_app: web.Application, bot: SlackBot) -> None:
    web_app.router.add_post("/slack/events", bot.http_endpoint)
    web_app.on_startup.append(bot.start)
    web_app.on_cleanup.append(bot.stop)
