"""The org file's `qa: sampling:` rules: refused by line when wrong, stored apart from the rubric, given back by `org show`."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from kpi.definitions import METRIC_NAMES
from store.database import Database
from store.org_file import OrgFileError, apply_org, dump_org, org_document, parse_org
from store.qa_sampling import rule_for
from store.qa_sampling_file import SamplingRule

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
BASE = """
org: {name: Acme Support, timezone: UTC}
teams:
  - {key: emea, name: Support EMEA, timezone: Europe/Berlin}
  - {key: amer, name: Support AMER, timezone: America/New_York}
members:
  - {handle: root, name: Riley Admin, role: admin}
  - {handle: lena, name: Lena Lead, team: emea, role: lead}
  - {handle: ana, name: Ana Agent, team: emea, role: agent}
  - {handle: ben, name: Ben Agent, team: emea, role: agent}
  - {handle: cy, name: Cy Agent, team: amer, role: agent}
qa:
  pass: 0.8
  rubric:
    - {key: accuracy, name: Accuracy, weight: 3, scale: 0-2}
"""
SAMPLING = """  sampling:
    default:
      per_agent: 4
      weights: {low_csat: 3, reopened: 2, long_resolution: 2, sla_breached: 2, escalated: 2, tag:refund: 1.5}
      exclude: {already_reviewed: true, min_replies: 2}
    emea:
      per_agent: 2
      reviewers: [lena, cy]
"""


def apply(db: Database, text: str) -> list[str]:
    with db.sessions() as s, s.begin():
        result = apply_org(s, parse_org(text, METRIC_NAMES), now=T0)
    return result.created + result.updated + result.deactivated + result.reactivated


def test_rules_are_stored_per_team_with_the_default_for_the_rest(db: Database) -> None:
    assert "qa sampling" in apply(db, BASE + SAMPLING)
    assert apply(db, BASE + SAMPLING) == []  # the same file: nothing new
    with db.sessions() as s:
        emea, amer = rule_for(s, "emea"), rule_for(s, "amer")
    assert emea == SamplingRule(2, {"low_csat": "3", "reopened": "2", "long_resolution": "2", "sla_breached": "2", "escalated": "2", "tag:refund": "1.5"}, True, 2, ["lena", "cy"])
    assert amer is not None and amer.per_agent == 4 and amer.reviewers is None  # the default: the team's lead(s)
    # Changing sampling is not a new rubric version.
    assert apply(db, BASE + SAMPLING.replace("per_agent: 2", "per_agent: 3")) == ["qa sampling"]
    # Without a sampling section nothing is sampled.
    assert apply(db, BASE) == ["qa sampling"]
    with db.sessions() as s:
        assert rule_for(s, "emea") is None


def test_org_show_gives_the_rules_back(db: Database) -> None:
    apply(db, BASE + SAMPLING)
    with db.sessions() as s:
        shown = dump_org(org_document(s))
    assert "sampling:" in shown and "tag:refund: 1.5" in shown and "min_replies: 2" in shown
    assert apply(db, shown) == []


@pytest.mark.parametrize(
    ("change", "problem", "says"),
    [
        ("low_csat: 3,", "low_score: 3,", "unknown metric"),
        ("tag:refund: 1.5}", "tag:Re fund: 1.5}", "unknown tag"),
        ("tag:refund: 1.5}", "tag:: 1.5}", "unknown tag"),
        ("reopened: 2,", "reopened: 0,", "positive number"),
        ("reopened: 2,", "reopened: -1,", "positive number"),
        ("reopened: 2,", "reopened: lots,", "positive number"),
        ("per_agent: 4", "per_agent: 51", "from 0 to 50"),
        ("per_agent: 2", "per_agent: -1", "from 0 to 50"),
        ("per_agent: 2", "per_agent: 2.5", "from 0 to 50"),
        ("min_replies: 2}", "min_replies: two}", "min_replies"),
        ("already_reviewed: true,", "already_reviewed: maybe,", "true or false"),
        ("reviewers: [lena, cy]", "reviewers: [ana]", "would review themselves"),
        ("reviewers: [lena, cy]", "reviewers: [nobody]", "not a member"),
        ("reviewers: [lena, cy]", "reviewers: [lena, lena]", "twice"),
        ("    emea:", "    apac:", "no such team"),
        ("      per_agent: 2", "      per_agnet: 2", "did you mean 'per_agent'"),
    ],
)
def test_a_wrong_rule_is_refused_at_its_line(change: str, problem: str, says: str) -> None:
    good = BASE + SAMPLING
    text = good.replace(change, problem, 1)
    assert text != good
    with pytest.raises(OrgFileError) as refused:
        parse_org(text, METRIC_NAMES)
    line = next(i for i, (a, b) in enumerate(zip(text.splitlines(), good.splitlines()), 1) if a != b)
    assert any(p.startswith(f"org.yaml:{line}:") and says in p for p in refused.value.problems), refused.value.problems


def test_a_lone_reviewer_who_is_an_agent_elsewhere_may_review_this_team() -> None:
    # cy is an agent of amer: reviewing emea's tickets alone never means reviewing their own.
    parse_org(BASE + SAMPLING.replace("reviewers: [lena, cy]", "reviewers: [cy]"), METRIC_NAMES)
