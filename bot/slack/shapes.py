"""What a Slack payload must look like before Bolt or a csbot listener reads it.

Bolt builds its request context straight from the payload (`"id" in
body["user"]`, `body["actions"][0]`, `re.match(pattern, action_id)`), and so
do the listeners, so a signed payload with a field of the wrong type
(`user: 123`, `actions: null`, `event: [1]`) used to end in a TypeError and
a 500 with a traceback. `problem(body)` checks, before any of that runs, the
type of every field either of them reads, plus what no Slack payload ever
holds (NUL characters, unpaired surrogates, deep nesting); it is applied to
HTTP requests and to Socket Mode envelopes alike.

Fields nobody reads are not checked, so a new field from Slack is never a
reason to refuse a request.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from bot.json_text import has_surrogate, lone_surrogate

# Deep enough for any real payload (a view's state, a rich-text message), far
# below what would make a recursive reader overflow.
MAX_DEPTH = 48

Check = Callable[[Any, str], "str | None"]


class _Problem(Exception):
    pass


def _string(value: Any, at: str) -> str | None:
    return None if isinstance(value, str) else f"{at} is not a string"


def _optional_string(value: Any, at: str) -> str | None:
    return None if value is None or isinstance(value, str) else f"{at} is not a string"


def _flag(value: Any, at: str) -> str | None:
    return None if isinstance(value, bool) else f"{at} is not true or false"


def _flag_or_text(value: Any, at: str) -> str | None:
    # Interactivity payloads send JSON booleans, slash command forms "true"/"false".
    return None if isinstance(value, (bool, str)) else f"{at} is not true or false"


def _any(value: Any, at: str) -> str | None:
    return None


def _object(fields: Mapping[str, Check], required: tuple[str, ...] = ()) -> Check:
    def check(value: Any, at: str) -> str | None:
        if not isinstance(value, dict):
            return f"{at} is not an object"
        for name in required:
            if name not in value:
                return f"{at}.{name} is missing"
        for name, field_check in fields.items():
            if name in value:
                found = field_check(value[name], f"{at}.{name}")
                if found:
                    return found
        return None

    return check


def _list(item: Check, *, non_empty: bool = False) -> Check:
    def check(value: Any, at: str) -> str | None:
        if not isinstance(value, list):
            return f"{at} is not a list"
        if non_empty and not value:
            return f"{at} is empty"
        for index, element in enumerate(value):
            found = item(element, f"{at}[{index}]")
            if found:
                return found
        return None

    return check


def _mapping(values: Check) -> Check:
    """An object whose keys are names chosen elsewhere (block ids, action ids)."""

    def check(value: Any, at: str) -> str | None:
        if not isinstance(value, dict):
            return f"{at} is not an object"
        for element in value.values():
            # The key is the sender's text: a reason never quotes it.
            found = values(element, f"{at}.*")
            if found:
                return found
        return None

    return check


def _one_of(*checks: Check) -> Check:
    def check(value: Any, at: str) -> str | None:
        for option in checks:
            found = option(value, at)
            if found is None:
                return None
            if not found.startswith(f"{at} is "):
                return found  # the right type, but a field inside it is wrong: name that field
        return f"{at} has the wrong type"

    return check


def _null(value: Any, at: str) -> str | None:
    return None if value is None else f"{at} is not null"


# A user, team, channel or enterprise: an id string, or an object with an id.
_REFERENCE_OBJECT = _object(
    {
        "id": _string,
        "name": _string,
        "username": _string,
        "team_id": _string,
        "domain": _string,
        "enterprise_id": _optional_string,
    }
)
_REFERENCE = _one_of(_string, _REFERENCE_OBJECT)
# Org-wide installs send `team: null` in interactivity payloads.
_OPTIONAL_REFERENCE = _one_of(_null, _string, _REFERENCE_OBJECT)

_MESSAGE = _object(
    {
        "type": _string,
        "subtype": _string,
        "ts": _string,
        "thread_ts": _string,
        "user": _string,
        "bot_id": _optional_string,
        "text": _string,
    }
)

_ACTION = _object(
    {"action_id": _string, "block_id": _string, "value": _string, "type": _string, "action_ts": _string},
    required=("action_id",),
)

_VIEW = _object(
    {
        "id": _string,
        "hash": _string,
        "type": _string,
        "callback_id": _string,
        "private_metadata": _string,
        "team_id": _optional_string,
        "app_installed_team_id": _optional_string,
        # state.values: {block id: {action id: {"value": text or null, ...}}}
        "state": _object({"values": _mapping(_mapping(_object({"value": _optional_string})))}),
    }
)

_EVENT = _object(
    {
        "type": _string,
        "subtype": _string,
        "user": _REFERENCE,
        "channel": _REFERENCE,
        "channel_type": _string,
        "tab": _string,
        "team": _string,
        "user_team": _string,
        "bot_id": _optional_string,
        "text": _string,
        "ts": _string,
        "thread_ts": _string,
        "event_ts": _string,
        "message": _MESSAGE,
        "previous_message": _MESSAGE,
        "item": _object({"channel": _string, "ts": _string}),
        "function_execution_id": _string,
        "bot_access_token": _string,
    },
    required=("type",),
)

# Every top-level field Bolt (request context, matchers, middleware) or a
# csbot listener reads, with the type it must have when present.
_TOP = _object(
    {
        "type": _string,
        "token": _string,
        "api_app_id": _string,
        "team_id": _string,
        "team_domain": _string,
        "enterprise_id": _optional_string,
        "enterprise_name": _string,
        "is_enterprise_install": _flag_or_text,
        "user_id": _string,
        "user_name": _string,
        "channel_id": _string,
        "channel_name": _string,
        "command": _string,
        "text": _string,
        "response_url": _string,
        "trigger_id": _string,
        "callback_id": _string,
        "action_id": _string,
        "block_id": _string,
        "event_id": _string,
        "challenge": _string,
        "ssl_check": _string,
        "thread_ts": _string,
        "function_execution_id": _string,
        "bot_access_token": _string,
        "is_ext_shared_channel": _flag,
        "user": _one_of(_null, _REFERENCE),
        "team": _OPTIONAL_REFERENCE,
        "enterprise": _OPTIONAL_REFERENCE,
        "channel": _OPTIONAL_REFERENCE,
        "container": _object(
            {"type": _string, "message_ts": _string, "thread_ts": _string, "channel_id": _string, "view_id": _string, "is_ephemeral": _flag}
        ),
        "message": _MESSAGE,
        "previous_message": _MESSAGE,
        "view": _VIEW,
        "actions": _list(_ACTION),
        "event": _EVENT,
        "authorizations": _list(
            _object(
                {
                    "team_id": _optional_string,
                    "enterprise_id": _optional_string,
                    "user_id": _string,
                    "is_bot": _flag,
                    "is_enterprise_install": _flag,
                }
            )
        ),
        "response_urls": _list(_object({"response_url": _string, "block_id": _string, "action_id": _string, "channel_id": _string})),
        "item": _object({"channel": _string}),
        "assistant_thread": _object({"channel_id": _string, "thread_ts": _string}),
        "function_data": _object({"execution_id": _string}),
    }
)

# What each kind of payload cannot do without (csbot answers through
# response_url; Bolt's matchers index these without looking first).
_KINDS: dict[str, Check] = {
    "block_actions": _object({"actions": _list(_ACTION, non_empty=True)}, required=("actions",)),
    "message_action": _object({}, required=("callback_id",)),
    "shortcut": _object({}, required=("callback_id",)),
    "view_submission": _object({"view": _object({}, required=("callback_id",))}, required=("view",)),
    "view_closed": _object({"view": _object({}, required=("callback_id",))}, required=("view",)),
    "event_callback": _object({}, required=("event",)),
    "url_verification": _object({}, required=("challenge",)),
}
_COMMAND = _object({}, required=("command", "user_id", "response_url"))
# What each kind of event cannot do without: a mention is answered in a thread
# under its message, so it needs the message's channel and ts (Slack always
# sends both). Its author may be missing (a bot's message): the listener
# ignores those rather than refuse them, or Slack would retry them.
_EVENT_KINDS: dict[str, Check] = {
    "app_mention": _object({}, required=("channel", "ts")),
}


def _scan(body: Any) -> str | None:
    """Nesting and the characters no Slack payload holds, in any string (keys included)."""
    stack: list[tuple[Any, int]] = [(body, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            return "nested too deeply"
        if isinstance(value, str):
            strings: list[str] = [value]
        elif isinstance(value, dict):
            strings = [k for k in value if isinstance(k, str)]
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            strings = []
            stack.extend((v, depth + 1) for v in value)
        else:
            continue
        for text in strings:
            if "\x00" in text:
                return "a string holds a NUL character"
            if has_surrogate(text):
                return f"{lone_surrogate(body, 'payload')} holds an unpaired surrogate"
    return None


def problem(body: Any) -> str | None:
    """Why `body` is not a payload csbot can safely hand to Bolt, or None when it is.

    The reason is a short phrase naming the field (never its value), fit for
    a 400 answer and a log line.
    """
    if not isinstance(body, dict):
        return "the payload is not an object"
    found = _scan(body) or _TOP(body, "payload")
    if found:
        return found
    kind = body.get("type")
    if "command" in body:
        return _COMMAND(body, "command")
    if kind is None:
        return None if "ssl_check" in body else "neither a command nor a typed payload"
    check = _KINDS.get(kind)
    found = check(body, kind) if check else None
    if found is None and kind == "event_callback":
        event_kind = body["event"]["type"]
        event_check = _EVENT_KINDS.get(event_kind)
        return event_check(body["event"], f"{event_kind} event") if event_check else None
    return found
