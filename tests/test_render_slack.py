"""The Slack renderer: valid Block Kit within every limit, and user text that can never ping, link or format."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from slack_sdk.models.blocks import Block

from bot.render.slack import render_slack, utf16_len
from handlers.reply import Actions, Button, Context, Field, Fields, Reply, Section, Table
from tests.hostile import HOSTILE, hostile_everywhere
from tests.sample_replies import every_block_reply

ESCAPED = {
    "<!channel>": "&lt;!channel&gt;",
    "<!here>": "&lt;!here&gt;",
    "<@U123>": "&lt;@U123&gt;",
    "<!subteam^S1|@team>": "&lt;!subteam^S1|@team&gt;",
    "&lt;": "&amp;lt;",
    "&amp;": "&amp;amp;",
    "<https://evil.example|click>": "&lt;https://evil.example|click&gt;",
    "[x](https://evil.example)": "[x](https://evil.example)",  # not link syntax in mrkdwn
    "<at>Dana</at>": "&lt;at&gt;Dana&lt;/at&gt;",
    "*bold*": "\u2217bold\u2217",
}
ENTITY = re.compile(r"&(?!amp;|lt;|gt;)")


def text_objects(message: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every text object in a message's blocks, however deeply nested."""

    def walk(node: Any) -> Iterator[dict[str, Any]]:
        if isinstance(node, dict):
            if node.get("type") in ("mrkdwn", "plain_text"):
                yield node
            for value in node.values():
                yield from walk(value)
        elif isinstance(node, list):
            for value in node:
                yield from walk(value)

    return walk(message["blocks"])


def mrkdwn_texts(message: dict[str, Any]) -> list[str]:
    """The texts Slack parses as mrkdwn: mrkdwn objects and the message's fallback `text`."""
    return [t["text"] for t in text_objects(message) if t["type"] == "mrkdwn"] + [message["text"]]


def kinds(message: dict[str, Any]) -> list[str]:
    return [b["type"] for b in message["blocks"]]


def assert_valid(messages: list[dict[str, Any]]) -> None:
    """Each message passes slack_sdk validation and every Block Kit limit we rely on."""
    assert 1 <= len(messages) <= 5
    for message in messages:
        assert set(message) == {"text", "blocks", "response_type"}
        assert message["response_type"] in ("ephemeral", "in_channel")
        assert 0 < utf16_len(message["text"]) <= 4000
        assert len(message["blocks"]) <= 50
        for raw in message["blocks"]:
            block = Block.parse(raw)
            assert block is not None and type(block).__name__ != "Block", raw["type"]
            block.validate_json()
            # to_dict() validates every nested element and text object too.
            assert block.to_dict() == raw
            if raw["type"] == "header":
                assert utf16_len(raw["text"]["text"]) <= 150
            if raw["type"] == "section":
                assert "text" in raw or "fields" in raw
                if "text" in raw:
                    assert 0 < utf16_len(raw["text"]["text"]) <= 3000
                assert len(raw.get("fields", [])) <= 10
                assert all(0 < utf16_len(f["text"]) <= 2000 for f in raw.get("fields", []))
            if raw["type"] == "context":
                assert all(0 < utf16_len(e["text"]) <= 3000 for e in raw["elements"])
            if raw["type"] == "actions":
                assert 1 <= len(raw["elements"]) <= 25
                ids = [e["action_id"] for e in raw["elements"]]
                assert len(ids) == len(set(ids))
                for button in raw["elements"]:
                    assert 0 < utf16_len(button["text"]["text"]) <= 75
                    assert len(button["action_id"]) <= 255
                    assert len(button.get("value", "")) <= 2000
        for obj in text_objects(message):
            if obj["type"] == "mrkdwn":
                assert obj["verbatim"] is True
        for text in mrkdwn_texts(message):
            assert not ENTITY.search(text), f"bare or cut entity in {text[:80]!r}"


def all_sections(messages: list[dict[str, Any]]) -> list[str]:
    return [b["text"]["text"] for m in messages for b in m["blocks"] if b["type"] == "section" and "text" in b]


