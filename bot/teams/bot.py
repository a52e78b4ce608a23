"""The Teams activity handler: messages and card actions through the shared router.

Every activity's conversation is remembered for proactive messages. Text has
the bot's @mention stripped and people's @mentions turned into @handles.

Each activity is claimed by its own identity (`activity_key`): Teams gives
every message, card click and invoke a new id, and a retried or replayed
delivery the same one, so a retry acts once (and still gets an answer)
while another button on the same card, or the same button pressed again
later, acts again.
"""

from __future__ import annotations

import html
import json
import logging
import re
import time
from dataclasses import dataclass
from typing import Any

from botbuilder.core import InvokeResponse, TurnContext
from botbuilder.core.teams import TeamsActivityHandler, TeamsInfo
from botbuilder.schema import Activity, AdaptiveCardInvokeResponse, ChannelAccount, Mention

from bot.chat_work import run_chat
from bot.dispatch import AlreadyProcessed, UnknownMember, already_handled, run_action, run_command
from bot.render.teams import card_attachment, render_adaptive_card
from bot.render.text import render_text
from bot.teams import refs
from bot.teams.delivery import TeamsNotifier, send_reply, update_card, value_of
from bot.teams.forms import FORM_MARK, answers, form_card
from bot.teams.message_html import plain_text
from bot.teams.package import MESSAGE_ACTIONS
from handlers.reply import Reply
from handlers.router import Router
from store.clock import Clock
from store.database import Database
from store.processed import request_key

log = logging.getLogger(__name__)

NOT_A_MEMBER = (
    "I don't know you yet, so I can't answer. Ask a csbot admin to add you to the organisation file "
    "(your Microsoft Entra object id is {aad})."
)
NOT_A_MEMBER_NO_ID = (
    "I don't know you yet, so I can't answer. Ask a csbot admin to add you to the organisation file "
    "with your Microsoft Entra object id."
)
# An Entra object id is a GUID; only that is worth echoing (and nothing else a sender wrote is).
_GUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
SENT_PRIVATELY = "I sent you the answer in our 1:1 chat, since it is for your eyes only."
COULD_NOT_SEND_PRIVATELY = (
    "That answer is for your eyes only, and I could not message you privately. "
    "Open a 1:1 chat with csbot (or add --share to post it here)."
)
_AT = re.compile(r"<at>(.*?)</at>", re.IGNORECASE | re.DOTALL)
HIT_TTL_S, MISS_TTL_S = 600.0, 60.0


def activity_key(activity: Activity) -> str:
    """One delivery's identity: the activity id within its conversation.

    Teams ids are unique within a conversation (channel message ids are
    timestamps), so the conversation is part of the key; the card the button
    was on and the action id are not, or a second button on it would be
    taken for a retry of the first.
    """
    conversation = activity.conversation.id if activity.conversation is not None and activity.conversation.id else "-"
    return request_key("teams", "activity", str(conversation), str(activity.id or "-"))


@dataclass
class _Outcome:
    """A card action's answer. `acted` is False when nothing was run: the
    clicker is not a member, or this delivery repeats one already acted on;
    the reply then only says so."""

    reply: Reply
    acted: bool = True


