"""Slash commands: every command the router knows, acknowledged at once, answered lazily."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.dispatch import UnknownMember, run_command
from bot.slack.delivery import respond_with, slack_unescape
from bot.slack.deps import SlackDeps
from bot.slack.identity import NOT_A_MEMBER
from bot.slack.modals import open_form

log = logging.getLogger(__name__)


def register(app: AsyncApp, deps: SlackDeps) -> None:
    async def ack_command(ack: AsyncAck) -> None:
        # Nothing slow before this: Slack gives up after 3 seconds.
        await ack()

    async def answer(body: dict[str, Any], respond: AsyncRespond) -> None:
        user_id = body.get("user_id", "")
        text = f"{body.get('command', '')} {slack_unescape(body.get('text', ''))}".strip()
        handle = await deps.identity.handle_for(user_id)
        if handle is None:
            await respond(text=NOT_A_MEMBER.format(user_id=user_id), response_type="ephemeral")
            return
        try:
            reply = await asyncio.to_thread(
                run_command, deps.db, deps.router, handle, text, now=deps.clock(), platform="slack"
            )
        except UnknownMember:
            await respond(text=NOT_A_MEMBER.format(user_id=user_id), response_type="ephemeral")
            return
        if reply.form is not None:
            await open_form(deps.client, body.get("trigger_id"), reply.form, what=f"{text!r} by {handle}")
        else:
            await respond_with(respond, reply, what=f"{text!r} by {handle}")

    for family in deps.router.families:
        app.command(f"/{family.name}")(ack=ack_command, lazy=[answer])
