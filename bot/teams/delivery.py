"""Sending Replies to Teams: in the conversation at hand, into a channel, or to a person's 1:1 chat.

Also the Teams side of bot.notify, so digests, pages and reminders reach
Teams with no Teams-specific code of their own.
"""

from __future__ import annotations

import logging
from typing import Any

from botbuilder.core import MessageFactory, TurnContext
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import Activity, ActivityTypes, ChannelAccount, ConversationParameters, ConversationReference

from bot.chat_work import run_chat
from bot.chart_links import ChartLinks
from bot.notify import Address, Delivery, MemberAddress, Sent, TeamAddress
from bot.render.teams import TEAMS_MESSAGE_LIMIT, card_attachment, json_size, render_adaptive_card
from bot.teams import refs
from bot.teams.forms import form_card
from bot.teams.wire import as_sent, wire_bytes
from handlers.reply import Reply
from store.clock import Clock
from store.database import Database

log = logging.getLogger(__name__)

# The notification preview Teams shows: short, and never what pushes a message over the limit.
SUMMARY_BYTES = 256
# The largest envelope a conversation csbot has not seen yet could add: ids
# and service URL at their checked lengths, two display names of 256 emoji.
ENVELOPE_RESERVE = 8_000


def card_activities(reply: Reply, reference: ConversationReference | None = None, *, activity_id: str | None = None) -> list[Activity]:
    """One message activity per Adaptive Card (long replies are split by the renderer); a form is its own card.

    Each activity, sent in the conversation `reference` names (replacing
    `activity_id` for an update), is at most TEAMS_MESSAGE_LIMIT bytes as
    the Connector receives it: the envelope is measured, not guessed, and the
    cards get what it leaves. Without a reference the envelope is taken at
    its largest (ENVELOPE_RESERVE).
    """
    summary = summary_of(reply.title or (reply.form.title if reply.form is not None else "") or "csbot")

    def message(card: dict[str, Any]) -> Activity:
        activity = MessageFactory.attachment(card_attachment(card))
        activity.summary = summary
        return activity

    if reply.form is not None:
        return [message(form_card(reply.form))]
    # Unmeasurable without the conversation: keep room for the largest envelope there could be.
    limit = TEAMS_MESSAGE_LIMIT - (ENVELOPE_RESERVE if reference is None else 0)
    # Everything but the card: the same activity around an empty card, less the empty card's "{}".
    budget = limit - (wire_bytes(as_sent(message({}), reference, activity_id=activity_id)) - 2)
    for _ in range(3):
        activities = [message(card) for card in render_adaptive_card(reply, budget)]
        over = max(wire_bytes(as_sent(a, reference, activity_id=activity_id)) for a in activities) - limit
        if over <= 0:
            return activities
        # Should the card and its envelope not add up as measured, the cards shrink by what is over.
        budget -= over
    log.warning("a reply titled %r is over Teams' message limit by %d bytes", summary, over)
    return activities


