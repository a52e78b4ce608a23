"""Splitting command text into words and flags, the same on every surface."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field

# Slack, Teams and phone keyboards turn straight quotes into typographic ones;
# people still mean "quote this".
_QUOTE_FOLD = str.maketrans({"\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2018": "'", "\u2019": "'"})
# Chat clients send non-breaking and other odd spaces; treat them as spaces.
_SPACE_FOLD = str.maketrans({"\u00a0": " ", "\u2007": " ", "\u202f": " ", "\t": " "})

# A bound on the whole command, so no one can make the parser chew on a novel;
# each free-text part keeps its own, smaller limit (a coaching note 4,000, an
# escalation reason 2,000...). The whole must leave room for the longest legal
# command: `/coach session` with strengths and opportunities of 4,000 characters
# each and 20 action items of 500 with their due dates (about 18,400 in all).
# tests/test_long_commands.py builds that command from the parts' own limits.
MAX_COMMAND_CHARS = 20_000
_DASHES = ("\u2013", "\u2014")  # en and em dash
# NUL cannot be stored in PostgreSQL text, and a lone surrogate (a valid escape
# in the JSON Slack and Teams send) cannot be encoded as UTF-8: no database,
# renderer or log could take either, so such text is refused, never echoed.
_NOT_TEXT = re.compile("[\x00\ud800-\udfff]")


class UsageError(Exception):
    """The command text cannot be understood; the message says what was wrong."""


def split_words(text: str) -> list[str]:
    """Split `text` into words, honouring "double" and 'single' quotes."""
    if len(text) > MAX_COMMAND_CHARS:
        raise UsageError(f"That command is {len(text):,} characters long; the limit is {MAX_COMMAND_CHARS:,}.")
    if _NOT_TEXT.search(text):
        raise UsageError("That command has characters that cannot be text (a NUL or a broken character); type it again.")
    folded = text.translate(_QUOTE_FOLD).translate(_SPACE_FOLD)
    lexer = shlex.shlex(folded, posix=True)
    lexer.whitespace_split = True
    lexer.commenters = ""
    # An apostrophe inside a word ("don't") is text, not the start of a quote.
    lexer.quotes = '"'
    try:
        return list(lexer)
    except ValueError as exc:
        # shlex's two complaints: an open quote, or a backslash with nothing after it.
        if "escaped" in str(exc):
            raise UsageError("The command ends with a \\, which has nothing to escape: remove it (write \\\\ for one \\).") from None
        raise UsageError('A quote is not closed: put a " at the end of the quoted words.') from None


class Literal(str):
    """A word typed in quotes, in whole or in part: meant as it is (a name), never as a keyword."""


def mark_quoted(raw: str, words: list[str]) -> list[str]:
    """`words` (split_words of `raw`), the ones typed in quotes as Literal.

    A quoted word is meant literally: `/kpi team "November"` is the team, not the
    month. When `raw` does not split into `words`, they come back unmarked.
    """
    folded = raw.translate(_QUOTE_FOLD).translate(_SPACE_FOLD)
    found: list[tuple[str, bool]] = []
    text, quoted, started, inside, i = "", False, False, False, 0
    while i < len(folded):
        ch = folded[i]
        if inside:
            if ch == "\\" and i + 1 < len(folded) and folded[i + 1] in '"\\':
                text, i = text + folded[i + 1], i + 1
            elif ch == '"':
                inside = False
            else:
                text += ch
        elif ch == '"':
            inside = quoted = started = True
        elif ch == "\\" and i + 1 < len(folded):
            text, started, i = text + folded[i + 1], True, i + 1
        elif ch.isspace():
            if started:
                found.append((text, quoted))
            text, quoted, started = "", False, False
        else:
            text, started = text + ch, True
        i += 1
    if started:
        found.append((text, quoted))
    if [w for w, _ in found] != words:
        return list(words)
    return [Literal(w) if q else w for w, q in found]


@dataclass
class Args:
    """Positional words and `--flags` of one command, after the command name."""

    words: list[str]
    flags: dict[str, str | bool] = field(default_factory=dict)

    def flag(self, name: str) -> bool:
        return bool(self.flags.get(name))

    def option(self, name: str) -> str | None:
        value = self.flags.get(name)
        return value if isinstance(value, str) else None


def parse_args(words: list[str], *, switches: frozenset[str] = frozenset(), options: frozenset[str] = frozenset()) -> Args:
    """Separate `--switch` and `--option VALUE` (or `--option=VALUE`) from words.

    Unknown flags are a usage error, so a typo is never silently ignored.
    """
    positional: list[str] = []
    flags: dict[str, str | bool] = {}
    i = 0
    while i < len(words):
        word = words[i]
        if word[:1] in _DASHES and word[1:2].isalpha():
            word = "--" + word[1:]  # phones turn a typed -- into a dash: `—share` means --share
        if word.startswith("--") and len(word) > 2:
            name, eq, inline = word[2:].partition("=")
            name = name.lower()
            if name in switches and not eq:
                flags[name] = True
            elif name in options:
                if eq:
                    value = inline
                elif i + 1 < len(words):
                    i += 1
                    value = words[i]
                else:
                    raise UsageError(f"--{name} needs a value.")
                if not value:
                    raise UsageError(f"--{name} needs a value.")
                flags[name] = value
            else:
                from handlers.router import closest  # the router imports this module

                known = sorted(f"--{n}" for n in switches | options)
                meant = closest(name, sorted(switches | options), n=1) if name else []
                hint = f" Did you mean --{meant[0]}?" if meant else ""
                hint += f" Known here: {', '.join(known)}." if known else ""
                raise UsageError(f"Unknown option {word!r}.{hint}")
        else:
            positional.append(word)
        i += 1
    return Args(positional, flags)


DAMAGED_BUTTON = "That button's data is damaged; run the command again."


def number_word(word: str, what: str) -> int:
    """A record's number as typed (`12` or `#12`); UsageError saying `what` it should have been."""
    digits = word.lstrip("#") if word.count("#") <= 1 else ""
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 9:
        raise UsageError(f"{word!r} is not {what}.")
    return int(digits)


