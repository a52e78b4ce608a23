"""The org file's `qa:` section: refused by line when wrong, versioned when changed, given back by `org show`."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from fractions import Fraction

import pytest
from sqlalchemy import select

from coaching.rubric import read_scores, rubric_of, score
from kpi.definitions import METRIC_NAMES
from store.database import Database
from store.org_file import OrgFileError, apply_org, dump_org, org_document, parse_org
from store.qa_rubrics import QaRubricVersion, current

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
BASE = """
org: {name: Acme Support, timezone: UTC}
members:
  - {handle: root, name: Riley Admin, role: admin}
"""
QA = """qa:
  pass: 0.8
  hide_reviewer: false
  rubric:
    - {key: accuracy, name: Accuracy, weight: 3, scale: 0-2, critical: true}
    - {key: tone, name: Tone, weight: 1, scale: 1-5}
    - {key: policy, name: Policy followed, weight: 2, scale: pass-fail}
    - {key: greeting, name: Greeting, weight: 0.5, scale: 1-3, na: false}
"""


def apply(db: Database, text: str, at: datetime = T0) -> list[str]:
    with db.sessions() as s, s.begin():
        result = apply_org(s, parse_org(text, METRIC_NAMES), now=at)
    return result.created + result.updated + result.deactivated + result.reactivated


def test_the_rubric_is_versioned_and_a_change_applies_to_new_reviews_only(db: Database) -> None:
    assert apply(db, BASE + QA) == ["org", "member root", "qa rubric v1"]
    assert apply(db, BASE + QA) == []  # the same file: nothing new
    assert apply(db, BASE + QA.replace("weight: 3", "weight: 4"), T0 + timedelta(days=1)) == ["qa rubric v2"]
    with db.sessions() as s:
        versions = s.scalars(select(QaRubricVersion).order_by(QaRubricVersion.version)).all()
        assert [(v.version, v.retired_at is not None) for v in versions] == [(1, True), (2, False)]
        first = rubric_of(versions[0])
        assert first.pass_mark == Fraction(4, 5) and [c.weight for c in first.categories] == [3, 1, 2, Fraction(1, 2)]
        # A review scored with v1 keeps v1's weights.
        scores = read_scores(first, {"accuracy": "1", "tone": "5", "policy": "pass", "greeting": "3"})
        assert score(first, scores).score == pytest.approx((3 * 0.5 + 1 + 2 + 0.5) / 6.5)
        assert current(s) is not None and current(s).version == 2  # type: ignore[union-attr]
    # A file without `qa:` retires it; putting it back brings the same version back.
    assert apply(db, BASE) == ["qa rubric v2"]
    with db.sessions() as s:
        assert current(s) is None
    assert apply(db, BASE + QA.replace("weight: 3", "weight: 4")) == ["qa rubric v2"]


def test_org_show_gives_the_rubric_back(db: Database) -> None:
    apply(db, BASE + QA)
    with db.sessions() as s:
        shown = dump_org(org_document(s))
    assert "qa:" in shown and "pass-fail" in shown and "na: false" in shown
    assert apply(db, shown) == []


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ("weight: 3,", "weight: 0,"),
        ("weight: 1,", "weight: -2,"),
        ("scale: 1-5}", "scale: 5-1}"),
        ("scale: 1-5}", "scale: one-to-five}"),
        ("key: tone,", "key: accuracy,"),
        ("key: tone,", "key: comment,"),  # the name of a review's own comment field
        ("pass: 0.8", "pass: 1.5"),
        ("pass: 0.8", "pass: 1.0e-400"),
        ("weight: 3,", "weight: 1.0e+5000,"),
        ("weight: 1,", "weight: 0.1e-400,"),
        ("weight: 1,", "weight: \"1\","),
        ("hide_reviewer: false", "hide_reviewer: maybe"),
        ("critical: true}", "critical: sometimes}"),
        ("scale: 1-3, na: false}", "scale: 1-3, na: false, colour: red}"),
    ],
)
def test_a_wrong_rubric_is_refused_at_its_line(change: str, problem: str) -> None:
    text = BASE + QA.replace(change, problem, 1)
    with pytest.raises(OrgFileError) as refused:
        parse_org(text, METRIC_NAMES)
    original = (BASE + QA).splitlines()
    line = next(i for i, row in enumerate(text.splitlines(), 1) if row != original[i - 1])  # the line changed
    assert any(p.startswith(f"org.yaml:{line}:") for p in refused.value.problems), refused.value.problems


def test_a_section_without_a_rubric_is_refused() -> None:
    with pytest.raises(OrgFileError) as refused:
        parse_org(BASE + "qa: {pass: 0.8}\n", METRIC_NAMES)
    assert "a rubric is required" in " ".join(refused.value.problems)
    with pytest.raises(OrgFileError):
        parse_org(BASE + "qa: {pass: 0.8, rubric: []}\n", METRIC_NAMES)
