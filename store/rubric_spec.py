"""The written forms of a QA rubric: scales (`0-2`, `1-5`, `pass-fail`) and weights.

They live with the org file that is written in them (the file refuses a bad
one by line); `coaching.rubric` scores reviews with them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

_RANGE = re.compile(r"^\s*(\d{1,3})\s*-\s*(\d{1,3})\s*$")
PASS_FAIL = "pass-fail"
PASS_WORDS = {"pass": 1, "yes": 1, "1": 1, "fail": 0, "no": 0, "0": 0}


class RubricError(ValueError):
    """A scale, weight or score that cannot be used; the message says how to write it."""


@dataclass(frozen=True)
class Scale:
    low: int
    high: int
    text: str  # as written: "0-2", "1-5", "pass-fail"

    @classmethod
    def parse(cls, text: str) -> Scale:
        written = text.strip().lower()
        if written in (PASS_FAIL, "pass/fail", "passfail"):
            return cls(0, 1, PASS_FAIL)
        m = _RANGE.match(written)
        if m is None:
            raise RubricError(f"scale {text!r} is not LOW-HIGH (whole numbers, e.g. 0-2 or 1-5) or pass-fail")
        low, high = int(m.group(1)), int(m.group(2))
        if high <= low:
            raise RubricError(f"scale {text!r} must go up: its high end must be above its low end, e.g. 1-5")
        return cls(low, high, f"{low}-{high}")

    def read(self, given: str) -> int:
        """A score as typed (`2`, `pass`) on this scale; RubricError when it is not one."""
        word = given.strip().lower()
        if self.text == PASS_FAIL:
            if word not in PASS_WORDS:
                raise RubricError(f"{given!r} is not pass or fail")
            return PASS_WORDS[word]
        if not re.fullmatch(r"-?\d{1,6}", word):
            raise RubricError(f"{given!r} is not a whole number from {self.low} to {self.high}")
        value = int(word)
        if not self.low <= value <= self.high:
            raise RubricError(f"{value} is outside {self.low}-{self.high}")
        return value

    def fraction(self, value: int) -> Fraction:
        """Where `value` sits on the scale, from 0 to 1, exactly."""
        return Fraction(value - self.low, self.high - self.low)


def weight(text: str | int | float) -> Fraction:
    """A category's weight: a positive number (decimals as written, not as binary floats)."""
    try:
        value = Fraction(str(text).strip())
    except (ValueError, ZeroDivisionError):
        raise RubricError(f"weight {text!r} is not a number") from None
    if value <= 0:
        raise RubricError(f"weight {text!r} must be above 0")
    return value
