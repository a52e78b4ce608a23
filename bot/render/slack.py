"""Render a Reply as Slack Block Kit messages, within every Block Kit limit.

Escaping. Slack parses `&`, `<` and `>` as control characters in mrkdwn
("Formatting message text" > "Escaping text"), which is how `<!channel>`,
`<@U123>`, `<!subteam^S1>` and `<url|label>` become pings and links, so every
user string in a mrkdwn text (sections, fields, context, tables, the fallback
`text`) gets those three replaced by `&amp;`, `&lt;`, `&gt;`. mrkdwn has no
escape for `*`, `_`, `~` and backticks, so where they could format (not
between two letters or digits, where Slack ignores them) they become
look-alikes (∗ ˍ ∼ ˋ); a line starting with `>` (quote, even as `&gt;`) gets an
invisible soft hyphen first. `@here`, `@channel` and `@everyone` get a word
joiner after the `@` in case a client auto-parses them. mrkdwn objects carry
`verbatim: true` so Slack does not link-ify URLs or channel names either.

plain_text objects (header, button labels) are not parsed for markup or
mentions, and Slack stores them with its own entity encoding (a raw `&` in a
button label comes back as `&amp;` in interaction payloads), so escaping them
here would show a literal `&amp;`; they are only cleaned and truncated.

Limits (Block Kit reference): 50 blocks per message, section and context text
3000, header 150, 10 fields per section of 2000 each, button label 75, value
2000, action_id 255, 25 elements per actions block. Text is split before it is
escaped, measuring the escaped size, so an entity is never cut in half. Lengths
are counted in UTF-16 units, which is never less than what Slack counts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.render.text import clean, one_line, split_text, table_lines
from handlers.reply import Actions, Button, Chart, Context, Divider, Fields, File, Reply, Section, Table

MAX_BLOCKS = 50
MAX_MESSAGES = 5
TEXT_MAX = 3000
HEADER_MAX = 150
FIELDS_PER_SECTION = 10
FIELD_MAX = 2000
FIELD_LABEL_MAX = 300
BUTTON_LABEL_MAX = 75
BUTTON_VALUE_MAX = 2000
ACTION_ID_MAX = 255
BUTTONS_PER_BLOCK = 25
FALLBACK_MAX = 4000
TABLE_CELL_WIDTH = 60
# Caps a (very wide) table line so a header, its rule, a title and one row always fit in a section.
TABLE_LINE_MAX = 600

_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_LOOKALIKES = {"*": "\u2217", "_": "\u02cd", "~": "\u223c", "`": "\u02cb"}
_SOFT_HYPHEN = "\u00ad"
_WORD_JOINER = "\u2060"
_BROADCAST = re.compile(r"@(?=(?:here|channel|everyone)\b)", re.IGNORECASE)
_FENCE = "```"
# Any escaping that depends on the next character adds at most one unit per join.
_JOIN_COST = 1


def utf16_len(text: str) -> int:
    """Length as Slack's JavaScript-side limits count it (astral characters take two)."""
    return len(text.encode("utf-16-le")) // 2


def escape_mrkdwn(text: str) -> str:
    """Plain user text as mrkdwn that shows exactly that text: no pings, links or formatting."""
    out: list[str] = []
    line_start = True
    for i, ch in enumerate(text):
        if ch in "&<>":
            if ch == ">" and line_start:
                out.append(_SOFT_HYPHEN)
            out.append(_ENTITIES[ch])
        elif ch == "\uff1e" and line_start:
            out.append(_SOFT_HYPHEN + ch)
        elif ch in "*_~":
            intra_word = 0 < i < len(text) - 1 and text[i - 1].isalnum() and text[i + 1].isalnum()
            out.append(ch if intra_word else _LOOKALIKES[ch])
        elif ch == "`":
            out.append(_LOOKALIKES[ch])
        else:
            out.append(ch)
        if ch == "\n":
            line_start = True
        elif ch not in " \t":
            line_start = False
    return _BROADCAST.sub("@" + _WORD_JOINER, "".join(out))


def _escape_code(text: str) -> str:
    """User text for inside a ``` block: no formatting applies there, but entities, pings and fences do."""
    out = "".join(_ENTITIES.get(ch, "\u02cb" if ch == "`" else ch) for ch in text)
    return _BROADCAST.sub("@" + _WORD_JOINER, out)


