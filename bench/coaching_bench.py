"""Coaching and QA speed on a year of a 200-agent organisation.

    python bench/coaching_bench.py                                   # SQLite in a temporary directory
    python bench/coaching_bench.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench

Seeds 20 teams of 10 agents with a year of coaching: 10,400 notes (a fifth
private), 20,800 QA reviews and 4,800 sessions with two action items each,
then times, through the router as people ask them (p50 / p95 of 20 runs):
the QA figures on `/kpi team` and `/kpi agents`, `/coach history`, `/coach
summary` for a lead and for an admin (every agent), `/coach actions` for an
admin, a disputed review with its proposal (`/qa show`), an admin's `/qa
disputes` (one open dispute per agent), saving a review (whose earlier reviews
of the agent are checked for the same ticket), and one follow-up planning pass
of the tick. The issue names no target;
we hold these to 300 ms p95, what a slash command must answer within to feel
instant (Slack itself allows 3 s).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.serving import pct  # noqa: E402
from bot.dispatch import run_command  # noqa: E402
from coaching.models import CoachingAction, CoachingNote, CoachingSession, QaDispute, QaReview  # noqa: E402
from coaching.sessions import plan_followups  # noqa: E402
from handlers.registry import build_router  # noqa: E402
from kpi.definitions import BY_NAME  # noqa: E402
from store.database import Database, open_database  # noqa: E402
from store.org import Member  # noqa: E402
from store.org_file import apply_org, parse_org  # noqa: E402

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)
TEAMS, AGENTS = 20, 10
RUNS = 20


def org_text() -> str:
    teams = "\n".join(f"  - {{key: t{t}, name: Team {t}, timezone: Europe/Berlin}}" for t in range(TEAMS))
    people = [f"  - {{handle: lead{t}, name: Lead {t}, team: t{t}, role: lead}}" for t in range(TEAMS)]
    people += [f"  - {{handle: a{t}x{a}, name: Agent {t} {a}, team: t{t}, role: agent}}" for t in range(TEAMS) for a in range(AGENTS)]
    people += ["  - {handle: boss, name: The Admin, role: admin}"]
    return f"""
org: {{name: Bench, timezone: Europe/Berlin}}
teams:
{teams}
members:
{chr(10).join(people)}
qa:
  pass: 0.8
  rubric:
    - {{key: accuracy, name: Accuracy, weight: 3, scale: 0-2, critical: true}}
    - {{key: tone, name: Tone, weight: 1, scale: 1-5}}
"""


def seed(db: Database) -> None:
    rng = random.Random(3)
    with db.sessions() as s, s.begin():
        apply_org(s, parse_org(org_text(), BY_NAME), now=T0 - timedelta(days=400))
    with db.sessions() as s, s.begin():
        people = list(s.query(Member))
        leads = {m.team_id: m for m in people if m.role == "lead"}
        agents = [m for m in people if m.role == "agent"]
        for agent in agents:
            lead = leads[agent.team_id]
            for week in range(52):
                at = T0 - timedelta(days=7 * week + rng.random() * 7)
                s.add(CoachingNote(author_id=lead.id, agent_id=agent.id, text=f"note {week}", tags=[rng.choice(["empathy", "speed", "accuracy"])],
                                   private=rng.random() < 0.2, created_at=at))  # fmt: skip
                for k in range(2):
                    score = rng.choice([0.0, 0.5, 0.75, 0.8, 0.9, 1.0])
                    s.add(QaReview(agent_id=agent.id, team_id=agent.team_id, reviewer_id=lead.id, ticket=f"T-{week}-{k}", rubric_version=1, scores={},
                                   comments={}, score=score, passed=score >= 0.8, state="open", created_at=at + timedelta(hours=k)))  # fmt: skip
            s.flush()
            # One open dispute per agent, with the scores they propose (`/qa disputes`, `/qa show`).
            disputed = QaReview(agent_id=agent.id, team_id=agent.team_id, reviewer_id=lead.id, ticket="T-DISPUTED", rubric_version=1, scores={"accuracy": 1, "tone": 3},
                                comments={}, score=0.625, passed=False, state="disputed", created_at=T0 - timedelta(days=2))  # fmt: skip
            s.add(disputed)
            s.flush()
            s.add(QaDispute(review_id=disputed.id, by_id=agent.id, comment="the link was in my macro", proposed={"accuracy": 2, "tone": 3}, created_at=T0 - timedelta(days=1)))
            for month in range(24):
                at = T0 - timedelta(days=15 * month + 1)
                record = CoachingSession(author_id=lead.id, agent_id=agent.id, strengths="good", opportunities="more", follow_up=(at + timedelta(days=14)).date(), created_at=at)
                s.add(record)
                s.flush()
                for k in range(2):
                    s.add(CoachingAction(session_id=record.id, agent_id=agent.id, text=f"item {k}", due=(at + timedelta(days=7)).date(),
                                         done_at=at + timedelta(days=3) if rng.random() < 0.6 else None))  # fmt: skip


def timed(label: str, run: Callable[[], object]) -> None:
    run()  # warm
    samples = []
    for _ in range(RUNS):
        started = time.perf_counter()
        run()
        samples.append((time.perf_counter() - started) * 1000)
    print(f"{label:<44} p50 {pct(samples, 0.5):7.1f} ms   p95 {pct(samples, 0.95):7.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/bench.db"
        db = open_database(url)
        started = time.perf_counter()
        seed(db)
        print(f"seeded in {time.perf_counter() - started:.1f} s ({db.engine.dialect.name})")
        router = build_router()

        def ask(handle: str, text: str) -> Callable[[], object]:
            def run() -> object:
                reply = run_command(db, router, handle, text, now=T0, platform="console")
                assert reply.ok, (text, reply.error)
                return reply

            return run

        timed("/kpi team t3 365d (QA figures included)", ask("lead3", "/kpi team t3 365d"))
        timed("/kpi agents t3 30d --sort qa", ask("lead3", "/kpi agents t3 30d --sort qa"))
        timed("/coach history @agent (52 notes, 24 sessions)", ask("lead3", "/coach history @a3x4"))
        timed("/coach summary (a lead: 10 agents, 30d)", ask("lead3", "/coach summary"))
        timed("/coach summary (an admin: 200 agents, 30d)", ask("boss", "/coach summary"))
        timed("/coach actions (an admin: 200 agents)", ask("boss", "/coach actions"))
        with db.sessions() as s:
            disputed = s.query(QaReview.id).join(Member, Member.id == QaReview.agent_id).filter(Member.handle == "a3x4", QaReview.ticket == "T-DISPUTED").scalar()
        timed("/qa show N (disputed, with a proposal)", ask("lead3", f"/qa show {disputed}"))
        timed("/qa disputes (an admin: 200 open disputes)", ask("boss", "/qa disputes"))
        made = iter(range(10**6))
        timed("/qa @agent TICKET … (a new review, 104 earlier checked)", lambda: ask("lead3", f"/qa @a3x4 N-{next(made)} accuracy=2 tone=4")())
        timed("follow-up planning pass (4,800 sessions)", lambda: plan_followups(db, T0 + timedelta(days=1), catchup=timedelta(hours=6)))
        db.dispose()


if __name__ == "__main__":
    main()
