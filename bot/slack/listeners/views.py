"""Modal submissions: answered in the ack itself, so field errors stay in the modal."""

from __future__ import annotations

import json
import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.chat_work import run_chat
from bot.dispatch import AlreadyProcessed, UnknownMember, run_action
from bot.slack.delivery import post_to, user_of
from bot.slack.deps import SlackDeps
from bot.slack.identity import not_a_member, not_a_member_reply
from bot.slack.modals import submitted_values


def register(app: AsyncApp, deps: SlackDeps) -> None:
    async def on_submit(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        user_id = user_of(body)
        handle = await deps.identity.handle_for(user_id)
        if handle is None:
            fields = submitted_values(view)
            if fields:
                await ack(response_action="errors", errors={b: not_a_member(user_id) for b in fields})
                return
            # Slack shows errors only under an input, and this view has none
            # (nor would it take an empty "errors"): close it and say so in a DM.
            await ack()
            await post_to(deps.client, user_id, not_a_member_reply(user_id), what="reply to a form")
            return
        value = json.dumps({"context": view.get("private_metadata", ""), "values": submitted_values(view)})
        try:
            reply = await run_chat(
                run_action,
                deps.db,
                deps.router,
                handle,
                view.get("callback_id", ""),
                value,
                now=deps.clock(),
                platform="slack",
                once=f"slack:view:{view.get('id')}:{view.get('hash')}",
            )
        except (AlreadyProcessed, UnknownMember):
            await ack()
            return
        field_errors = reply.data.get("field_errors") if not reply.ok else None
        if field_errors:
            await ack(response_action="errors", errors={k: str(v)[:150] for k, v in field_errors.items()})
            return
        await ack()
        await post_to(deps.client, user_id, reply, what=f"reply to form {view.get('callback_id')}")

    app.view(re.compile(r".+"))(on_submit)
