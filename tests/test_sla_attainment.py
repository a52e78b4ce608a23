"""SLA attainment per policy (`/kpi … by sla`) and the cards' sla_attainment, against an independent computation.

On SQLite and PostgreSQL: hand-made tickets for each way a ticket achieves,
breaches or is still open within its targets, and the demo's tickets against
tests/kpi_oracle.py, which shares no code with kpi/.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import insert, select

from bot.demo import seed_demo
from bot.dispatch import run_command
from bot.render.text import render_text
from handlers.registry import build_router
from handlers.reply import Reply
from kpi.definitions import METRIC_NAMES
from kpi.tickets import Ticket
from store.database import Database
from store.org import Team
from store.org_file import apply_org, parse_org
from store.sla_policies import SlaPolicy
from tests.helpers import FIXTURES
from tests.kpi_oracle import T, assert_same, oracle, sla_outcome, stored_tickets

UTC = timezone.utc
NOW = datetime(2026, 3, 20, 12, tzinfo=UTC)
H = timedelta(hours=1)
ORG = (FIXTURES / "org.yaml").read_text() + """
sla:
  - {key: fast, name: Fast, match: {priority: [urgent]}, first_reply: 1h, resolution: 8h, time: calendar, warn_before: 10m}
  - {key: chatty, name: Chatty, match: {channel: [chat]}, next_reply: 1h, time: calendar}
  - {key: standard, name: Standard, first_reply: 4h, resolution: 2d, time: calendar}
