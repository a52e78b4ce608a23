"""The Slack side of bot.notify: channel posts and direct messages."""

from __future__ import annotations

from slack_sdk.web.async_client import AsyncWebClient

from bot.notify import Delivery, MemberAddress, TeamAddress
from bot.slack.delivery import direct_message, post_to
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
        error = await direct_message(self.client, member.slack_id, reply, what=f"message for {member.handle}")
        return Delivery(self.platform, member.slack_id, error)