def test_every_block_type() -> None:
    reply = every_block_reply()
    messages = render_slack(reply)
    assert_valid(messages)
    assert len(messages) == 1
    (message,) = messages
    assert kinds(message) == ["header", "section", "context", "section", "section", "context", "divider", "actions"]
    header, section, context, fields, table, chart, _, actions = message["blocks"]
    assert header["text"] == {"type": "plain_text", "text": "First reply time"}
    assert section["text"]["text"] == "Support EMEA, last 7 days."
    assert context["elements"][0]["text"] == "Source: 1,204 tickets"
    assert [f["text"] for f in fields["fields"]] == ["*Median*\n42 min", "*Target*\n60 min"]
    assert table["text"]["text"] == "*By agent*\n```\nAgent  Tickets\n-----  -------\nalice       12\n```"
    assert chart["elements"][0]["text"] == "📈 Trend: Falling from 55 to 42 minutes"
    assert actions["elements"] == [
        {"type": "button", "text": {"type": "plain_text", "text": "Share in channel"}, "action_id": "kpi.share", "value": "w1", "style": "primary"},
        {"type": "button", "text": {"type": "plain_text", "text": "Previous window"}, "action_id": "kpi.prev", "value": "w0"},
    ]
    assert message["text"].startswith("First reply time\nSupport EMEA, last 7 days.\nSource: 1,204 tickets")
    assert message["text"].endswith("Actions: [Share in channel]  [Previous window]")


@pytest.mark.parametrize(("visibility", "response_type"), [("ephemeral", "ephemeral"), ("channel", "in_channel")])
def test_response_type_follows_visibility(visibility: str, response_type: str) -> None:
    messages = render_slack(Reply(blocks=[Section("x")] * 60, visibility=visibility))  # type: ignore[arg-type]
    assert [m["response_type"] for m in messages] == [response_type] * 2


def hostile_reply() -> Reply:
    return hostile_everywhere(label_limit=70)  # under Slack's 75-character label limit, so escaping is what is tested


def test_hostile_text_never_pings_links_or_formats() -> None:
    messages = render_slack(hostile_reply())
    assert_valid(messages)
    texts = [t for m in messages for t in mrkdwn_texts(m)]
    for text in texts:
        # We emit no <...> markup at all, so any angle bracket would be user text gone live.
        assert "<" not in text and ">" not in text, text
    joined = "\n".join(texts)
    for raw, escaped in ESCAPED.items():
        assert escaped in joined, raw
        if "<" in raw or "*" in raw:
            assert raw not in joined, raw
    # Entities the user typed show as typed, so their "&" is escaped too.
    (plain,) = render_slack(Reply(blocks=[Section("&lt; &amp; &gt;")]))
    assert plain["blocks"][0]["text"]["text"] == "&amp;lt; &amp;amp; &amp;gt;"


def test_hostile_text_reaches_every_kind_of_text() -> None:
    (message,) = render_slack(hostile_reply())
    section, context, fields, table, chart = message["blocks"][1:6]
    for text in (
        section["text"]["text"],
        context["elements"][0]["text"],
        fields["fields"][0]["text"],
        table["text"]["text"],
        chart["elements"][0]["text"],
    ):
        assert "&lt;!channel&gt;" in text and "&lt;@U123&gt;" in text, text
    # Our own bold markup around the escaped label is all that stays live.
    assert fields["fields"][0]["text"].startswith("*&lt;!channel&gt; &lt;!here&gt;")


def test_long_header_is_truncated_visibly() -> None:
    (message,) = render_slack(Reply(title="T" * 200))
    assert message["blocks"][0]["text"]["text"] == "T" * 149 + "…"


