"""The org file's `qa:` section: the pass mark, whether agents see who reviewed them, and the rubric.

Read by `store.org_file` with the same checker, so problems are listed by
line with the rest of the file's. Stored as written (weights and the pass
mark as their decimal text), so scoring is exact and `csbot org show`
gives back what was applied.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from store.qa_sampling_file import SamplingRule
from store.quoting import clip
from store.rubric_spec import RubricError, Scale, weight
from store.yaml_file import LineDict

if TYPE_CHECKING:  # org_file imports this module when it reads a file
    from store.org_file import _Checker

QA_KEYS = ("pass", "hide_reviewer", "rubric", "sampling")
CATEGORY_KEYS = ("key", "name", "weight", "scale", "critical", "na")
MAX_CATEGORIES = 30
# Beyond these a weight or pass mark is a typo, and would not survive being written back as a number.
MIN_WEIGHT, MAX_WEIGHT = Fraction(1, 1000), Fraction(1000)
MIN_SHARE = Fraction(1, 100)


@dataclass
class QaSpec:
    pass_mark: str = "0.8"  # decimal text, 0 < pass <= 1
    hide_reviewer: bool = False
    # [{key, name, weight: "3", scale: "0-2", critical: bool, na: bool}]
    categories: list[dict[str, Any]] = field(default_factory=list)
    # Team key (or "default") -> its weekly sampling rule; {}: no `sampling:`, nothing is sampled.
    sampling: dict[str, SamplingRule] = field(default_factory=dict)


def _number_text(value: Any, written: str | None) -> str | None:
    """A number as the file wrote it (`0.8`, `3`), or None when it is not a number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return (written or repr(value)).strip()


def parse_qa(check: _Checker, doc: LineDict) -> QaSpec | None:
    from store.org_file import _items, _read_misspellings

    section = check.mapping(doc["qa"], doc.key_lines["qa"], "qa")
    if section is None:
        return None
    section = _read_misspellings(section, QA_KEYS)
    check.unknown_keys(section, QA_KEYS, "qa")
    spec = QaSpec()
    if "pass" in section:
        text = _number_text(section["pass"], section.value_texts.get("pass"))
        try:
            mark = Fraction(text) if text is not None else None
        except (ValueError, ZeroDivisionError):
            mark = None
        if mark is None or not MIN_SHARE <= mark <= 1:
            check.add(section.key_lines["pass"], f"qa: pass {clip(section.value_texts.get('pass') or section['pass'])} must be a share from 0.01 to 1, e.g. pass: 0.8")
        else:
            spec.pass_mark = text or spec.pass_mark
    if "hide_reviewer" in section:
        if not isinstance(section["hide_reviewer"], bool):
            check.add(section.key_lines["hide_reviewer"], "qa: hide_reviewer must be true or false")
        else:
            spec.hide_reviewer = section["hide_reviewer"]
    if section.get("rubric") is None:
        check.add(section.line, "qa: a rubric is required, e.g. rubric: [{key: accuracy, name: Accuracy, weight: 3, scale: 0-2}]")
        return spec
    items = _items(section, "rubric", check, CATEGORY_KEYS, what="qa")
    if not items and not check.problems:
        check.add(section.key_lines["rubric"], "qa: the rubric needs at least one category")
    if len(items) > MAX_CATEGORIES:
        check.add(section.key_lines["rubric"], f"qa: {len(items)} categories; at most {MAX_CATEGORIES}")
    seen: dict[str, int] = {}
    for index, c in items:
        key = check.text(c, "key", f"qa: rubric[{index}]", required=True, max_len=64)
        what = f"qa: category {key!r}" if key else f"qa: rubric[{index}]"
        check.unknown_keys(c, CATEGORY_KEYS, what)
        name = check.text(c, "name", what, required=True)
        reserved = {"comment": "'comment' is the name of a review's own comment; call the category something else, e.g. key: communication"}
        check.listed_key(c, key, what, "category", seen, reserved)
        category: dict[str, Any] = {"key": key or "", "name": name or "", "weight": "1", "scale": "", "critical": False, "na": True}
        if "weight" in c:
            text = _number_text(c["weight"], c.value_texts.get("weight"))
            try:
                value = weight(text if text is not None else repr(c["weight"]))
                if not MIN_WEIGHT <= value <= MAX_WEIGHT:
                    raise RubricError("out of range")
                category["weight"] = text
            except RubricError:
                hint = " (without quotes)" if isinstance(c["weight"], str) else ""
                check.add(c.key_lines["weight"], f"{what}: weight {clip(c.value_texts.get('weight') or c['weight'])} must be a number from 0.001 to 1000{hint}, e.g. weight: 2")
        if c.get("scale") is None:
            check.add(c.line, f"{what}: scale is required: LOW-HIGH (e.g. 0-2, 1-5) or pass-fail")
        else:
            try:
                category["scale"] = Scale.parse(str(c.value_texts.get("scale") or c["scale"])).text
            except RubricError as exc:
                check.add(c.key_lines["scale"], f"{what}: {exc}")
        for flag in ("critical", "na"):
            if flag in c:
                if not isinstance(c[flag], bool):
                    check.add(c.key_lines[flag], f"{what}: {flag} must be true or false")
                else:
                    category[flag] = c[flag]
        spec.categories.append(category)
    return spec


def qa_document(pass_mark: str, hide_reviewer: bool, categories: Collection[dict[str, Any]]) -> dict[str, Any]:
    """The `qa` section as the org file writes it."""

    def number(text: str) -> int | float:
        value = Fraction(text)
        return int(value) if value.denominator == 1 else float(text)

    rubric = []
    for c in categories:
        item: dict[str, Any] = {"key": c["key"], "name": c["name"], "weight": number(c["weight"]), "scale": c["scale"]}
        if c["critical"]:
            item["critical"] = True
        if not c["na"]:
            item["na"] = False
        rubric.append(item)
    return {"pass": number(pass_mark), "hide_reviewer": hide_reviewer, "rubric": rubric}
