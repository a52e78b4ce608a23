"""Coaching sessions: recorded inline or by form, shared with the agent, action items ticked off,
the follow-up reminder at 09:00 local with the KPIs before and since, /coach actions and /coach summary."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from bot.dispatch import run_action, run_command
from bot.slack.notifier import SlackNotifier
from bot.tick import run_tick
from handlers.registry import build_router
from kpi.tickets import Ticket
from store.database import Database
from store.org import Member
from tests.fake_slack import FakeSlack
from tests.helpers import apply_fixture_org

ROUTER = build_router()
T0 = datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)  # 11:00 in Berlin
INLINE = '/coach session @alice strengths="calm with angry customers" opportunities="long holds" actions="shadow Bob on two refund calls by 2026-12-08; read the refund policy" follow_up=2026-12-15'


def ask(db: Database, handle: str, text: str, at: datetime = T0) -> dict:  # type: ignore[type-arg]
    reply = run_command(db, ROUTER, handle, text, now=at, platform="console")
    return {"ok": reply.ok, "data": reply.data, "code": reply.error.code if reply.error else None, "error": reply.error.message if reply.error else None, "reply": reply}


def click(db: Database, handle: str, action: str, value: str, at: datetime = T0) -> dict:  # type: ignore[type-arg]
    reply = run_action(db, ROUTER, handle, action, value, now=at, platform="slack")
    return {"ok": reply.ok, "data": reply.data, "code": reply.error.code if reply.error else None, "error": reply.error.message if reply.error else None, "reply": reply}


def test_a_session_inline_with_action_items_each_due(db: Database) -> None:
    apply_fixture_org(db)
    out = ask(db, "bob", INLINE)
    assert out["ok"], out["error"]
    got = out["data"]["session"]
    assert (got["agent"], got["author"], got["strengths"], got["opportunities"], got["follow_up"]) == ("alice", "bob", "calm with angry customers", "long holds", "2026-12-15")
    assert [(a["text"], a["due"]) for a in got["actions"]] == [("shadow Bob on two refund calls", "2026-12-08"), ("read the refund policy", "2026-12-15")]
    # Unquoted words continue the value before them; `by phone` is words, not a due date; spans from today work.
    out = ask(db, "bob", "/coach session @alice strengths=clear writing actions=call back by phone follow_up=2w")
    assert out["ok"], out["error"]
    assert out["data"]["session"]["strengths"] == "clear writing" and out["data"]["session"]["follow_up"] == "2026-12-15"
    assert [a["text"] for a in out["data"]["session"]["actions"]] == ["call back by phone"]


def test_bad_sessions_are_refused_with_how_to_say_it(db: Database) -> None:
    apply_fixture_org(db)
    cases = {
        "/coach session @alice strengths=good follow_up=2026-11-30": "in the past (today is 2026-12-01)",
        "/coach session @alice strengths=good": "Give follow_up=YYYY-MM-DD",
        "/coach session @alice strengths=good follow_up=15/12/2026": "is not a date: write YYYY-MM-DD",
        "/coach session @alice strengths=good follow_up=2026-02-30": "is not a date",
        "/coach session @alice strengths=good follow_up=2028-01-01": "more than a year ahead",
        "/coach session @alice follow_up=14d": "Say what was discussed",
        "/coach session @alice mood=good follow_up=14d": "Give the session's parts as key=value",
        "/coach session @alice strengths=a strengths=b follow_up=14d": "strengths is given twice",
        "/coach session @alice actions=\"x by 2026-11-01\" follow_up=14d": "is in the past",
        "/coach session @alice actions=" + ";".join(f"item {n}" for n in range(21)) + " follow_up=14d": "21 action items; at most 20",
        "/coach session @alice strengths=good follow_up=14d --private": "A session is always shared with its agent",
    }
    for text, fragment in cases.items():
        out = ask(db, "bob", text)
        assert out["code"] == "usage", (text, out)
        assert fragment in out["error"], (text, out["error"])
    assert "/coach session @agent" in ask(db, "bob", "/coach session")["error"]
    # Nothing was recorded by any of them.
    assert ask(db, "bob", "/coach history @alice")["data"]["sessions"] == []


def test_the_form_asks_and_sends_problems_back_to_their_fields(db: Database) -> None:
    apply_fixture_org(db)
    form = ask(db, "bob", "/coach session @alice")["reply"].form
    assert form is not None and [f.name for f in form.fields] == ["strengths", "opportunities", "actions", "follow_up"]
    values = {"strengths": "", "opportunities": "", "actions": "", "follow_up": "yesterday"}
    bad = click(db, "bob", "coach.session_form", json.dumps({"context": form.context, "values": values}))
    assert set(bad["data"]["field_errors"]) == {"follow_up"}
    values["follow_up"] = "14d"
    empty = click(db, "bob", "coach.session_form", json.dumps({"context": form.context, "values": values}))
    assert "Say what was discussed" in json.dumps(empty["data"]["field_errors"])
    values["strengths"] = "x" * 4001  # longer than a command may be: only a form can say it
    assert click(db, "bob", "coach.session_form", json.dumps({"context": form.context, "values": values}))["data"]["field_errors"] == {
        "strengths": "Strengths is 4,001 characters long; at most 4,000."
    }
    values["strengths"] = ""
    values["actions"] = "one\ntwo by 2026-12-03"
    ok = click(db, "bob", "coach.session_form", json.dumps({"context": form.context, "values": values}))
    assert ok["ok"] and [(a["text"], a["due"]) for a in ok["data"]["session"]["actions"]] == [("one", "2026-12-15"), ("two", "2026-12-03")]
    # A forged form: another agent's handle is checked like a typed one; junk is refused with usage.
    forged = click(db, "bob", "coach.session_form", json.dumps({"context": json.dumps({"agent": "carol"}), "values": values}))
    assert forged["code"] == "forbidden"
    for junk in ("{", json.dumps({"context": "{}", "values": {}}), json.dumps({"context": form.context, "values": {"mood": "x"}}), json.dumps({"context": form.context, "values": ["x"]})):
        assert click(db, "bob", "coach.session_form", junk)["code"] == "usage", junk


def test_who_may_hold_see_and_tick_off(db: Database) -> None:
    apply_fixture_org(db)
    assert ask(db, "carol", "/coach session @alice strengths=x follow_up=14d")["code"] == "forbidden"  # an agent
    assert ask(db, "dana", "/coach session @alice strengths=x follow_up=14d")["code"] == "forbidden"  # a manager of another team
    assert ask(db, "bob", "/coach session @carol strengths=x follow_up=14d")["code"] == "forbidden"  # a lead, not of carol's team
    items = ask(db, "bob", INLINE)["data"]["session"]["actions"]
    first = items[0]["id"]
    assert ask(db, "alice", "/coach mine")["data"]["sessions"][0]["id"] == 1  # the agent sees her session
    assert ask(db, "carol", "/coach history @alice")["code"] == "forbidden"
    # Ticking off: the agent, the author and whoever looks after her; for anyone else it does not exist.
    missing = ask(db, "carol", "/coach done 999")
    foreign = ask(db, "carol", f"/coach done {first}")
    assert foreign["code"] == missing["code"] == "not_found" and foreign["error"] == missing["error"]
    assert ask(db, "dana", f"/coach done {first}")["code"] == "not_found"
    done = ask(db, "alice", f"/coach done {first}", T0 + timedelta(days=1))
    assert done["ok"] and done["data"]["session"]["actions"][0]["done_at"] == (T0 + timedelta(days=1)).isoformat()
    again = ask(db, "bob", f"/coach done {first}", T0 + timedelta(days=2))
    assert "was already done" in str(again["reply"].blocks[0]) and again["data"]["session"]["actions"][0]["done_at"] == (T0 + timedelta(days=1)).isoformat()
    assert ask(db, "root", f"/coach done {items[1]['id']}")["ok"]
    assert ask(db, "alice", "/coach done x")["code"] == "usage"


def test_actions_list_open_items_with_completion(db: Database) -> None:
    apply_fixture_org(db)
    items = ask(db, "bob", INLINE)["data"]["session"]["actions"]
    ask(db, "alice", f"/coach done {items[1]['id']}")
    later = T0 + timedelta(days=8)  # the first item was due 2026-12-08: overdue on the 9th
    mine = ask(db, "alice", "/coach actions", later)["data"]["agents"]
    assert mine == [{"agent": "alice", "open": [{**items[0], "overdue": True}], "done": 1, "total": 2, "completion_rate": 0.5}]
    assert ask(db, "bob", "/coach actions", later)["data"]["agents"] == mine  # the team's agents with any
    assert ask(db, "bob", "/coach actions @alice", later)["data"]["agents"] == mine
    assert ask(db, "carol", "/coach actions @alice")["code"] == "forbidden"
    assert ask(db, "dana", "/coach actions", later)["data"]["agents"] == []  # nobody she looks after has any
    assert ask(db, "carol", "/coach actions")["data"]["agents"][0]["completion_rate"] is None


def test_summary_counts_what_the_caller_may_see(db: Database) -> None:
    apply_fixture_org(db)
    ask(db, "bob", "/coach @alice kind words #empathy")
    ask(db, "bob", "/coach @alice slow on holds #holds #empathy --private")
    ask(db, "bob", INLINE)
    out = ask(db, "bob", "/coach summary", T0 + timedelta(minutes=1))
    assert out["ok"], out["error"]
    assert out["data"]["agents"] == [{
        "agent": "alice", "notes": 1, "private_notes": 1, "sessions": 1, "open_actions": 2, "overdue_actions": 0,
        "actions_done": 0, "actions_total": 2, "completion_rate": 0.0,
    }]  # fmt: skip
    assert out["data"]["tags"] == {"empathy": 2, "holds": 1}
    assert ask(db, "bob", "/coach summary support-emea 7d", T0 + timedelta(minutes=1))["data"]["agents"] == out["data"]["agents"]
    assert ask(db, "bob", "/coach summary 7d", T0 + timedelta(days=8))["data"]["agents"][0]["sessions"] == 0  # outside the window
    assert ask(db, "alice", "/coach summary")["code"] == "forbidden"
    assert ask(db, "bob", "/coach summary support-amer")["code"] == "forbidden"
    assert ask(db, "dana", "/coach summary support-emea")["code"] == "forbidden"
    assert [a["agent"] for a in ask(db, "root", "/coach summary")["data"]["agents"]] == ["alice", "carol"]
    assert ask(db, "bob", "/coach summary 1d 2d")["code"] == "usage"
    assert ask(db, "bob", "/coach summary nowhere")["code"] == "not_found"


async def test_the_follow_up_reminder_comes_at_nine_local_with_the_kpis_before_and_since(db: Database, slack: tuple[FakeSlack, SlackNotifier]) -> None:
    fake, notifier = slack
    apply_fixture_org(db)
    with db.sessions() as s, s.begin():
        alice = s.scalar(select(Member).where(Member.handle == "alice"))
        # Two tickets solved in the 14 days before the session, four in the 14 days since.
        for n, days in enumerate((-10, -3, 1, 2, 5, 13)):
            at = T0 + timedelta(days=days)
            s.add(Ticket(external_id=f"X-{n}", source="test", team_id=alice.team_id, agent_id=alice.id, created_at=at - timedelta(hours=2), solved_at=at, status="solved"))
    session_id = ask(db, "bob", INLINE)["data"]["session"]["id"]
    first = await run_tick(db, [notifier], T0 + timedelta(minutes=1), only="coaching")
    assert [(o.kind, o.recipient, o.status) for o in first.outcomes if o.recipient.startswith("slack")] == [("coach_session", "slack:user:U0123ABCD", "sent")]
    shared = next(c.args for c in fake.of("chat.postMessage") if c.args["channel"] == "D0123ABCD")
    assert [e["action_id"] for b in shared["blocks"] if b["type"] == "actions" for e in b["elements"]] == ["coach.done", "coach.done"]
    # 2026-12-15 09:00 in Berlin is 08:00 UTC (alice's zone, and bob's through their team).
    nine = datetime(2026, 12, 15, 8, 0, tzinfo=timezone.utc)
    early = await run_tick(db, [notifier], nine - timedelta(minutes=1), only="coaching")
    assert [o for o in early.outcomes if o.kind == "coach_followup"] == []
    on_time = await run_tick(db, [notifier], nine, only="coaching")
    assert sorted(o.recipient for o in on_time.outcomes if o.kind == "coach_followup" and o.status == "sent") == ["slack:user:U0123ABCD", "slack:user:U0123ABCE"]
    again = await run_tick(db, [notifier], nine + timedelta(minutes=5), only="coaching")
    assert [o for o in again.outcomes if o.kind == "coach_followup"] == []
    reminder = json.dumps(next(c.args for c in fake.of("chat.postMessage") if c.args["channel"] == "D0123ABCD" and "Follow-up" in json.dumps(c.args)))
    assert "Did it work?" in reminder and "Tickets solved" in reminder and f"coaching session {session_id}" in reminder
    # The before/after figures are the agent's over the two equal spans.
    from coaching.models import CoachingSession
    from coaching.sessions import before_after
    from kpi.engine import Scope, compute

    with db.sessions() as s:
        record = s.get(CoachingSession, session_id)
        start, until, before, after = before_after(s, record, nine)
        assert until - record.created_at == record.created_at - start
        assert (before["tickets_solved"], after["tickets_solved"]) == (2, 4)
        assert after == compute(s, Scope(agent_id=record.agent_id), record.created_at, nine)


async def test_a_reminder_missed_beyond_the_catch_up_is_skipped(db: Database, slack: tuple[FakeSlack, SlackNotifier]) -> None:
    fake, notifier = slack
    apply_fixture_org(db)
    ask(db, "bob", INLINE)
    late = datetime(2026, 12, 15, 8, 0, tzinfo=timezone.utc) + timedelta(hours=7)
    report = await run_tick(db, [notifier], late, only="coaching")
    assert [o for o in report.outcomes if o.kind == "coach_followup"] == []
    assert not any("Follow-up" in json.dumps(c.args) for c in fake.of("chat.postMessage"))
    within = datetime(2026, 12, 15, 8, 0, tzinfo=timezone.utc) + timedelta(hours=5)
    apply_fixture_org(db)
    ask(db, "bob", INLINE.replace("2026-12-15", "2026-12-16"))
    report = await run_tick(db, [notifier], within + timedelta(days=1), only="coaching")
    assert sorted((o.recipient, o.status) for o in report.outcomes if o.kind == "coach_followup" and o.recipient.startswith("slack")) == [
        ("slack:user:U0123ABCD", "sent"), ("slack:user:U0123ABCE", "sent")
    ]


async def test_hostile_session_text_is_kept_as_typed_and_sent_escaped(db: Database, slack: tuple[FakeSlack, SlackNotifier]) -> None:
    fake, notifier = slack
    apply_fixture_org(db)
    hostile = "<!channel> <@U0123ABCF> *bold* <https://evil.example|click>"
    out = ask(db, "bob", f'/coach session @alice strengths="{hostile}" actions="ping <!here> by 2026-12-05" follow_up=14d')
    assert out["ok"], out["error"]
    assert out["data"]["session"]["strengths"] == hostile and out["data"]["session"]["actions"][0]["text"] == "ping <!here>"
    await run_tick(db, [notifier], T0 + timedelta(minutes=1), only="coaching")
    sent = json.dumps(next(c.args for c in fake.of("chat.postMessage") if c.args["channel"] == "D0123ABCD"))
    for live in ("<!channel>", "<!here>", "<@U0123ABCF>", "<https://evil"):
        assert live not in sent, live
    assert "&lt;!channel&gt;" in sent
