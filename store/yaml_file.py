"""The one YAML loader for every file csbot reads (the org file, ticket-import mappings).

YAML has features a configuration file does not need and a hostile file can
use: an alias (`*a`) repeats a value by reference, so a few lines expand into
gigabytes the moment anything walks them; a repeated key silently replaces the
first (a reviewer reads `role: agent`, the file means `role: admin`); a key may
itself be a list; nesting can run deeper than Python's recursion; YAML 1.1 reads
`0777` as the number 511. This loader refuses all of that, by line, before any
content is interpreted, so one such problem is reported once rather than as a
cascade of follow-on problems. Every problem is one line, `source:line: message`.

What `load` returns:

- a mapping is a `LineDict`: keys are always the text written in the file (so
  `1:` and `yes:` are the keys "1" and "yes"), and it remembers its own line,
  the line of each key and the text of each scalar value as written;
- a sequence is a `LineList` that remembers its line and its items' lines and
  written texts;
- a scalar is what YAML 1.1 reads it as (str, int, float, bool, None, date or
  datetime). Callers that need text check the type and can quote back what was
  written. Merge keys (`<<`) and `=` are plain text; explicit tags other than
  `!!str`, `!!int`, `!!float`, `!!bool`, `!!null`, `!!map` and `!!seq` are refused.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from yaml.events import AliasEvent, MappingStartEvent, SequenceStartEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from store.quoting import clip

MAX_BYTES = 5 * 1024 * 1024
# The org file's deepest section (escalation policies) is about 9 levels deep.
MAX_DEPTH = 24
# Each value costs a few hundred bytes once parsed: a 5 MB file of `[a,a,a,…`
# would otherwise take about a gigabyte. A real 5 MB org file holds about half this.
MAX_NODES = 1_000_000
# Past this many problems a file is not worth reading further; the first ones say what is wrong.
MAX_PROBLEMS = 50

_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = {_TAG + t for t in ("str", "int", "float", "bool", "null", "timestamp")}
_NULL_TAG = _TAG + "null"
# What YAML would make of a non-text scalar, for "cannot read ... as ...".
_KIND = {_TAG + "int": "a whole number", _TAG + "float": "a number", _TAG + "bool": "true or false", _TAG + "timestamp": "a date"}
_LINE_BREAK = re.compile(r"\r\n|[\n\r\x85\u2028\u2029]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


class YamlFileError(Exception):
    """The file was refused; `problems` lists every reason, one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class LineDict(dict[str, Any]):
    """A YAML mapping that remembers its line, each key's line and each scalar value's text as written (1-based lines)."""

    line: int
    key_lines: dict[str, int]
    value_texts: dict[str, str | None]


class LineList(list[Any]):
    """A YAML sequence that remembers its line, each item's line and each scalar item's text as written."""

    line: int
    item_lines: list[int]
    item_texts: list[str | None]


def _tag(node: Node) -> str:
    """A tag as it is written (`!!binary`, `!custom`), clipped."""
    tag = node.tag
    return clip("!!" + tag[len(_TAG):] if tag.startswith(_TAG) else tag)


def _one_line(message: str, limit: int = 200) -> str:
    message = " ".join(message.split())
    return message if len(message) <= limit else message[:limit] + "…"


def _too_deep(max_depth: int) -> str:
    return f"nested more than {max_depth} levels deep; csbot's files never need that"


class _Stop(Exception):
    """Reading cannot go on (too many problems, or nesting too deep to walk safely)."""


class _Resolver(yaml.resolver.Resolver):
    pass


# `<<` (merge) only matters with aliases, and `=` has no constructor in safe
# loading; both stay plain text.
_Resolver.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in (_TAG + "merge", _TAG + "value")]
    for first, resolvers in yaml.resolver.Resolver.yaml_implicit_resolvers.items()
}


