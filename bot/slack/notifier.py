"""The Slack side of bot.notify: channel posts and direct messages."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.notify import Address, Delivery, MemberAddress, Sent, TeamAddress
from bot.render.slack import render_slack
from bot.slack.delivery import direct_message, open_dm, post_message, post_to, slack_error
from handlers.reply import Reply

log = logging.getLogger(__name__)

# Every outbox message carries its row's key as Slack message metadata, so
# after a crash between posting and recording the post csbot can find it in
# the channel's recent history instead of posting it twice.
METADATA_EVENT = "csbot_outbox"
HISTORY_PAGES = 5
# Errors of a DM no retry can mend: the person is not there (a page then goes by e-mail, bot.escalations).
# A channel's errors are retried as before: someone may yet invite csbot or restore it.
PERMANENT_FOR_USERS = frozenset({"user_not_found", "users_not_found", "user_disabled", "account_inactive", "cannot_dm_bot"})


class SlackNotifier:
    platform = "slack"

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client

    async def to_team(self, team: TeamAddress, reply: Reply) -> Delivery | None:
        if not team.slack_channel:
            return None
        error = await post_to(self.client, team.slack_channel, reply, what=f"message for team {team.key}")
        return Delivery(self.platform, team.slack_channel, error)

    async def to_member(self, member: MemberAddress, reply: Reply) -> Delivery | None:
        if not member.slack_id:
            return None
        error = await direct_message(self.client, member.slack_id, reply, what=f"message for {member.handle}")
        return Delivery(self.platform, member.slack_id, error)

    async def _channel(self, to: Address) -> tuple[str | None, str | None]:
        return (to.id, None) if to.kind == "channel" else await open_dm(self.client, to.id)

    async def send(self, to: Address, reply: Reply, *, key: str, thread: str | None = None) -> Sent:
        channel, error = await self._channel(to)
        if channel is None:
            return Sent(error=error, final=to.kind == "user" and error in PERMANENT_FOR_USERS)
        metadata = {"event_type": METADATA_EVENT, "event_payload": {"key": key}}
        posted = await post_message(self.client, channel, reply, what=key, thread_ts=thread, metadata=metadata)
        if posted.error and not posted.ts:
            return Sent(error=posted.error, final=to.kind == "user" and posted.error in PERMANENT_FOR_USERS)
        # Some messages went out: the row is sent (posting them again would
        # repeat them); what is missing is noted.
        note = f"partly posted: {posted.error}" if posted.error else f"chart not uploaded: {posted.chart_error}" if posted.chart_error else None
        return Sent(message_ids=posted.ts, note=note)

    async def update(self, to: Address, message_id: str, reply: Reply) -> Sent:
        channel, error = await self._channel(to)
        if channel is None:
            return Sent(error=error)
        message = render_slack(reply)[0]
        try:
            await self.client.chat_update(channel=channel, ts=message_id, text=message["text"], blocks=message["blocks"])
        except SlackApiError as exc:
            return Sent(error=slack_error(exc))
        except (SlackClientError, OSError) as exc:
            return Sent(error=str(exc) or type(exc).__name__)
        return Sent(message_ids=(message_id,))

    async def find_sent(self, to: Address, key: str) -> tuple[str, ...] | None:
        # The newest messages, whatever their time: csbot's clock (moved by `tick
        # --at`) need not agree with Slack's, and an interrupted send is recent.
        channel, _error = await self._channel(to)
        if channel is None:
            return None
        found: list[str] = []
        cursor = None
        try:
            for _page in range(HISTORY_PAGES):
                answer = await self.client.conversations_history(
                    channel=channel, include_all_metadata=True, limit=200, **({"cursor": cursor} if cursor else {})
                )
                for message in answer.get("messages") or []:
                    meta = message.get("metadata") or {}
                    if meta.get("event_type") == METADATA_EVENT and (meta.get("event_payload") or {}).get("key") == key:
                        found.append(str(message.get("ts")))
                cursor = ((answer.get("response_metadata") or {}).get("next_cursor")) or None
                if not cursor:
                    break
        except SlackApiError as exc:
            log.warning("cannot look for an earlier post of %s in %s: %s", key, channel, slack_error(exc))
            return None
        except (SlackClientError, OSError) as exc:
            log.warning("cannot look for an earlier post of %s in %s: %s", key, channel, exc)
            return None
        return tuple(sorted(found))
