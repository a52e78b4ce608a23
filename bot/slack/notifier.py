"""The Slack side of bot.notify: channel posts and direct messages."""

from __future__ import annotations

from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.notify import Delivery, MemberAddress, TeamAddress
from bot.slack.delivery import post_to, slack_error
from handlers.reply import Reply


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
        try:
            opened = await self.client.conversations_open(users=member.slack_id)
        except SlackApiError as exc:
            return Delivery(self.platform, member.slack_id, slack_error(exc))
        except (SlackClientError, OSError) as exc:
            return Delivery(self.platform, member.slack_id, str(exc) or type(exc).__name__)
        channel = (opened.get("channel") or {}).get("id") or member.slack_id
        error = await post_to(self.client, channel, reply, what=f"message for {member.handle}")
        return Delivery(self.platform, member.slack_id, error)