class _SafeComposer(yaml.composer.Composer, yaml.constructor.SafeConstructor, _Resolver):
    """PyYAML's composer under a depth limit and without following aliases; the parser comes from a subclass."""

    def _start(self, max_depth: int, max_nodes: int) -> None:
        yaml.composer.Composer.__init__(self)
        yaml.constructor.SafeConstructor.__init__(self)
        _Resolver.__init__(self)
        self.max_depth = max_depth
        self.depth = 0
        self.nodes_left = max_nodes
        self.problems: list[tuple[int | None, str]] = []
        self._alias_lines: set[int] = set()

    def problem(self, line: int | None, message: str) -> None:
        self.problems.append((line, message))
        if len(self.problems) >= MAX_PROBLEMS:
            raise _Stop

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        self.nodes_left -= 1
        if self.nodes_left < 0:
            self.problem(self.peek_event().start_mark.line + 1, "the file holds too many values to read; split it or trim it")
            raise _Stop
        if self.check_event(AliasEvent):
            # Never return the anchored node: a shared node is how the expansion starts.
            event = self.get_event()
            line = event.start_mark.line + 1
            if line not in self._alias_lines:
                self._alias_lines.add(line)
                self.problem(line, f"anchors and aliases (*{clip(event.anchor, 20)[1:-1]}) are not supported: write the value out")
            return ScalarNode(_NULL_TAG, "", event.start_mark, event.end_mark)
        # Exact event classes: libyaml's check_event does not match subclasses.
        if not self.check_event(SequenceStartEvent, MappingStartEvent):
            return yaml.composer.Composer.compose_node(self, parent, index)
        if self.depth >= self.max_depth:
            # Stop here: skipping the rest would still scan all of it, and a
            # file of brackets is slow to scan.
            self.problem(self.peek_event().start_mark.line + 1, _too_deep(self.max_depth))
            raise _Stop
        self.depth += 1
        try:
            return yaml.composer.Composer.compose_node(self, parent, index)
        finally:
            self.depth -= 1


class _PyLoader(yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser, _SafeComposer):
    def __init__(self, text: str, max_depth: int, max_nodes: int) -> None:
        yaml.reader.Reader.__init__(self, text)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)
        self._start(max_depth, max_nodes)


_LOADERS: dict[str, type[_SafeComposer]] = {"python": _PyLoader}
if yaml.__with_libyaml__:
    # libyaml scans about twenty times faster than pure Python; the composer
    # (and every check above) stays the same Python code on its events.

    class _CLoader(_SafeComposer, yaml.cyaml.CParser):  # type: ignore[misc]
        def __init__(self, text: str, max_depth: int, max_nodes: int) -> None:
            yaml.cyaml.CParser.__init__(self, text)
            self._start(max_depth, max_nodes)

    _LOADERS["libyaml"] = _CLoader
PARSERS = tuple(_LOADERS)  # the event parsers available here; the fastest is used


def _line_of(text: str, position: int) -> int:
    """The 1-based line of `position`, counting line breaks as YAML does."""
    return len(_LINE_BREAK.findall(text, 0, position)) + 1


def _check_characters(text: str, source: str) -> None:
    # The parsers refuse these too, but by offset, not by line.
    bad = yaml.reader.Reader.NON_PRINTABLE.search(text)
    if bad is None:
        return
    if "\x00" not in text:
        line, code = _line_of(text, bad.start()), ord(bad.group())
        raise YamlFileError([f"{source}:{line}: the character U+{code:04X} is not allowed in a YAML file; remove it"])
    problems: list[str] = []
    line, last = 1, 0
    for match in re.finditer("\x00", text):
        line += len(_LINE_BREAK.findall(text, last, match.start()))
        last = match.start()
        where = f"{source}:{line}: "
        if not problems or not problems[-1].startswith(where):
            problems.append(f"{where}a NUL character (\\0) is not allowed (it cannot be stored); remove it")
        if len(problems) >= MAX_PROBLEMS:
            break
    if problems:
        raise YamlFileError(problems)


def _check_nodes(loader: _SafeComposer, node: Node) -> None:
    """Refuse what must not be interpreted: unsupported tags, non-text keys, duplicate keys, NUL and surrogate characters."""
    line = node.start_mark.line + 1
    if isinstance(node, ScalarNode):
        if node.tag not in _SCALAR_TAGS:
            loader.problem(line, f"the tag {_tag(node)} is not supported: write the value plainly")
        if "\x00" in node.value:
            loader.problem(line, "a NUL character (\\0) is not allowed (it cannot be stored); remove it")
        if _SURROGATE.search(node.value):
            loader.problem(line, "an escaped surrogate (\\uD800-\\uDFFF) is not a character; write the character itself")
        return
    if isinstance(node, SequenceNode):
        if node.tag != _TAG + "seq":
            loader.problem(line, f"the tag {_tag(node)} is not supported: write a plain list")
        for item in node.value:
            _check_nodes(loader, item)
        return
    assert isinstance(node, MappingNode)
    if node.tag != _TAG + "map":
        loader.problem(line, f"the tag {_tag(node)} is not supported: write a plain mapping")
    seen: dict[str, int] = {}
    for key, value in node.value:
        key_line = key.start_mark.line + 1
        if not isinstance(key, ScalarNode):
            loader.problem(key_line, "a key must be plain text, not a list or a mapping")
        else:
            _check_nodes(loader, key)
            if key.value in seen:
                loader.problem(
                    key_line,
                    f"duplicate key {clip(key.value)} (first on line {seen[key.value]}): "
                    "YAML would silently keep only the last one; keep one",
                )
            else:
                seen[key.value] = key_line
        _check_nodes(loader, value)