def _clip(text: str, limit: int, *, escaped: bool = True) -> str:
    """Shorten text to `limit` UTF-16 units, marking the cut with "…".

    For escaped mrkdwn the cut backs off to before a partial entity, so
    `&amp;` is never left as `&am`.
    """
    if utf16_len(text) <= limit:
        return text
    cut, used = 0, 0
    for ch in text:
        w = utf16_len(ch)
        if used + w > limit - 1:
            break
        used += w
        cut += 1
    if escaped:
        amp = text.rfind("&", 0, cut)
        if amp != -1 and text.find(";", amp, cut) == -1:
            cut = amp
    return text[:cut] + "…"


def _mrkdwn_chunks(text: str, limit: int = TEXT_MAX) -> list[str]:
    pieces = split_text(clean(text), limit, lambda s: utf16_len(escape_mrkdwn(s)), join_cost=_JOIN_COST)
    return [_clip(escape_mrkdwn(p), limit) for p in pieces]


def _mrkdwn(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=text, verbatim=True)


def _sections(text: str) -> list[Block]:
    return [SectionBlock(text=_mrkdwn(chunk)) for chunk in _mrkdwn_chunks(text)]


def _contexts(text: str) -> list[Block]:
    return [ContextBlock(elements=[_mrkdwn(chunk)]) for chunk in _mrkdwn_chunks(text)]


def _field_text(label: str, value: str) -> str:
    head = _clip(escape_mrkdwn(one_line(label)), FIELD_LABEL_MAX)
    head = f"*{head}*\n" if head else ""
    body = escape_mrkdwn(clean(value).strip()) or "–"
    return head + _clip(body, FIELD_MAX - utf16_len(head))


def _fields(block: Fields) -> list[Block]:
    texts = [_field_text(f.label, f.value) for f in block.fields]
    return [
        SectionBlock(fields=[_mrkdwn(t) for t in texts[i : i + FIELDS_PER_SECTION]])
        for i in range(0, len(texts), FIELDS_PER_SECTION)
    ]


def _table(block: Table) -> list[Block]:
    lines = [
        _clip(_escape_code(line), TABLE_LINE_MAX)
        for line in table_lines(block.columns, block.rows, max_cell_width=TABLE_CELL_WIDTH)
    ]
    header, rows = lines[:2], lines[2:] or ["(no rows)"]
    title = escape_mrkdwn(one_line(block.title or ""))
    title = f"*{_clip(title, 500)}*\n" if title else ""
    # Each section repeats the header row so a split table still reads on its own.
    frame = utf16_len(_FENCE + "\n" + "\n".join(header) + "\n" + "\n" + _FENCE)
    sections: list[Block] = []
    current: list[str] = []
    size = 0
    for row in rows:
        budget = TEXT_MAX - frame - (utf16_len(title) if not sections else 0)
        cost = utf16_len(row) + 1
        if current and size + cost > budget:
            sections.append(_table_section(title if not sections else "", header, current))
            current, size = [], 0
        current.append(row)
        size += cost
    sections.append(_table_section(title if not sections else "", header, current))
    return sections


def _table_section(title: str, header: Sequence[str], rows: Sequence[str]) -> Block:
    code = "\n".join([*header, *rows])
    return SectionBlock(text=_mrkdwn(_clip(f"{title}{_FENCE}\n{code}\n{_FENCE}", TEXT_MAX)))


def _chart(block: Chart) -> list[Block]:
    # The PNG is uploaded by the Slack adapter; here the chart is its description.
    text = "📈 " + escape_mrkdwn(one_line(block.title)) + ": " + escape_mrkdwn(one_line(block.alt_text))
    return [ContextBlock(elements=[_mrkdwn(_clip(text, TEXT_MAX))])]


def _file(block: File, visibility: str) -> list[Block]:
    # The file itself is uploaded by the Slack adapter: to the channel with a shared
    # answer, else to the asker's direct messages (a file cannot be ephemeral).
    where = "uploaded to this conversation" if visibility == "channel" else "sent to your direct messages with csbot"
    text = "📎 " + escape_mrkdwn(one_line(block.filename)) + f" ({where}): " + escape_mrkdwn(one_line(block.description))
    return [ContextBlock(elements=[_mrkdwn(_clip(text, TEXT_MAX))])]