class CsbotTeamsBot(TeamsActivityHandler):
    def __init__(self, db: Database, router: Router, clock: Clock, notifier: TeamsNotifier) -> None:
        self.db = db
        self.router = router
        self.clock = clock
        self.notifier = notifier
        self._who: dict[str, tuple[str | None, float]] = {}

    async def on_turn(self, turn_context: TurnContext) -> None:
        await run_chat(refs.remember, self.db, turn_context.activity, self.clock())
        await super().on_turn(turn_context)

    # ------------------------------------------------------------ identity

    async def _teams_member(self, turn_context: TurnContext, user_id: str) -> tuple[str | None, str | None]:
        """(AAD object id, email) of a Teams user, from the conversation roster."""
        try:
            member = await TeamsInfo.get_member(turn_context, user_id)
        except Exception as exc:  # noqa: BLE001 (an unreachable roster means "unknown", logged)
            log.warning("Teams roster lookup for %s failed: %s", user_id, exc)
            return None, None
        return member.aad_object_id, member.email or member.user_principal_name

    async def _handle_of(self, turn_context: TurnContext, account: ChannelAccount) -> str | None:
        cached = self._who.get(account.id)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        aad = getattr(account, "aad_object_id", None)
        handle = await run_chat(refs.member_handle, self.db, aad, None) if aad else None
        if handle is None:
            aad2, email = await self._teams_member(turn_context, account.id)
            handle = await run_chat(refs.member_handle, self.db, aad or aad2, email)
        self._who[account.id] = (handle, time.monotonic() + (HIT_TTL_S if handle else MISS_TTL_S))
        return handle

    async def _command_text(self, turn_context: TurnContext) -> str:
        """The message without the bot's @mention, people's @mentions as @handles."""
        activity = turn_context.activity
        text = TurnContext.remove_recipient_mention(activity) or ""
        bot_id = activity.recipient.id if activity.recipient else None
        for entity in activity.entities or []:
            if entity.type != "mention":
                continue
            mention = Mention().deserialize(entity.serialize())
            if mention.mentioned is None or mention.mentioned.id == bot_id or not mention.text:
                continue
            handle = await self._handle_of(turn_context, mention.mentioned)
            name = _AT.sub(r"\1", mention.text)
            text = text.replace(mention.text, f"@{handle}" if handle else f'"{name}"')
        # Teams sends HTML: entities and stray tags around plain words.
        text = html.unescape(re.sub(r"<[^>]+>", " ", text))
        return " ".join(text.split())

    def _not_a_member_reply(self, turn_context: TurnContext) -> Reply:
        sender = turn_context.activity.from_property
        aad = getattr(sender, "aad_object_id", None)
        title = NOT_A_MEMBER.format(aad=aad) if isinstance(aad, str) and _GUID.fullmatch(aad) else NOT_A_MEMBER_NO_ID
        return Reply(blocks=[], title=title)

    async def _not_a_member(self, turn_context: TurnContext) -> None:
        await send_reply(turn_context, self._not_a_member_reply(turn_context))

    # ------------------------------------------------------------ answering

    async def _answer(self, turn_context: TurnContext, reply: Reply) -> None:
        """In place, except private answers asked in a channel or group chat go to the 1:1 chat."""
        conversation_type = turn_context.activity.conversation.conversation_type or "personal"
        sender = turn_context.activity.from_property
        aad = getattr(sender, "aad_object_id", None)
        if conversation_type != "personal" and reply.visibility == "ephemeral":
            # Never answer a private question in front of the channel, even when the 1:1 chat fails.
            delivery = await self.notifier.to_user(aad, reply, who=aad) if aad else None
            if delivery is not None and delivery.ok:
                await send_reply(turn_context, Reply(title=SENT_PRIVATELY))
                return
            log.warning("private answer for %s could not go to a 1:1 chat: %s", aad, delivery.error if delivery else "no Entra id")
            await send_reply(turn_context, Reply(title=COULD_NOT_SEND_PRIVATELY))
            return
        # A form is one card of its own (card_activities); the rest is measured and split to fit.
        await send_reply(turn_context, reply, None if reply.form is not None else self.notifier.links)

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        value = value_of(activity)
        if value.get("action_id"):
            await self._card_action(turn_context, value)
            return
        handle = await self._handle_of(turn_context, activity.from_property)
        if handle is None:
            await self._not_a_member(turn_context)
            return
        text = await self._command_text(turn_context)
        if not text:
            text = "/csbot help"
        try:
            reply = await run_chat(
                run_command, self.db, self.router, handle, text, now=self.clock(), platform="teams",
                once=activity_key(activity),
            )
        except AlreadyProcessed:
            log.info("ignored replayed activity %s", activity.id)
            return
        except UnknownMember:
            await self._not_a_member(turn_context)
            return
        await self._answer(turn_context, reply)

    async def _run_action(self, turn_context: TurnContext, value: dict[str, Any]) -> _Outcome:
        activity = turn_context.activity
        handle = await self._handle_of(turn_context, activity.from_property)
        if handle is None:
            return _Outcome(self._not_a_member_reply(turn_context), acted=False)
        action_id = str(value.get("action_id"))
        if FORM_MARK in value:
            payload = json.dumps({"context": value.get(FORM_MARK) or "", "values": answers(None, value)})
        else:
            payload = str(value.get("value", ""))
        try:
            reply = await run_chat(
                run_action, self.db, self.router, handle, action_id, payload, now=self.clock(), platform="teams",
                # Every click is claimed, read-only ones too: a replayed activity is answered once in full.
                once=activity_key(activity),
            )
        except AlreadyProcessed:
            log.info("repeated delivery of activity %s (%s) answered, not acted on", activity.id, action_id)
            return _Outcome(already_handled(), acted=False)
        except UnknownMember:
            return _Outcome(self._not_a_member_reply(turn_context), acted=False)
        return _Outcome(reply)

    async def _card_action(self, turn_context: TurnContext, value: dict[str, Any]) -> None:
        outcome = await self._run_action(turn_context, value)
        reply = outcome.reply
        if not outcome.acted:
            # Nothing private in it: said where the button was, never in place of the card.
            await send_reply(turn_context, reply)
            return
        errors = reply.data.get("field_errors") if not reply.ok else None
        if errors and FORM_MARK in value:
            # Back to the form, answers kept, each problem under its field.
            return await self._form_again(turn_context, value, errors)
        if reply.replace_original and turn_context.activity.reply_to_id:
            await update_card(turn_context, turn_context.activity.reply_to_id, reply)
            return
        await self._answer(turn_context, reply)

    async def _form_again(self, turn_context: TurnContext, value: dict[str, Any], errors: dict[str, str]) -> None:
        await send_reply(turn_context, Reply(blocks=[], title="Some answers need another look: " + "; ".join(errors.values())))

    async def on_invoke_activity(self, turn_context: TurnContext) -> InvokeResponse | None:
        """Action.Execute (`adaptiveCard/action`): the same actions, answered with the replacing card.

        Handled here rather than in on_adaptive_card_invoke, whose response
        botbuilder serialises twice on the CloudAdapter path and fails.
        """
        if turn_context.activity.name in ("composeExtension/fetchTask", "composeExtension/submitAction"):
            return await self._message_action(turn_context)
        if turn_context.activity.name != "adaptiveCard/action":
            return await super().on_invoke_activity(turn_context)
        data = (value_of(turn_context.activity).get("action") or {}).get("data") or {}
        if not data.get("action_id"):
            return _invoke_message("That button carries nothing csbot can act on; type the command instead.")
        outcome = await self._run_action(turn_context, data)
        if not outcome.acted:
            # A message beside the card: the card the first delivery answered with stays.
            return _invoke_message(render_text(outcome.reply))
        reply = outcome.reply
        card = AdaptiveCardInvokeResponse(
            status_code=200, type="application/vnd.microsoft.card.adaptive", value=render_adaptive_card(reply)[0]
        )
        return InvokeResponse(status=200, body=card)

    async def _message_action(self, turn_context: TurnContext) -> InvokeResponse:
        """A message action ("Escalate this message" on a message's … menu): its form in a dialog, then its answer.

        The action's command id names the router action, as a Slack shortcut's
        callback id does; the message's text, author and link are its value.
        """
        value = value_of(turn_context.activity)
        if turn_context.activity.name == "composeExtension/submitAction":
            data = value.get("data") if isinstance(value.get("data"), dict) else {}
            if not data.get("action_id"):
                return _task_message("That form could not be read; type the command instead (e.g. escalate #12345 what is wrong).")
            outcome = await self._run_action(turn_context, data)
            reply = outcome.reply
            errors = reply.data.get("field_errors") if not reply.ok else None
            if errors and reply.form is None and FORM_MARK in data:
                return _task_message("Some answers need another look: " + "; ".join(str(e) for e in errors.values()))
            return _task_message(render_text(reply)[:1000])
        command = value.get("commandId")
        message = value.get("messagePayload") if isinstance(value.get("messagePayload"), dict) else {}
        if not isinstance(command, str) or command not in MESSAGE_ACTION_IDS or command not in self.router.action_ids:
            return _task_message("csbot does not know that action.")
        body = message.get("body") if isinstance(message.get("body"), dict) else {}
        author = ((message.get("from") or {}).get("user") or {}) if isinstance(message.get("from"), dict) else {}
        payload = {
            "text": plain_text(body.get("content")) if body.get("contentType") == "html" else str(body.get("content") or ""),
            "author": author.get("displayName") if isinstance(author.get("displayName"), str) else None,
            "permalink": message.get("linkToMessage") if isinstance(message.get("linkToMessage"), str) else None,
        }
        reply = (await self._run_action(turn_context, {"action_id": command, "value": json.dumps(payload)})).reply
        if reply.form is None:
            return _task_message(render_text(reply)[:1000])
        card = card_attachment(form_card(reply.form))
        return InvokeResponse(
            status=200,
            body={"task": {"type": "continue", "value": {"title": reply.form.title[:64], "width": "medium", "height": "medium", "card": card}}},
        )

    async def on_conversation_update_activity(self, turn_context: TurnContext) -> None:
        """Only csbot itself joining matters: it says hello.

        TeamsActivityHandler's version would first look every other new member
        up in the roster (a Connector call each), and fails on an update that
        carries no channelData.
        """
        members = turn_context.activity.members_added or []
        if members:
            await self.on_members_added_activity(members, turn_context)

    async def on_members_added_activity(self, members_added: list[ChannelAccount], turn_context: TurnContext) -> None:
        bot_id = turn_context.activity.recipient.id if turn_context.activity.recipient else None
        if any(m.id == bot_id for m in members_added):
            await send_reply(
                turn_context,
                Reply(title="Hi, I'm csbot. Mention me with a command, e.g. kpi team, or say help for the list."),
            )


MESSAGE_ACTION_IDS = frozenset(str(a["id"]) for a in MESSAGE_ACTIONS)


def _task_message(text: str) -> InvokeResponse:
    """A dialog's closing answer: Teams shows it as a short message box."""
    return InvokeResponse(status=200, body={"task": {"type": "message", "value": text}})


def _invoke_message(text: str) -> InvokeResponse:
    """An Action.Execute answer Teams shows as a message, leaving the card as it is."""
    # A plain body: botbuilder's AdaptiveCardInvokeResponse takes only an object as its value.
    return InvokeResponse(status=200, body={"statusCode": 200, "type": "application/vnd.microsoft.activity.message", "value": text[:1000]})