def _build(loader: _SafeComposer, node: Node) -> Any:
    """Turn checked nodes into LineDict / LineList / scalars (depth is bounded, so recursion is safe)."""
    if isinstance(node, MappingNode):
        out = LineDict()
        out.line = node.start_mark.line + 1
        out.key_lines, out.value_texts = {}, {}
        for key_node, value_node in node.value:
            key = key_node.value
            out[key] = _build(loader, value_node)
            out.key_lines[key] = key_node.start_mark.line + 1
            out.value_texts[key] = value_node.value if isinstance(value_node, ScalarNode) else None
        return out
    if isinstance(node, SequenceNode):
        items = LineList(_build(loader, item) for item in node.value)
        items.line = node.start_mark.line + 1
        items.item_lines = [item.start_mark.line + 1 for item in node.value]
        items.item_texts = [item.value if isinstance(item, ScalarNode) else None for item in node.value]
        return items
    try:
        return loader.construct_object(node)
    except (ValueError, KeyError, TypeError, OverflowError, yaml.YAMLError):
        # e.g. a date like 2026-13-45, a number of 5,000 digits, `!!int abc`.
        kind = _KIND.get(node.tag) or _tag(node)
        loader.problem(node.start_mark.line + 1, f"cannot read {clip(node.value)} as {kind}; quote it if it is text")
        return None


def load(
    text: str,
    source: str,
    *,
    max_bytes: int = MAX_BYTES,
    max_depth: int = MAX_DEPTH,
    max_nodes: int = MAX_NODES,
    parser: str | None = None,
) -> Any:
    """Parse one YAML document safely; raise YamlFileError listing every problem as `source:line: message`.

    An empty document is None. `parser` picks an event parser from PARSERS
    (default: libyaml when PyYAML has it); both behave the same here.
    """
    if len(text) > max_bytes or (len(text) * 4 > max_bytes and len(text.encode("utf-8", "surrogatepass")) > max_bytes):
        raise YamlFileError([f"{source}: the file is larger than {max_bytes // (1024 * 1024)} MB; split it or trim it"])
    _check_characters(text, source)
    loader = _LOADERS[parser or PARSERS[-1]](text, max_depth, max_nodes)
    doc: Any = None
    try:
        try:
            node = loader.get_single_node()
            if node is not None and not loader.problems:
                _check_nodes(loader, node)
                if not loader.problems:
                    doc = _build(loader, node)
        except yaml.MarkedYAMLError as exc:
            loader.problems.append(_syntax_problem(exc, max_depth))
        except yaml.reader.ReaderError as exc:
            # Characters were checked above; this is a parser that disagrees about one.
            loader.problems.append((None, f"not valid YAML: {_one_line(exc.reason)}"))
    except _Stop:
        if len(loader.problems) >= MAX_PROBLEMS:
            loader.problems.append((None, f"stopped after {MAX_PROBLEMS} problems; fix these first"))
    if loader.problems:
        raise YamlFileError([(f"{source}:{line}: " if line else f"{source}: ") + message for line, message in loader.problems])
    return doc


def _syntax_problem(exc: yaml.MarkedYAMLError, max_depth: int) -> tuple[int | None, str]:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark is not None else None
    if exc.problem == "exceeded maximum nesting depth":
        # libyaml's own limit (1,000 levels), met while it scans ahead of the composer.
        return line, _too_deep(max_depth)
    if exc.context == "expected a single document in the stream":
        return line, "a file holds one YAML document; remove the second '---' and what follows, or merge them"
    return line, f"not valid YAML: {_one_line(exc.problem or exc.context or 'cannot be parsed')}"


def read_text(path: Path, source: str | None = None, *, max_bytes: int = MAX_BYTES) -> str:
    """The UTF-8 text of a file of at most `max_bytes`; YamlFileError says why not (missing, a directory, too big, not UTF-8)."""
    source = source or str(path)
    try:
        with path.open("rb") as fh:
            data = fh.read(max_bytes + 1)
    except FileNotFoundError:
        raise YamlFileError([f"{source}: cannot read it: there is no such file"]) from None
    except IsADirectoryError:
        raise YamlFileError([f"{source}: cannot read it: it is a directory, not a file"]) from None
    except OSError as exc:
        raise YamlFileError([f"{source}: cannot read it: {exc.strerror or type(exc).__name__}"]) from None
    if len(data) > max_bytes:
        raise YamlFileError([f"{source}: the file is larger than {max_bytes // (1024 * 1024)} MB; split it or trim it"])
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise YamlFileError([f"{source}:{line}: this line is not UTF-8 (byte 0x{data[exc.start]:02X}); save the file as UTF-8"]) from None


def load_file(path: Path, source: str | None = None) -> Any:
    """`read_text` then `load`: the whole safe path from a file name to a document."""
    source = source or str(path)
    return load(read_text(path, source), source)