def form_submission(value: str) -> tuple[str, dict[str, str]]:
    """A submitted form's context and field values ({"context": str, "values": {name: text}}).

    UsageError when forged or damaged, and when a value cannot be text (a NUL
    or a lone surrogate: what a typed command is refused for, a form is too).
    """
    try:
        payload = json.loads(value)
        context, values = payload.get("context") or "", payload["values"]
        if not isinstance(context, str) or not isinstance(values, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in values.items()):
            raise TypeError("values")
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
        raise UsageError(DAMAGED_BUTTON) from None
    if any(_NOT_TEXT.search(text) for text in (context, *values, *values.values())):
        raise UsageError("The form has characters that cannot be text (a NUL or a broken character); write it again.")
    return context, values


def form_number(context: str) -> int:
    """A record number a form carries as its context (`"12"`); UsageError when forged."""
    if not (context.isascii() and context.isdigit()) or not 0 < int(context) < 10**9:
        raise UsageError(DAMAGED_BUTTON)
    return int(context)


def form_context(context: str, *keys: str) -> dict[str, str]:
    """A form's JSON context with text `keys` ({"agent": "alice"}); UsageError when forged."""
    try:
        found = json.loads(context)
        if not all(isinstance(found[k], str) for k in keys):
            raise TypeError("context")
    except (ValueError, KeyError, TypeError, RecursionError):
        raise UsageError(DAMAGED_BUTTON) from None
    return {k: found[k] for k in keys}


def button_id(value: str) -> tuple[int, dict[str, object]]:
    """The record id in a button's value (`{"id": 12, …}`) and the whole value; UsageError when forged or damaged."""
    try:
        payload = json.loads(value)
        number = payload["id"]
        if not isinstance(number, int) or isinstance(number, bool) or not 0 < number < 10**9:
            raise TypeError("id")
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
        raise UsageError(DAMAGED_BUTTON) from None
    return number, payload
