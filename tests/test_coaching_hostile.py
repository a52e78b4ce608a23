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


# ---------------------------------------------------------------- the second review


def test_pooled_qa_figures_are_for_those_who_look_after_the_whole_team(db: Database) -> None:
    apply(db, FIXTURE)
    ask(db, "bob", "/qa @alice T-1 accuracy=0 tone=2 policy=fail", T0 - timedelta(hours=1))  # the team's only review: alice's result
    later = T0 + timedelta(minutes=1)
    qa_keys = ("qa_score", "qa_pass_rate", "qa_reviews")
    for handle, text in (("alice", "/kpi team support-emea today"), ("carol", "/kpi team support-emea today"), ("carol", "/kpi org today"),
                         ("bob", "/kpi team today --share"), ("bob", "/kpi org today"), ("dana", "/kpi team support-emea today")):  # fmt: skip
        out = ask(db, handle, text, later)
        assert out["ok"], (handle, text, out)
        assert all(out["data"]["metrics"][k] is None for k in qa_keys), (handle, text)
        assert "QA score" not in str(out["reply"].blocks), (handle, text)
    for handle in ("alice", "carol"):
        rows = ask(db, handle, "/kpi teams today", later)["data"]["rows"]
        assert all(r["metrics"][k] is None for r in rows for k in qa_keys), handle
    # In the table of every team, a lead sees the QA figures of the team they look after, and no other.
    rows = ask(db, "bob", "/kpi teams today", later)["data"]["rows"]
    assert {r["team"]: r["metrics"]["qa_reviews"] for r in rows} == {"support-emea": 1, "support-amer": None}
    by_qa = ask(db, "carol", "/kpi teams today --sort qa", later)  # sorted by what she may see (nothing), saying why
    assert by_qa["ok"] and by_qa["data"]["sort"] is None and "sorted by team" in by_qa["data"]["sort_limited"]
    # Those who look after the whole team see them; the agent sees her own.
    for handle, text in (("bob", "/kpi team today"), ("root", "/kpi org today"), ("root", "/kpi teams today --sort qa"), ("alice", "/kpi me today")):
        out = ask(db, handle, text, later)
        metrics = out["data"]["metrics"] if "metrics" in out["data"] else next(r["metrics"] for r in out["data"]["rows"] if r["team"] == "support-emea")
        assert metrics["qa_reviews"] == 1 and metrics["qa_score"] == 0.0, (handle, text)
    # The scorecard: without QA in the channel and for a fellow agent, with it for the lead.
    assert "qa_score" not in json.dumps([str(b) for b in ask(db, "alice", "/scorecard support-emea today", later)["reply"].blocks])
    assert ask(db, "alice", "/scorecard support-emea today", later)["data"]["metrics"]["qa_score"] is None
    assert ask(db, "bob", "/scorecard support-emea today --share", later)["data"]["metrics"]["qa_score"] is None
    assert ask(db, "bob", "/scorecard support-emea today", later)["data"]["metrics"]["qa_score"] == 0.0


def test_a_qa_alert_goes_to_the_leads_never_the_channel(db: Database) -> None:
    from bot.kpi_alerts import plan_alerts

    text = FIXTURE.replace("    targets: {first_reply_median_s: 3600, csat: 0.9, reopen_rate: 0.05}",
                           "    targets: {first_reply_median_s: 3600}\n    alerts:\n      qa_score: {below: 0.8, window: 1d}")  # fmt: skip
    apply(db, text)
    ask(db, "bob", "/qa @alice T-1 accuracy=0 tone=2 policy=fail", T0 - timedelta(hours=1))
    plan_alerts(db, T0 + timedelta(minutes=10), platforms={"slack", "teams"}, every_minutes=10, catchup=timedelta(hours=6))
    with db.sessions() as s:
        recipients = [r for r, in s.execute(select(OutboxRow.recipient).where(OutboxRow.kind == "alert"))]
    assert recipients and not any(":channel:" in r for r in recipients), recipients
    assert "slack:user:U0123ABCE" in recipients  # bob, the lead
    assert "qa_score" not in json.dumps(ask(db, "alice", "/kpi alerts")["data"]) and "qa_score" in json.dumps(ask(db, "bob", "/kpi alerts")["data"])


