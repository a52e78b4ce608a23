"""Sending a rendered Reply back to Slack, and saying so in the log when it fails."""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import urlsplit
from dataclasses import dataclass
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.chart_files import chart_filename
from bot.render.slack import render_slack
from bot.slack.client import quiet_logger
from handlers.reply import Chart, File, Reply
from store.quoting import clip
from store.busy import BUSY_MESSAGE, describe, is_busy

log = logging.getLogger(__name__)
_webhook_log = quiet_logger("csbot.slack.api")


# Where Slack's response_urls point (https://hooks.slack.com/commands/…, /actions/…).
SLACK_RESPONSE_HOSTS = frozenset({"hooks.slack.com"})


class ResponseUrls:
    """Posts to interactions' response_url over one pooled HTTP session.

    (Bolt's `respond` opens a new session, and so a new connection, per
    message; under load that cost lands on the event loop the acks share.)

    Only to Slack's own hosts: a response_url comes from the request, and
    even a signed request must not make csbot post elsewhere (should the
    signing secret ever leak, that would be a way to reach internal hosts).
    """

    def __init__(self, allowed_hosts: frozenset[str] = SLACK_RESPONSE_HOSTS) -> None:
        self._session: aiohttp.ClientSession | None = None
        self.allowed_hosts = allowed_hosts

    def _client(self, url: str) -> AsyncWebhookClient:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15))
        return AsyncWebhookClient(url=url, session=self._session, logger=_webhook_log)

    async def send(self, url: str, message: dict[str, Any], *, what: str, replace: bool = False) -> bool:
        parts = urlsplit(url)
        if parts.scheme not in ("https", "http") or parts.hostname not in self.allowed_hosts:
            log.warning("reply to %s not sent: response_url is not on a Slack host (%s)", what, clip(parts.hostname or ""))
            return False
        try:
            result = await self._client(url).send_dict({**message, "replace_original": replace})
        except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as exc:
            log.error("reply to %s not delivered: %s", what, exc or type(exc).__name__)
            return False
        if result.status_code >= 300:
            log.error("reply to %s not delivered: response_url answered %s %s", what, result.status_code, result.body)
            return False
        return True

    async def text(self, url: str, text: str, *, what: str) -> bool:
        return await self.send(url, {"text": text, "response_type": "ephemeral"}, what=what)

    async def messages(self, url: str, messages: list[dict[str, Any]], *, what: str, replace: bool = False) -> bool:
        """Send each message; with `replace`, the first replaces the message the button was on."""
        ok = True
        for index, message in enumerate(messages):
            ok = await self.send(url, message, what=what, replace=replace and index == 0) and ok
        return ok

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


def _uploads(reply: Reply, *, charts: bool = True) -> list[dict[str, Any]]:
    """files.uploadV2 arguments for each chart (with `charts`) and file of `reply`, in reply order."""
    found: list[dict[str, Any]] = []
    for block in reply.blocks:
        if isinstance(block, Chart) and charts:
            found.append({"file": block.png, "filename": chart_filename(block.title), "title": block.title[:250], "alt_txt": block.alt_text[:1000]})
        elif isinstance(block, File):
            found.append({"file": block.content, "filename": block.filename, "title": block.filename[:250]})
    return found


async def upload_charts(
    client: AsyncWebClient, channel: str, reply: Reply, *, what: str, thread_ts: str | None = None, charts: bool = True
) -> str | None:
    """Upload the reply's charts (PNG) and files (a --csv answer) to `channel` (files.uploadV2); None when all arrived.

    Only for replies meant for the channel, or sent to a person's DM: a file
    cannot be ephemeral, so a private answer keeps its chart as the text
    description the renderer shows, and its files go to the asker's DM
    (upload_to_asker). With `thread_ts`, the files go into that thread,
    beside the answer. `charts=False` uploads the files only.
    """
    for upload in _uploads(reply, charts=charts):
        try:
            await client.files_upload_v2(channel=channel, **upload, **({"thread_ts": thread_ts} if thread_ts else {}))
        except SlackApiError as exc:
            log.error("%r for %s not uploaded to %s: %s", upload["title"], what, channel, slack_error(exc))
            return slack_error(exc)
        except (SlackClientError, OSError) as exc:
            log.error("%r for %s not uploaded to %s: %s", upload["title"], what, channel, exc)
            return str(exc) or type(exc).__name__
    return None


