"""Sending a rendered Reply back to Slack, and saying so in the log when it fails."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.render.slack import render_slack
from handlers.reply import Reply

log = logging.getLogger(__name__)


async def respond_with(respond: AsyncRespond, reply: Reply, *, what: str) -> bool:
    """Answer through the interaction's response_url (ephemeral unless the reply is for the channel)."""
    ok = True
    for message in render_slack(reply):
        try:
            result = await respond(
                text=message["text"],
                blocks=message["blocks"],
                response_type=message["response_type"],
                replace_original=False,
            )
            if result.status_code >= 300:
                ok = False
                log.error("reply to %s not delivered: response_url answered %s %s", what, result.status_code, result.body)
        except (SlackClientError, OSError) as exc:
            ok = False
            log.error("reply to %s not delivered: %s", what, exc)
    return ok


async def post_to(client: AsyncWebClient, channel: str, reply: Reply, *, what: str) -> str | None:
    """Post `reply` to a channel or DM; None when delivered, else the reason it was not."""
    for message in render_slack(reply):
        try:
            await client.chat_postMessage(channel=channel, text=message["text"], blocks=message["blocks"], unfurl_links=False)
        except SlackApiError as exc:
            reason = slack_error(exc)
            log.error("%s not delivered to %s: %s", what, channel, reason)
            return reason
        except (SlackClientError, OSError) as exc:
            log.error("%s not delivered to %s: %s", what, channel, exc)
            return str(exc) or type(exc).__name__
    return None


def slack_error(exc: SlackApiError) -> str:
    """Slack's error code ("channel_not_found"), or what the server said instead."""
    data = exc.response.data if exc.response is not None else None
    if isinstance(data, dict) and data.get("error"):
        return str(data["error"])
    return str(data or exc)


def slack_unescape(text: str) -> str:
    """Slack sends &, < and > typed by a user as entities; turn them back into text."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def user_of(body: dict[str, Any]) -> str:
    user = body.get("user")
    if isinstance(user, dict):
        return str(user.get("id", ""))
    return str(body.get("user_id") or user or "")
