"""A neutral Form as a Slack modal, and a submitted modal back to form values."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.models.blocks import InputBlock, PlainTextInputElement, PlainTextObject
from slack_sdk.models.views import View
from slack_sdk.web.async_client import AsyncWebClient

from bot.render.text import clean, truncate
from bot.slack.delivery import slack_error
from handlers.reply import Form

log = logging.getLogger(__name__)

VALUE_ID = "value"  # the action id of every input element; the block id is the field name


def form_view(form: Form) -> dict[str, Any]:
    """Block Kit modal for `form`; limits (24-character title, 100 blocks) are respected."""
    blocks = [
        InputBlock(
            block_id=f.name,
            label=PlainTextObject(text=truncate(clean(f.label), 2000)),
            element=PlainTextInputElement(
                action_id=VALUE_ID,
                multiline=f.multiline,
                initial_value=f.initial[:3000] or None,
                placeholder=PlainTextObject(text=truncate(clean(f.placeholder), 150)) if f.placeholder else None,
            ),
            optional=f.optional,
        )
        for f in form.fields[:100]
    ]
    view = View(
        type="modal",
        callback_id=form.action_id,
        title=PlainTextObject(text=truncate(clean(form.title), 24)),
        submit=PlainTextObject(text=truncate(clean(form.submit_label), 24)),
        close=PlainTextObject(text="Cancel"),
        private_metadata=form.context[:3000],
        blocks=blocks,
    )
    return view.to_dict()


def submitted_values(view: dict[str, Any]) -> dict[str, str]:
    """{field name: text} from a view_submission's state."""
    values: dict[str, str] = {}
    for block_id, actions in ((view.get("state") or {}).get("values") or {}).items():
        element = actions.get(VALUE_ID) or {}
        values[block_id] = element.get("value") or ""
    return values


async def open_form(client: AsyncWebClient, trigger_id: str | None, form: Form, *, what: str) -> bool:
    if not trigger_id:
        log.error("%s asked for a form but the interaction has no trigger_id", what)
        return False
    try:
        await client.views_open(trigger_id=trigger_id, view=form_view(form))
    except SlackApiError as exc:
        log.error("form for %s not opened: %s", what, slack_error(exc))
        return False
    except (SlackClientError, OSError) as exc:
        log.error("form for %s not opened: %s", what, exc)
        return False
    return True
