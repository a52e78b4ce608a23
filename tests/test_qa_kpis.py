"""qa_score, qa_pass_rate and qa_reviews in the KPI engine, against an independent computation,
and on /kpi cards, tables and targets."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.dispatch import run_command
from coaching.models import QaReview
from handlers.registry import build_router
from kpi.definitions import BY_NAME, METRIC_NAMES
from kpi.engine import Scope, compute, compute_by_agent, compute_by_team, compute_series
from store.database import Database
from store.org import Member, Team
from store.org_file import OrgFileError, apply_org, parse_org
from tests.kpi_oracle import R, assert_same, oracle

ROUTER = build_router()
T0 = datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)
EARLIER = T0 - timedelta(hours=1)
QA = """
qa:
  pass: 0.8
  rubric:
    - {key: accuracy, name: Accuracy, weight: 3, scale: 0-2, critical: true}
    - {key: tone, name: Tone, weight: 1, scale: 1-5}
"""


def setup(db: Database, extra: str = QA, targets: str = "") -> None:
    text = (Path(__file__).parent / "fixtures" / "org.yaml").read_text()
    if targets:
        text = text.replace("targets: {first_reply_median_s: 3600, csat: 0.9, reopen_rate: 0.05}", f"targets: {{{targets}}}")
    with db.sessions() as s, s.begin():
        apply_org(s, parse_org(text + extra, METRIC_NAMES), now=T0)


def ask(db: Database, handle: str, text: str, at: datetime = T0) -> dict:  # type: ignore[type-arg]
    reply = run_command(db, ROUTER, handle, text, now=at, platform="console")
    assert reply.ok, reply.error
    return {"data": reply.data, "reply": reply}


def test_qa_figures_match_an_independent_computation_for_every_scope(db: Database) -> None:
    setup(db)
    rng = random.Random(12)
    with db.sessions() as s, s.begin():
        people = {m.handle: m for m in s.scalars(select(Member))}
        agents = [people["alice"], people["carol"], people["bob"]]
        for n in range(240):
            agent = rng.choice(agents)
            score = None if rng.random() < 0.1 else rng.choice([0.0, 0.25, 1 / 3, 0.5, 0.8, 0.8000001, 0.95, 1.0])
            s.add(QaReview(
                agent_id=agent.id, team_id=agent.team_id, reviewer_id=people["root"].id, ticket=f"T-{n}", rubric_version=1,
                scores={}, comments={}, score=score, passed=None if score is None else score >= 0.8, state="open",
                created_at=T0 - timedelta(days=20) + timedelta(seconds=rng.randrange(20 * 86400)),
            ))  # fmt: skip
        # An agent who moved: her old reviews stay with the team she was on.
        s.add(QaReview(agent_id=people["carol"].id, team_id=people["alice"].team_id, reviewer_id=people["root"].id, ticket="T-moved",
                       rubric_version=1, scores={}, comments={}, score=0.5, passed=False, state="open", created_at=T0 - timedelta(days=3)))
    with db.sessions() as s:
        rows = s.scalars(select(QaReview)).all()

        def of(**where: int | None) -> list[R]:
            return [R(r.created_at, r.score, r.passed) for r in rows if all(getattr(r, k) == v for k, v in where.items())]

        teams = {t.key: t.id for t in s.scalars(select(Team))}
        for days, back in ((1, 0), (7, 0), (7, 7), (30, 0), (2, 13)):
            end = T0 - timedelta(days=back)
            start = end - timedelta(days=days)
            for team_id in teams.values():
                assert_same(compute(s, Scope(team_id=team_id), start, end), oracle([], start, end, of(team_id=team_id)))
            for agent in agents:
                assert_same(compute(s, Scope(agent_id=agent.id), start, end), oracle([], start, end, of(agent_id=agent.id)))
            assert_same(compute(s, Scope(), start, end), oracle([], start, end, of()))
            by_team = compute_by_team(s, start, end)
            for team_id in teams.values():
                assert_same(by_team.get(team_id) or compute(s, Scope(team_id=team_id), start, end), oracle([], start, end, of(team_id=team_id)))
            by_agent = compute_by_agent(s, [a.id for a in agents], start, end)
            for agent in agents:
                assert_same(by_agent[agent.id], oracle([], start, end, of(agent_id=agent.id)))
        bounds = [T0 - timedelta(days=d) for d in range(21, -1, -1)]
        series = compute_series(s, Scope(team_id=teams["support-emea"]), bounds)
        for a, b, got in zip(bounds, bounds[1:], series, strict=False):
            assert_same(got, oracle([], a, b, of(team_id=teams["support-emea"])))
        # The moved review: in support-emea's figures, not in support-amer's, and in carol's own.
        week = compute(s, Scope(agent_id=people["carol"].id), T0 - timedelta(days=4), T0 - timedelta(days=2))
        assert week["qa_reviews"] == len([r for r in of(agent_id=people["carol"].id) if T0 - timedelta(days=4) <= r.created_at < T0 - timedelta(days=2) and r.score is not None])


def test_a_review_counts_for_the_team_the_agent_was_on(db: Database) -> None:
    setup(db)
    ask(db, "bob", "/qa @alice T-1 accuracy=2 tone=5", EARLIER)
    moved = (Path(__file__).parent / "fixtures" / "org.yaml").read_text().replace(
        "    team: support-emea\n    role: agent\n    slack_id: U0123ABCD", "    team: support-amer\n    role: agent\n    slack_id: U0123ABCD"
    )
    with db.sessions() as s, s.begin():
        apply_org(s, parse_org(moved + QA, METRIC_NAMES), now=T0)
    emea = ask(db, "root", "/kpi team support-emea 7d")["data"]["metrics"]
    amer = ask(db, "root", "/kpi team support-amer 7d")["data"]["metrics"]
    assert (emea["qa_reviews"], emea["qa_score"], emea["qa_pass_rate"]) == (1, 1.0, 1.0)
    assert (amer["qa_reviews"], amer["qa_score"], amer["qa_pass_rate"]) == (0, None, None)
    assert ask(db, "root", "/kpi agent @alice 7d")["data"]["metrics"]["qa_reviews"] == 1


def test_cards_and_tables_show_qa_where_the_organisation_reviews_tickets(db: Database) -> None:
    setup(db, extra="")
    card = ask(db, "bob", "/kpi team")["reply"]
    assert "QA score" not in str(card.blocks)  # no rubric: no empty QA rows
    assert card.data["metrics"]["qa_reviews"] == 0 and card.data["metrics"]["qa_score"] is None
    setup(db, targets="qa_score: 0.9, qa_pass_rate: 0.75")
    ask(db, "bob", "/qa @alice T-1 accuracy=2 tone=5", EARLIER)  # 1.0, passed
    ask(db, "bob", "/qa @alice T-2 accuracy=0 tone=5", EARLIER)  # critical below half: 0, failed
    ask(db, "bob", "/qa @alice T-3 accuracy=na tone=na", EARLIER)  # no score: counts nowhere
    card = ask(db, "bob", "/kpi agent @alice 7d")
    metrics = card["data"]["metrics"]
    assert (metrics["qa_reviews"], metrics["qa_score"], metrics["qa_pass_rate"]) == (2, 0.5, 0.5)
    assert card["data"]["status"]["qa_score"] == "missed" and card["data"]["status"]["qa_pass_rate"] == "missed"
    rows = {row[0]: row for row in next(b for b in card["reply"].blocks if hasattr(b, "rows")).rows}
    assert rows["QA score"][1].startswith("50") and "2" in rows["QA score"][1]  # value and how many reviews
    assert rows["QA reviews"][1] == "2"
    table = ask(db, "bob", "/kpi agents support-emea 7d --sort qa")
    assert table["data"]["sort"] == "qa_score"
    assert "QA score" in next(b for b in table["reply"].blocks if hasattr(b, "rows")).columns
    assert [r["metrics"]["qa_reviews"] for r in table["data"]["rows"]] == [2]


def test_qa_targets_are_checked_like_any_rate(db: Database) -> None:
    text = (Path(__file__).parent / "fixtures" / "org.yaml").read_text().replace("csat: 0.9,", "qa_score: 80, qa_reviews: 2.5,") + QA
    with pytest.raises(OrgFileError) as refused:
        parse_org(text, BY_NAME)
    assert "target qa_score must be a rate between 0 and 1" in str(refused.value) and "did you mean 0.8?" in str(refused.value)
    assert "target qa_reviews must be a non-negative whole number, got 2.5" in str(refused.value)
