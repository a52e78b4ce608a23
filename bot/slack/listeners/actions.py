"""Buttons (block_actions) and message shortcuts, routed by action id to the shared router.

A click is keyed by (action, message, user) in the processed-request table,
so a double click or a Slack retry has one effect.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.dispatch import AlreadyProcessed, UnknownMember, run_action
from bot.render.slack import render_slack
from bot.slack.delivery import id_of, post_to, report_failure, user_of
from bot.slack.deps import SlackDeps
from bot.slack.identity import not_a_member
from bot.slack.modals import open_form
from handlers.reply import Reply

log = logging.getLogger(__name__)


def _act(deps: SlackDeps, handle: str, action_id: str, value: str, key: str | None) -> tuple[Reply, list[dict[str, Any]]]:
    reply = run_action(deps.db, deps.router, handle, action_id, value, now=deps.clock(), platform="slack", once=key)
    return reply, render_slack(reply)


async def _click(deps: SlackDeps, body: dict[str, Any], context: dict[str, Any], action_id: str, value: str, key: str | None) -> None:
    user_id = user_of(body)
    url = body.get("response_url")
    try:
        if await deps.replays.replayed(context):
            return
        async with deps.work:
            await _act_as_member(deps, body, user_id, url, action_id, value, key)
    except Exception as exc:
        await report_failure(deps.responses, exc, url, what=f"{action_id} by {user_id}")


async def _act_as_member(
    deps: SlackDeps, body: dict[str, Any], user_id: str, url: str | None, action_id: str, value: str, key: str | None
) -> None:
    handle = await deps.identity.handle_for(user_id)
    try:
        if handle is None:
            raise UnknownMember(user_id)
        reply, messages = await asyncio.to_thread(_act, deps, handle, action_id, value, key)
    except AlreadyProcessed:
        log.info("ignored repeated %s (%s)", action_id, key)
        return
    except UnknownMember:
        if url:
            await deps.responses.text(url, not_a_member(user_id), what=f"{action_id} by {user_id}")
        return
    what = f"{action_id} by {handle}"
    if reply.form is not None:
        await open_form(deps.client, body.get("trigger_id"), reply.form, what=what)
    elif url:
        await deps.responses.messages(url, messages, what=what, replace=reply.replace_original)
    else:
        # Clicks in App Home or a modal have no response_url: answer in a DM.
        await post_to(deps.client, user_id, reply, what=f"reply to {what}")


async def permalink(deps: SlackDeps, channel: str | None, ts: Any) -> str | None:
    """A link to the message (the page shows where the problem was discussed); None when Slack will not say."""
    if not channel or not isinstance(ts, str):
        return None
    try:
        answer = await deps.client.chat_getPermalink(channel=channel, message_ts=ts)
    except (SlackApiError, SlackClientError, OSError) as exc:
        log.warning("no permalink for %s in %s: %s", ts, channel, exc)
        return None
    link = answer.get("permalink")
    return link if isinstance(link, str) else None


def register(app: AsyncApp, deps: SlackDeps) -> None:
    async def ack_click(ack: AsyncAck) -> None:
        await ack()

    async def on_click(body: dict[str, Any], context: dict[str, Any]) -> None:
        action = (body.get("actions") or [{}])[0]
        action_id = action.get("action_id", "")
        container = body.get("container") or {}
        where = container.get("message_ts") or (body.get("message") or {}).get("ts") or container.get("view_id", "")
        key = f"slack:action:{action_id}:{where}:{user_of(body)}" if deps.router.once_per_click(action_id) else None
        await _click(deps, body, context, action_id, action.get("value", ""), key)

    async def on_shortcut(body: dict[str, Any], context: dict[str, Any]) -> None:
        # The message shortcut's callback id names the router action; the value
        # carries the message so the handler can act on it.
        message = body.get("message") or {}
        channel = id_of(body.get("channel"))
        author = message.get("user")
        value = json.dumps(
            {
                "channel": channel,
                "ts": message.get("ts"),
                "author": author,
                # How the handlers name a Slack user (find_member reads a mention).
                "author_ref": f"<@{author}>" if isinstance(author, str) and author else None,
                "text": message.get("text", ""),
                "permalink": await permalink(deps, channel, message.get("ts")),
            }
        )
        key = f"slack:shortcut:{body.get('callback_id')}:{message.get('ts')}:{user_of(body)}"
        await _click(deps, body, context, body.get("callback_id", ""), value, key)

    app.action(re.compile(r".+"))(ack=ack_click, lazy=[on_click])
    app.message_shortcut(re.compile(r".+"))(ack=ack_click, lazy=[on_shortcut])
