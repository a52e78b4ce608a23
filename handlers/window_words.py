"""Where the window is in a command's words: `/kpi team emea last week`, `/scorecard last friday`.

Every command that takes a window (/kpi, /scorecard, /coach summary) splits
its words here, so a window is said the same way everywhere and a name that
holds window-like words (a team called "Week Shift") stays a name when quoted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from handlers.args import Literal, UsageError
from kpi.windows import RANGE_JOINERS, WINDOW_HELP, find_window, meant_as_window, not_a_window, phrase_slip

# Words people put between two dates to mean a span; alone beside one date they are half a span.
_JOINERS = RANGE_JOINERS | {"and"}
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)


def two_windows(first: str, last: str) -> str:
    """The answer to two windows in one question (`2026-11-01 2026-11-30`, `week 30d`)."""
    if _ISO_DATE.match(first) and _ISO_DATE.match(last):
        return f"That is two windows, {first} and {last}; for the days between them ask for {first} to {last} ({first}..{last})."
    return f"That is two windows, {first} and {last}; ask for one at a time. Windows: {WINDOW_HELP}."


def literal_positions(words: list[str]) -> frozenset[int]:
    return frozenset(i for i, w in enumerate(words) if isinstance(w, Literal))


@dataclass(frozen=True)
class Split:
    """A command's words after its subcommand: what they name, and the window they say."""

    words: list[str]  # the rest, the window's words taken out
    window: str | None  # canonical (`last week` → `last-week`)
    whole: str | None = None  # every word, when a window was taken out of a name (`april jones`)


def split_window(rest: list[str], *, names_first: bool = True, needs_name: bool = False) -> Split:
    """Take the window phrase out of `rest`, wherever it is said after the name.

    UsageError for two windows (`2026-11-01 2026-11-30`, `week 30d`), half a span
    (`2026-11-01 to`), and words surely meant as a window (`last weak`) after a
    name. With `names_first`, words that are all a near-window (`1w`) are left as
    the name: a team may be called that, and looking it up says which it is.
    With `needs_name`, one word before the window is the name even if it is a
    window too (`/kpi agent may june`: May, in June).
    """
    found = find_window(rest, literal=literal_positions(rest))
    if found is None:
        for size in (3, 2, 1):
            tail = rest[-size:]
            if len(rest) < size or any(isinstance(w, Literal) for w in tail) or not meant_as_window(" ".join(tail)):
                continue
            if names_first and size == len(rest):
                break  # all of it: a name or a window, the lookup says which
            raise UsageError(not_a_window(" ".join(tail)))
        return Split(list(rest), None)
    others = rest[: found.first] + rest[found.stop :]
    said = " ".join(rest[found.first : found.stop])
    if others:
        at_end = found.stop == len(rest)
        beside = others[-1] if at_end else others[0]
        if beside.lower() in _JOINERS and not isinstance(beside, Literal):
            raise UsageError(f"{' '.join(rest)!r} is not a window: a span needs two dates, e.g. 2026-11-01 to 2026-11-15. Windows: {WINDOW_HELP}.")
        for size in (2, 1):
            # A slip in the word that starts the phrase: `emea sinse monday` is not the team "emea sinse".
            if at_end and len(others) >= size and phrase_slip(" ".join(rest[found.first - size : found.stop])):
                raise UsageError(not_a_window(" ".join(rest[found.first - size : found.stop])))
        again = find_window(others, literal=literal_positions(others))
        a_name = needs_name and len(others) == 1 and others[0].isalpha()
        if again is not None and not a_name and (again.stop == len(others) if at_end else again.first == 0):
            other = " ".join(others[again.first : again.stop])
            raise UsageError(two_windows(other, said) if at_end else two_windows(said, other))
    return Split(others, found.spec, " ".join(rest) if others else None)


