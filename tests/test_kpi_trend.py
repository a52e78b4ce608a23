"""`/kpi trend METRIC [TEAM|org|me|@handle] [WINDOW] [by week|day]` through the router, on SQLite and PostgreSQL.

Every point of a trend is checked against the card for its days (`/kpi team
TEAM FIRST..LAST`, `/kpi org …`, `/kpi me …`) on the demo; the summary's first,
last, lowest and highest point, its direction and the target count against
hand-made tickets whose weekly medians are known; who may see a trend against
who may see the card; and bad words get usage with a suggestion.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import insert, select

from bot.dispatch import run_action, run_command
from bot.render.slack import render_slack
from bot.render.teams import render_adaptive_card
from bot.render.text import render_text
from handlers.registry import build_router
from handlers.reply import Actions, Chart, Reply, Table
from kpi.business_hours import BUSINESS_NAMES
from kpi.tickets import Ticket
from store.database import Database
from store.org import Member, Team
from tests.test_kpi_command import NOW, demo_db, org_db  # noqa: F401 (the same demo and org, as fixtures)

UTC = timezone.utc
assert NOW == datetime(2026, 3, 9, 12, 0, tzinfo=UTC)  # a Monday: 13:00 in Berlin, the week of 2026-03-09 so far
_serial = iter(range(10**9))


def ask(db: Database, text: str, handle: str, at: datetime = NOW) -> Reply:
    return run_command(db, build_router(), handle, text, now=at, platform="console")


def first_of(db: Database, role: str) -> Member:
    with db.sessions() as s:
        return s.scalars(select(Member).where(Member.role == role).order_by(Member.id)).first()  # type: ignore[return-value]


def add(db: Database, created: datetime, *, reply_after: timedelta | None, solved_after: timedelta | None = None, agent: str | None = "alice", csat: str | None = None) -> None:
    with db.sessions() as s, s.begin():
        team_id = s.scalar(select(Team.id).where(Team.key == "support-emea"))
        agent_id = s.scalar(select(Member.id).where(Member.handle == agent)) if agent else None
        s.execute(insert(Ticket), [{
            "source": "test", "external_id": f"TR{next(_serial)}", "team_id": team_id, "agent_id": agent_id,
            "status": "solved" if solved_after is not None else "open", "created_at": created,
            "first_reply_at": created + reply_after if reply_after is not None else None,
            "solved_at": created + solved_after if solved_after is not None else None, "csat": csat,
        }])  # fmt: skip


def test_each_point_is_the_card_for_its_days(demo_db: Database) -> None:
    lead, admin = first_of(demo_db, "lead"), first_of(demo_db, "admin")
    with demo_db.sessions() as s:
        agent = s.scalars(select(Member).where(Member.role == "agent", Member.team_id == lead.team_id).order_by(Member.id)).first()
        team_key = s.get(Team, lead.team_id).key  # type: ignore[union-attr]
    assert agent is not None
    cases = [
        (lead.handle, "/kpi trend frt", f"/kpi team {team_key}", 10),  # 90d by week: whole weeks from the data's first, this one so far
        (lead.handle, "/kpi trend qa 30d by day", f"/kpi team {team_key}", 30),  # the lead sees the team's pooled QA
        (admin.handle, "/kpi trend csat org 2026-02-01..2026-03-09 by week", "/kpi org", 7),  # from the week of Sunday 1 February
        (admin.handle, "/kpi trend backlog org 14d by day", "/kpi org", 14),
        (agent.handle, "/kpi trend solved me last month by week", "/kpi me", 5),  # February 2026: Monday 26 Jan to Sunday 1 Mar
        (lead.handle, f"/kpi trend frt-p90 @{agent.handle} 21d by week", f"/kpi agent @{agent.handle}", 4),
    ]
    for handle, question, card, points in cases:
        reply = ask(demo_db, question, handle)
        assert reply.ok, (question, reply.error)
        series = reply.data["series"]
        assert len(series) == points, (question, [p["from"] for p in series])
        for before, after in zip(series, series[1:]):
            assert datetime.fromisoformat(before["window"]["end"]) == datetime.fromisoformat(after["window"]["start"])  # contiguous
        for point in series:
            answer = ask(demo_db, f"{card} {point['from']}..{point['to']}", handle)
            assert answer.ok, answer.error
            assert point["metrics"] == answer.data["metrics"], (question, point["from"])
            assert point["window"] == answer.data["window"]
            # The figure the card shows: on the card's clock (business hours where the team has a calendar).
            assert reply.data["clock"] == answer.data["clock"]
            shown = BUSINESS_NAMES.get(reply.data["metric"]) if reply.data["clock"] == "business" else None
            assert point["value"] == answer.data["metrics"][shown or reply.data["metric"]]
        # Only the last point may still be running (then it runs to now, as its card does).
        assert not any(p["so_far"] for p in series[:-1])
        assert series[-1]["so_far"] is (datetime.fromisoformat(series[-1]["window"]["end"]) > NOW)
    # By week the points are Monday-to-Sunday weeks in the team's zone; by day, its local days.
    weekly = ask(demo_db, "/kpi trend frt", lead.handle).data
    assert all(datetime.fromisoformat(p["from"]).weekday() == 0 for p in weekly["series"])
    assert weekly["window"]["timezone"] == weekly["timezone"] and weekly["step"] == "week" and weekly["metric"] == "first_reply_median_s"


def test_the_summary_says_first_last_lowest_highest_direction_and_target(org_db: Database) -> None:
    berlin = timedelta(hours=1)  # UTC+1 in February and early March
    weeks = {  # Monday (Berlin) -> first-reply delays of the tickets created that week
        datetime(2026, 2, 9): [10, 10, 10],
        datetime(2026, 2, 16): [40, 30, 50],
        datetime(2026, 2, 23): [],  # no ticket: a gap, never a zero
        datetime(2026, 3, 2): [5, 5],
        datetime(2026, 3, 9): [50],  # Monday morning, before NOW: the week so far
    }
    for monday, delays in weeks.items():
        for i, minutes in enumerate(delays):
            add(org_db, monday.replace(tzinfo=UTC) - berlin + timedelta(hours=9, minutes=i), reply_after=timedelta(minutes=minutes))
    reply = ask(org_db, "/kpi trend frt support-emea 2026-02-09..2026-03-09", "bob")
    assert reply.ok, reply.error
    data = reply.data
    assert [p["value"] for p in data["series"]] == [600.0, 2400.0, None, 300.0, 3000.0]
    assert [p["n"] for p in data["series"]] == [3, 3, 0, 2, 1]
    summary = data["summary"]
    assert summary["first"] == {"from": "2026-02-09", "value": 600.0, "n": 3}
    assert summary["last"] == {"from": "2026-03-09", "value": 3000.0, "n": 1}
    assert summary["min"]["from"] == "2026-03-02" and summary["min"]["value"] == 300.0
    assert summary["max"]["from"] == "2026-03-09" and summary["max"]["value"] == 3000.0
    assert summary["direction"] == {"from": "2026-02-09", "to": "2026-03-09", "change": 2400.0, "verdict": "worse"}  # lower is better
    assert summary["target_met"] == 4 and data["target"] == 3600.0  # the team's 1h target: every week with a value under it
    assert [p["status"] for p in data["series"]] == ["met", "met", None, "met", "met"]
    text = render_text(reply)
    for said in ("First 10m (week of 2026-02-09, n=3)", "last 50m (week of 2026-03-09, so far, n=1)", "lowest 5m (week of 2026-03-02)",
                 "highest 50m (week of 2026-03-09, so far)", "▲ 40m worse (lower is better)", "Target 1h: met in 4 of 4 weeks"):  # fmt: skip
        assert said in text, said
    table = next(b for b in reply.blocks if isinstance(b, Table))
    assert table.columns == ("Week of", "First reply (median)", "n", "Target")
    assert table.rows[2] == ("2026-02-23", "—", "0", "") and table.rows[-1][0] == "2026-03-09 (so far)"
    chart = next(b for b in reply.blocks if isinstance(b, Chart))
    assert chart.png.startswith(b"\x89PNG\r\n\x1a\n") and len(chart.png) > 10_000
    assert "10m (week of 2026-02-09) → 50m (week of 2026-03-09, so far)" in chart.alt_text and "dashed line" in chart.alt_text
    # A count: the direction reads to the last whole week, not the one still running.
    created = ask(org_db, "/kpi trend created support-emea 2026-02-09..2026-03-09", "bob").data
    assert [p["value"] for p in created["series"]] == [3, 3, 0, 2, 1]
    assert created["summary"]["direction"]["to"] == "2026-03-02" and created["summary"]["direction"]["verdict"] is None  # demand: no verdict
    assert created["summary"]["min"]["from"] == "2026-02-23"  # zero tickets is a value for a count
    # By day: local days, the first and last with their weekday.
    daily = ask(org_db, "/kpi trend frt support-emea 2026-03-02..2026-03-09 by day", "bob")
    assert [p["from"] for p in daily.data["series"]][:2] == ["2026-03-02", "2026-03-03"] and len(daily.data["series"]) == 8
    assert "First 5m (Mon 2026-03-02, n=2)" in render_text(daily)


def test_a_trend_with_no_value_says_so_and_draws_nothing(org_db: Database) -> None:
    add(org_db, datetime(2026, 3, 2, 9, tzinfo=UTC), reply_after=None)
    reply = ask(org_db, "/kpi trend csat support-emea 14d", "bob")
    assert reply.ok and reply.data["summary"] is None
    assert not any(isinstance(b, Chart) for b in reply.blocks)
    assert "No week in this window has a CSAT value" in render_text(reply)


def test_a_trend_is_seen_by_whoever_sees_the_card(org_db: Database) -> None:
    add(org_db, datetime(2026, 3, 2, 9, tzinfo=UTC), reply_after=timedelta(minutes=5), agent="alice")
    with org_db.sessions() as s, s.begin():
        s.execute(insert(Ticket), [{"source": "test", "external_id": "C1", "team_id": s.scalar(select(Team.id).where(Team.key == "support-amer")),
                                    "agent_id": s.scalar(select(Member.id).where(Member.handle == "carol")), "status": "open",
                                    "created_at": datetime(2026, 3, 3, 15, tzinfo=UTC)}])  # fmt: skip
    # Team and org trends: every member, as the cards.
    assert ask(org_db, "/kpi trend frt support-amer", "alice").ok
    assert ask(org_db, "/kpi trend frt org", "alice").ok
    # An agent's trend: the agent, their lead, managers, admins; never another agent, nor another team's lead.
    assert ask(org_db, "/kpi trend frt me", "alice").data["agent"] == "alice"
    assert ask(org_db, "/kpi trend frt @alice", "bob").ok and ask(org_db, "/kpi trend frt @carol", "dana").ok
    for asker, agent in (("carol", "alice"), ("bob", "carol"), ("alice", "bob")):
        refused = ask(org_db, f"/kpi trend frt @{agent}", asker)
        card = ask(org_db, f"/kpi agent @{agent}", asker)
        assert refused.error is not None and card.error is not None
        assert (refused.error.code, refused.error.message) == (card.error.code, card.error.message)
    # Shared: a team's and your own, not someone else's.
    assert ask(org_db, "/kpi trend frt --share", "alice").visibility == "channel"
    assert ask(org_db, "/kpi trend frt me --share", "alice").visibility == "channel"
    assert ask(org_db, "/kpi trend frt @alice --share", "bob").error.code == "forbidden"  # type: ignore[union-attr]


def test_pooled_qa_trends_follow_the_cards_qa_rule(demo_db: Database) -> None:
    lead, admin = first_of(demo_db, "lead"), first_of(demo_db, "admin")
    with demo_db.sessions() as s:
        agent = s.scalars(select(Member).where(Member.role == "agent", Member.team_id == lead.team_id).order_by(Member.id)).first()
        other = s.scalars(select(Team).where(Team.id != lead.team_id).order_by(Team.key)).first()
    assert agent is not None and other is not None
    assert ask(demo_db, "/kpi trend qa", lead.handle).ok
    assert ask(demo_db, "/kpi trend qa org", admin.handle).ok
    assert ask(demo_db, "/kpi trend qa me", agent.handle).ok  # their own reviews, as on their card
    for asker, words in ((agent.handle, ""), (lead.handle, other.key), (lead.handle, "org")):
        refused = ask(demo_db, f"/kpi trend qa {words}", asker)
        assert refused.error is not None and refused.error.code == "forbidden" and "look after" in refused.error.message
    assert ask(demo_db, "/kpi trend qa --share", lead.handle).error.code == "forbidden"  # type: ignore[union-attr]
    # Any other metric's trend hides the QA figures of its points from whoever may not see them, as the card does.
    hidden = ask(demo_db, "/kpi trend frt", agent.handle).data["series"]
    assert all(p["metrics"]["qa_score"] is None and p["metrics"]["qa_reviews"] is None for p in hidden)


@pytest.mark.parametrize(
    ("words", "said"),
    [
        ("", "Say which metric: /kpi trend METRIC"),
        ("csta", "There is no metric called 'csta'. Did you mean csat"),
        ("support-emea frt", "Say the metric first: /kpi trend frt support-emea"),
        ("frt 365d by day", "365d by day is 365 points; a trend shows at most 120: ask by week (53 points)"),  # 2025-03-10 to 2026-03-09
        ("help", "/kpi trend METRIC [TEAM|org|me|@handle] [WINDOW] [by week|day]: one metric over time"),
        ("frt since 2020-01-01", "by week is"),
        ("frt by month", "Cannot draw a trend by 'month'"),
        ("frt by channel", "for one row per channel ask /kpi team [TEAM] [WINDOW] by channel"),
        ("frt by dya", "Did you mean by day?"),
        ("frt by", "By what? A trend goes by week or by day"),
        ("frt last weak", "'last weak' is not a window. Did you mean last week?"),
        ("frt 2026-03-01 2026-03-05", "That is two windows"),
        ("frt --sort csat", "--sort applies to /kpi teams and /kpi agents"),
        ("frt --csvv", "Unknown option '--csvv'. Did you mean --csv?"),
    ],
)
def test_bad_words_get_usage_with_a_suggestion(org_db: Database, words: str, said: str) -> None:
    reply = ask(org_db, f"/kpi trend {words}", "bob")
    assert reply.error is not None and reply.error.code == "usage", (words, reply.error)
    assert said in reply.error.message, reply.error.message


def test_hostile_names_are_text_and_unknown_ones_are_not_found(org_db: Database) -> None:
    for name in ('"<!channel> *bold* <https://evil.example|x>"', '"=HYPERLINK(1)"', "@nobody", '"org"', "'; DROP TABLE tickets; --"):
        reply = ask(org_db, f"/kpi trend frt {name}", "bob")
        assert reply.error is not None and reply.error.code in ("not_found", "usage"), (name, reply.error)
        for message in render_slack(reply):
            assert "<!channel>" not in json.dumps(message) and "<https://evil" not in json.dumps(message)
    with org_db.sessions() as s, s.begin():
        s.add(Team(key="org", name="Week Shift", timezone="UTC", targets={}))
    assert ask(org_db, "/kpi trend frt", "bob").data["team"] == "support-emea"
    assert ask(org_db, '/kpi trend frt "org"', "bob").data["team"] == "org"  # quoted: the team called org
    assert ask(org_db, "/kpi trend frt org", "bob").data["scope"] == "org"
    assert ask(org_db, '/kpi trend frt "Week Shift"', "bob").data["team"] == "org"


def test_buttons_ask_the_same_trend_again(org_db: Database) -> None:
    add(org_db, datetime(2026, 3, 2, 9, tzinfo=UTC), reply_after=timedelta(minutes=5))
    reply = ask(org_db, '/kpi trend frt "Support EMEA" 28d by day', "bob")
    (actions,) = [b for b in reply.blocks if isinstance(b, Actions)]
    share, previous = actions.buttons
    assert json.loads(share.value)["text"] == "/kpi trend first_reply_median_s support-emea 28d by day"
    shared = run_action(org_db, build_router(), "bob", share.action_id, share.value, now=NOW + timedelta(hours=1), platform="console")
    # The moment asked about is kept (the points' QA figures are never shared).
    assert shared.visibility == "channel" and [(p["window"], p["value"]) for p in shared.data["series"]] == [(p["window"], p["value"]) for p in reply.data["series"]]
    before = run_action(org_db, build_router(), "bob", previous.action_id, previous.value, now=NOW, platform="console")
    assert before.ok and before.data["window"]["end"] == reply.data["window"]["start"]  # the 28 days before
    mine = ask(org_db, "/kpi trend frt @alice", "alice")
    (actions,) = [b for b in mine.blocks if isinstance(b, Actions)]
    assert json.loads(actions.buttons[0].value)["text"] == "/kpi trend first_reply_median_s @alice 90d by week"


def test_every_surface_renders_a_trend(org_db: Database) -> None:
    add(org_db, datetime(2026, 3, 2, 9, tzinfo=UTC), reply_after=timedelta(minutes=5))
    add(org_db, NOW - timedelta(days=200), reply_after=timedelta(minutes=5))
    reply = ask(org_db, "/kpi trend frt 120d by day", "bob")
    assert reply.ok and len(reply.data["series"]) == 120
    cards = render_adaptive_card(reply)
    # An 800x500 chart is larger than a Teams message may be (without a public address to link it): described.
    assert "chart too large to show here" in json.dumps(cards, ensure_ascii=False)
    messages = render_slack(reply)
    assert any("📈" in json.dumps(m, ensure_ascii=False) for m in messages)
    assert "[chart: Support EMEA · First reply (median) by day — First reply (median) of Support EMEA (support-emea) by day, 120 days" in render_text(reply)
