"""A request URL whose %-escapes are not UTF-8 text (`?key=%ED%A0%80`, a lone surrogate's bytes).

aiohttp decodes such a query value to U+FFFD and leaves such a path segment
escaped, so a route would look up, compare or log something other than what
was sent (and `hmac.compare_digest` raises on non-ASCII text). Every route is
spared that by one check before it runs: 400, naming the part of the URL.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, unquote

from bot.json_text import has_surrogate


def unreadable_part(raw_path: str) -> str | None:
    """Which part of a raw request target (path?query) is not UTF-8 once unescaped, or None."""
    path, _, query = raw_path.partition("?")
    if has_surrogate(unquote(path, errors="surrogateescape")):
        return "the path"
    try:
        pairs = parse_qsl(query, keep_blank_values=True, errors="surrogateescape")
    except ValueError:
        return "the query"
    for name, value in pairs:
        if has_surrogate(name):
            return "a query field name"
        if has_surrogate(value):
            return f"query field {name}" if name.isascii() and name.isidentifier() else "a query field"
    return None
