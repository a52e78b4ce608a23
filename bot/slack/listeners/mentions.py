"""@csbot mentions in a channel: the same commands as the slash commands, answered in a thread.

`@csbot kpi team` runs `/kpi team` through the shared router as the person
who wrote it. An answer meant for the channel (`--share`) is posted in a
thread under the mention; an answer meant only for the asker (their
figures, help, what was wrong) goes to them by DM, and the thread gets a
short note saying so, never the answer itself, even when the DM fails. This
is what Teams does for private answers asked in a channel.

The event is acknowledged at once and answered by a lazy listener. Each
message is answered once: the first delivery claims (channel, ts) in the
processed-request table, so Slack's retries (a new signature, the same
message), a replayed request and an edit of the message do nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.chat_work import run_chat
from bot.dispatch import UnknownMember, run_command
from bot.slack.delivery import direct_message, id_of, post_to
from bot.slack.deps import SlackDeps
from bot.slack.identity import not_a_member_reply
from bot.slack.mentions import command_text, not_for_csbot
from handlers.reply import Reply, Section
from store.busy import BUSY_MESSAGE, describe, is_busy
from store.quoting import clip

log = logging.getLogger(__name__)

SENT_BY_DM = "I sent you the answer by direct message, since it is for your eyes only."
COULD_NOT_DM = (
    "That answer is for your eyes only, and I could not send you a direct message. "
    "Ask with the slash command instead, which answers only you (or add --share to post the answer here)."
)
FORM_NEEDS_SLASH = "That command opens a form, which Slack shows only for a slash command: type {command} instead."


def mention_key(channel: str, ts: str) -> str:
    """The processed-request key of the message a mention was in."""
    return f"slack:mention:{channel}:{ts}"


def _note(text: str) -> Reply:
    return Reply(blocks=[Section(text)])


class Mention:
    """One mention being answered: where it was, who wrote it, what they asked."""

    def __init__(self, deps: SlackDeps, event: dict[str, Any], bot_user_id: str | None) -> None:
        self.deps = deps
        self.user_id = id_of(event.get("user")) or ""
        self.channel = id_of(event.get("channel")) or ""
        self.ts = str(event.get("ts") or "")
        # A mention inside a thread is answered in that thread.
        self.thread_ts = str(event.get("thread_ts") or self.ts)
        self.text = command_text(event.get("text") or "", bot_user_id)
        # Ids from the payload, quoted short: a signed but odd payload could hold anything.
        self.what = f"mention by {clip(self.user_id)} in {clip(self.channel)}"

    async def in_thread(self, reply: Reply) -> str | None:
        return await post_to(self.deps.client, self.channel, reply, what=f"reply to {self.what}", thread_ts=self.thread_ts)

    async def answer(self) -> None:
        handle = await self.deps.identity.handle_for(self.user_id)
        try:
            if handle is None:
                raise UnknownMember(self.user_id)
            reply = await run_chat(
                run_command, self.deps.db, self.deps.router, handle, self.text, now=self.deps.clock(), platform="slack"
            )
        except UnknownMember:
            await self.in_thread(not_a_member_reply(self.user_id))
            return
        self.what = f"mention by {handle} in {clip(self.channel)}"
        if reply.form is not None:
            # A modal needs a trigger_id, which only interactions and slash commands carry.
            await self.in_thread(_note(FORM_NEEDS_SLASH.format(command="/" + self.text.split()[0].lstrip("/").lower())))
        elif reply.visibility == "channel":
            await self.in_thread(reply)
        else:
            await self.privately(reply)

    async def privately(self, reply: Reply) -> None:
        """The answer by DM and a note in the thread; never the answer in the channel."""
        # A failed DM is logged (with Slack's reason) where it is sent.
        error = await direct_message(self.deps.client, self.user_id, reply, what=f"private answer to {self.what}")
        await self.in_thread(_note(SENT_BY_DM if error is None else COULD_NOT_DM))


def register(app: AsyncApp, deps: SlackDeps) -> None:
    async def ack_event(ack: AsyncAck) -> None:
        # Nothing slow before this: Slack retries an event not acknowledged within 3 seconds.
        await ack()

    async def on_mention(event: dict[str, Any], context: dict[str, Any]) -> None:
        ignored = not_for_csbot(event, context.get("bot_user_id"))
        if ignored is not None:
            log.debug("mention not answered: %s", ignored)
            return
        mention = Mention(deps, event, context.get("bot_user_id"))
        try:
            if await deps.replays.replayed(context):
                return
            if not await run_chat(deps.replays.claim, mention_key(mention.channel, mention.ts)):
                log.info("ignored repeated %s at %s", mention.what, clip(mention.ts))
                return
            async with deps.work:
                await mention.answer()
        except Exception as exc:
            if not is_busy(exc):
                # Payloads are checked before they get here: a failure is csbot's own.
                log.error("%s failed", mention.what, exc_info=exc)
                return
            log.warning("%s: database busy (%s)", mention.what, describe(exc))
            # Nothing they asked for was done (a busy command changes nothing), and
            # asking again is a new message with its own claim.
            await mention.in_thread(_note(BUSY_MESSAGE))

    app.event("app_mention")(ack=ack_event, lazy=[on_mention])
