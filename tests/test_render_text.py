"""The plain-text renderer: what the console prints and `--json` puts in `text`."""

from __future__ import annotations

from bot.render.text import clean, looks_numeric, render_text, split_text, table_lines
from handlers.reply import Actions, Button, Field, Fields, Reply, Section, Table
from tests.hostile import HOSTILE
from tests.sample_replies import every_block_reply



def test_every_block_type_renders_in_order() -> None:
    reply = every_block_reply()
    assert render_text(reply).split("\n") == [
        "First reply time",
        "================",
        "",
        "Support EMEA, last 7 days.",
        "",
        "Source: 1,204 tickets",
        "",
        "Median: 42 min",
        "Target: 60 min",
        "",
        "By agent",
        "Agent  Tickets",
        "-----  -------",
        "alice       12",
        "",
        "[chart: Trend — Falling from 55 to 42 minutes]",
        "",
        "-" * 40,
        "",
        "Actions: [1] Share in channel  [2] Previous window",
    ]


def test_title_underline_matches_display_width() -> None:
    out = render_text(Reply(title="Équipe 支援"))
    title, rule = out.split("\n")
    assert title == "Équipe 支援"
    assert rule == "=" * 11  # two wide CJK characters take two columns each


def test_fields_align_labels_and_indent_continuation_lines() -> None:
    out = render_text(Reply(blocks=[Fields((Field("CSAT", "93 %"), Field("Reopen rate", "4 %\nbelow target")))]))
    assert out.split("\n") == [
        "CSAT:        93 %",
        "Reopen rate: 4 %",
        "             below target",
    ]


def test_table_right_aligns_numeric_columns_only() -> None:
    lines = table_lines(
        ("Agent", "Tickets", "CSAT", "Handle time", "Queue"),
        (("alice", "1,204", "93.5 %", "1:05:00", "billing"), ("bob", "7", "-2 %", "45 s", "tier-2")),
    )
    assert lines == [
        "Agent  Tickets    CSAT  Handle time  Queue",
        "-----  -------  ------  -----------  -------",
        "alice    1,204  93.5 %      1:05:00  billing",
        "bob          7    -2 %         45 s  tier-2",
    ]


def test_table_pads_ragged_rows_and_says_when_empty() -> None:
    assert table_lines(("A", "B"), (("x",), ("y", "1", "extra"))) == [
        "A  B",
        "-  -  -----",
        "x",
        "y  1  extra",
    ]
    out = render_text(Reply(blocks=[Table(("Agent",), ())]))
    assert out.split("\n") == ["Agent", "-----", "(no rows)"]


def test_numeric_detection() -> None:
    for yes in ("12", "-3.5", "1,204", "93 %", "$1,200", "€5", "1:05:00", "45 s", "+7"):
        assert looks_numeric(yes), yes
    for no in ("alice", "tier-2", "2024-01-05", "N/A", "—", "12 tickets", ""):
        assert not looks_numeric(no), no


def test_buttons_are_numbered_across_actions_blocks() -> None:
    reply = Reply(
        blocks=[
            Actions((Button("Own it", "esc.own", "7"),)),
            Section("Escalation #7"),
            Actions((Button("Snooze\n1h", "esc.snooze", "7"), Button("Resolve", "esc.resolve", "7"))),
        ]
    )
    lines = render_text(reply).split("\n")
    assert lines[0] == "Actions: [1] Own it"
    assert lines[-1] == "Actions: [2] Snooze 1h  [3] Resolve"


def test_no_trailing_whitespace_anywhere() -> None:
    reply = Reply(
        title="  Scorecard  ",
        blocks=[
            Section("line with spaces   \n\tindented\t\n"),
            Fields((Field("Empty", ""), Field("Long label here", "x"))),
            Table(("A", "B"), (("1", ""), ("", "2"))),
        ],
    )
    out = render_text(reply)
    assert all(line == line.rstrip() for line in out.split("\n"))
    assert not out.endswith("\n")
    assert "\tindented" in out  # tabs inside text are kept, only trailing whitespace goes


def test_control_characters_are_stripped_but_newlines_and_tabs_kept() -> None:
    nasty = "ok\x00\x07\x1b[31mred\x1b[0m\r\nnext\tcol\u202eevil\x7f\x85"
    assert clean(nasty) == "ok[31mred[0m\nnext\tcolevil"
    out = render_text(Reply(title="T\x1b]0;pwned\x07", blocks=[Section(nasty)]))
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out and "\r" not in out
    assert "next\tcol" in out


def test_hostile_strings_are_shown_exactly_as_typed() -> None:
    # Plain text has no markup to inject into: the console shows what was typed.
    text = " ".join(HOSTILE)
    out = render_text(Reply(title=text, blocks=[Section(text), Fields((Field(text, text),)), Table((text,), ((text,),))]))
    for hostile in HOSTILE:
        assert out.count(hostile) == 6, hostile  # title, section, label, value, header, cell


def test_long_input_is_not_cut() -> None:
    text = "".join(f"word{i:05d} " for i in range(1000))
    assert len(text) == 10_000
    assert render_text(Reply(blocks=[Section(text)])) == text.rstrip()


def test_split_text_prefers_lines_then_words_and_keeps_everything() -> None:
    text = "alpha beta\ngamma delta epsilon\n" + "x" * 25
    assert split_text(text, 12) == ["alpha beta", "gamma delta ", "epsilon", "x" * 12, "x" * 12, "x"]


def test_split_text_respects_a_custom_measure() -> None:
    # Every "&" costs five once escaped; pieces are measured escaped, not raw.
    def measure(s: str) -> int:
        return len(s.replace("&", "&amp;"))

    pieces = split_text("&" * 100, 50, measure)
    assert [measure(p) for p in pieces] == [50] * 10
    assert "".join(pieces) == "&" * 100


def test_empty_reply_renders_empty() -> None:
    assert render_text(Reply()) == ""
    assert render_text(Reply(blocks=[Section(""), Fields(()), Actions(())])) == ""
