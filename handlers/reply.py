"""The neutral reply every handler returns, whatever the chat platform.

A Reply is plain data: a title and a list of blocks. All strings in it are
plain text exactly as a person typed or a handler wrote them (no markup);
each renderer in `bot.render` escapes them for its target, so user text can
never turn into a mention, a link or formatting.

It lives in `handlers` (not `bot`) because handlers build it and
dependencies point down only; `bot` renders it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

Visibility = Literal["ephemeral", "channel"]
ButtonStyle = Literal["primary", "danger"]


@dataclass(frozen=True)
class Section:
    """A paragraph of plain text."""

    text: str


@dataclass(frozen=True)
class Context:
    """A small, muted note (sources, time windows, hints)."""

    text: str


@dataclass(frozen=True)
class Field:
    label: str
    value: str


@dataclass(frozen=True)
class Fields:
    """Label/value pairs shown side by side where the platform can."""

    fields: tuple[Field, ...]


@dataclass(frozen=True)
class Table:
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    title: str | None = None


@dataclass(frozen=True)
class Chart:
    """A chart as a PNG image; `alt_text` describes it for text-only surfaces.

    `url`, when set, is where csbot serves the same image (Teams cards link
    to it rather than carry it).
    """

    title: str
    png: bytes
    alt_text: str
    url: str | None = None


@dataclass(frozen=True)
class File:
    """A file the asker gets with the answer (a CSV of the figures shown).

    Slack uploads it (to the channel for a shared answer, else to the
    asker's direct messages: a file cannot be ephemeral); Teams links it at a
    signed, expiring `url`; the console writes it to disk or prints it.
    """

    filename: str
    content: bytes
    media_type: str
    description: str  # what it holds, in a line: `3 rows: support-emea by week, 2026-01-05 to 2026-03-29`
    url: str | None = None


@dataclass(frozen=True)
class Button:
    """A button; clicking it calls the action `action_id` with `value`."""

    label: str
    action_id: str
    value: str
    style: ButtonStyle | None = None


@dataclass(frozen=True)
class Actions:
    buttons: tuple[Button, ...]


@dataclass(frozen=True)
class Divider:
    pass


Block = Section | Context | Fields | Table | Chart | File | Actions | Divider


def filename_for(title: str, suffix: str, fallback: str = "csbot", most: int = 60) -> str:
    """`Support EMEA · last 30 days`, `.png` → `support-emea-last-30-days.png`: safe on every system."""
    return (re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:most].strip("-") or fallback) + suffix


@dataclass(frozen=True)
class FormField:
    name: str
    label: str
    multiline: bool = False
    optional: bool = False
    initial: str = ""
    placeholder: str | None = None


@dataclass(frozen=True)
class Form:
    """Questions to ask in a dialog (a Slack modal, a Teams card with inputs).

    Submitting calls the router action `action_id` with the JSON value
    {"context": context, "values": {field name: text}}; the action may answer
    with FieldErrors to send the person back to the form.
    """

    title: str
    submit_label: str
    action_id: str
    fields: tuple[FormField, ...]
    context: str = ""


@dataclass(frozen=True)
class ReplyError:
    """Why a command did not succeed.

    code: `usage` (bad or unknown command), `not_found`, `forbidden`,
    `invalid` (well-formed but not acceptable), `internal`.
    """

    code: str
    message: str


@dataclass
class Reply:
    title: str | None = None
    blocks: list[Block] = field(default_factory=list)
    visibility: Visibility = "ephemeral"
    data: dict[str, Any] = field(default_factory=dict)
    error: ReplyError | None = None
    form: Form | None = None  # a dialog to open for the person who asked
    # For a button's answer: replace the message the button was on (where the
    # platform allows), e.g. a page that becomes "Acknowledged by Dana".
    replace_original: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_neutral(self) -> list[dict[str, Any]]:
        """The blocks as JSON-ready dicts (the `blocks` of `--json` output)."""
        out: list[dict[str, Any]] = []
        if self.title:
            out.append({"type": "header", "text": self.title})
        for block in self.blocks:
            out.append(block_to_neutral(block))
        return out


def block_to_neutral(block: Block) -> dict[str, Any]:
    match block:
        case Section(text=text):
            return {"type": "section", "text": text}
        case Context(text=text):
            return {"type": "context", "text": text}
        case Fields(fields=fields):
            return {"type": "fields", "fields": [{"label": f.label, "value": f.value} for f in fields]}
        case Table(columns=columns, rows=rows, title=title):
            return {"type": "table", "title": title, "columns": list(columns), "rows": [list(r) for r in rows]}
        case Chart(title=title, png=png, alt_text=alt):
            return {"type": "chart", "title": title, "alt_text": alt, "bytes": len(png)}
        case File(filename=filename, content=content, media_type=media_type, description=description):
            return {"type": "file", "filename": filename, "media_type": media_type, "description": description, "bytes": len(content)}
        case Actions(buttons=buttons):
            return {
                "type": "actions",
                "buttons": [
                    {"label": b.label, "action_id": b.action_id, "value": b.value, "style": b.style} for b in buttons
                ],
            }
        case Divider():
            return {"type": "divider"}
    raise TypeError(f"not a reply block: {block!r}")


def error_reply(code: str, message: str, *, usage: str | None = None, title: str | None = None) -> Reply:
    """A failed reply: what went wrong, then how to say it right."""
    blocks: list[Block] = [Section(message)]
    if usage:
        blocks.append(Section(usage))
    return Reply(title=title, blocks=blocks, error=ReplyError(code, message))