def summary_of(title: str) -> str:
    """The notification preview: the title on one line, cut to SUMMARY_BYTES as sent (\\uXXXX escapes counted)."""
    text = " ".join(title.split())
    if json_size(text) <= SUMMARY_BYTES:
        return text
    while text and json_size(text + "…") > SUMMARY_BYTES:
        text = text[: max(0, min(len(text) - 1, len(text) * SUMMARY_BYTES // json_size(text)))]
    return text.rstrip() + "…"


async def send_reply(turn_context: TurnContext, reply: Reply, links: ChartLinks | None = None) -> list[str]:
    """Send each card; the activity ids Teams gave them. With `links`, charts go by signed link."""
    if links is not None:
        reply = await run_chat(links.publish, reply)
    ids = []
    for activity in card_activities(reply, TurnContext.get_conversation_reference(turn_context.activity)):
        response = await turn_context.send_activity(activity)
        if response is not None and getattr(response, "id", None):
            ids.append(str(response.id))
    return ids


async def update_card(turn_context: TurnContext, activity_id: str, reply: Reply) -> None:
    """Replace the card a button was clicked on (e.g. a page that becomes "Acknowledged by Dana")."""
    reference = TurnContext.get_conversation_reference(turn_context.activity)
    first = card_activities(reply, reference, activity_id=activity_id)[0]
    first.id = activity_id
    first.type = ActivityTypes.message
    await turn_context.update_activity(first)


class TeamsNotifier:
    platform = "teams"

    def __init__(self, adapter: CloudAdapter, app_id: str | None, db: Database, clock: Clock, links: ChartLinks | None = None) -> None:
        self.adapter = adapter
        self.app_id = app_id or ""
        self.db = db
        self.clock = clock
        self.links = links

    async def _continue(self, reference: ConversationReference, reply: Reply) -> list[str]:
        ids: list[str] = []

        async def callback(turn_context: TurnContext) -> None:
            # A proactive turn's activity has a made-up id; without this every
            # message would be sent as a reply to it instead of a new post.
            turn_context.activity.id = None
            ids.extend(await send_reply(turn_context, reply, self.links))

        await self.adapter.continue_conversation(reference, callback, self.app_id)
        return ids

    async def to_team(self, team: TeamAddress, reply: Reply) -> Delivery | None:
        if not team.teams_channel:
            return None
        sent = await self.to_channel(team.teams_channel, reply, what=f"message for team {team.key}")
        return Delivery(self.platform, team.teams_channel, sent.error)

    async def to_channel(self, channel: str, reply: Reply, *, what: str) -> Sent:
        """Post in a channel csbot has seen (it learns a channel when the app is added to its team)."""
        reference = await run_chat(refs.reference_for_channel, self.db, channel)
        if reference is None:
            return Sent(error="csbot has not seen this channel yet: add the app to the team")
        try:
            return Sent(message_ids=tuple(await self._continue(reference, reply)))
        except Exception as exc:  # noqa: BLE001 (reported to the caller and logged, never dropped)
            log.error("%s not delivered to %s: %s", what, channel, exc)
            return Sent(error=f"{type(exc).__name__}: {exc}")

    async def to_member(self, member: MemberAddress, reply: Reply) -> Delivery | None:
        if not member.teams_id:
            return None
        return await self.to_user(member.teams_id, reply, who=member.handle)

    async def to_user(self, aad: str, reply: Reply, *, who: str) -> Delivery:
        """Message a person in their 1:1 chat with the bot, creating it when there is none yet."""
        sent = await self.to_person(aad, reply, who=who)
        return Delivery(self.platform, aad, sent.error)

    async def to_person(self, aad: str, reply: Reply, *, who: str) -> Sent:
        try:
            reference = await run_chat(refs.reference_for_user, self.db, aad)
            if reference is not None:
                return Sent(message_ids=tuple(await self._continue(reference, reply)))
            user = await run_chat(refs.chat_user, self.db, aad)
            if user is None:
                return Sent(error=f"{who} has never talked to csbot in Teams and is not in a team it knows")
            return Sent(message_ids=tuple(await self._create_chat(aad, user.platform_user_id, user.tenant_id, user.service_url, reply)))
        except Exception as exc:  # noqa: BLE001 (reported to the caller and logged, never dropped)
            log.error("message for %s not delivered on Teams: %s", who, exc)
            return Sent(error=f"{type(exc).__name__}: {exc}")

    async def send(self, to: Address, reply: Reply, *, key: str, thread: str | None = None) -> Sent:
        # Teams channel posts are threads of their own; an alert about the day's
        # scorecard is a new post beside it rather than a reply to it.
        if to.kind == "channel":
            return await self.to_channel(to.id, reply, what=key)
        return await self.to_person(to.id, reply, who=key)

    async def find_sent(self, to: Address, key: str) -> tuple[str, ...] | None:
        # The Bot Connector has no way to read a conversation back.
        return None

    async def update(self, to: Address, message_id: str, reply: Reply) -> Sent:
        find = refs.reference_for_channel if to.kind == "channel" else refs.reference_for_user
        reference = await run_chat(find, self.db, to.id)
        if reference is None:
            return Sent(error="csbot has no conversation with this person or channel to edit in")

        async def callback(turn_context: TurnContext) -> None:
            await update_card(turn_context, message_id, reply)

        try:
            await self.adapter.continue_conversation(reference, callback, self.app_id)
        except Exception as exc:  # noqa: BLE001 (reported to the caller and logged, never dropped)
            log.error("editing %s in %s failed: %s", message_id, to, exc)
            return Sent(error=f"{type(exc).__name__}: {exc}")
        return Sent(message_ids=(message_id,))

    async def _create_chat(self, aad: str, user_id: str, tenant: str | None, service_url: str, reply: Reply) -> list[str]:
        parameters = ConversationParameters(
            is_group=False,
            bot=ChannelAccount(id=f"28:{self.app_id}" if self.app_id else "28:csbot"),
            members=[ChannelAccount(id=user_id)],
            tenant_id=tenant,
            channel_data={"tenant": {"id": tenant}} if tenant else None,
        )

        ids: list[str] = []

        async def created(turn_context: TurnContext) -> None:
            # The new chat's reference arrives with this turn; keep it for next time.
            await run_chat(refs.remember, self.db, turn_context.activity, self.clock(), user_key=aad)
            turn_context.activity.id = None
            ids.extend(await send_reply(turn_context, reply, self.links))

        await self.adapter.create_conversation(self.app_id, created, parameters, "msteams", service_url, None)
        return ids


def value_of(activity: Activity) -> dict[str, Any]:
    return activity.value if isinstance(activity.value, dict) else {}
