"""What a hostile review of sessions and calibration found, kept as tests: races, a leak through
/coach actions, forged and broken form values, a follow-up set for today, windows the summary did not
know, figures for a reader who no longer looks after the agent, calibration comments."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import func, select

from bot.dispatch import run_action, run_command
from bot.slack.notifier import SlackNotifier
from bot.tick import run_tick
from coaching.models import QaCalibration
from handlers.registry import build_router
from kpi.definitions import METRIC_NAMES
from store.database import Database
from store.org_file import apply_org, parse_org
from store.outbox import OutboxRow
from tests.fake_slack import FakeSlack
from tests.test_qa import QA

ROUTER = build_router()
T0 = datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)
FIXTURE = (Path(__file__).parent / "fixtures" / "org.yaml").read_text()
# alice moved to support-amer: bob (support-emea's lead) no longer looks after her.
MOVED = FIXTURE.replace("    team: support-emea\n    role: agent\n    slack_id: U0123ABCD", "    team: support-amer\n    role: agent\n    slack_id: U0123ABCD")
# bob moved to support-amer as its lead.
BOB_MOVED = FIXTURE.replace("    team: support-emea\n    role: lead\n    slack_id: U0123ABCE", "    team: support-amer\n    role: lead\n    slack_id: U0123ABCE")


def apply(db: Database, text: str) -> None:
    with db.sessions() as s, s.begin():
        apply_org(s, parse_org(text + QA.replace("HIDE", "false"), METRIC_NAMES), now=T0)


def ask(db: Database, handle: str, text: str, at: datetime = T0) -> dict:  # type: ignore[type-arg]
    reply = run_command(db, ROUTER, handle, text, now=at, platform="console")
    return {"ok": reply.ok, "data": reply.data, "code": reply.error.code if reply.error else None, "error": reply.error.message if reply.error else None, "reply": reply}


def act(db: Database, handle: str, action: str, value: str) -> dict:  # type: ignore[type-arg]
    reply = run_action(db, ROUTER, handle, action, value, now=T0, platform="slack")
    return {"ok": reply.ok, "data": reply.data, "code": reply.error.code if reply.error else None}


def test_the_last_two_scores_at_once_reveal_once(db: Database) -> None:
    apply(db, FIXTURE)
    number = ask(db, "bob", "/qa calibrate T-1 @bob @dana @root")["data"]["calibration"]["id"]
    ask(db, "root", f"/qa calibration {number} accuracy=2 tone=4 policy=pass")
    barrier = threading.Barrier(2)
    answers: dict[str, dict] = {}  # type: ignore[type-arg]

    def score(handle: str) -> None:
        barrier.wait()
        answers[handle] = ask(db, handle, f"/qa calibration {number} accuracy=1 tone=3 policy=fail")

    threads = [threading.Thread(target=score, args=(h,)) for h in ("bob", "dana")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(a["ok"] for a in answers.values()), answers
    assert [a["data"]["calibration"]["revealed"] for a in answers.values()].count(True) == 1
    with db.sessions() as s:
        assert s.get(QaCalibration, number).revealed_at is not None
        told = s.scalar(select(func.count()).select_from(OutboxRow).where(OutboxRow.kind == "qa_calibrated"))
    assert told == 1  # bob, once (dana and root have no chat ids here)


def test_an_author_who_no_longer_looks_after_the_agent_sees_only_their_own_sessions_items(db: Database) -> None:
    apply(db, FIXTURE)
    ask(db, "bob", '/coach session @alice actions="bob\'s item" follow_up=14d')
    apply(db, MOVED)
    ask(db, "dana", '/coach session @alice actions="secret improvement plan item" follow_up=14d')
    for text in ("/coach actions @alice", "/coach actions"):
        out = ask(db, "bob", text)
        assert out["ok"], out
        seen = json.dumps(out["data"])
        assert "bob's item" in seen and "secret improvement plan item" not in seen, text
    assert "secret improvement plan item" in json.dumps(ask(db, "dana", "/coach actions @alice")["data"])


def test_forged_and_broken_form_values_get_usage_not_a_crash(db: Database) -> None:
    apply(db, FIXTURE)
    number = ask(db, "bob", "/qa calibrate T-1 @bob @dana")["data"]["calibration"]["id"]
    values = {"accuracy": "2", "tone": "4", "policy": "pass"}
    for context in ("99999999999999999999", "-1", "0", "1e3", "١"):
        assert act(db, "dana", "qa.calibration_form", json.dumps({"context": context, "values": values}))["code"] == "usage", context
    session_context = json.dumps({"agent": "alice"})
    for bad in ("\x00", "\ud800"):
        forms = (
            ("qa.calibration_form", str(number), {**values, "comment": f"x{bad}"}),
            ("coach.session_form", session_context, {"strengths": f"calm{bad}", "opportunities": "", "actions": "", "follow_up": "14d"}),
            ("qa.review_form", json.dumps({"agent": "alice", "ticket": "T-2"}), {**values, "comment": bad}),
            ("escalate.form", "{}", {"ticket": "T-3", "reason": f"down{bad}"}),
        )
        for action, context, fields in forms:
            out = act(db, "bob" if action != "qa.calibration_form" else "dana", action, json.dumps({"context": context, "values": fields}))
            assert out["code"] == "usage", (action, repr(bad), out)
    assert ask(db, "bob", "/coach history @alice")["data"]["sessions"] == []


def test_a_follow_up_must_come_after_today(db: Database) -> None:
    apply(db, FIXTURE)
    for when in ("0d", "2026-12-01"):
        out = ask(db, "bob", f"/coach session @alice strengths=x follow_up={when}")
        assert out["code"] == "usage" and "give tomorrow or a later date" in out["error"], when
    assert ask(db, "bob", "/coach session @alice strengths=x follow_up=1d")["ok"]


def test_the_summary_knows_every_window(db: Database) -> None:
    apply(db, FIXTURE)
    for text in ("/coach summary today", "/coach summary month", "/coach summary 2026-11-01", "/coach summary 2026-11-01..2026-11-30", "/coach summary support-emea today"):
        out = ask(db, "bob", text)
        assert out["ok"], (text, out)
    hint = ask(db, "bob", "/coach summary last_week")
    assert hint["code"] in ("usage", "not_found") and "window" in hint["error"].lower(), hint


async def test_a_reader_who_moved_away_gets_the_follow_up_without_the_figures(db: Database, slack: tuple[FakeSlack, SlackNotifier]) -> None:
    fake, notifier = slack
    apply(db, FIXTURE)
    ask(db, "bob", "/coach session @alice strengths=calm follow_up=2026-12-15")
    apply(db, BOB_MOVED)
    await run_tick(db, [notifier], datetime(2026, 12, 15, 14, 0, tzinfo=timezone.utc), only="coaching")  # 09:00 in New York, bob's zone now
    posted = {c.args["channel"]: json.dumps(c.args) for c in fake.of("chat.postMessage") if "Follow-up" in json.dumps(c.args)}
    assert "Tickets solved" in posted["D0123ABCD"]  # alice: her own figures
    bob = next(v for k, v in posted.items() if k != "D0123ABCD")
    assert "Follow-up" in bob and "Tickets solved" not in bob


def test_calibration_comments_are_shown_with_the_spread_and_a_late_look_reveals(db: Database) -> None:
    apply(db, FIXTURE)
    number = ask(db, "bob", "/qa calibrate T-1 @bob @dana --by 2026-12-02")["data"]["calibration"]["id"]
    assert ask(db, "bob", f"/qa calibration {number} -- just a comment")["code"] == "usage"
    ask(db, "bob", f"/qa calibration {number} accuracy=2 tone=4 policy=pass -- clear policy breach avoided")
    late = datetime(2026, 12, 3, 0, 0, tzinfo=timezone.utc)  # after the end of the 2nd in Berlin; the sweep has not run
    refused = ask(db, "dana", f"/qa calibration {number} accuracy=1 tone=4 policy=pass", late)
    assert refused["code"] == "invalid" and "closed" in refused["error"]
    seen = ask(db, "dana", f"/qa calibration {number}", late)
    assert seen["data"]["calibration"]["revealed"] is True
    assert seen["data"]["calibration"]["scores"]["bob"]["comment"] == "clear policy breach avoided"
    assert "clear policy breach avoided" in str(seen["reply"].blocks)


async def test_each_reader_gets_their_own_message_never_anothers_blind_scores(db: Database, slack: tuple[FakeSlack, SlackNotifier]) -> None:
    fake, notifier = slack
    apply(db, FIXTURE)
    number = ask(db, "bob", "/qa calibrate T-1 @bob @alice")["data"]["calibration"]["id"]
    ask(db, "bob", f"/qa calibration {number} accuracy=0 tone=1 policy=fail")  # before the requests go out
    await run_tick(db, [notifier], T0 + timedelta(minutes=1), only="coaching")
    to = {c.args["channel"]: json.dumps(c.args) for c in fake.of("chat.postMessage")}
    assert "Your scores" in to["D0123ABCE"] and "accuracy=0" in to["D0123ABCE"]  # bob's own
    assert "Your scores" not in to["D0123ABCD"] and "accuracy=0" not in to["D0123ABCD"]  # alice: blind
    assert "qa.calibration" in to["D0123ABCD"]  # and her Score it button
