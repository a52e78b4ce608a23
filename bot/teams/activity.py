"""What csbot accepts as a Teams activity, checked on the wire JSON before botbuilder reads it.

botbuilder takes whatever it is given: a field of the wrong type is coerced
(`"text": 7` becomes "7"), fails deep inside a turn, or is stored as it is.
So the activities csbot acts on (messages, Action.Execute invokes,
conversation and installation updates) are checked here first, field by
field, for everything the bot reads and the database keeps, within the
column sizes of store.conversations. Anything else is MalformedActivity,
answered with 400 before anything is written or sent. Activity types csbot
does not act on (typing, reactions, other invokes...) are ignored, as Bot
Framework expects.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from botbuilder.schema import Activity, Mention
from botbuilder.schema.teams import TeamsChannelData

from bot.json_text import lone_surrogate

HANDLED_TYPES = frozenset({"message", "invoke", "conversationUpdate", "installationUpdate"})
HANDLED_INVOKES = frozenset({"adaptiveCard/action", "composeExtension/fetchTask", "composeExtension/submitAction"})
# A message action's message text, as Teams sends it (HTML): longer is not a chat message.
MAX_MESSAGE_CONTENT = 100_000
MAX_LINK = 2_000  # a message's link: ids plus the team's and channel's names
MAX_NAME = 256  # a display name
CONVERSATION_TYPES = frozenset({"personal", "channel", "groupChat"})

# Column sizes (store.conversations, store.processed) with room to spare; real Teams values are far shorter.
MAX_ACTIVITY_ID = 200  # part of a 255-character claim key
MAX_ACCOUNT_ID = 256
MAX_CONVERSATION_ID = 256
MAX_OBJECT_ID = 64  # Entra object ids and tenant ids are GUIDs
MAX_CHANNEL_ID = 64
MAX_URL = 512
MAX_ENTITIES = 100  # Teams allows 20 mentions in a message


class MalformedActivity(ValueError):
    """The body is not an activity csbot can act on; `reason` names what is wrong (never its value)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def read_activity(body: bytes) -> Activity | None:
    """The activity in a request body, or None for one csbot ignores; raises MalformedActivity."""
    try:
        wire = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: "[[[[…" nested deeper than Python recurses
        raise MalformedActivity("body is not JSON") from None
    if not isinstance(wire, dict):
        raise MalformedActivity("body is not a JSON object")
    # Before any field is read: a lone surrogate ("\ud800") can be neither stored nor sent on.
    if (where := lone_surrogate(wire)) is not None:
        raise MalformedActivity(f"{where} holds a lone surrogate")
    kind = wire.get("type")
    if not isinstance(kind, str) or not kind:
        raise MalformedActivity("type is missing or not a string")
    if kind not in HANDLED_TYPES:
        return None
    if kind == "invoke":
        name = wire.get("name")
        if not isinstance(name, str):
            raise MalformedActivity("invoke name is missing or not a string")
        if name not in HANDLED_INVOKES:
            return None
    check(wire)
    try:
        return Activity().deserialize(wire)
    except Exception:  # noqa: BLE001 (msrest reports a bad timestamp, list or object in many ways)
        raise MalformedActivity("activity does not match the Bot Framework schema") from None


def check(wire: dict[str, Any]) -> None:
    """Raise MalformedActivity unless every field csbot reads has the type and size it needs."""
    _string(wire, "id", MAX_ACTIVITY_ID, required=True)
    _string(wire, "channelId", MAX_CHANNEL_ID, required=True)
    _url(wire, "serviceUrl")
    _account(wire, "from", required=True)
    _account(wire, "recipient", required=True)
    conversation = _object(wire, "conversation", required=True)
    _string(conversation, "id", MAX_CONVERSATION_ID, required=True, where="conversation.")
    kind = conversation.get("conversationType")
    if kind is not None and (not isinstance(kind, str) or kind not in CONVERSATION_TYPES):
        raise MalformedActivity("conversation.conversationType is not personal, channel or groupChat")
    _string(conversation, "tenantId", MAX_OBJECT_ID, where="conversation.")
    for name in ("text", "textFormat", "locale", "action", "name", "summary"):
        _string(wire, name, None)
    _string(wire, "replyToId", MAX_ACTIVITY_ID)
    if wire.get("deliveryMode") not in (None, "normal"):
        # "expectReplies" would return the answers in the HTTP response; csbot answers through the Connector.
        raise MalformedActivity("deliveryMode is not normal")
    _entities(wire)
    _channel_data(wire)
    _value(wire)
    for name in ("membersAdded", "membersRemoved"):
        for i, _ in enumerate(_list(wire, name)):
            _account(wire[name], i, required=True, where=f"{name}")
    for i, attachment in enumerate(_list(wire, "attachments")):
        if not isinstance(attachment, dict):
            raise MalformedActivity(f"attachments[{i}] is not an object")