"""
WINDOW = "2026-03-02 to 2026-03-08"  # Berlin days: from 2026-03-01 23:00 UTC to 2026-03-08 23:00 UTC
_serial = iter(range(10**9))


def ask(db: Database, text: str, handle: str = "bob", now: datetime = NOW) -> Reply:
    reply = run_command(db, build_router(), handle, text, now=now, platform="console")
    assert reply.ok, reply.error
    return reply


def apply(db: Database, text: str, at: datetime) -> None:
    with db.sessions() as s, s.begin():
        apply_org(s, parse_org(text, METRIC_NAMES), now=at)


def add(db: Database, created: datetime, *, priority: str = "normal", channel: str = "email", reply: timedelta | None = None, solve: timedelta | None = None, sla_met: bool | None = None, policy: str | None = "", team: str = "support-emea") -> None:
    """A ticket stamped as kpi.sla would (its due times from the policy's calendar-time targets); policy None: none."""
    with db.sessions() as s, s.begin():
        team_id = s.scalar(select(Team.id).where(Team.key == team))
        key = policy if policy != "" else ("fast" if priority == "urgent" else "chatty" if channel == "chat" else "standard")
        row = s.scalar(select(SlaPolicy).where(SlaPolicy.key == key, SlaPolicy.retired_at.is_(None))) if key else None
        due = {name: created + timedelta(seconds=target.seconds) if (target := row.target(name)) else None for name in ("first_reply", "resolution")} if row else {}
        s.execute(insert(Ticket), [{
            "source": "test", "external_id": f"S{next(_serial)}", "team_id": team_id, "status": "solved" if solve else "open",
            "priority": priority, "channel": channel, "created_at": created,
            "first_reply_at": created + reply if reply is not None else None, "solved_at": created + solve if solve is not None else None,
            "sla_met": sla_met, "sla_policy_id": row.id if row else None,
            "first_reply_due_at": due.get("first_reply"), "resolution_due_at": due.get("resolution"),
        }])  # fmt: skip


def day(n: int, hour: int = 9) -> datetime:
    return datetime(2026, 3, n, hour, tzinfo=UTC)


@pytest.fixture
def sla_db(db: Database) -> Database:
    apply(db, ORG, day(1, 0))
    add(db, day(2), priority="urgent", reply=30 * 60 * timedelta(seconds=1), solve=2 * H)  # achieved
    add(db, day(2, 10), priority="urgent", reply=2 * H, solve=3 * H)  # breached: late reply
    add(db, day(3), priority="urgent", reply=10 * timedelta(minutes=1), solve=20 * H)  # breached: late solve
    add(db, day(3, 10), priority="urgent", solve=30 * timedelta(minutes=1))  # achieved: solved at once, no reply needed
    add(db, day(4), reply=H, solve=24 * H)  # standard, achieved
    add(db, day(4, 10))  # standard, no reply for days: breached
    add(db, day(8, 20), reply=H)  # standard: replied, resolution due after the window's end: open within
    add(db, day(8, 21), reply=H, solve=5 * 24 * H)  # solved after the end and after its due: as of the end, open within
    add(db, day(5), channel="chat", reply=H, solve=2 * H)  # chatty: next reply only, nothing measured
    add(db, day(5, 10), policy=None, sla_met=True, solve=H)  # imported, no policy
    add(db, day(5, 11), policy=None, sla_met=False, solve=H)
    add(db, day(1, 10), reply=H)  # before the window
    return db


def test_by_sla_counts_each_ticket_as_achieved_breached_or_open_within(sla_db: Database) -> None:
    reply = ask(sla_db, f"/kpi team support-emea {WINDOW} by sla")
    assert reply.data["dimension"] == "sla"
    assert reply.data["sla"] == {
        "fast": {"achieved": 2, "breached": 2, "open_within": 0, "n": 4},
        "standard": {"achieved": 1, "breached": 1, "open_within": 2, "n": 4},
        "chatty": {"achieved": 0, "breached": 0, "open_within": 0, "n": 0},
    }
    assert reply.data["sla_overall"] == {"achieved": 3, "breached": 3, "open_within": 2, "n": 8}
    rows = reply.data["rows"]
    assert [r["label"] for r in rows] == ["Fast", "Chatty", "Standard", "(no policy)"]  # the file's order, then no policy
    assert [r["value"] for r in rows] == ["fast", "chatty", "standard", None]
    assert [r["n"] for r in rows] == [4, 1, 4, 2]
    assert rows[3]["sla"] is None and rows[3]["metrics"]["sla_attainment"] == 0.5  # the imported sla_met
    text = render_text(reply)
    assert "2 (50%)" in text and "first reply 1h · resolution 8h (calendar time)" in text
    assert "Next reply is not measured" in text and "tickets created in the window, as of 2026-03-09 00:00" in text


def test_a_past_window_is_judged_as_of_its_end_and_a_running_one_as_of_now(sla_db: Database) -> None:
    # Asked later, the week's figures do not change...
    later = ask(sla_db, f"/kpi team support-emea {WINDOW} by sla", now=NOW + timedelta(days=30))
    assert later.data["sla"]["standard"] == {"achieved": 1, "breached": 1, "open_within": 2, "n": 4}
    # ...while a window still running counts what has happened so far.
    running = ask(sla_db, "/kpi team support-emea since 2026-03-08 by sla", now=day(9, 1))
    assert running.data["sla"]["standard"] == {"achieved": 0, "breached": 0, "open_within": 2, "n": 2}
    after = ask(sla_db, "/kpi team support-emea since 2026-03-08 by sla", now=day(12))
    assert after.data["sla"]["standard"] == {"achieved": 0, "breached": 2, "open_within": 0, "n": 2}  # resolution due passed


def test_the_cards_sla_attainment_follows_the_policies_and_sla_met_without_one(sla_db: Database) -> None:
    card = ask(sla_db, f"/kpi team support-emea {WINDOW}").data["metrics"]
    # Solved in the window: fast 4 (2 met), standard 1 (met), chatty 1 (nothing measured), imported 2 (1 met).
    assert (card["sla_attainment"], card["n_sla"]) == (4 / 7, 7)


def test_versions_of_a_policy_are_one_row_named_by_the_latest(sla_db: Database) -> None:
    apply(sla_db, ORG.replace("first_reply: 1h, resolution: 8h", "first_reply: 2h, resolution: 8h").replace("name: Fast", "name: Quick"), day(6))
    add(sla_db, day(6), priority="urgent", reply=90 * timedelta(minutes=1), solve=2 * H)  # v2: achieved (it would breach v1)
    apply(sla_db, ORG.replace("  - {key: chatty, name: Chatty, match: {channel: [chat]}, next_reply: 1h, time: calendar}\n", ""), day(7))
    reply = ask(sla_db, f"/kpi team support-emea {WINDOW} by sla")
    assert reply.data["sla"]["fast"] == {"achieved": 3, "breached": 2, "open_within": 0, "n": 5}
    labels = [r["label"] for r in reply.data["rows"]]
    assert labels == ["Fast", "Standard", "Chatty (retired)", "(no policy)"]  # Fast v3 is the file's again


def test_by_sla_words_and_refusals(sla_db: Database) -> None:
    assert ask(sla_db, f"/kpi team support-emea {WINDOW} by policy").data["dimension"] == "sla"
    assert ask(sla_db, f"/kpi org {WINDOW} by sla", "root").data["sla"]["fast"]["n"] == 4
    reply = run_command(sla_db, build_router(), "bob", "/kpi team support-emea by slaa", now=NOW, platform="console")
    assert not reply.ok and "Did you mean by sla" in reply.error.message


def _oracle_tickets(db: Database, team_id: int | None) -> list[T]:
    with db.sessions() as s:
        keys = dict(s.execute(select(SlaPolicy.id, SlaPolicy.key)).all())
        query = select(Ticket) if team_id is None else select(Ticket).where(Ticket.team_id == team_id)
        return stored_tickets(s, query, keys)


def test_the_demo_against_an_independent_computation(db: Database) -> None:
    now = datetime(2026, 11, 20, 15, 7, tzinfo=UTC)
    seed_demo(db, now=now, tickets=4000, days=40)
    with db.sessions() as s:
        teams = {t.key: (t.id, t.timezone) for t in s.scalars(select(Team))}
    for scope in ("support-emea", "billing", None):
        question = f"/kpi team {scope} 30d" if scope else "/kpi org 30d"
        reply = ask(db, question + " by sla", "admin", now=now)
        card = ask(db, question, "admin", now=now)
        start, until = (datetime.fromisoformat(card.data["window"][k]).astimezone(UTC) for k in ("start", "until"))
        tickets = _oracle_tickets(db, teams[scope][0] if scope else None)
        want: dict[str, Counter[str]] = defaultdict(Counter)
        for t in tickets:
            if t.policy is not None and start <= t.created_at < until and (outcome := sla_outcome(t, until)) is not None:
                want[t.policy][outcome] += 1
        got = {key: {k: v for k, v in counts.items() if k != "n"} for key, counts in reply.data["sla"].items()}
        assert got == {key: {o: c[o] for o in ("achieved", "breached", "open_within")} for key, c in want.items()}, scope
        assert sum(c["breached"] for c in want.values()) > 0 and sum(c["open_within"] for c in want.values()) > 0
        expected = oracle(tickets, start, until)
        assert_same({k: card.data["metrics"][k] for k in expected if not k.startswith("qa")}, {k: v for k, v in expected.items() if not k.startswith("qa")})
        # Rows by policy add up to the scope's figures.
        assert sum(r["n"] for r in reply.data["rows"]) == card.data["metrics"]["tickets_created"]
