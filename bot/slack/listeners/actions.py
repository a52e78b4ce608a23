"""Buttons (block_actions) and message shortcuts, routed by action id to the shared router.

A click with an effect is claimed in the processed-request table by its own
identity (see `click_key`), so a retried delivery of that click acts once,
while another button on the same message, or the same button pressed again
later, is a click of its own. Every click gets a visible answer, a repeated
delivery included.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.chat_work import run_chat
from bot.dispatch import AlreadyProcessed, UnknownMember, already_handled, run_action
from bot.render.slack import render_slack
from bot.slack.delivery import id_of, post_to, report_failure, user_of
from bot.slack.deps import SlackDeps
from bot.slack.identity import not_a_member_reply
from bot.slack.modals import open_form
from handlers.reply import Reply
from store.processed import request_key

log = logging.getLogger(__name__)


def click_key(body: dict[str, Any]) -> str:
    """What identifies one click, however often Slack (or a proxy, or a Socket Mode reconnect) delivers it.

    Slack stamps every click with its own `action_ts` (a button's in
    `actions[0]`, a shortcut's at the top of the payload): a delivery of the
    same click again carries the same stamp, another button on the same
    message or a later press of the same one a new stamp. The action id,
    message and user are not an identity: they are the same for a Snooze 15m
    and a Snooze 1h, or for an Acknowledge before and after a reassign.
    Without a stamp (Slack always sends one) the payload itself is the identity.
    """
    actions = body.get("actions")
    action = actions[0] if isinstance(actions, list) and actions and isinstance(actions[0], dict) else body
    stamp = action.get("action_ts") or body.get("action_ts")
    team = id_of(body.get("team")) or "-"
    if isinstance(stamp, str) and stamp:
        return request_key("slack", "click", team, user_of(body), stamp)
    payload = json.dumps(body, sort_keys=True, ensure_ascii=False).encode("utf-8", "surrogatepass")
    return request_key("slack", "click", team, user_of(body), "payload", hashlib.sha256(payload).hexdigest())


def _label(body: dict[str, Any]) -> str | None:
    """The clicked button's text, to name it in an answer."""
    actions = body.get("actions")
    action = actions[0] if isinstance(actions, list) and actions and isinstance(actions[0], dict) else {}
    text = action.get("text")
    label = text.get("text") if isinstance(text, dict) else None
    return label if isinstance(label, str) else None


def _act(deps: SlackDeps, handle: str, action_id: str, value: str, key: str | None) -> tuple[Reply, list[dict[str, Any]]]:
    reply = run_action(deps.db, deps.router, handle, action_id, value, now=deps.clock(), platform="slack", once=key)
    return reply, render_slack(reply)


async def _click(deps: SlackDeps, body: dict[str, Any], context: dict[str, Any], action_id: str, value: str, key: str | None) -> None:
    user_id = user_of(body)
    url = body.get("response_url")
    what = f"{action_id} by {user_id}"
    try:
        if await deps.replays.replayed(context):
            # The same signed request again (a proxy's retry, a replay): it acted
            # the first time; this delivery only says so, to whoever clicked.
            await _answer(deps, body, user_id, url, already_handled(_label(body)), what=what)
            return
        async with deps.work:
            await _act_as_member(deps, body, user_id, url, action_id, value, key)
    except Exception as exc:
        await report_failure(deps.responses, exc, url, what=what)


async def _act_as_member(
    deps: SlackDeps, body: dict[str, Any], user_id: str, url: str | None, action_id: str, value: str, key: str | None
) -> None:
    handle = await deps.identity.handle_for(user_id)
    try:
        if handle is None:
            raise UnknownMember(user_id)
        reply, messages = await run_chat(_act, deps, handle, action_id, value, key)
    except AlreadyProcessed:
        log.info("repeated delivery of %s (%s) answered, not acted on", action_id, key)
        await _answer(deps, body, user_id, url, already_handled(_label(body)), what=f"{action_id} by {handle}")
        return
    except UnknownMember:
        await _answer(deps, body, user_id, url, not_a_member_reply(user_id), what=f"{action_id} by {user_id}")
        return
    await _answer(deps, body, user_id, url, reply, what=f"{action_id} by {handle}", messages=messages)


async def _answer(
    deps: SlackDeps,
    body: dict[str, Any],
    user_id: str,
    url: str | None,
    reply: Reply,
    *,
    what: str,
    messages: list[dict[str, Any]] | None = None,
) -> None:
    """Where the person who clicked sees it: a form opens, else beside the button, else in a DM."""
    if reply.form is not None:
        await open_form(deps.client, body.get("trigger_id"), reply.form, what=what)
    elif url:
        rendered = messages if messages is not None else render_slack(reply)
        await deps.responses.messages(url, rendered, what=what, replace=reply.replace_original)
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
        # Read-only buttons are not claimed: a repeated delivery just answers again.
        key = click_key(body) if deps.router.once_per_click(action_id) else None
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
        action_id = body.get("callback_id", "")
        key = click_key(body) if deps.router.once_per_click(action_id) else None
        await _click(deps, body, context, action_id, value, key)

    app.action(re.compile(r".+"))(ack=ack_click, lazy=[on_click])
    app.message_shortcut(re.compile(r".+"))(ack=ack_click, lazy=[on_shortcut])
