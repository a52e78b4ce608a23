"""The plain text of a Teams message's HTML body, as its reader sees it.

A message action hands csbot the message as Teams stores it: HTML, with
entities (`&amp;`), paragraphs, line breaks, and emoji as elements of their
own: `<emoji id="…" alt="😡" title="…"></emoji>` in newer clients,
`<img itemtype="http://schema.skype.com/Emoji" alt="😡" …>` in older ones.
Dropping every tag would drop those emoji; their `alt` is the character the
person typed, so it is kept. Text in any script is kept as it is.

The body is a stranger's text of up to 100,000 characters, so it is read
with one linear pass of regular expressions that cannot backtrack across
tags, not with html.parser, which takes quadratic time (and can raise) on
markup such as `<a <a <a …` or `<![<![…`.
"""

from __future__ import annotations

import html
import re

# One tag: its name and attributes up to the next `>`; `[^<>]` stops at the next `<`, so no backtracking.
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9]*)([^<>]*)>")
_ALT = re.compile(r"""\balt\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.IGNORECASE)
# Elements after which a reader sees a new line.
_BREAKS = frozenset({"p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote"})
_EMOJI_TYPE = "schema.skype.com/emoji"


def _replace(tag: re.Match[str]) -> str:
    closing, name, attributes = tag.group(1), tag.group(2).lower(), tag.group(3)
    if name == "br" or (closing and name in _BREAKS):
        return "\n"
    if not closing and (name == "emoji" or (name == "img" and _EMOJI_TYPE in attributes.lower())):
        alt = _ALT.search(attributes)
        # The alt is HTML too (`&amp;`): decoded with the rest, below.
        return (alt.group(1) if alt.group(1) is not None else alt.group(2)) if alt else ""
    return ""


def plain_text(content: object) -> str:
    """The text of a Teams message body (HTML): tags gone, entities decoded, emoji kept, line breaks kept."""
    text = html.unescape(_TAG.sub(_replace, str(content or "")))
    lines = [" ".join(line.split()) for line in text.split("\n")]
    return "\n".join(line for line in lines if line).strip()
