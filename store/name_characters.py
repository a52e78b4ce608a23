"""Which characters a name or an id may not hold, for every way one enters csbot.

A name or id is one line of visible text: it is shown in chat cards, matched
when people type it, and used as a key. Some characters break that while
looking like nothing: a line break or an escape sequence rewrites the line a
name is printed on (`"Agent\\r\\nOne"`, `\\x1b[2J`); a bidirectional override
(U+202E) shows `Alice` as `ecilA` and an invisible space (U+200B) makes
`a\\u200blice` look like `alice`, so one person can pass for another. These are
Unicode's control characters (Cc: C0, DEL, C1 such as U+0085), line and
paragraph separators (Zl, Zp: U+2028, U+2029), format characters (Cf: the
bidirectional embeddings, overrides, isolates and marks, zero-width spaces and
joiners, U+FEFF, the soft hyphen, tag characters) and lone surrogates (Cs).

One rule, two uses: the org file refuses such a name or id at its line (its
author can fix it), while the webhook and the ticket import, which carry what
a helpdesk holds, clean names (`clean_name`) and refuse ids, which cannot be
changed without becoming another ticket's.
"""

from __future__ import annotations

import re
import unicodedata

# Unicode general categories a name or id may not hold (see the module docstring).
UNWANTED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
# Text made only of these has none of them (the one format character below
# U+0600 is the soft hyphen, U+00AD): most names are, and are checked by one
# regular-expression search instead of a look-up per character (printable
# ASCII, most names of all, by two string methods before that).
_ALL_WANTED = re.compile(r"[\x20-\x7e\xa0-\xac\xae-\u05ff]*")
# Controls have no Unicode name; these are named as people know them.
_KNOWN = {
    "\t": "a tab",
    "\n": "a line break",
    "\r": "a line break (carriage return)",
    "\x0b": "a vertical tab",
    "\x0c": "a form feed",
    "\x1b": "an escape character",
    "\x7f": "a delete character",
    "\x85": "a line break (next line)",
    "\u2028": "a line separator",
    "\u2029": "a paragraph separator",
    "\ufeff": "an invisible byte order mark",
}
_KINDS = {"Cc": "a control character", "Cf": "an invisible formatting character", "Cs": "a lone surrogate"}


def is_unwanted(char: str) -> bool:
    """True when `char` may not be part of a name or id."""
    return unicodedata.category(char) in UNWANTED_CATEGORIES


def unwanted_character(text: str) -> str | None:
    """The first character `text` may not hold as a name or id, described for a person, or None.

    `"Agent\\r\\nOne"` gives `a line break (carriage return, U+000D)`; U+202E
    gives `an invisible formatting character (RIGHT-TO-LEFT OVERRIDE, U+202E)`.
    """
    if (text.isascii() and text.isprintable()) or _ALL_WANTED.fullmatch(text):
        return None
    for char in text:
        if is_unwanted(char):
            return describe(char)
    return None


def describe(char: str) -> str:
    """`a tab (U+0009)`, `an invisible formatting character (ZERO WIDTH SPACE, U+200B)`."""
    code = f"U+{ord(char):04X}"
    known = _KNOWN.get(char)
    if known is not None:
        if known.endswith(")"):
            return f"{known[:-1]}, {code})"
        return f"{known} ({code})"
    name = unicodedata.name(char, None)
    kind = _KINDS.get(unicodedata.category(char), "a control character")
    return f"{kind} ({name}, {code})" if name else f"{kind} ({code})"


def clean_name(text: str) -> str:
    """`text` as a name may hold it: controls and line breaks become a space, invisible formatting
    characters and lone surrogates go, and the spaces this leaves are collapsed.

    `"Agent\\r\\nOne"` is `Agent One`; `"Ali\\u200bce"` is `Alice`. A name
    that had none of them is returned as it is.
    """
    if unwanted_character(text) is None:
        return text
    kept = []
    for char in text:
        category = unicodedata.category(char)
        if category in ("Cf", "Cs"):
            continue
        kept.append(" " if category in UNWANTED_CATEGORIES else char)
    return " ".join("".join(kept).split())
