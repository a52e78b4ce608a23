"""Events: App Home shows the member's own figures (and what other families add)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.chat_work import run_chat
from bot.dispatch import AlreadyProcessed, UnknownMember, run_command
from bot.render.slack import render_slack
from bot.slack.delivery import user_of
from bot.slack.deps import SlackDeps
from bot.slack.identity import not_a_member
from handlers.home import HOME_SECTIONS

log = logging.getLogger(__name__)

MAX_HOME_BLOCKS = 100  # Slack's limit for a Home tab view


def _header(text: str) -> dict[str, Any]:
    return {"type": "header", "text": {"type": "plain_text", "text": text[:150]}}


def _home_blocks(deps: SlackDeps, handle: str, event_id: str) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    for index, section in enumerate(HOME_SECTIONS):
        # The first section claims the event: a retried delivery stops here.
        once = f"slack:event:{event_id}" if index == 0 and event_id else None
        reply = run_command(deps.db, deps.router, handle, section.command, now=deps.clock(), platform="slack", once=once)
        reply.title = section.title
        for message in render_slack(reply):
            blocks.extend(message["blocks"])
        blocks.append({"type": "divider"})
    return blocks[:MAX_HOME_BLOCKS]


def register(app: AsyncApp, deps: SlackDeps) -> None:
    @app.event("app_home_opened")
    async def home_opened(event: dict[str, Any], body: dict[str, Any]) -> None:
        if event.get("tab") not in (None, "home"):
            return
        user_id = user_of(event)
        handle = await deps.identity.handle_for(user_id)
        try:
            if handle is None:
                raise UnknownMember(user_id)
            blocks = await run_chat(_home_blocks, deps, handle, body.get("event_id", ""))
        except AlreadyProcessed:
            return
        except UnknownMember:
            blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": not_a_member(user_id), "verbatim": True}}]
        try:
            await deps.client.views_publish(user_id=user_id, view={"type": "home", "blocks": blocks})
        except (SlackApiError, SlackClientError) as exc:
            log.error("App Home for %s not published: %s", user_id, exc)
