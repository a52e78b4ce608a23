"""The one safe YAML loader (store/yaml_file.py): every refusal by line, on every event parser it can use."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import pytest

from store import yaml_file
from store.quoting import clip
from store.yaml_file import LineDict, LineList, YamlFileError

# libyaml when PyYAML has it (the default), and PyYAML's pure-Python parser.
parsers = pytest.mark.parametrize("parser", yaml_file.PARSERS)


def refused(text: str, parser: str | None = None, **limits: int) -> list[str]:
    with pytest.raises(YamlFileError) as info:
        yaml_file.load(text, "f.yaml", parser=parser, **limits)
    problems = info.value.problems
    assert problems and all(p.startswith("f.yaml:") and "\n" not in p for p in problems), problems
    return problems


@parsers
def test_an_alias_is_refused_at_its_line_without_being_followed(parser: str) -> None:
    problems = refused("a: &x [1, 2]\nb: 1\nc: *x\nd: [*x, *x]\n", parser)
    assert problems == [
        "f.yaml:3: anchors and aliases (*x) are not supported: write the value out",
        "f.yaml:4: anchors and aliases (*x) are not supported: write the value out",
    ]


@parsers
def test_an_anchor_alone_changes_nothing(parser: str) -> None:
    assert yaml_file.load("a: &x [1, 2]\n", "f.yaml", parser=parser) == {"a": [1, 2]}


@parsers
def test_a_merge_key_is_plain_text_and_its_alias_is_refused(parser: str) -> None:
    problems = refused("base: &b {x: 1}\nthing:\n  <<: *b\n", parser)
    assert len(problems) == 1 and problems[0].startswith("f.yaml:3: anchors and aliases"), problems
    assert yaml_file.load("thing: {<<: {x: 1}}\n", "f.yaml", parser=parser) == {"thing": {"<<": {"x": 1}}}


@parsers
def test_every_duplicate_key_is_refused_naming_both_lines(parser: str) -> None:
    problems = refused("a: 1\nb:\n  c: 1\n  c: 2\na: 3\n", parser)
    assert problems == [
        "f.yaml:4: duplicate key 'c' (first on line 3): YAML would silently keep only the last one; keep one",
        "f.yaml:5: duplicate key 'a' (first on line 1): YAML would silently keep only the last one; keep one",
    ]


@parsers
def test_keys_are_the_text_written(parser: str) -> None:
    doc = yaml_file.load("1: a\nyes: b\n0777: c\n'0x1F': d\n=: e\n~: f\n", "f.yaml", parser=parser)
    assert doc == {"1": "a", "yes": "b", "0777": "c", "0x1F": "d", "=": "e", "~": "f"}
    # Two spellings of one number are two keys, as a reader of the file sees them.
    assert yaml_file.load("1: a\n01: b\n", "f.yaml", parser=parser) == {"1": "a", "01": "b"}


@parsers
@pytest.mark.parametrize("key", ["? [a, b]\n: 1\n", "[a, b]: 1\n", "{a: 1}: 2\n", "? {a: 1}\n: 2\n"])
def test_a_key_that_is_a_list_or_mapping_is_refused(parser: str, key: str) -> None:
    problems = refused("x: 1\n" + key, parser)
    assert problems == ["f.yaml:2: a key must be plain text, not a list or a mapping"]


@parsers
def test_nesting_up_to_the_limit_is_read_and_one_deeper_is_refused(parser: str) -> None:
    ok = "[" * 24 + "]" * 24
    assert yaml_file.load(ok, "f.yaml", parser=parser) is not None
    block = "".join(" " * i + "a:\n" for i in range(24)) + " " * 24 + "1\n"
    assert yaml_file.load(block, "f.yaml", parser=parser) is not None
    assert refused("[" * 25 + "]" * 25, parser) == ["f.yaml:1: nested more than 24 levels deep; csbot's files never need that"]
    deeper = "".join(" " * i + "a:\n" for i in range(25)) + " " * 25 + "1\n"
    assert refused(deeper, parser) == ["f.yaml:25: nested more than 24 levels deep; csbot's files never need that"]


@parsers
@pytest.mark.parametrize(
    "text",
    [
        "[" * 100_000 + "]" * 100_000,
        "{a: " * 100_000 + "1" + "}" * 100_000,
        "a: " + "[" * 2_000_000,
        "- " * 100_000 + "x\n",
    ],
    ids=["lists", "mappings", "unclosed-2MB", "block-lists"],
)
def test_absurd_nesting_is_refused_fast(parser: str, text: str) -> None:
    started = time.perf_counter()
    problems = refused(text, parser)
    # A guard against a parse that blows up (minutes, or a RecursionError), not
    # a speed measurement: it takes well under a second, but a loaded CI
    # machine has measured 1.6 s.
    assert time.perf_counter() - started < 10.0
    assert problems == ["f.yaml:1: nested more than 24 levels deep; csbot's files never need that"]


@parsers
def test_nul_characters_are_refused_by_line_raw_or_escaped(parser: str) -> None:
    assert refused("a: 1\nb: x\0y\0z\nc: \0\n", parser) == [
        "f.yaml:2: a NUL character (\\0) is not allowed (it cannot be stored); remove it",
        "f.yaml:3: a NUL character (\\0) is not allowed (it cannot be stored); remove it",
    ]
    assert refused('a: 1\nb: "x\\0y"\n"\\0": 1\n', parser) == [
        "f.yaml:2: a NUL character (\\0) is not allowed (it cannot be stored); remove it",
        "f.yaml:3: a NUL character (\\0) is not allowed (it cannot be stored); remove it",
    ]


@parsers
def test_other_characters_that_cannot_be_text_are_refused_by_line(parser: str) -> None:
    assert refused("a: 1\r\nb: \x07\n", parser) == ["f.yaml:2: the character U+0007 is not allowed in a YAML file; remove it"]
    # A lone surrogate cannot be encoded to store it; libyaml already refuses the escape itself.
    problems = refused('a: 1\nb: "\\ud800"\n', parser)
    assert problems in (
        ["f.yaml:2: an escaped surrogate (\\uD800-\\uDFFF) is not a character; write the character itself"],
        ["f.yaml:2: not valid YAML: found invalid Unicode character escape code"],
    ), problems


@parsers
@pytest.mark.parametrize(
    ("text", "tag"),
    [
        ("a: !!binary aGVsbG8=\n", "!!binary"),
        ("a: !!python/object/apply:os.system [echo]\n", "!!python/object/apply:os.system"),
        ("a: !!set {x: null}\n", "!!set"),
        ("a: !!omap [x: 1]\n", "!!omap"),
        ("a: !custom 1\n", "!custom"),
        ("a: !!map x\n", "!!map"),
    ],
)
def test_tags_beyond_plain_values_are_refused(parser: str, text: str, tag: str) -> None:
    problems = refused(text, parser)
    assert len(problems) == 1 and problems[0].startswith(f"f.yaml:1: the tag '{tag}") and "not supported" in problems[0], problems


@parsers
def test_plain_tags_are_read(parser: str) -> None:
    doc = yaml_file.load("a: !!str 0777\nb: !!int '12'\nd: !!map {}\ne: !!seq []\n", "f.yaml", parser=parser)
    assert doc == {"a": "0777", "b": 12, "d": {}, "e": []}


@parsers
def test_scalars_yaml_cannot_construct_are_refused_not_crashes(parser: str) -> None:
    problems = refused("a: 2026-13-45\nb: !!int abc\nc: " + "9" * 5000 + "\nd: !!bool maybe\ne: !!float x\n", parser)
    assert [p.split(":")[1] for p in problems] == ["1", "2", "3", "4", "5"], problems
    assert problems[0] == "f.yaml:1: cannot read '2026-13-45' as a date; quote it if it is text"
    assert problems[1] == "f.yaml:2: cannot read 'abc' as a whole number; quote it if it is text"
    assert "… (5,000 characters) as a whole number" in problems[2] and len(problems[2]) < 200


@parsers
def test_scalars_keep_yaml_types_and_remember_what_was_written(parser: str) -> None:
    doc = yaml_file.load("id: 0777\nday: 2026-01-01\nok: yes\nname: Alice\nlist:\n  - 0x1F\n  - {a: 1}\n", "f.yaml", parser=parser)
    assert isinstance(doc, LineDict)
    assert doc == {"id": 511, "day": date(2026, 1, 1), "ok": True, "name": "Alice", "list": [31, {"a": 1}]}
    assert doc.value_texts == {"id": "0777", "day": "2026-01-01", "ok": "yes", "name": "Alice", "list": None}
    assert doc.line == 1 and doc.key_lines == {"id": 1, "day": 2, "ok": 3, "name": 4, "list": 5}
    items = doc["list"]
    assert isinstance(items, LineList) and items.line == 6
    assert items.item_lines == [6, 7] and items.item_texts == ["0x1F", None]
    assert items[1].line == 7 and items[1].key_lines == {"a": 7}


@parsers
def test_one_document_per_file(parser: str) -> None:
    assert refused("a: 1\n---\nb: 2\n", parser) == [
        "f.yaml:2: a file holds one YAML document; remove the second '---' and what follows, or merge them"
    ]
    assert yaml_file.load("", "f.yaml", parser=parser) is None
    assert yaml_file.load("# only a comment\n", "f.yaml", parser=parser) is None


@parsers
def test_a_syntax_error_is_reported_at_its_line(parser: str) -> None:
    problems = refused("a: 1\nb: [1, 2\nc: 3\n", parser)
    assert len(problems) == 1 and problems[0].startswith(("f.yaml:3: not valid YAML", "f.yaml:4: not valid YAML")), problems
    problems = refused("a: 1\nb:\n\t- x\n", parser)
    assert len(problems) == 1 and problems[0].startswith("f.yaml:3: not valid YAML"), problems


@parsers
def test_too_many_values_are_refused_before_they_fill_memory(parser: str) -> None:
    assert yaml_file.load("[" + "a," * 99 + "]", "f.yaml", parser=parser, max_nodes=100) is not None
    problems = refused("[" + "a," * 100 + "]", parser, max_nodes=100)
    assert problems == ["f.yaml:1: the file holds too many values to read; split it or trim it"]


@parsers
def test_problems_stop_at_a_readable_number(parser: str) -> None:
    problems = refused("".join(f"m{i}: {{a: 1, a: 2}}\n" for i in range(200)), parser)
    assert len(problems) == yaml_file.MAX_PROBLEMS + 1
    assert problems[-1] == f"f.yaml: stopped after {yaml_file.MAX_PROBLEMS} problems; fix these first"


def test_a_text_over_the_size_cap_is_refused_before_parsing() -> None:
    started = time.perf_counter()
    problems = refused("a: [" + "x, " * 2_000_000 + "]\n")
    assert time.perf_counter() - started < 0.5
    assert problems == ["f.yaml: the file is larger than 5 MB; split it or trim it"]
    # Bytes count, not characters: 2 million three-byte characters are 6 MB.
    assert refused("a: " + "€" * 2_000_000 + "\n") == problems


def test_read_text_refuses_what_is_not_a_readable_utf8_file(tmp_path: Path) -> None:
    def read_refused(path: Path) -> list[str]:
        with pytest.raises(YamlFileError) as info:
            yaml_file.read_text(path, "f.yaml")
        return info.value.problems

    assert read_refused(tmp_path / "missing.yaml") == ["f.yaml: cannot read it: there is no such file"]
    assert read_refused(tmp_path) == ["f.yaml: cannot read it: it is a directory, not a file"]
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes("a: 1\nb: 2\nname: Caf\u00e9\n".encode("latin-1"))
    assert read_refused(latin1) == ["f.yaml:3: this line is not UTF-8 (byte 0xE9); save the file as UTF-8"]
    big = tmp_path / "big.yaml"
    big.write_bytes(b"a: 1\n" * (6 * 1024 * 1024 // 5))
    started = time.perf_counter()
    assert read_refused(big) == ["f.yaml: the file is larger than 5 MB; split it or trim it"]
    assert time.perf_counter() - started < 0.5
    bom = tmp_path / "bom.yaml"
    bom.write_bytes("\ufeffa: 1\n".encode())
    assert yaml_file.load_file(bom) == {"a": 1}


def test_clip_never_renders_a_huge_value() -> None:
    assert clip("short") == "'short'"
    assert clip("x" * 10_000) == "'" + "x" * 40 + "'… (10,000 characters)"
    assert clip(7) == "7"
    assert clip(10**100) == "1" + "0" * 39 + "…"
    assert clip([1] * 10**6) == "a list"
    assert clip({"a": 1}) == "a mapping"
