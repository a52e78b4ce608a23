"""What every Slack listener needs, passed to each listener module's register()."""

from __future__ import annotations

from dataclasses import dataclass

from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.identity import SlackIdentity
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