def test_only_agents_are_coached_and_reviewed_and_never_by_themselves(db: Database) -> None:
    apply(db, FIXTURE)
    for text in ("/qa @bob T-1 accuracy=2 tone=4 policy=pass", "/qa @root T-2 accuracy=2 tone=4 policy=pass", "/qa @dana T-3 accuracy=2 tone=4 policy=pass",
                 "/coach @bob kind words", "/coach @root note to self", "/coach session @root strengths=x follow_up=14d"):  # fmt: skip
        assert ask(db, "root", text)["code"] == "forbidden", text
    assert ask(db, "root", "/qa @alice T-4 accuracy=2 tone=4 policy=pass")["ok"]


def test_a_done_button_on_a_follow_up_keeps_the_figures(db: Database) -> None:
    from bot.coaching_messages import compose
    from store.outbox import Claimed

    apply(db, FIXTURE)
    ask(db, "bob", '/coach session @alice actions="one; two" follow_up=2026-12-15')
    due = datetime(2026, 12, 15, 8, 0, tzinfo=timezone.utc)
    with db.sessions() as s:
        reply = compose(s, Claimed(1, "coach_followup", "session-1", "slack:user:U0123ABCD", "2026-12-15", due, "c", False), due)
    button = next(b for block in reply.blocks if hasattr(block, "buttons") for b in block.buttons)
    clicked = run_action(db, ROUTER, "alice", button.action_id, button.value, now=due, platform="slack")
    assert clicked.ok and not clicked.replace_original and "is done" in str(clicked.blocks[0])
    shared = run_action(db, ROUTER, "alice", "coach.done", json.dumps({"id": 2}), now=due, platform="slack")
    assert shared.ok and shared.replace_original  # the session's own message is updated in place


def test_flags_after_the_comment_separator_are_words(db: Database) -> None:
    apply(db, FIXTURE)
    out = ask(db, "bob", "/qa @alice T-1 accuracy=2 tone=4 policy=pass -- customer asked to --share it --by friday")
    assert out["ok"], out
    number = ask(db, "bob", "/qa calibrate T-2 @bob @dana")["data"]["calibration"]["id"]
    assert ask(db, "bob", f"/qa calibration {number} accuracy=2 tone=4 policy=pass -- he wrote --by mistake")["ok"]
    assert ask(db, "bob", "/qa show 1 --share")["code"] == "usage"  # before the separator it is still a flag


def test_impossible_summary_windows_are_said_to_be_windows(db: Database) -> None:
    apply(db, FIXTURE)
    for window in ("99999d", "9999-12-31", "2026-12-01..2026-11-01", "last_week"):
        out = ask(db, "bob", f"/coach summary {window}")
        assert out["code"] == "usage" and "no team called" not in out["error"], (window, out["error"])


def test_comments_are_bounded(db: Database) -> None:
    apply(db, FIXTURE)
    long = "x" * 2001
    review = act(db, "bob", "qa.review_form", json.dumps({"context": json.dumps({"agent": "alice", "ticket": "T-1"}),
                                                          "values": {"accuracy": "2", "accuracy_comment": long, "tone": "4", "policy": "pass"}}))  # fmt: skip
    assert review["code"] in ("invalid", "usage") or review["data"].get("field_errors"), review
    number = ask(db, "bob", "/qa calibrate T-2 @bob @dana")["data"]["calibration"]["id"]
    out = ask(db, "bob", f"/qa calibration {number} accuracy=2 tone=4 policy=pass -- {long}")
    assert out["code"] == "invalid" and "at most 2,000" in out["error"]
