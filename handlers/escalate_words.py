"""Reading `/escalate TICKET [QUEUE] [SEV] REASON…`: which leading words are the queue and the severity.

The queue and the severity are optional and come before the reason, in
either order, so a word there may be either, or the reason's first word.
A word that is neither but looks meant as one is never quietly read as
the reason (the page would go out at the wrong severity, or to the wrong
queue, with the intent buried in its text):

- a severity-like word that is no severity (`sev5`, `p1`, `sve2`) is refused;
- a word in the queue's place followed by a severity (`payments sev2`) was
  meant as a queue: refused when there is no such queue;
- a word close to a queue's key (`biling`) is asked about: the caller
  confirms the queue in the form, the reason kept as typed.

Quoting the reason (`/escalate T-1 "sev5 reproduced"`) keeps every word of it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from handlers.args import UsageError
from handlers.escalation_views import SEVERITY_LABELS
from handlers.router import closest
from store.queues import EscalationQueue

SEVERITIES = tuple(SEVERITY_LABELS)
# Unambiguous spellings of a severity: "SEV-2", "sev_2", "severity2".
_SPELLED = re.compile(r"^sev(?:erity)?[-_.:#]?([1-4])$", re.IGNORECASE)
# Shapes people use for a severity or priority level: sev5, p1, severity-0 (not "s3": a reason may start with S3).
_LEVEL = re.compile(r"^(?:sev(?:erity)?|p)[-_.:#]?(\d{1,3})$", re.IGNORECASE)
_WORD = re.compile(r"^sev(?:erity)?$", re.IGNORECASE)
_DIGITS = re.compile(r"^\d{1,3}$")
SEVERITY_HELP = "sev1 (critical), sev2 (major), sev3 (minor) or sev4 (low)"


@dataclass(frozen=True)
class SeverityWord:
    severity: str | None  # the severity it names, None when it names none
    width: int  # words it takes ("sev 2" is two)
    suggestion: str | None = None  # for one that names none: the severity probably meant


def severity_at(words: Sequence[str]) -> SeverityWord | None:
    """The severity at the start of `words`; None when the first word does not look like one."""
    if not words:
        return None
    word = words[0].strip()
    if word.lower() in SEVERITIES:
        return SeverityWord(word.lower(), 1)
    if m := _SPELLED.match(word):
        return SeverityWord(f"sev{m.group(1)}", 1)
    if _WORD.match(word) and len(words) > 1 and _DIGITS.match(words[1]):
        level = int(words[1])
        return SeverityWord(f"sev{level}" if 1 <= level <= 4 else None, 2)
    if m := _LEVEL.match(word):
        level = int(m.group(1))
        return SeverityWord(None, 1, f"sev{level}" if 1 <= level <= 4 else None)
    # A misspelling with its level ("sve2", "sev2."): only words that start like one and carry a digit,
    # so an ordinary first word of a reason is never taken for a severity.
    if word[:1].lower() == "s" and any(c.isdigit() for c in word) and 3 <= len(word) <= 10:
        guesses = closest(word, SEVERITIES)
        if guesses:
            return SeverityWord(None, 1, guesses[0])
    return None


def queue_guesses(word: str, queues: Sequence[EscalationQueue]) -> list[str]:
    """Queue keys `word` is probably a misspelling of (`biling` → billing).

    `closest` also finds "the" close to tier2 and "login" to billing; a reason
    starting with such a word must not hold up a page, so a guess must also
    share the word's first two letters.
    """
    if len(word) < 3 or not word.isascii():
        return []
    keys = [q.key for q in queues]
    return [k for k in closest(word.lower(), keys) if k[:2] == word[:2].lower()]


@dataclass(frozen=True)
class LeadingWords:
    queue: EscalationQueue | None
    severity: str | None
    reason: list[str]  # the words left: the reason
    unsure_queue: tuple[str, list[str]] | None = None  # (the word, the queues it may mean): ask before opening


def read_leading(
    words: Sequence[str], ticket: str, queues: Sequence[EscalationQueue], named: Callable[[str], EscalationQueue | None]
) -> LeadingWords:
    """Take the queue and the severity from the start of `words` (at most one of each, in either order)."""
    rest = list(words)
    queue: EscalationQueue | None = None
    severity: str | None = None
    while rest and (queue is None or severity is None):
        found = severity_at(rest)
        if found is not None:
            if found.severity is None:
                raise UsageError(_bad_severity(rest[: found.width], ticket, rest[found.width :], queue, found.suggestion))
            if severity is not None:
                raise UsageError(f"Two severities, {severity} and {found.severity}: name one. Nothing was opened.")
            severity = found.severity
            del rest[: found.width]
            continue
        if queue is None and (match := named(rest[0])) is not None:
            queue = match
            del rest[0]
            continue
        break
    if rest and severity is None and (after := severity_at(rest[1:])) is not None:
        # "payments sev2 …": the word before a severity was meant as a queue (or is misplaced).
        raise UsageError(_not_a_queue(rest[0], after, ticket, rest[1 + after.width :], queue, queues))
    unsure = None
    if rest and queue is None and (guesses := queue_guesses(rest[0], queues)):
        unsure = (rest[0], guesses)
    return LeadingWords(queue, severity, rest, unsure)


def _command(ticket: str, queue: EscalationQueue | None, severity: str | None, reason: Sequence[str]) -> str:
    """The command as it should have been typed, with the caller's own reason (nothing they wrote is lost)."""
    parts = ["/escalate", ticket] + ([queue.key] if queue else []) + ([severity] if severity else []) + list(reason)
    return " ".join(parts)


def _bad_severity(written: Sequence[str], ticket: str, reason: Sequence[str], queue: EscalationQueue | None, suggestion: str | None) -> str:
    said = " ".join(written)
    guess = f" Did you mean {suggestion}?" if suggestion else ""
    example = _command(ticket, queue, suggestion or "sev2", reason)
    return (
        f"{said!r} is not a severity: csbot's are {SEVERITY_HELP}.{guess} Nothing was opened; "
        f"say it as{'' if suggestion else ', for example'}: {example}  (or put the reason in quotes to start it with {said!r})"
    )


def _not_a_queue(
    word: str, severity: SeverityWord, ticket: str, reason: Sequence[str], queue: EscalationQueue | None, queues: Sequence[EscalationQueue]
) -> str:
    keys = [q.key for q in queues]
    level = severity.severity or severity.suggestion
    if queue is not None:
        return (
            f"{word!r} stands between the queue and the severity, so the severity would be read as part of the reason. "
            f"Nothing was opened; say it as: {_command(ticket, queue, level, [word, *reason])}"
        )
    guesses = closest(word, keys)
    hint = f" Did you mean {', '.join(guesses)}?" if guesses else ""
    listed = f" Queues: {', '.join(keys)}." if keys else ""
    also = "" if severity.severity else f" Nor is the word after it a severity: csbot's are {SEVERITY_HELP}."
    return (
        f"There is no queue called {word!r}.{hint}{listed}{also} Nothing was opened; name a queue, or leave it out "
        f"and the ticket is routed: {_command(ticket, None, level, reason)}"
    )


__all__ = ["LeadingWords", "SEVERITY_HELP", "SeverityWord", "queue_guesses", "read_leading", "severity_at"]