def test_plain_text_is_not_html_escaped() -> None:
    # Slack never parses plain_text for mentions or links; escaping would show "&amp;" literally.
    (message,) = render_slack(hostile_reply())
    header = message["blocks"][0]["text"]
    assert header["type"] == "plain_text"
    assert header["text"] == " ".join(HOSTILE)
    button = message["blocks"][-1]["elements"][0]
    assert button["text"]["text"] == " ".join(HOSTILE)[:70]
    assert button["value"] == " ".join(HOSTILE)  # values come back verbatim to the handler
    # ...but the fallback text, which is mrkdwn, carries them escaped.
    assert message["text"].startswith("&lt;!channel&gt; &lt;!here&gt;")


def test_quotes_broadcasts_and_code_are_neutralised() -> None:
    (message,) = render_slack(Reply(blocks=[Section("> quoted\n  > indented\nhey @here and @channel\n```code``` ~strike~ _it_")]))
    text = message["blocks"][0]["text"]["text"]
    lines = text.split("\n")
    assert lines[0] == "\u00ad&gt; quoted"
    assert lines[1] == "  \u00ad&gt; indented"
    assert lines[2] == "hey @\u2060here and @\u2060channel"
    assert lines[3] == "\u02cb\u02cb\u02cbcode\u02cb\u02cb\u02cb \u223cstrike\u223c \u02cdit\u02cd"


def test_markers_inside_words_are_left_alone() -> None:
    # Slack only formats at word boundaries, so ids and emoji codes copy cleanly.
    (message,) = render_slack(Reply(blocks=[Section("team support_emea, 2*3, :white_check_mark:")]))
    assert message["blocks"][0]["text"]["text"] == "team support_emea, 2*3, :white_check_mark:"


def test_ten_thousand_characters_split_into_sections() -> None:
    text = "".join(f"word{i:05d} " for i in range(1000))
    messages = render_slack(Reply(blocks=[Section(text)]))
    assert_valid(messages)
    sections = all_sections(messages)
    assert len(sections) == 4
    assert " ".join(sections).split() == text.split()


def test_escaping_counts_toward_the_limit_and_never_cuts_an_entity() -> None:
    messages = render_slack(Reply(blocks=[Section("&<>" * 3000)]))
    assert_valid(messages)
    sections = all_sections(messages)
    assert all(utf16_len(s) <= 3000 for s in sections)
    # A section that starts with ">" gets the invisible soft hyphen that stops a quote.
    assert all(s.startswith(("&amp;", "&lt;", "\u00ad&gt;")) for s in sections)
    assert "".join(sections).replace("\u00ad", "") == "&amp;&lt;&gt;" * 3000


def test_astral_characters_count_double() -> None:
    messages = render_slack(Reply(blocks=[Section("📈" * 2000)]))
    assert_valid(messages)
    sections = all_sections(messages)
    assert len(sections) == 2 and all(utf16_len(s) <= 3000 for s in sections)
    assert "".join(sections) == "📈" * 2000


def test_sixty_sections_continue_in_a_second_message() -> None:
    messages = render_slack(Reply(title="Daily digest", blocks=[Section(f"Team {i}") for i in range(60)]))
    assert_valid(messages)
    assert [len(m["blocks"]) for m in messages] == [50, 11]
    assert kinds(messages[0])[0] == "header" and "header" not in kinds(messages[1])
    assert all_sections(messages) == [f"Team {i}" for i in range(60)]
    assert messages[1]["text"].startswith("Team 49\nTeam 50")


def test_past_five_messages_the_rest_is_visibly_omitted() -> None:
    messages = render_slack(Reply(title="Everything", blocks=[Section(f"Line {i}\nmore") for i in range(300)]))
    assert_valid(messages)
    assert [len(m["blocks"]) for m in messages] == [50, 50, 50, 50, 50]
    notice = messages[-1]["blocks"][-1]
    # 301 blocks (header + 300 sections); 249 kept, so 52 sections of two lines each are left out.
    assert notice["type"] == "context"
    assert notice["elements"][0]["text"] == "… 104 more lines omitted"
    assert all_sections(messages)[-1] == "Line 247\nmore"


