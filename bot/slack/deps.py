"""What every Slack listener needs, passed to each listener module's register()."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.delivery import ResponseUrls
from bot.slack.identity import SlackIdentity
from bot.slack.replays import ReplayGuard
from handlers.router import Router
from store.clock import Clock
from store.database import Database


@dataclass
class SlackDeps:
    db: Database
    router: Router
    clock: Clock
    client: AsyncWebClient
    identity: SlackIdentity
    responses: ResponseUrls
    # The slow part of commands and clicks runs at most this many at a time,
    # so a burst never starves the acknowledgements Slack waits for.
    work: asyncio.Semaphore
    # Signed requests already handled: a replayed slash command or click does nothing;
    # and messages already answered: a mention retried by Slack does nothing.
    replays: ReplayGuard
