"""Which member a Slack user is: by slack_id, else by the email Slack has for them.

Answers are cached in memory for a few minutes (misses for less), so a busy
channel does not call users.info for every command.
"""

from __future__ import annotations

import logging
import time

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import func, select

from bot.chat_work import run_chat
from bot.render.slack import escape_mrkdwn
from bot.render.text import one_line
from bot.slack.delivery import slack_error
from handlers.reply import Reply, Section
from store.database import Database
from store.org import Member

log = logging.getLogger(__name__)

HIT_TTL_S = 600.0
MISS_TTL_S = 60.0


class SlackIdentity:
    def __init__(self, db: Database, client: AsyncWebClient) -> None:
        self.db = db
        self.client = client
        self._cache: dict[str, tuple[str | None, float]] = {}

    def _by_slack_id(self, user_id: str) -> str | None:
        with self.db.sessions() as s:
            return s.scalar(select(Member.handle).where(Member.slack_id == user_id, Member.active.is_(True)))

    def _by_email(self, email: str) -> str | None:
        with self.db.sessions() as s:
            return s.scalar(
                select(Member.handle).where(func.lower(Member.email) == email.lower(), Member.active.is_(True))
            )

    async def handle_for(self, user_id: str) -> str | None:
        """The member handle of Slack user `user_id`, or None when they are not in the org."""
        cached = self._cache.get(user_id)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        handle = await run_chat(self._by_slack_id, user_id)
        if handle is None:
            email = await self._email(user_id)
            if email:
                handle = await run_chat(self._by_email, email)
        self._cache[user_id] = (handle, time.monotonic() + (HIT_TTL_S if handle else MISS_TTL_S))
        return handle

    async def _email(self, user_id: str) -> str | None:
        try:
            info = await self.client.users_info(user=user_id)
        except SlackApiError as exc:
            log.warning("users.info for %s failed: %s", user_id, slack_error(exc))
            return None
        profile = (info.get("user") or {}).get("profile") or {}
        return profile.get("email")


NOT_A_MEMBER = (
    "I don't know you yet, so I can't answer. Ask a csbot admin to add you to the organisation file "
    "(your Slack user id is {user_id})."
)


def not_a_member(user_id: str) -> str:
    """The answer for someone csbot does not know, as mrkdwn.

    It quotes the user id from the payload, which a signed but odd payload
    could set to `<!channel>`: escaped, so it shows as text and pings nobody.
    """
    return NOT_A_MEMBER.format(user_id=escape_mrkdwn(one_line(user_id)[:64]))


def not_a_member_reply(user_id: str) -> Reply:
    """The same answer as a Reply, for a message csbot posts itself (the renderer escapes it)."""
    return Reply(blocks=[Section(NOT_A_MEMBER.format(user_id=one_line(user_id)[:64]))])
