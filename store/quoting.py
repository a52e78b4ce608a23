"""Quoting what someone sent in a message about it, never at full length.

Problem messages quote the value they are about ("status: unknown value
'escalated'"); a value can be megabytes (a file's cell, an alias bomb, a
webhook field), so every such quote goes through `clip`.
"""

from __future__ import annotations

from typing import Any

CLIP_CHARS = 40


def clip(value: Any, limit: int = CLIP_CHARS) -> str:
    """A short quoted rendering of a user's value for a message; never the whole of a huge one."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        if len(value) <= limit:
            return repr(value)
        return repr(value[:limit]) + f"… ({len(value):,} characters)"
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"
