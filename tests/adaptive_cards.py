"""An Adaptive Card 1.5 checker built from the published schema's property lists.

Shared by the renderer tests and the Teams end-to-end tests, so every card
csbot sends is checked the same way.
"""

from __future__ import annotations

import json
from typing import Any

from bot.render.teams import card_attachment

# Property lists from the published schema (microsoft/AdaptiveCards schemas/1.5.0/adaptive-card.json):
# (allowed properties, required properties). Every definition there has additionalProperties: false.
_ELEMENT = {"type", "fallback", "height", "separator", "spacing", "id", "isVisible", "requires"}
_ACTION = {"type", "title", "iconUrl", "id", "style", "fallback", "tooltip", "isEnabled", "mode", "requires"}
SCHEMA_1_5: dict[str, tuple[set[str], set[str]]] = {
    "AdaptiveCard": (
        {"type", "version", "refresh", "authentication", "body", "actions", "selectAction", "fallbackText",
         "backgroundImage", "minHeight", "rtl", "speak", "lang", "verticalContentAlignment", "$schema"},
        {"type", "version"},
    ),
    "TextBlock": (
        _ELEMENT | {"text", "color", "fontType", "horizontalAlignment", "isSubtle", "maxLines", "size", "weight", "wrap", "style"},
        {"type", "text"},
    ),
    "FactSet": (_ELEMENT | {"facts"}, {"type", "facts"}),
    "Fact": ({"type", "title", "value"}, {"title", "value"}),
    "Table": (
        _ELEMENT | {"columns", "rows", "firstRowAsHeader", "showGridLines", "gridStyle",
                    "horizontalCellContentAlignment", "verticalCellContentAlignment"},
        {"type"},
    ),
    "TableColumnDefinition": ({"type", "width", "horizontalCellContentAlignment", "verticalCellContentAlignment"}, set()),
    "TableRow": ({"type", "cells", "style", "horizontalCellContentAlignment", "verticalCellContentAlignment"}, set()),
    "TableCell": (
        {"type", "items", "selectAction", "style", "verticalContentAlignment", "bleed", "backgroundImage", "minHeight", "rtl"},
        {"items"},
    ),
    "Image": (
        _ELEMENT | {"url", "altText", "backgroundColor", "horizontalAlignment", "selectAction", "size", "style", "width"},
        {"type", "url"},
    ),
    "Container": (
        _ELEMENT | {"items", "selectAction", "style", "verticalContentAlignment", "bleed", "backgroundImage", "minHeight", "rtl"},
        {"type", "items"},
    ),
    "ColumnSet": (_ELEMENT | {"columns", "selectAction", "style", "bleed", "minHeight", "horizontalAlignment"}, {"type"}),
    "Column": (
        {"type", "items", "backgroundImage", "bleed", "fallback", "minHeight", "rtl", "separator", "spacing",
         "selectAction", "style", "verticalContentAlignment", "width", "id", "isVisible", "requires"},
        set(),
    ),
    "Input.Text": (
        _ELEMENT | {"id", "isMultiline", "maxLength", "placeholder", "regex", "style", "inlineAction", "value",
                    "errorMessage", "isRequired", "label"},
        {"type", "id"},
    ),
    "Action.Submit": (_ACTION | {"data", "associatedInputs"}, {"type"}),
    "Action.OpenUrl": (_ACTION | {"url"}, {"type", "url"}),
}
BODY_ELEMENTS = {"TextBlock", "FactSet", "Table", "Image", "Container", "ColumnSet", "Input.Text"}
ACTIONS = {"Action.Submit", "Action.OpenUrl"}
ENUMS = {  # schema enums are matched case-insensitively
    "size": {"default", "small", "medium", "large", "extralarge", "auto", "stretch"},
    "weight": {"default", "lighter", "bolder"},
    "horizontalAlignment": {"left", "center", "right"},
    "spacing": {"default", "none", "small", "medium", "large", "extralarge", "padding"},
    "fontType": {"default", "monospace"},
    "mode": {"primary", "secondary"},
}
STYLES = {
    "TextBlock": {"default", "heading"},
    "Action.Submit": {"default", "positive", "destructive"},
    "Input.Text": {"text", "tel", "url", "email", "password"},
}
LIMIT = 28_000