def _button(button: Button) -> ButtonElement:
    # Over-long ids and values are cut rather than rejected: a reply must always render.
    return ButtonElement(
        text=PlainTextObject(text=_clip(one_line(button.label) or "Button", BUTTON_LABEL_MAX, escaped=False)),
        action_id=_clip(button.action_id or "button", ACTION_ID_MAX, escaped=False),
        value=_clip(button.value, BUTTON_VALUE_MAX, escaped=False) or None,
        style=button.style,
    )


def _actions(block: Actions) -> list[Block]:
    # Slack wants action_ids unique within a block, so a repeat starts a new block.
    groups: list[list[ButtonElement]] = []
    for element in (_button(b) for b in block.buttons):
        group = groups[-1] if groups else None
        if group is None or len(group) == BUTTONS_PER_BLOCK or any(e.action_id == element.action_id for e in group):
            groups.append([element])
        else:
            group.append(element)
    return [ActionsBlock(elements=group) for group in groups]


def _blocks(reply: Reply) -> list[Block]:
    blocks: list[Block] = []
    title = one_line(reply.title or "")
    if title:
        blocks.append(HeaderBlock(text=PlainTextObject(text=_clip(title, HEADER_MAX, escaped=False))))
    for block in reply.blocks:
        match block:
            case Section(text=text):
                blocks.extend(_sections(text))
            case Context(text=text):
                blocks.extend(_contexts(text))
            case Fields():
                blocks.extend(_fields(block))
            case Table():
                blocks.extend(_table(block))
            case Chart():
                blocks.extend(_chart(block))
            case File():
                blocks.extend(_file(block, reply.visibility))
            case Actions():
                blocks.extend(_actions(block))
            case Divider():
                blocks.append(DividerBlock())
    return blocks


def _line_count(block: dict[str, Any]) -> int:
    """How many lines a reader loses when this block is left out (at least one)."""
    texts = _block_texts(block)
    return max(1, sum(t.count("\n") + 1 for t in texts) - (2 * _fence_pairs(texts)))


def _fence_pairs(texts: Iterable[str]) -> int:
    return sum(t.count(_FENCE) // 2 for t in texts)


def _block_texts(block: dict[str, Any]) -> list[str]:
    kind = block["type"]
    if kind in ("header", "section") and "text" in block:
        texts = [block["text"]["text"]]
        if kind == "header":
            texts = [escape_mrkdwn(texts[0])]
        return texts + [f["text"] for f in block.get("fields", [])]
    if kind == "section":
        return [f["text"] for f in block.get("fields", [])]
    if kind == "context":
        return [e["text"] for e in block["elements"] if "text" in e]
    if kind == "actions":
        labels = "  ".join(f"[{escape_mrkdwn(e['text']['text'])}]" for e in block["elements"])
        return [f"Actions: {labels}"]
    return []


def _fallback(blocks: Sequence[dict[str, Any]]) -> str:
    """The message `text`: what notifications and screen readers get. Already escaped."""
    text = "\n".join(t for b in blocks for t in _block_texts(b)).strip()
    return _clip(text, FALLBACK_MAX) if text else "…"


def _paginate(blocks: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    pages = [blocks[i : i + MAX_BLOCKS] for i in range(0, len(blocks), MAX_BLOCKS)] or [[]]
    if len(pages) <= MAX_MESSAGES:
        return pages
    kept = pages[:MAX_MESSAGES]
    last = kept[-1][: MAX_BLOCKS - 1]
    omitted = blocks[(MAX_MESSAGES - 1) * MAX_BLOCKS + len(last) :]
    lines = sum(_line_count(b) for b in omitted)
    notice = ContextBlock(elements=[_mrkdwn(f"… {lines} more lines omitted")]).to_dict()
    kept[-1] = [*last, notice]
    return kept


def render_slack(reply: Reply) -> list[dict[str, Any]]:
    """The reply as one or more Slack messages: `{"text", "blocks", "response_type"}` each.

    More than 50 blocks continue in further messages; past five messages the
    rest is replaced by a context line saying how many lines were left out.
    `response_type` is for slash-command responses; the adapter decides
    whether to post ephemerally.
    """
    blocks = [b.to_dict() for b in _blocks(reply)]
    response_type = "in_channel" if reply.visibility == "channel" else "ephemeral"
    return [
        {"text": _fallback(page), "blocks": page, "response_type": response_type} for page in _paginate(blocks)
    ]
