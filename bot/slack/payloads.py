"""Reading a verified Slack request body into the payload Bolt will see.

Slack sends events as JSON, slash commands as a form, and interactivity as
a form whose one field `payload` holds JSON. Anything else, or anything that
does not decode, is `Malformed` (a 400); the result is always an object
whose fields are then checked by bot.slack.shapes.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from bot.json_text import has_surrogate

JSON_TYPE = "application/json"
FORM_TYPE = "application/x-www-form-urlencoded"
# A slash command form has a dozen fields; far more is not Slack.
MAX_FORM_FIELDS = 100


class Malformed(Exception):
    """The body cannot be read as a Slack payload; the message is a short reason."""


def _json(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: "[[[[..." deeper than the decoder goes
        raise Malformed(f"{what} is not JSON") from None


def _form(text: str) -> dict[str, str]:
    try:
        # surrogateescape keeps a %-escape that is not UTF-8 (%ED%A0%80, a lone
        # surrogate's bytes) as surrogates, so the refusal can name its field.
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=True, errors="surrogateescape", max_num_fields=MAX_FORM_FIELDS)
    except ValueError:  # a malformed pair, too many fields
        raise Malformed("body is not a form") from None
    for name, value in pairs:
        if has_surrogate(name) or has_surrogate(value):
            shown = name if name.isascii() and name.isidentifier() else "a field name"
            raise Malformed(f"form field {shown} is not UTF-8 text")
    fields = dict(pairs)
    if len(fields) != len(pairs):
        # Bolt would keep the last, a proxy might keep the first: refuse rather than guess.
        raise Malformed("a form field is repeated")
    return fields


def parse(raw: bytes, content_type: str) -> dict[str, Any]:
    """The payload in `raw`, sent with `content_type` (without parameters such as charset)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Malformed("body is not UTF-8") from None
    if content_type == JSON_TYPE:
        payload = _json(text, "body")
    elif content_type == FORM_TYPE:
        fields = _form(text)
        payload = _json(fields["payload"], "payload") if "payload" in fields else fields
    else:
        raise Malformed("content type is neither JSON nor a form")
    if not isinstance(payload, dict):
        raise Malformed("payload is not an object")
    return payload
