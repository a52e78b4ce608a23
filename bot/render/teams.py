"""Render a Reply as Adaptive Cards 1.5 for Microsoft Teams, each under Teams' 28 KB limit.

Escaping. TextBlock text, Fact titles and values are markdown (a CommonMark
subset: bold, italic, lists, links); `<at>…</at>` only pings with a mention
entity, which we never send. Backslash escapes are not dependable in Teams:
clients have disagreed about them for years (AdaptiveCards issues 523, 4677,
5590, 5758; msteams-docs 5793: Android showed `\\*text\\*` verbatim, iOS lost
the asterisks). So user text is neutralised with characters every renderer
treats as plain text:

- `*`, `~` and backticks become look-alikes (∗ ∼ ˋ), and `_` too unless it is
  inside a word, where markdown ignores it (`support_emea` stays copyable);
- a zero-width space goes after `]` before `(`, `[` or `:` (no `[x](url)` or
  reference links), after `<` before a non-space (no `<at>`, autolinks or
  HTML), after `&` in an entity (`&lt;` shows as typed), between `{{` (no
  DATE()/TIME() functions), and before a line that starts like a markdown
  block (indentation, `#`, `>`, `-`, `+`, `=`, `|`, `1.`), so no lists,
  headings, quotes or code blocks; numbers and words are left untouched so
  they copy cleanly;
- single newlines are doubled, because markdown would otherwise join the lines.

Bare URLs may still be linked by a client; they show their real target.
Action titles and image alt text are not markdown and are only cleaned.

Size. Cards are measured as `json.dumps` with ASCII escapes, which is how
the Bot Connector client sends them (never smaller than UTF-8 JSON), and
packed to a card budget: by default CARD_BUDGET, leaving a kilobyte for the
activity envelope; bot.teams.delivery measures the real envelope (names in
any script, ids, the summary) and passes what it leaves, so every message is
within Teams' 28 KB as sent. Long text, fact lists and tables are split into
several elements and spread over up to MAX_CARDS cards, then visibly
truncated; nothing raises.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Sequence
from typing import Any

from bot.render.text import clean, looks_numeric, one_line, split_text, table_lines
from handlers.reply import Actions, Button, Chart, Context, Divider, Field, Fields, File, Reply, Section, Table

SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
VERSION = "1.5"
TEAMS_MESSAGE_LIMIT = 28_000
# The card travels inside an activity (ids, conversation, attachment wrapper): leave it a kilobyte.
CARD_BUDGET = TEAMS_MESSAGE_LIMIT - 1_000
# Largest single text element; smaller pieces pack more evenly into cards.
TEXT_BUDGET = 8_000
MIN_CARD_BUDGET = 2 * TEXT_BUDGET
TITLE_MAX = 500
LABEL_MAX = 80
CELL_MAX = 1_000
FACT_MAX = 4_000
ALT_MAX = 1_000
VALUE_MAX = 2_000
ACTION_ID_MAX = 255
TEXT_CELL_WIDTH = 40
PRIMARY_ACTIONS = 6
# Like Slack's renderer: past a few messages, say how much was left out instead
# of flooding the conversation (and tripping Teams' per-thread throttling).
# Ten, not Slack's five, because Table JSON is about ten times as verbose as a
# code block: ten cards hold a 500-row table, as three Slack messages do.
MAX_CARDS = 10

_ZW = "\u200b"
_LOOKALIKES = {"*": "\u2217", "_": "\u02cd", "~": "\u223c", "`": "\u02cb"}
_INSERT_ZW = re.compile(r"(\](?=[(\[:])|<(?=\S)|&(?=#?\w+;)|\{(?=\{))")
# What can open a markdown block at the start of a line: indentation (code),
# heading, quote, list and setext/rule markers, a table pipe, "1." or "1)".
_BLOCK_START = re.compile(r"[ \t]|[#>+\-=|]|\d+[.)](?:\s|$)")
# A zero-width space inserted at a join between two pieces: its JSON escape is six bytes.
_JOIN_COST = 6
_STYLES = {"primary": "positive", "danger": "destructive"}

Element = dict[str, Any]


def json_size(obj: Any) -> int:
    """Bytes of `obj` as JSON with ASCII escapes: an upper bound for any UTF-8 serialisation."""
    return len(json.dumps(obj))


def escape_markdown(text: str) -> str:
    """Plain user text as Adaptive Card markdown that shows that text: no links, mentions or formatting."""
    lines = []
    for line in clean(text).split("\n"):
        chars = []
        for i, ch in enumerate(line):
            if ch == "_" and 0 < i < len(line) - 1 and line[i - 1].isalnum() and line[i + 1].isalnum():
                chars.append(ch)
            else:
                chars.append(_LOOKALIKES.get(ch, ch))
        line = _INSERT_ZW.sub(lambda m: m.group(0) + _ZW, "".join(chars))
        if _BLOCK_START.match(line):
            line = _ZW + line
        lines.append(line)
    return "\n\n".join(lines)


def _text_size(text: str) -> int:
    return json_size(escape_markdown(text)) - 2


def _text_block(text: str, **style: Any) -> Element:
    return {"type": "TextBlock", "text": escape_markdown(text), "wrap": True, **style}


def _text_blocks(text: str, **style: Any) -> list[Element]:
    pieces = split_text(clean(text), TEXT_BUDGET, _text_size, join_cost=_JOIN_COST)
    return [_text_block(p, **style) for p in pieces]


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _fact(field: Field) -> Element:
    # Shrink until the fact fits in one element: text of any length must still render.
    cap = FACT_MAX
    while True:
        fact = {
            "title": escape_markdown(_cut(one_line(field.label), cap)),
            "value": escape_markdown(_cut(clean(field.value), cap)),
        }
        if json_size(fact) <= TEXT_BUDGET or cap <= 16:
            return fact
        cap //= 2


def _facts(fields: Sequence[Field]) -> list[Element]:
    empty = json_size({"type": "FactSet", "facts": []})
    sets: list[Element] = []
    size = 0
    for fact in map(_fact, fields):
        cost = json_size(fact) + 2
        if not sets or size + cost > TEXT_BUDGET:
            sets.append({"type": "FactSet", "facts": []})
            size = empty
        sets[-1]["facts"].append(fact)
        size += cost
    return sets


def _cell(text: str, cap: int, *, header: bool = False, right: bool = False) -> Element:
    block: Element = {"type": "TextBlock", "text": escape_markdown(_cut(one_line(text), cap)), "wrap": True}
    if header:
        block["weight"] = "Bolder"
    if right:
        block["horizontalAlignment"] = "Right"
    return {"type": "TableCell", "items": [block]}


def _row(cells: Sequence[Element]) -> Element:
    return {"type": "TableRow", "cells": list(cells)}


def _table(block: Table, budget: int) -> list[Element]:
    ncols = max([len(block.columns), *(len(r) for r in block.rows)], default=0)
    if ncols == 0:
        return []
    rows = [list(r) + [""] * (ncols - len(r)) for r in block.rows]
    numeric = [any(r[i] for r in rows) and all(looks_numeric(r[i]) for r in rows if r[i]) for i in range(ncols)]
    columns = list(block.columns) + [""] * (ncols - len(block.columns))

    def build_row(cells: Sequence[str], cap: int, header: bool = False) -> Element:
        return _row([_cell(c, cap, header=header, right=numeric[i]) for i, c in enumerate(cells)])

    def shell(header_row: Element) -> Element:
        columns = [{"width": 1} for _ in range(ncols)]
        return {"type": "Table", "columns": columns, "rows": [header_row], "firstRowAsHeader": True}

    # Shrink cells until a header plus one row fits on its own: a table must render, even if clipped.
    cap = CELL_MAX
    while True:
        header = build_row(columns, cap, header=True)
        widest = max((build_row(r, cap) for r in rows), key=json_size, default=None)
        need = json_size(shell(header)) + (json_size(widest) + 2 if widest else 0)
        if need <= budget:
            break
        if cap <= 8:
            return _table_as_text(block)
        cap //= 2

    # Sizes are kept as running sums: re-serialising a growing table per row is quadratic.
    empty = json_size(shell(header))
    tables, size = [shell(header)], empty
    for cells in rows:
        row = build_row(cells, cap)
        cost = json_size(row) + 2
        if len(tables[-1]["rows"]) > 1 and size + cost > budget:
            tables.append(shell(header))
            size = empty
        tables[-1]["rows"].append(row)
        size += cost
    return tables


def _table_as_text(block: Table) -> list[Element]:
    """A table too wide for a Table element even with clipped cells, as monospace text."""
    lines = table_lines(block.columns, block.rows, max_cell_width=TEXT_CELL_WIDTH)
    return _text_blocks("\n".join(lines), fontType="Monospace")


def _chart(block: Chart, budget: int) -> list[Element]:
    title = _text_block(f"📈 {one_line(block.title)}", weight="Bolder")
    image = {
        "type": "Image",
        "url": block.url or "data:image/png;base64," + base64.b64encode(block.png).decode("ascii"),
        "altText": _cut(one_line(block.alt_text), ALT_MAX),
    }
    if json_size(image) + json_size(title) + 2 <= budget:
        return [title, image]
    # Too big to inline under the message limit: say what it shows instead.
    return [_text_block(f"📈 {one_line(block.title)}: {one_line(block.alt_text)} (chart too large to show here)")]


def _file(block: File, budget: int) -> list[Element]:
    said = _text_block(f"📎 {one_line(block.filename)}: {one_line(block.description)}")
    if block.url is not None:
        link = {"type": "Action.OpenUrl", "title": _cut(f"Download {one_line(block.filename)}", LABEL_MAX), "url": block.url}
        return [said, {"type": "ActionSet", "actions": [link]}]
    # No public address to link it from: the text itself when it fits the card, else where to get it.
    text = block.content.decode("utf-8", "replace") if block.media_type.startswith("text/") else ""
    inline = _text_blocks(text, fontType="Monospace") if text else []
    if inline and sum(json_size(e) for e in inline) + json_size(said) <= budget // 2:
        return [said, *inline]
    return [_text_block(f"📎 {one_line(block.filename)}: {one_line(block.description)} (too large to show here, and csbot has no public address to link it from)")]


def _submit(button: Button, index: int) -> Element:
    # Ids and values are ours, not user prose, but a reply must render even if
    # one is absurdly long: cut them (visibly wrong beats a card Teams rejects).
    cap = VALUE_MAX
    while True:
        action: Element = {
            "type": "Action.Submit",
            "title": _cut(one_line(button.label) or "Button", LABEL_MAX),
            "data": {"action_id": _cut(button.action_id, ACTION_ID_MAX), "value": _cut(button.value, cap)},
        }
        if json_size(action) <= TEXT_BUDGET or cap <= 16:
            break
        cap //= 2
    if button.style in _STYLES:
        action["style"] = _STYLES[button.style]
    if index >= PRIMARY_ACTIONS:
        # Teams shows a handful of buttons; the rest go to the 1.5 overflow menu.
        action["mode"] = "secondary"
    return action


def _body(reply: Reply, budget: int) -> list[Element]:
    body: list[Element] = []
    title = one_line(reply.title or "")
    if title:
        body.append(_text_block(_cut(title, TITLE_MAX), size="Large", weight="Bolder", style="heading"))
    separator = False
    for block in reply.blocks:
        match block:
            case Section(text=text):
                elements = _text_blocks(text)
            case Context(text=text):
                elements = _text_blocks(text, isSubtle=True, size="Small")
            case Fields(fields=fields):
                elements = _facts(fields)
            case Table(title=table_title):
                heading = [_text_block(_cut(one_line(table_title), TITLE_MAX), weight="Bolder")] if table_title else []
                elements = heading + _table(block, budget)
            case Chart():
                elements = _chart(block, budget)
            case File():
                elements = _file(block, budget)
            case Divider():
                separator = True
                continue
            case _:
                continue
        if elements and separator:
            elements[0]["separator"] = True
            separator = False
        body.extend(elements)
    return body


def _card(body: list[Element], actions: list[Element]) -> dict[str, Any]:
    card: dict[str, Any] = {"type": "AdaptiveCard", "$schema": SCHEMA, "version": VERSION, "body": body}
    if actions:
        card["actions"] = actions
    return card


def _pack(items: Sequence[Element], base: int, limit: int) -> list[list[Element]]:
    """Group items in order so each group, serialised as a list inside a `base`-sized card, stays within `limit`."""
    groups: list[list[Element]] = [[]]
    size = base
    for item in items:
        cost = json_size(item) + 2
        if groups[-1] and size + cost > limit:
            groups.append([])
            size = base
        groups[-1].append(item)
        size += cost
    return groups


def _line_count(element: Element) -> int:
    """How many lines a reader loses when this element is left out (at least one)."""
    kind = element["type"]
    if kind == "TextBlock":
        return element["text"].count("\n\n") + 1
    if kind == "FactSet":
        return len(element["facts"])
    if kind == "Table":
        return max(1, len(element["rows"]) - 1)
    return 1


def _omission(omitted: Sequence[Element]) -> Element:
    lines = sum(_line_count(e) for e in omitted)
    return {"type": "TextBlock", "text": f"… {lines} more lines omitted", "wrap": True, "isSubtle": True}


def _truncate(bodies: list[list[Element]], actions: list[Element], card_budget: int = CARD_BUDGET) -> list[list[Element]]:
    """Keep MAX_CARDS bodies, the last ending with the omission notice and leaving room for `actions`."""
    if len(bodies) <= MAX_CARDS:
        return bodies
    kept = bodies[:MAX_CARDS]
    omitted = [e for body in bodies[MAX_CARDS:] for e in body]
    last = kept[-1]
    while last and json_size(_card([*last, _omission(omitted)], actions)) > card_budget:
        omitted.insert(0, last.pop())
    last.append(_omission(omitted))
    return kept


def render_adaptive_card(reply: Reply, card_budget: int = CARD_BUDGET) -> list[dict[str, Any]]:
    """The reply as one or more Adaptive Card 1.5 payloads, each at most `card_budget` bytes as JSON.

    The default leaves a kilobyte of Teams' 28 KB message limit for the
    activity around the card; bot.teams.delivery measures the real envelope
    and passes what is left. Content too big for one card continues on
    further cards; past MAX_CARDS, the rest is replaced by a line saying how
    many lines were left out. Buttons become card actions (Action.Submit with
    `{"action_id", "value"}` as data) on the last card, so they follow all
    the content, and are never dropped.
    """
    # Never so small that one element of TEXT_BUDGET could not fit a card.
    card_budget = max(card_budget, MIN_CARD_BUDGET)
    budget = card_budget - json_size(_card([], [])) - 2
    buttons = [b for blk in reply.blocks if isinstance(blk, Actions) for b in blk.buttons]
    actions = [_submit(b, i) for i, b in enumerate(buttons)]
    action_groups = _pack(actions, json_size(_card([], [{}])), card_budget)
    bodies = _truncate(_pack(_body(reply, budget), json_size(_card([], [])), card_budget), action_groups[0], card_budget)

    cards = [_card(body, []) for body in bodies]
    last_actions = action_groups[0]
    if last_actions:
        if json_size(_card(bodies[-1], last_actions)) <= card_budget:
            cards[-1] = _card(bodies[-1], last_actions)
        else:
            cards.append(_card([], last_actions))
    cards.extend(_card([], group) for group in action_groups[1:])
    return cards


def card_attachment(card: dict[str, Any]) -> dict[str, Any]:
    """A Bot Framework attachment carrying one Adaptive Card."""
    return {"contentType": "application/vnd.microsoft.card.adaptive", "content": card}