async def upload_to_asker(client: AsyncWebClient, user_id: str, reply: Reply, *, what: str) -> str | None:
    """Upload a private answer's files (not its charts) to the asker's DM with csbot; None when they arrived, else why not."""
    if not any(isinstance(b, File) for b in reply.blocks):
        return None
    channel, error = await open_dm(client, user_id)
    if channel is None:
        log.error("files for %s not sent to %s: %s", what, user_id, error)
        return error
    return await upload_charts(client, channel, reply, what=what, charts=False)


@dataclass(frozen=True)
class Posted:
    """What posting a reply did: the messages' timestamps, and what went wrong, if anything."""

    ts: tuple[str, ...] = ()
    error: str | None = None  # a message was not posted (those in `ts` were)
    chart_error: str | None = None  # the messages were posted, a chart was not


async def post_message(
    client: AsyncWebClient,
    channel: str,
    reply: Reply,
    *,
    what: str,
    thread_ts: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> Posted:
    """Post `reply` (and its charts) to a channel or DM.

    With `thread_ts`, every message (and chart) is a reply in that thread.
    `metadata` (Slack message metadata) travels with each message, so csbot
    can later recognise its own post in the channel's history.
    """
    thread = {"thread_ts": thread_ts} if thread_ts else {}
    extra = {"metadata": metadata} if metadata else {}
    posted: list[str] = []
    for message in render_slack(reply):
        try:
            answer = await client.chat_postMessage(
                channel=channel, text=message["text"], blocks=message["blocks"], unfurl_links=False, **thread, **extra
            )
        except SlackApiError as exc:
            reason = slack_error(exc)
            log.error("%s not delivered to %s: %s", what, channel, reason)
            return Posted(tuple(posted), reason)
        except (SlackClientError, OSError) as exc:
            log.error("%s not delivered to %s: %s", what, channel, exc)
            return Posted(tuple(posted), str(exc) or type(exc).__name__)
        posted.append(str(answer.get("ts") or ""))
    chart_error = await upload_charts(client, channel, reply, what=what, thread_ts=thread_ts)
    return Posted(tuple(posted), None, chart_error)


async def post_to(client: AsyncWebClient, channel: str, reply: Reply, *, what: str, thread_ts: str | None = None) -> str | None:
    """Post `reply` (and its charts) to a channel or DM; None when delivered, else the reason it was not."""
    posted = await post_message(client, channel, reply, what=what, thread_ts=thread_ts)
    return posted.error or posted.chart_error


async def open_dm(client: AsyncWebClient, user_id: str) -> tuple[str | None, str | None]:
    """The id of csbot's DM with `user_id` (opened when there is none yet), or (None, why not)."""
    try:
        opened = await client.conversations_open(users=user_id)
    except SlackApiError as exc:
        return None, slack_error(exc)
    except (SlackClientError, OSError) as exc:
        return None, str(exc) or type(exc).__name__
    return (opened.get("channel") or {}).get("id") or user_id, None


async def direct_message(client: AsyncWebClient, user_id: str, reply: Reply, *, what: str) -> str | None:
    """Send `reply` to the person `user_id` in their DM with csbot; None when delivered, else why not.

    conversations.open gives the DM's channel id (creating the DM when there
    is none yet), so the message lands in the app's Messages tab for them.
    """
    channel, error = await open_dm(client, user_id)
    if channel is None:
        log.error("%s not delivered to %s: %s", what, user_id, error)
        return error
    return await post_to(client, channel, reply, what=what)


async def report_failure(responses: ResponseUrls, error: Exception, url: str | None, *, what: str) -> None:
    """After a listener's slow part failed: a busy database is told to the person, anything else is a bug.

    Busy means nothing was recorded (dispatch rolls the claim back), so they
    can simply do it again. Payloads are checked before they get here, so any
    other failure is csbot's own: logged with its traceback.
    """
    if not is_busy(error):
        log.error("%s failed", what, exc_info=error)
    elif url:
        log.warning("%s: database busy (%s)", what, describe(error))
        await responses.text(url, BUSY_MESSAGE, what=what)


def slack_error(exc: SlackApiError) -> str:
    """Slack's error code ("channel_not_found"), or what the server said instead."""
    data = exc.response.data if exc.response is not None else None
    if isinstance(data, dict) and data.get("error"):
        return str(data["error"])
    return str(data or exc)


def slack_unescape(text: str) -> str:
    """Slack sends &, < and > typed by a user as entities; turn them back into text."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def id_of(reference: Any) -> str | None:
    """The id in a user, channel or team reference, which Slack sends as an id or an object with one."""
    if isinstance(reference, dict):
        reference = reference.get("id")
    return reference if isinstance(reference, str) else None


def user_of(body: dict[str, Any]) -> str:
    return id_of(body.get("user")) or str(body.get("user_id") or "")
