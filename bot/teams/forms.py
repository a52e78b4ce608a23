"""A neutral Form as an Adaptive Card with inputs; its Action.Submit brings the answers back."""

from __future__ import annotations

from typing import Any

from bot.render.teams import escape_markdown
from bot.render.text import clean, truncate
from handlers.reply import Form

FORM_MARK = "csbot_form"  # in the submit data: this submission answers a form


def form_card(form: Form, errors: dict[str, str] | None = None, values: dict[str, str] | None = None) -> dict[str, Any]:
    """Adaptive Card 1.5 with one Input.Text per field; `errors` are shown under their fields."""
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": escape_markdown(clean(form.title)), "size": "Large", "weight": "Bolder", "wrap": True}
    ]
    for f in form.fields:
        body.append(
            {
                "type": "Input.Text",
                "id": f.name,
                "label": truncate(clean(f.label), 200),
                "isMultiline": f.multiline,
                "isRequired": not f.optional,
                "errorMessage": f"{truncate(clean(f.label), 100)} is required",
                "value": (values or {}).get(f.name, f.initial),
                **({"placeholder": truncate(clean(f.placeholder), 150)} if f.placeholder else {}),
            }
        )
        if errors and f.name in errors:
            body.append({"type": "TextBlock", "text": escape_markdown(clean(errors[f.name])), "color": "Attention", "wrap": True})
    return {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": "1.5",
        "body": body,
        "actions": [
            {
                "type": "Action.Submit",
                "title": truncate(clean(form.submit_label), 40),
                "data": {"action_id": form.action_id, FORM_MARK: form.context},
            }
        ],
    }


def answers(form_fields: list[str] | None, value: dict[str, Any]) -> dict[str, str]:
    """The submitted inputs: every key Teams merged into the value besides our own."""
    return {
        k: "" if v is None else str(v)
        for k, v in value.items()
        if k not in ("action_id", "value", FORM_MARK) and (form_fields is None or k in form_fields)
    }
