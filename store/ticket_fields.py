"""What a ticket's priority and tags may be: shared by the import, the webhook and the org file's SLA policies.

Priorities are low, normal, high and urgent (an import's value table maps a
helpdesk's own names onto them).

Tags: how a helpdesk's tag text becomes the tags csbot stores and breaks KPIs down by.

A tag is one word of letters and digits (any script) and `_ - . : / + & #`,
lowercase: what Zendesk and Freshdesk tags look like (`billing`, `refund`,
`vip`, `order:late`). Text from an import's `tags` column or a webhook's
`ticket.tags` separates tags by commas and spaces, and by anything else a tag
cannot hold, so `"Billing, refund;VIP"` is billing, refund and vip. What no
name may hold (store.name_characters: line breaks, escapes, invisible
formatting) separates tags too, or goes, like in a cleaned name; nothing of it
is ever stored. A ticket has at most MAX_TAGS distinct tags of at most
MAX_TAG_LENGTH characters: more is refused (the import rejects the row, the
webhook the event), never cut, as other fields too long for csbot are.

Stored as one text column, the sorted tags joined by single spaces
(`billing refund vip`), NULL for none: a breakdown by tag reads it with the
window's tickets, and an import writes one more cell per row, not rows of
another table.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

from store.name_characters import clean_name
from store.quoting import clip

PRIORITIES = ("low", "normal", "high", "urgent")
MAX_TAGS = 20
MAX_TAG_LENGTH = 48
# The stored text of MAX_TAGS tags of MAX_TAG_LENGTH characters fits the column.
STORED_LENGTH = MAX_TAGS * (MAX_TAG_LENGTH + 1)
TAG_CHARACTERS = "letters, digits and _ - . : / + & #"
_NOT_TAG = re.compile(r"[^\w\-.:/+&#]+")
# Punctuation that ends a sentence or starts a path is not part of a tag: `refund.` is refund.
_EDGES = "-.:/"
# Most tag text is already plain lowercase ASCII words: one regular-expression check, no normalising.
_PLAIN = re.compile(r"[a-z0-9_\-.:/+&#, ]*")


class TagError(ValueError):
    """Tag text csbot will not store (too many tags, or a tag too long); the message says which and why."""


def _words(text: str) -> list[str]:
    if not _PLAIN.fullmatch(text):
        # As a name is cleaned (controls separate, invisible formatting goes); then full-width
        # forms and ligatures as the letters they are, case folded for matching.
        text = unicodedata.normalize("NFKC", clean_name(text)).lower()
    return [w for w in (word.strip(_EDGES) for word in _NOT_TAG.split(text)) if w]


def parse_tags(value: str | Iterable[str] | None) -> list[str]:
    """The tags `value` names, sorted and each once; [] for none.

    `value` is a cell of text (commas and spaces separate tags) or a list of
    such texts. TagError when there are more than MAX_TAGS distinct tags or
    one is longer than MAX_TAG_LENGTH.
    """
    if value is None:
        return []
    if isinstance(value, str):
        return list(_cell(value)) if len(value) <= _CACHED_CELL else _parse([value])
    return _parse(list(value))


# An export repeats a few hundred tag cells across a million rows: each is read once.
_CACHED_CELL = 1000


@lru_cache(maxsize=4096)
def _cell(text: str) -> tuple[str, ...]:
    return tuple(_parse([text]))


def _parse(texts: list[str]) -> list[str]:
    found: set[str] = set()
    for text in texts:
        found.update(_words(text))
        if len(found) > MAX_TAGS:
            # Counted as it goes: a cell of a million words is refused without sorting them.
            raise TagError(f"more than {MAX_TAGS} tags; a ticket has at most {MAX_TAGS}")
    for tag in found:
        if len(tag) > MAX_TAG_LENGTH:
            raise TagError(f"the tag {clip(tag)} is {len(tag)} characters long; a tag is at most {MAX_TAG_LENGTH}")
    return sorted(found)


def tags_text(tags: Iterable[str]) -> str | None:
    """The stored form of `tags` (already parsed): sorted, space-separated; None for none."""
    ordered = sorted(set(tags))
    return " ".join(ordered) if ordered else None


def stored_cell(text: str | None) -> str | None:
    """A cell of tag text as stored (parse_tags, then tags_text); TagError as parse_tags."""
    if text is None:
        return None
    if len(text) <= _CACHED_CELL:
        return _stored_cell(text)
    return tags_text(_parse([text]))


@lru_cache(maxsize=4096)
def _stored_cell(text: str) -> str | None:
    return tags_text(_cell(text))


def stored_tags(text: str | None) -> list[str]:
    """The tags of a stored `tags` value."""
    return text.split() if text else []


def one_tag(text: str) -> str | None:
    """`text` as a single tag (`VIP` is vip), or None when it is not exactly one tag of at most MAX_TAG_LENGTH characters."""
    words = _words(text)
    return words[0] if len(words) == 1 and len(words[0]) <= MAX_TAG_LENGTH else None
