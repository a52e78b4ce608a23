"""Hypothesis strategies for the YAML files a careless or hostile author writes, and the refusal invariant.

Shared by the org-file and mapping-file property tests: mutations of a real
file (lines dropped, duplicated, swapped, re-indented; scalars replaced by
YAML's traps; anchors and aliases; deep nesting) and random text.
"""

from __future__ import annotations

import re

from hypothesis import strategies as st

# Values YAML reads as something other than the text written, or cannot read at all.
TRAPS = [
    "0777", "0x1F", "0b101", "1e3", "1.0e+3", "1_000", "1.5", "-0", "yes", "No", "on", "OFF", "~", "null", "Null",
    "2026-01-01", "2026-1-1", "2026-13-45", "2026-01-01 09:00:00", "9:30", "12:30:00", "190:20:30", ".nan", ".inf", "-.inf",
    "=", "<<", '"\\0"', '"a\\0b"', '"\\ud800"', '"\\x07"', '"\\u2028"', "!!binary aGk=", "!!python/object/apply:os.system [x]",
    "!!set {a: null}", "!!omap [a: 1]", "!custom y", "!!int x", "!!float x", "!!bool x", "!!str 0777", "*a", "&a x", "&a [1, 2]",
    "[", "]", "{", "}", "'", '"', "|", ">", "? [a, b]", "- x", "x: y", "a: b: c", "@", "`", "%",
    "---", "...", "\t", "#", "\x00", "\x07", "\x85", "\u2028", "\ufeff", "Ω", "ü", "😀", "[a, [b, [c]]]", "{a: {b: 1}}", "[]", "{}",
    '""', "''", "' '", "UTC", "Europe/Berlin", "support-emea", "alice", "admin", "U0123ABCD",
]

# Characters YAML gives meaning to, so random text over them hits the parser's corners.
_YAML_PIECES = st.sampled_from(list(":-[]{}&*!|>'\"#%@`,?\n \t.0123456789abcxyz~<=\\") + ["\r\n", "  ", "- ", ": ", "\n  "])

random_text = st.one_of(
    st.lists(_YAML_PIECES, max_size=120).map("".join),
    st.text(st.characters(codec="utf-8"), max_size=80),
    st.text(st.characters(exclude_categories=["Cs"]), max_size=80),
)
# Long values are built, not listed, so that a strategy's repr stays short.
long_values = st.integers(4_000, 5_000).map(lambda n: "9" * n) | st.integers(60, 400).map(lambda n: "x" * n)
# Any value a YAML scalar can load as (text kept short: the org file's are 30 characters at most).
any_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.dates(),
    st.text(st.characters(codec="utf-8"), max_size=30),
    st.sampled_from(TRAPS),
    long_values,
)
token = st.one_of(st.sampled_from(TRAPS), long_values, st.text(st.characters(codec="utf-8", exclude_characters="\n\r"), max_size=20))


def nested(depth: int, kind: str) -> str:
    if kind == "list":
        return "[" * depth + "x" + "]" * depth
    if kind == "map":
        return "{a: " * depth + "x" + "}" * depth
    return "[" * depth  # never closed


_VALUE = re.compile(r"^(\s*(?:- )?[^:#]*?:\s)(.*)$")


@st.composite
def mutated(draw: st.DrawFn, base_texts: list[str]) -> str:
    """A real file with one to three things done to it that an editor, a merge or an attacker would do."""
    lines = draw(st.sampled_from(base_texts)).splitlines()
    for _ in range(draw(st.integers(1, 3))):
        if not lines:
            lines = [""]
        i = draw(st.integers(0, len(lines) - 1))
        j = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["drop", "duplicate", "swap", "scalar", "scalar", "insert", "alias", "deep", "indent", "text"]))
        value = _VALUE.match(lines[i])
        if op == "drop":
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "swap":
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "scalar" and value:
            lines[i] = value.group(1) + draw(token)
        elif op == "insert":
            indent = len(lines[i]) - len(lines[i].lstrip())
            key = draw(st.sampled_from(["role", "slack_id", "name", "team", "x", "timezone", "columns", "values", "missing"]))
            lines.insert(i, " " * indent + f"{key}: {draw(token)}")
        elif op == "alias" and value and _VALUE.match(lines[j]):
            lines[i] = value.group(1) + "&a " + value.group(2)
            lines[j] = _VALUE.match(lines[j]).group(1) + "*a"  # type: ignore[union-attr]
        elif op == "deep" and value:
            lines[i] = value.group(1) + nested(draw(st.integers(1, 60)), draw(st.sampled_from(["list", "map", "open"])))
        elif op == "indent":
            lines[i] = lines[i][2:] if lines[i].startswith("  ") and draw(st.booleans()) else "  " + lines[i]
        elif op == "text":
            lines[i] = draw(random_text)
    return "\n".join(lines) + draw(st.sampled_from(["\n", "", "\r\n", "\n\n"]))


_PROBLEM = re.compile(r"^(?P<source>.+?)(?::(?P<line>\d+))?: \S")


def assert_clear_problems(problems: list[str], source: str, text: str) -> None:
    """Each problem is one short line naming the file, and a line of it when it names one."""
    assert problems, "a refusal must say why"
    last_line = len(re.split(r"\r\n|[\n\r\x85\u2028\u2029]", text)) + 1
    for problem in problems:
        assert isinstance(problem, str) and "\n" not in problem and "\r" not in problem, problem[:300]
        assert len(problem) < 600, problem[:600]
        match = _PROBLEM.match(problem)
        assert match and match.group("source") == source, problem[:300]
        if match.group("line"):
            assert 1 <= int(match.group("line")) <= last_line, (problem[:300], last_line)
