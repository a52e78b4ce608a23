"""Slash commands: every command the router knows, acknowledged at once, answered lazily."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.chat_work import run_chat
from bot.dispatch import UnknownMember, run_command
from bot.render.slack import render_slack
from bot.slack.delivery import report_failure, slack_unescape, upload_charts, upload_to_asker
from bot.slack.deps import SlackDeps
from bot.slack.identity import not_a_member
from bot.slack.modals import open_form
from handlers.reply import Reply

log = logging.getLogger(__name__)


def _answer(deps: SlackDeps, handle: str, text: str) -> tuple[Reply, list[dict[str, Any]]]:
    """The reply and its Slack messages, computed off the event loop."""
    reply = run_command(deps.db, deps.router, handle, text, now=deps.clock(), platform="slack")
    return reply, render_slack(reply)


def register(app: AsyncApp, deps: SlackDeps) -> None:
    async def ack_command(ack: AsyncAck) -> None:
        # Nothing slow before this: Slack gives up after 3 seconds.
        await ack()

    async def answer(body: dict[str, Any], context: dict[str, Any]) -> None:
        user_id = body.get("user_id", "")
        url = body.get("response_url", "")
        text = f"{body.get('command', '')} {slack_unescape(body.get('text', ''))}".strip()
        try:
            if await deps.replays.replayed(context):
                return
            async with deps.work:
                await _answer_as_member(deps, body, user_id, url, text)
        except Exception as exc:
            await report_failure(deps.responses, exc, url, what=f"{text!r} by {user_id}")

    for family in deps.router.families:
        app.command(f"/{family.name}")(ack=ack_command, lazy=[answer])


async def _answer_as_member(deps: SlackDeps, body: dict[str, Any], user_id: str, url: str, text: str) -> None:
    handle = await deps.identity.handle_for(user_id)
    try:
        if handle is None:
            raise UnknownMember(user_id)
        reply, messages = await run_chat(_answer, deps, handle, text)
    except UnknownMember:
        await deps.responses.text(url, not_a_member(user_id), what=f"{text!r} by {user_id}")
        return
    what = f"{text!r} by {handle}"
    if reply.form is not None:
        await open_form(deps.client, body.get("trigger_id"), reply.form, what=what)
    else:
        await deps.responses.messages(url, messages, what=what)
        if reply.visibility == "channel" and body.get("channel_id"):
            await upload_charts(deps.client, body["channel_id"], reply, what=what)
        elif reply.visibility != "channel":
            error = await upload_to_asker(deps.client, user_id, reply, what=what)
            if error is not None:
                await deps.responses.text(url, f"The file could not be sent to your direct messages with csbot ({error}); try again in a moment.", what=what)
