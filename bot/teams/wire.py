"""An outgoing Teams activity as the Bot Connector receives it, and its size in bytes.

Teams refuses a message over about 28 KB, and what counts is the whole
request body: the card, and around it the envelope botbuilder adds (the
conversation, both accounts with their display names, the service URL, the
reply-to id, the notification summary). botbuilder's TurnContext fills that
envelope in from the conversation reference just before sending, and the
Connector client serialises the activity with msrest and `json.dumps`, which
writes every non-ASCII character as a `\\uXXXX` escape (twelve bytes for an
emoji): a 200-character Japanese team name in a summary is 1,200 bytes, not
200. So csbot measures the activity the same way, envelope included, rather
than guess a reserve.
"""

from __future__ import annotations

import json
from copy import deepcopy

from botbuilder.core import TurnContext
from botbuilder.schema import Activity, ActivityTypes, ConversationReference, InputHints
from botframework.connector import models
from msrest import Serializer

# The Connector client's own serializer: the same models, the same field names and omissions.
_SERIALIZER = Serializer({k: v for k, v in models.__dict__.items() if isinstance(v, type)})


def as_sent(activity: Activity, reference: ConversationReference | None, *, activity_id: str | None = None) -> Activity:
    """`activity` with the envelope TurnContext gives it before sending (a copy; the original is left alone).

    `activity_id` is the id of a message being replaced (an update carries it); a new message has none.
    """
    sent = deepcopy(activity)
    if reference is not None:
        TurnContext.apply_conversation_reference(sent, reference)
    sent.type = sent.type or ActivityTypes.message
    sent.input_hint = sent.input_hint or InputHints.accepting_input
    sent.id = activity_id
    return sent


def wire_bytes(activity: Activity) -> int:
    """Bytes of the request body the Connector client sends for `activity` (msrest, then json.dumps)."""
    return len(json.dumps(_SERIALIZER.body(activity, "Activity")).encode("utf-8"))