def _object(parent: dict[str, Any], name: str, *, required: bool = False, where: str = "") -> dict[str, Any]:
    value = parent.get(name)
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise MalformedActivity(f"{where}{name} is {'missing or ' if required else ''}not an object")
    return value


def _list(parent: dict[str, Any], name: str) -> list[Any]:
    value = parent.get(name)
    if value is None:
        return []
    if not isinstance(value, list):
        raise MalformedActivity(f"{name} is not a list")
    return value


def _string(parent: dict[str, Any], name: str, limit: int | None, *, required: bool = False, where: str = "") -> str | None:
    """An id: bounded, and printable ASCII, since ids go into Connector URLs and headers (Teams' own all are)."""
    value = _text(parent, name, limit, required=required, where=where)
    if value is not None and limit is not None and not (value.isascii() and value.isprintable()):
        raise MalformedActivity(f"{where}{name} is not printable ASCII")
    return value


def _text(parent: dict[str, Any], name: str, limit: int | None, *, required: bool = False, where: str = "") -> str | None:
    """What a person wrote or is called (a message, a display name, a link to a message): any script, only bounded.

    It is never put into a URL or header; csbot escapes it wherever it shows it.
    """
    value = parent.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value):
        raise MalformedActivity(f"{where}{name} is {'missing or ' if required else ''}not a string")
    if limit is not None and len(value) > limit:
        raise MalformedActivity(f"{where}{name} is longer than {limit} characters")
    return value


def _url(parent: dict[str, Any], name: str) -> None:
    url = _string(parent, name, MAX_URL, required=True)
    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise MalformedActivity(f"{name} is not an http(s) URL")


def _account(parent: Any, name: str | int, *, required: bool = False, where: str = "") -> None:
    """A ChannelAccount: `from`, `recipient`, a member added, a mentioned person."""
    label = f"{where}[{name}]" if isinstance(name, int) else f"{where}{name}"
    account = parent[name] if isinstance(name, int) else parent.get(name)
    if account is None and not required:
        return
    if not isinstance(account, dict):
        raise MalformedActivity(f"{label} is {'missing or ' if required else ''}not an object")
    _string(account, "id", MAX_ACCOUNT_ID, required=True, where=f"{label}.")
    _string(account, "aadObjectId", MAX_OBJECT_ID, where=f"{label}.")
    _string(account, "name", None, where=f"{label}.")


def _entities(wire: dict[str, Any]) -> None:
    entities = _list(wire, "entities")
    if len(entities) > MAX_ENTITIES:
        raise MalformedActivity(f"more than {MAX_ENTITIES} entities")
    for i, entity in enumerate(entities):
        if not isinstance(entity, dict) or not isinstance(entity.get("type"), str):
            raise MalformedActivity(f"entities[{i}] is not an object with a type")
        if entity["type"] != "mention":
            continue
        _string(entity, "text", None, where=f"entities[{i}].")
        # botbuilder reads mentioned.id of every mention when it strips the bot's own.
        _account(entity, "mentioned", required=True, where=f"entities[{i}].")
        try:
            Mention().deserialize(entity)
        except Exception:  # noqa: BLE001 (as in read_activity)
            raise MalformedActivity(f"entities[{i}] is not a mention") from None


def _channel_data(wire: dict[str, Any]) -> None:
    data = _object(wire, "channelData")
    for name in ("tenant", "team", "channel", "meeting", "settings", "notification"):
        _object(data, name, where="channelData.")
    _string(_object(data, "tenant"), "id", MAX_OBJECT_ID, where="channelData.tenant.")
    _string(data, "eventType", None, where="channelData.")
    try:
        # The Teams handler reads channelData with this model; it must not fail there.
        TeamsChannelData().deserialize(data)
    except Exception:  # noqa: BLE001 (as in read_activity)
        raise MalformedActivity("channelData does not match the Teams schema") from None


def _value(wire: dict[str, Any]) -> None:
    if wire["type"] == "message":
        _object(wire, "value")  # a card's Action.Submit data
    elif wire["type"] == "invoke" and str(wire.get("name", "")).startswith("composeExtension/"):
        # A message action: which one, the message it was used on, or the dialog's answers.
        value = _object(wire, "value", required=True)
        _string(value, "commandId", 64, where="value.")
        _object(value, "data", where="value.")
        message = _object(value, "messagePayload", where="value.")
        # The message, its link and its author's name are user text in any language (the link holds the
        # team's and channel's names): bounded here, escaped where shown, never held to the id rule.
        _text(_object(message, "body", where="value.messagePayload."), "content", MAX_MESSAGE_CONTENT, where="value.messagePayload.body.")
        _text(message, "linkToMessage", MAX_LINK, where="value.messagePayload.")
        _text(_object(_object(message, "from", where="value.messagePayload."), "user", where="value.messagePayload.from."), "displayName", MAX_NAME, where="value.messagePayload.from.user.")
    elif wire["type"] == "invoke":
        action = _object(_object(wire, "value", required=True), "action", required=True, where="value.")
        _object(action, "data", where="value.action.")
