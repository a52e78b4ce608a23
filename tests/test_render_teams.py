"""The Teams renderer: Adaptive Card 1.5 JSON under 28 KB, and user text that stays plain text."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from typing import Any

from bot.render.teams import MAX_CARDS, card_attachment, render_adaptive_card
from handlers.reply import Actions, Button, Chart, Context, Divider, Field, Fields, Reply, Section, Table
from tests.adaptive_cards import assert_valid
from tests.hostile import HOSTILE, hostile_everywhere

ZW = "\u200b"

def body(cards: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for card in cards for e in card["body"]]


def markdown_strings(cards: list[dict[str, Any]]) -> Iterator[str]:
    """Every string Teams runs through markdown: TextBlock text, Fact titles and values."""

    def walk(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            if node.get("type") == "TextBlock":
                yield node["text"]
            if node.get("type") == "FactSet":
                for fact in node["facts"]:
                    yield fact["title"]
                    yield fact["value"]
            for key, value in node.items():
                if key != "actions":
                    yield from walk(value)
        elif isinstance(node, list):
            for value in node:
                yield from walk(value)

    for card in cards:
        yield from walk(card["body"])


def plain(text: str) -> str:
    """What a reader sees once markdown is done: zero-width spaces are invisible."""
    return text.replace(ZW, "").replace("\n\n", "\n")


def test_every_block_type() -> None:
    reply = Reply(
        title="First reply time",
        blocks=[
            Section("Support EMEA, last 7 days."),
            Context("Source: 1,204 tickets"),
            Divider(),
            Fields((Field("Median", "42 min"), Field("Target", "60 min"))),
            Table(("Agent", "Tickets"), (("alice", "12"),), title="By agent"),
            Chart("Trend", b"\x89PNG\r\n", "Falling from 55 to 42 minutes"),
            Actions((Button("Share in channel", "kpi.share", "w1", style="primary"), Button("Previous window", "kpi.prev", "w0"))),
        ],
    )
    cards = render_adaptive_card(reply)
    assert_valid(cards)
    assert len(cards) == 1
    title, section, context, facts, table_title, table, chart_title, image = cards[0]["body"]
    assert title == {"type": "TextBlock", "text": "First reply time", "wrap": True, "size": "Large", "weight": "Bolder", "style": "heading"}
    assert section == {"type": "TextBlock", "text": "Support EMEA, last 7 days.", "wrap": True}
    assert context == {"type": "TextBlock", "text": "Source: 1,204 tickets", "wrap": True, "isSubtle": True, "size": "Small"}
    assert facts == {
        "type": "FactSet",
        "facts": [{"title": "Median", "value": "42 min"}, {"title": "Target", "value": "60 min"}],
        "separator": True,
    }
    assert table_title["text"] == "By agent" and table_title["weight"] == "Bolder"
    assert table["type"] == "Table" and table["firstRowAsHeader"] is True
    assert table["columns"] == [{"width": 1}, {"width": 1}]
    header, row = table["rows"]
    assert [c["items"][0]["text"] for c in header["cells"]] == ["Agent", "Tickets"]
    assert all(c["items"][0]["weight"] == "Bolder" for c in header["cells"])
    assert [c["items"][0]["text"] for c in row["cells"]] == ["alice", "12"]
    assert "horizontalAlignment" not in row["cells"][0]["items"][0]
    assert row["cells"][1]["items"][0]["horizontalAlignment"] == "Right"
    assert chart_title["text"] == "📈 Trend"
    assert image["altText"] == "Falling from 55 to 42 minutes"
    assert image["url"].startswith("data:image/png;base64,")
    assert base64.b64decode(image["url"].split(",", 1)[1]) == b"\x89PNG\r\n"
    assert cards[0]["actions"] == [
        {"type": "Action.Submit", "title": "Share in channel", "data": {"action_id": "kpi.share", "value": "w1"}, "style": "positive"},
        {"type": "Action.Submit", "title": "Previous window", "data": {"action_id": "kpi.prev", "value": "w0"}},
    ]


def test_card_attachment_wraps_the_card() -> None:
    (card,) = render_adaptive_card(Reply(title="x"))
    assert card_attachment(card) == {"contentType": "application/vnd.microsoft.card.adaptive", "content": card}


def test_checker_rejects_what_1_5_does_not_have() -> None:
    # The checker itself must bite, or the tests above prove nothing.
    bad_cards = [
        {"type": "AdaptiveCard", "version": "1.5", "$schema": "x", "body": [{"type": "RichTextBlock", "inlines": []}]},
        {"type": "AdaptiveCard", "version": "1.5", "$schema": "x", "body": [{"type": "TextBlock", "txt": "typo"}]},
        {"type": "AdaptiveCard", "version": "1.5", "$schema": "x", "body": [{"type": "FactSet", "facts": [{"title": "a"}]}]},
        {"type": "AdaptiveCard", "version": "1.5", "$schema": "x", "body": [], "actions": [{"type": "Action.Execute"}]},
        {"type": "AdaptiveCard", "version": "1.5", "$schema": "x", "body": [{"type": "TextBlock", "text": "a", "size": "Huge"}]},
        {"type": "AdaptiveCard", "$schema": "x", "body": []},
    ]
    for card in bad_cards:
        try:
            assert_valid([card])
        except AssertionError:
            continue
        raise AssertionError(f"checker accepted {card}")


def hostile_reply() -> Reply:
    return hostile_everywhere()


LIVE_MARKDOWN = [
    re.compile(r"\]\s*[(\[:]"),  # inline link, image, reference link or definition
    re.compile("<[^\\s\u200b]"),  # <at>, <https://…>, HTML tags
    re.compile(r"&#?\w+;"),  # entities the user typed, which markdown would decode
    re.compile(r"[*`~]"),  # emphasis, code, strikethrough
    re.compile(r"(?<![^\W_])_|_(?![^\W_])"),  # "_" that is not inside a word
    re.compile(r"\{\{"),  # DATE()/TIME() functions
    re.compile(r"^(?:[ \t]|[#>+\-=|]|\d+[.)](?:\s|$))", re.MULTILINE),  # block markers
]


def test_hostile_text_stays_plain_in_every_markdown_field() -> None:
    for raw in HOSTILE:  # the patterns below catch every hostile string left as typed
        assert any(p.search(raw) for p in LIVE_MARKDOWN), raw
    cards = render_adaptive_card(hostile_reply())
    assert_valid(cards)
    strings = list(markdown_strings(cards))
    assert len(strings) >= 8  # title, section, context, fact title+value, table title, header cell, cell, chart
    for text in strings:
        for pattern in LIVE_MARKDOWN:
            assert not pattern.search(text), f"{pattern.pattern} live in {text!r}"
        # ...and the reader still sees what was typed, bar the look-alike asterisks.
        assert plain(text).replace("\u2217", "*").endswith("[x](https://evil.example) <at>Dana</at> *bold*")
    section = strings[1]
    for neutral in (f"<{ZW}at>Dana<{ZW}/at>", f"[x]{ZW}(https://evil.example)", "\u2217bold\u2217", f"&{ZW}lt;", f"&{ZW}amp;", f"<{ZW}!channel>"):
        assert neutral in section, neutral


def test_action_titles_and_data_are_not_markdown_so_stay_as_typed() -> None:
    cards = render_adaptive_card(hostile_reply())
    (action,) = cards[-1]["actions"]
    text = " ".join(HOSTILE)
    assert action["title"] == text[:79] + "…"
    assert action["data"] == {"action_id": "a", "value": text}
    image = next(e for e in body(cards) if e["type"] == "Image")
    assert image["altText"] == text


def test_line_starts_that_would_open_markdown_blocks_are_neutralised() -> None:
    source = "- item\n+ plus\n# heading\n> quote\n1. one\n2) two\n    code\n===\n| a | b |\n12 tickets\nplain line"
    (card,) = render_adaptive_card(Reply(blocks=[Section(source)]))
    lines = card["body"][0]["text"].split("\n\n")
    assert lines == [ZW + line for line in source.split("\n")[:9]] + ["12 tickets", "plain line"]


def test_single_newlines_survive_markdown() -> None:
    (card,) = render_adaptive_card(Reply(blocks=[Section("first\nsecond\n\nthird")]))
    assert card["body"][0]["text"] == "first\n\nsecond\n\n\n\nthird"


def test_words_with_underscores_copy_cleanly() -> None:
    (card,) = render_adaptive_card(Reply(blocks=[Section("queue support_emea has 12 open"), Fields((Field("Team", "support_emea"),))]))
    assert card["body"][0]["text"] == "queue support_emea has 12 open"
    assert card["body"][1]["facts"][0]["value"] == "support_emea"


def test_ten_thousand_characters() -> None:
    text = "".join(f"word{i:05d} " for i in range(1000))
    cards = render_adaptive_card(Reply(blocks=[Section(text)]))
    assert_valid(cards)
    blocks = body(cards)
    assert len(blocks) == 2 and all(b["type"] == "TextBlock" for b in blocks)
    assert " ".join(b["text"] for b in blocks).split() == text.split()


def test_text_too_big_for_one_card_spreads_over_several() -> None:
    text = "\n".join(f"Ticket {i}: customer says <at>x</at> & *urgent*" for i in range(1500))
    cards = render_adaptive_card(Reply(title="Export", blocks=[Section(text), Actions((Button("Done", "done", "1"),))]))
    assert_valid(cards)
    assert len(cards) > 3
    assert "actions" in cards[-1] and all("actions" not in c for c in cards[:-1])
    lines = [plain(b["text"]) for b in body(cards)[1:]]
    assert "\n".join(lines).split("\n") == [line.replace("*", "\u2217") for line in text.split("\n")]


def test_past_the_card_cap_the_rest_is_visibly_omitted_but_buttons_stay() -> None:
    sections = [Section(f"Line {i} " + "x" * 2000) for i in range(200)]
    cards = render_adaptive_card(Reply(blocks=[*sections, Actions((Button("Share", "share", "1"),))]))
    assert_valid(cards)
    assert len(cards) == MAX_CARDS
    texts = [b["text"] for b in body(cards)]
    shown = len(texts) - 1
    assert texts[:shown] == [f"Line {i} " + "x" * 2000 for i in range(shown)]
    notice = body(cards)[-1]
    assert notice == {"type": "TextBlock", "text": f"… {200 - shown} more lines omitted", "wrap": True, "isSubtle": True}
    assert cards[-1]["actions"][0]["data"] == {"action_id": "share", "value": "1"}


def test_sixty_sections() -> None:
    cards = render_adaptive_card(Reply(title="Digest", blocks=[Section(f"Team {i}") for i in range(60)]))
    assert_valid(cards)
    assert [b["text"] for b in body(cards)[1:]] == [f"Team {i}" for i in range(60)]


def test_twenty_five_fields() -> None:
    fields = tuple(Field(f"Metric {i}", f"{i} %") for i in range(25))
    cards = render_adaptive_card(Reply(blocks=[Fields(fields)]))
    assert_valid(cards)
    facts = [f for e in body(cards) for f in e["facts"]]
    assert facts == [{"title": f"Metric {i}", "value": f"{i} %"} for i in range(25)]


def test_huge_fields_are_split_and_clipped_visibly() -> None:
    fields = tuple(Field(f"Note {i}", "n" * 20_000) for i in range(5))
    cards = render_adaptive_card(Reply(blocks=[Fields(fields)]))
    assert_valid(cards)
    facts = [f for e in body(cards) for f in e["facts"]]
    assert [f["title"] for f in facts] == [f"Note {i}" for i in range(5)]
    assert all(f["value"].endswith("…") and len(f["value"]) <= 4000 for f in facts)


def test_five_hundred_row_table() -> None:
    rows = tuple((f"agent{i:03d}", str(i * 7), f"{90 + i % 10}.5 %") for i in range(500))
    cards = render_adaptive_card(Reply(blocks=[Table(("Agent", "Tickets", "CSAT"), rows, title="All agents")]))
    assert_valid(cards)
    assert len(cards) > 1
    tables = [e for e in body(cards) if e["type"] == "Table"]
    assert len(tables) > 1
    seen = []
    for table in tables:
        header, *data = table["rows"]
        assert [c["items"][0]["text"] for c in header["cells"]] == ["Agent", "Tickets", "CSAT"]
        seen.extend(tuple(plain(c["items"][0]["text"]) for c in row["cells"]) for row in data)
        assert all(row["cells"][1]["items"][0]["horizontalAlignment"] == "Right" for row in data)
    assert seen == list(rows)


def test_table_too_wide_for_the_table_element_falls_back_to_monospace_text() -> None:
    columns = tuple(f"c{i}" for i in range(300))
    cards = render_adaptive_card(Reply(blocks=[Table(columns, (tuple("1" for _ in columns),))]))
    assert_valid(cards)
    blocks = body(cards)
    assert all(b["type"] == "TextBlock" and b["fontType"] == "Monospace" for b in blocks)
    assert plain(blocks[0]["text"]).startswith("c0  c1  c2")


def test_long_button_label_and_many_buttons() -> None:
    buttons = [Button("L" * 200, "long", "v")] + [Button(f"B{i}", f"b.{i}", str(i)) for i in range(9)]
    (card,) = render_adaptive_card(Reply(blocks=[Section("pick one"), Actions(tuple(buttons))]))
    assert_valid([card])
    actions = card["actions"]
    assert actions[0]["title"] == "L" * 79 + "…"
    assert [a["data"]["action_id"] for a in actions] == ["long"] + [f"b.{i}" for i in range(9)]
    assert [a.get("mode", "primary") for a in actions] == ["primary"] * 6 + ["secondary"] * 4


def test_actions_too_big_for_one_card_get_cards_of_their_own() -> None:
    buttons = tuple(Button(f"Option {i}", f"opt.{i}", "v" * 1900) for i in range(40))
    cards = render_adaptive_card(Reply(blocks=[Section("choose"), Actions(buttons)]))
    assert_valid(cards)
    assert len(cards) > 1
    ids = [a["data"]["action_id"] for c in cards for a in c.get("actions", [])]
    assert ids == [f"opt.{i}" for i in range(40)]


def test_chart_too_big_to_inline_becomes_its_description() -> None:
    cards = render_adaptive_card(Reply(blocks=[Chart("Backlog", bytes(100_000), "Rising since Monday")]))
    assert_valid(cards)
    (block,) = body(cards)
    assert block["type"] == "TextBlock"
    assert plain(block["text"]) == "📈 Backlog: Rising since Monday (chart too large to show here)"


def test_divider_marks_the_next_element_and_a_trailing_one_is_dropped() -> None:
    (card,) = render_adaptive_card(Reply(blocks=[Section("a"), Divider(), Divider(), Table(("x",), ()), Divider()]))
    assert_valid([card])
    a, table = card["body"]
    assert "separator" not in a
    assert table["separator"] is True


def test_control_characters_never_reach_the_card() -> None:
    (card,) = render_adaptive_card(Reply(title="a\x1b[31m\u202e", blocks=[Section("b\x00c\r\nd")]))
    assert card["body"][0]["text"] == "a[31m"
    assert card["body"][1]["text"] == "bc\n\nd"


def test_empty_reply_is_a_valid_empty_card() -> None:
    cards = render_adaptive_card(Reply())
    assert_valid(cards)
    assert cards == [{"type": "AdaptiveCard", "$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "version": "1.5", "body": []}]
