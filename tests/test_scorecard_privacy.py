"""Pooled QA figures on every scorecard surface follow `/kpi team`'s rule.

A team's QA score over a day with one review is that review, so pooled QA
figures go only to those who look after all the team's agents (its leads and
managers, managers without a team, admins), never into a channel. Each
scorecard payload (the command's data, which `--json` prints, the org
roll-up's rows, the scheduled posts, the org digest and subscriptions by
direct message) is compared with what `/kpi team TEAM DATE` gives the same
reader.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.digests import compose
from bot.dispatch import run_command
from bot.render.text import render_text
from coaching.models import QaReview
from handlers.registry import build_router
from handlers.reply import Reply
from kpi.definitions import METRIC_NAMES
from kpi.qa_figures import QA_NAMES
from store.database import Database
from store.org import Member
from store.org_file import apply_org, parse_org
from store.outbox import Claimed

ROUTER = build_router()
DAY = date(2026, 3, 10)  # a Tuesday
NOW = datetime(2026, 3, 11, 12, tzinfo=timezone.utc)
QA = """
qa:
  pass: 0.8
  rubric:
    - {key: accuracy, name: Accuracy, weight: 3, scale: 0-2, critical: true}
    - {key: tone, name: Tone, weight: 1, scale: 1-5}
"""


@pytest.fixture
def org(db: Database) -> None:
    text = (Path(__file__).parent / "fixtures" / "org.yaml").read_text()
    with db.sessions() as s, s.begin():
        apply_org(s, parse_org(text + QA, METRIC_NAMES), now=NOW - timedelta(days=30))
    with db.sessions() as s, s.begin():
        people = {m.handle: m for m in s.scalars(select(Member))}
        for n, (agent, score) in enumerate((("alice", 0.55), ("carol", 0.95), ("carol", 0.7))):
            who = people[agent]
            s.add(QaReview(
                agent_id=who.id, team_id=who.team_id, reviewer_id=people["root"].id, ticket=f"T-{n}", rubric_version=1,
                scores={}, comments={}, score=score, passed=score >= 0.8, state="open",
                created_at=datetime(2026, 3, 10, 12 + n, tzinfo=timezone.utc),
            ))  # fmt: skip


def ask(db: Database, handle: str, text: str) -> Reply:
    reply = run_command(db, ROUTER, handle, text, now=NOW, platform="test")
    assert reply.ok, reply.error
    return reply


def qa_of(metrics: dict) -> dict:  # type: ignore[type-arg]
    return {k: metrics[k] for k in QA_NAMES}


def kpi_team(db: Database, handle: str, team: str) -> dict:  # type: ignore[type-arg]
    return qa_of(ask(db, handle, f"/kpi team {team} {DAY.isoformat()}").data["metrics"])


def digest(db: Database, kind: str, subject: str, posted: date) -> Reply:
    row = Claimed(1, kind, subject, "slack:user:U1", posted.isoformat(), NOW, "claim", False)
    with db.sessions() as s:
        return compose(s, row, NOW)


HIDDEN = dict.fromkeys(QA_NAMES)


def test_the_org_rollup_shows_each_teams_qa_only_to_who_may_see_it_as_kpi_team(db: Database, org: None) -> None:
    # Dana manages Support Americas: its QA, not Support EMEA's.
    rows = {r["team"]: r["metrics"] for r in ask(db, "dana", f"/scorecard org {DAY.isoformat()}").data["rows"]}
    assert qa_of(rows["support-emea"]) == kpi_team(db, "dana", "support-emea") == HIDDEN
    assert qa_of(rows["support-amer"]) == kpi_team(db, "dana", "support-amer")
    assert rows["support-amer"]["qa_reviews"] == 2
    # An admin sees both; shared in a channel, nobody's are there.
    rows = {r["team"]: r["metrics"] for r in ask(db, "root", f"/scorecard org {DAY.isoformat()}").data["rows"]}
    assert rows["support-emea"]["qa_score"] == pytest.approx(0.55) and rows["support-amer"]["qa_reviews"] == 2
    shared = ask(db, "root", f"/scorecard org {DAY.isoformat()} --share")
    assert all(qa_of(r["metrics"]) == HIDDEN for r in shared.data["rows"])
    assert "0.55" not in str(shared.data) and "55.0%" not in render_text(shared)


def test_the_org_digest_and_an_org_subscription_follow_the_same_rule_for_their_reader(db: Database, org: None) -> None:
    wednesday = DAY + timedelta(days=1)
    for reply in (digest(db, "scorecard_org", "dana", wednesday), digest(db, "subscription", "dana:org", wednesday)):
        rows = {r["team"]: r["metrics"] for r in reply.data["rows"]}
        assert qa_of(rows["support-emea"]) == HIDDEN, reply.title
        assert qa_of(rows["support-amer"]) == kpi_team(db, "dana", "support-amer")
    rows = {r["team"]: r["metrics"] for r in digest(db, "scorecard_org", "root", wednesday).data["rows"]}
    assert qa_of(rows["support-emea"]) == kpi_team(db, "root", "support-emea") != HIDDEN


def test_team_scorecards_channel_posts_and_team_subscriptions_follow_the_same_rule(db: Database, org: None) -> None:
    wednesday = DAY + timedelta(days=1)
    # Bob leads Support EMEA: its QA on his own team's card, not on Support Americas'.
    for team in ("support-emea", "support-amer"):
        asked = ask(db, "bob", f"/scorecard {team} {DAY.isoformat()}")
        assert qa_of(asked.data["metrics"]) == kpi_team(db, "bob", team)
        subscribed = digest(db, "subscription", f"bob:{team}", wednesday)
        assert qa_of(subscribed.data["metrics"]) == kpi_team(db, "bob", team)
        assert {n: v for n, v in subscribed.data["trailing_7d"].items() if n in QA_NAMES} == {
            n: v for n, v in asked.data["trailing_7d"].items() if n in QA_NAMES
        }
        # The channel's post has none, whoever's team it is.
        posted = digest(db, "scorecard", team, wednesday)
        assert qa_of(posted.data["metrics"]) == HIDDEN
        assert all(v is None for n, v in posted.data["previous_day"].items() if n in QA_NAMES)
    assert kpi_team(db, "bob", "support-emea")["qa_reviews"] == 1
    assert kpi_team(db, "bob", "support-amer") == HIDDEN
