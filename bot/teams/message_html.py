"""The plain text of a Teams message's HTML body, as its reader sees it.

A message action hands csbot the message as Teams stores it: HTML, with
entities (`&amp;`), paragraphs, line breaks, and emoji as elements of their
own: `<emoji id="…" alt="😡" title="…"></emoji>` in newer clients,
`<img itemtype="http://schema.skype.com/Emoji" alt="😡" …>` in older ones.
Dropping every tag would drop those emoji; their `alt` is the character the
person typed, so it is kept. Text in any script is kept as it is.
"""

from __future__ import annotations

from html.parser import HTMLParser

# Elements after which a reader sees a new line.
_BREAKS = frozenset({"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote"})
_EMOJI_TYPE = "schema.skype.com/emoji"


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k.lower(): v or "" for k, v in attrs}
        if tag == "br":
            self.parts.append("\n")
        elif tag == "emoji" or (tag == "img" and _EMOJI_TYPE in found.get("itemtype", "").lower()):
            self.parts.append(found.get("alt", ""))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in _BREAKS and tag != "br":
            self.parts.append("\n")


def plain_text(content: object) -> str:
    """The text of a Teams message body (HTML): tags gone, entities decoded, emoji kept, line breaks kept."""
    parser = _Text()
    parser.feed(str(content or ""))
    parser.close()
    lines = [" ".join(line.split()) for line in "".join(parser.parts).split("\n")]
    return "\n".join(line for line in lines if line).strip()
