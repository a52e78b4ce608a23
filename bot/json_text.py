"""Strings in a decoded JSON body that no database, log or renderer can take.

JSON may escape any UTF-16 code unit, so `"\\ud800"` decodes to a lone
surrogate: a Python string that cannot be encoded as UTF-8, and so cannot be
stored, logged or sent on. Every route that reads JSON (the ticket webhook,
Teams, Slack) asks `lone_surrogate(body)` first and answers 400 naming the
field, instead of failing at the first write with a 500 that the sender
retries for ever.
"""

from __future__ import annotations

import re
from typing import Any

_SURROGATE = re.compile("[\ud800-\udfff]")
# Deep enough for any real body; a deeper one is refused by its route's own checks.
_MOST_DEPTH = 64


def has_surrogate(text: str) -> bool:
    """True when `text` holds a lone surrogate (U+D800–U+DFFF), which UTF-8 cannot encode."""
    return not text.isascii() and _SURROGATE.search(text) is not None


def _name(path: str, key: object) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    text = str(key)
    if text.isidentifier() and text.isascii():
        return f"{path}.{text}" if path else text
    # A key that is not a plain name is shown escaped, so the answer never carries the bad character.
    return f"{path}[{ascii(text)}]"


def lone_surrogate(value: Any, path: str = "") -> str | None:
    """The JSON path of the first string (value or key) holding a lone surrogate, or None.

    `path` names the value itself (`""` for a whole body: its fields are
    then named `ticket.subject`, `entities[0].text`).
    """
    stack: list[tuple[Any, str, int]] = [(value, path, 0)]
    while stack:
        item, where, depth = stack.pop()
        if depth > _MOST_DEPTH:
            continue
        if isinstance(item, str):
            if has_surrogate(item):
                return where or "the body"
        elif isinstance(item, dict):
            for key, inner in item.items():
                if isinstance(key, str) and has_surrogate(key):
                    return f"a key in {where or 'the body'}"
                stack.append((inner, _name(where, key), depth + 1))
        elif isinstance(item, list):
            stack.extend((inner, _name(where, index), depth + 1) for index, inner in enumerate(item))
    return None


def surrogate_problem(value: Any, path: str = "") -> str | None:
    """A sentence for a 400 answer naming the field with a lone surrogate, or None."""
    where = lone_surrogate(value, path)
    if where is None:
        return None
    return f"{where}: holds a lone surrogate (an escape \\ud800-\\udfff that is not a character)"