def check_object(obj: dict[str, Any], kind: str, path: str) -> None:
    allowed, required = SCHEMA_1_5[kind]
    assert isinstance(obj, dict), path
    if "type" in obj:
        assert obj["type"] == kind, f"{path}: {obj['type']} where {kind} belongs"
    assert set(obj) <= allowed, f"{path} ({kind}): not in 1.5: {set(obj) - allowed}"
    assert required <= set(obj), f"{path} ({kind}): missing {required - set(obj)}"
    for key, values in ENUMS.items():
        if key in obj:
            assert str(obj[key]).lower() in values, f"{path}.{key} = {obj[key]!r}"
    if kind in STYLES and "style" in obj:
        assert obj["style"].lower() in STYLES[kind], f"{path}.style = {obj['style']!r}"
    for flag in ("wrap", "isSubtle", "separator", "firstRowAsHeader", "isMultiline", "isRequired"):
        if flag in obj:
            assert isinstance(obj[flag], bool), f"{path}.{flag}"
    for text in ("text", "title", "value", "url", "altText"):
        if text in obj:
            assert isinstance(obj[text], str), f"{path}.{text}"


def check_element(element: dict[str, Any], path: str) -> None:
    kind = element.get("type")
    assert kind in BODY_ELEMENTS, f"{path}: element type {kind!r} not expected in a 1.5 body"
    check_object(element, kind, path)
    if kind == "FactSet":
        assert element["facts"], path
        for i, fact in enumerate(element["facts"]):
            check_object(fact, "Fact", f"{path}.facts[{i}]")
    if kind == "Table":
        for i, column in enumerate(element.get("columns", [])):
            check_object(column, "TableColumnDefinition", f"{path}.columns[{i}]")
        for i, row in enumerate(element.get("rows", [])):
            check_object(row, "TableRow", f"{path}.rows[{i}]")
            for j, cell in enumerate(row.get("cells", [])):
                check_object(cell, "TableCell", f"{path}.rows[{i}].cells[{j}]")
                for k, item in enumerate(cell["items"]):
                    check_element(item, f"{path}.rows[{i}].cells[{j}].items[{k}]")
    if kind == "Container":
        for i, item in enumerate(element["items"]):
            check_element(item, f"{path}.items[{i}]")
    if kind == "ColumnSet":
        for i, column in enumerate(element.get("columns", [])):
            check_object(column, "Column", f"{path}.columns[{i}]")
            for k, item in enumerate(column.get("items", [])):
                check_element(item, f"{path}.columns[{i}].items[{k}]")
    if kind == "Image":
        assert element["url"].startswith(("data:image/png;base64,", "https://")), path


def assert_valid(cards: list[dict[str, Any]]) -> None:
    """Each card is 1.5 with only known types and properties, and fits in a Teams message."""
    assert cards
    for n, card in enumerate(cards):
        check_object(card, "AdaptiveCard", f"card[{n}]")
        assert card["version"] == "1.5"
        assert card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
        for i, element in enumerate(card["body"]):
            check_element(element, f"card[{n}].body[{i}]")
        for i, action in enumerate(card.get("actions", [])):
            assert action["type"] in ACTIONS, action
            check_object(action, action["type"], f"card[{n}].actions[{i}]")
        # Both serialisations a client might send stay under the limit.
        assert len(json.dumps(card).encode()) < LIMIT
        assert len(json.dumps(card, ensure_ascii=False).encode()) < LIMIT
        attachment = card_attachment(card)
        assert len(json.dumps(attachment).encode()) < LIMIT