def test_twenty_five_fields_make_three_sections() -> None:
    fields = tuple(Field(f"Metric {i}", f"{i} %") for i in range(25))
    messages = render_slack(Reply(blocks=[Fields(fields)]))
    assert_valid(messages)
    sections = messages[0]["blocks"]
    assert [len(s["fields"]) for s in sections] == [10, 10, 5]
    assert [f["text"] for s in sections for f in s["fields"]] == [f"*Metric {i}*\n{i} %" for i in range(25)]


def test_long_field_value_is_truncated_visibly() -> None:
    messages = render_slack(Reply(blocks=[Fields((Field("Notes", "x" * 5000), Field("", "unlabelled"), Field("Empty", "")))]))
    assert_valid(messages)
    long, unlabelled, empty = (f["text"] for f in messages[0]["blocks"][0]["fields"])
    assert long.startswith("*Notes*\nxxx") and long.endswith("…") and utf16_len(long) == 2000
    assert unlabelled == "unlabelled"
    assert empty == "*Empty*\n–"


def test_five_hundred_row_table_splits_by_rows_and_repeats_the_header() -> None:
    rows = tuple((f"agent{i:03d}", str(i * 7), f"{90 + i % 10}.5 %") for i in range(500))
    messages = render_slack(Reply(blocks=[Table(("Agent", "Tickets", "CSAT"), rows, title="All agents")]))
    assert_valid(messages)
    sections = all_sections(messages)
    assert len(sections) > 1
    assert sections[0].startswith("*All agents*\n```\nAgent     Tickets    CSAT\n")
    seen: list[str] = []
    for text in sections:
        assert utf16_len(text) <= 3000
        body = text.split("```")[1].strip("\n").split("\n")
        assert text.endswith("\n```")
        assert body[0] == "Agent     Tickets    CSAT"
        assert set(body[1]) == {"-", " "}
        seen.extend(body[2:])
    assert len(seen) == 500
    assert seen[0] == "agent000        0  90.5 %"
    assert seen[499] == "agent499     3493  99.5 %"  # numbers right-aligned


def test_table_cells_are_escaped_inside_the_code_block() -> None:
    (message,) = render_slack(Reply(blocks=[Table(("Who",), (("<@U123> ```x``` & @here",),))]))
    text = message["blocks"][0]["text"]["text"]
    assert text.count("```") == 2
    assert "&lt;@U123&gt; \u02cb\u02cb\u02cbx\u02cb\u02cb\u02cb &amp; @\u2060here" in text


def test_long_button_label_id_and_value_are_truncated() -> None:
    messages = render_slack(Reply(blocks=[Actions((Button("L" * 200, "a" * 300, "v" * 3000, style="danger"),))]))
    assert_valid(messages)
    button = messages[0]["blocks"][0]["elements"][0]
    assert button["text"]["text"] == "L" * 74 + "…"
    assert len(button["action_id"]) == 255
    assert len(button["value"]) == 2000
    assert button["style"] == "danger"


def test_many_buttons_and_repeated_action_ids_split_actions_blocks() -> None:
    many = tuple(Button(f"B{i}", f"act.{i}", str(i)) for i in range(30))
    same = (Button("Page 1", "page", "1"), Button("Page 2", "page", "2"))
    messages = render_slack(Reply(blocks=[Actions(many), Actions(same)]))
    assert_valid(messages)
    blocks = messages[0]["blocks"]
    assert [len(b["elements"]) for b in blocks] == [25, 5, 1, 1]
    assert [e["text"]["text"] for b in blocks for e in b["elements"]] == [f"B{i}" for i in range(30)] + ["Page 1", "Page 2"]


def test_fallback_text_is_capped() -> None:
    messages = render_slack(Reply(blocks=[Section("y " * 1400) for _ in range(10)]))
    assert_valid(messages)
    assert utf16_len(messages[0]["text"]) == 4000 and messages[0]["text"].endswith("…")


def test_empty_and_blank_blocks() -> None:
    messages = render_slack(Reply(title="  ", blocks=[Section(" \n "), Context(""), Fields(()), Actions(())]))
    assert_valid(messages)
    assert messages[0]["blocks"] == []
    assert messages[0]["text"] == "…"
