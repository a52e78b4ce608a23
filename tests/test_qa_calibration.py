"""Blind QA calibration: nobody sees another's scores until all have scored or the deadline passes;
then everyone gets the per-category spread; calibration scores never count in KPIs."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from bot.slack.notifier import SlackNotifier
from bot.tick import run_tick
from store.database import Database
from tests.fake_slack import FakeSlack
from tests.test_qa import ask, click, setup

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)


def test_scores_stay_blind_until_all_have_scored_then_the_spread_is_shown(db: Database) -> None:
    setup(db)
    started = ask(db, "bob", "/qa calibrate T-77 @bob @dana @root")
    assert started["ok"], started["error"]
    number = started["data"]["calibration"]["id"]
    assert ask(db, "bob", f"/qa calibration {number} accuracy=2 tone=5 policy=pass")["ok"]
    # Neither dana (who has not scored) nor bob (who started it and scored) sees anyone else's scores.
    for handle in ("dana", "bob"):
        seen = ask(db, handle, f"/qa calibration {number}")["data"]["calibration"]
        assert seen["revealed"] is False and seen["scores"] is None and seen["spread"] is None
        assert [r["scored"] for r in seen["reviewers"]] == [True, False, False]
    assert ask(db, "dana", f"/qa calibration {number}")["data"]["calibration"]["mine"] is None
    assert ask(db, "bob", f"/qa calibration {number}")["data"]["calibration"]["mine"] == {"accuracy": 2, "tone": 5, "policy": 1}
    assert "T-77" not in json.dumps(ask(db, "alice", "/qa calibrations")["data"])  # not hers
    refused, missing = ask(db, "carol", f"/qa calibration {number}"), ask(db, "carol", "/qa calibration 99")
    assert refused["code"] == missing["code"] == "not_found" and refused["error"].replace(str(number), "N") == missing["error"].replace("99", "N")
    assert ask(db, "dana", f"/qa calibration {number} accuracy=1 tone=3 policy=fail -- not sure")["data"]["calibration"]["revealed"] is False
    assert ask(db, "dana", f"/qa calibration {number} accuracy=1 tone=3 policy=fail")["code"] == "invalid"  # once
    last = ask(db, "root", f"/qa calibration {number} accuracy=0 tone=na policy=pass")["data"]["calibration"]
    assert last["revealed"] is True
    spread = {s["key"]: (s["values"], s["spread"]) for s in last["spread"]}
    assert spread["accuracy"] == ({"bob": 2, "dana": 1, "root": 0}, 1.0)
    assert spread["tone"] == ({"bob": 5, "dana": 3, "root": "na"}, 0.5)
    assert spread["policy"] == ({"bob": 1, "dana": 0, "root": 1}, 1.0)
    assert last["scores"]["root"]["score"] == 0.0  # critical accuracy below half
    # Calibration scores never count in KPIs.
    for scope in ("/kpi org 7d", "/kpi team support-emea 7d", "/kpi agent @bob 7d"):
        metrics = ask(db, "root", scope, T0 + timedelta(hours=1))["data"]["metrics"]
        assert (metrics["qa_reviews"], metrics["qa_score"]) == (0, None), scope


def test_who_may_start_and_what_is_refused(db: Database) -> None:
    setup(db)
    assert ask(db, "alice", "/qa calibrate T-1 @bob @dana")["code"] == "forbidden"  # agents do not start one
    cases = {
        "/qa calibrate T-1 @bob": "at least 2",
        "/qa calibrate T-1 @bob @bob": "at least 2 different reviewers",
        "/qa calibrate T-1 @bob @dana --by 2026-11-30": "in the past",
        "/qa calibrate T-1 @bob @dana --by tomorrow": "is not a date",
        "/qa calibrate nothing @bob @dana": "/qa calibrate TICKET",
        "/qa show 1 --by 2026-12-03": "--by sets a calibration's deadline",
        "/qa calibration": "/qa calibrate TICKET",
        "/qa calibration x": "a review number",
    }
    for text, fragment in cases.items():
        out = ask(db, "bob", text)
        assert out["code"] == "usage" and fragment in out["error"], (text, out)
    assert ask(db, "bob", "/qa calibrate T-1 @bob @nobody")["code"] == "not_found"
    number = ask(db, "bob", "/qa calibrate T-1 @bob @dana")["data"]["calibration"]["id"]
    # An admin may look, but only a reviewer scores; an unknown category is named.
    assert ask(db, "root", f"/qa calibration {number}")["ok"]
    assert ask(db, "root", f"/qa calibration {number} accuracy=2 tone=5 policy=pass")["code"] == "not_found"
    bad = ask(db, "dana", f"/qa calibration {number} accuracy=2 tone=9 polcy=pass")
    assert bad["code"] == "invalid" and "tone" in bad["error"] and "polcy" in bad["error"]


def test_the_score_button_opens_the_rubric_form(db: Database) -> None:
    setup(db)
    number = ask(db, "bob", "/qa calibrate T-5 @bob @dana")["data"]["calibration"]["id"]
    form = click(db, "dana", "qa.calibration", json.dumps({"id": number}))["reply"].form
    assert form is not None and [f.name for f in form.fields] == ["accuracy", "tone", "policy", "comment"]
    assert click(db, "carol", "qa.calibration", json.dumps({"id": number}))["code"] == "not_found"
    empty = click(db, "dana", "qa.calibration_form", json.dumps({"context": form.context, "values": {"accuracy": "", "tone": "4", "policy": "pass"}}))
    assert set(empty["data"]["field_errors"]) == {"accuracy"}
    wrong = click(db, "dana", "qa.calibration_form", json.dumps({"context": form.context, "values": {"accuracy": "7", "tone": "4", "policy": "pass"}}))
    assert "accuracy" in wrong["data"]["field_errors"]
    ok = click(db, "dana", "qa.calibration_form", json.dumps({"context": form.context, "values": {"accuracy": "2", "tone": "4", "policy": "pass", "comment": "fine"}}))
    assert ok["ok"] and ok["data"]["calibration"]["mine"] == {"accuracy": 2, "tone": 4, "policy": 1}
    for junk in ("{", json.dumps({"context": "x", "values": {}}), json.dumps({"context": str(number), "values": ["a"]}), json.dumps({"context": "0", "values": {"a": "1"}})):
        assert click(db, "dana", "qa.calibration_form", junk)["code"] == "usage", junk


@pytest.mark.parametrize("scored", [0, 1])
async def test_the_deadline_reveals_what_was_scored_and_everyone_hears(db: Database, slack: tuple[FakeSlack, SlackNotifier], scored: int) -> None:
    fake, notifier = slack
    setup(db)
    number = ask(db, "bob", "/qa calibrate T-9 @bob @alice --by 2026-12-02")["data"]["calibration"]["id"]
    asked = await run_tick(db, [notifier], T0 + timedelta(minutes=1), only="coaching")
    assert sorted(o.recipient for o in asked.outcomes if o.kind == "qa_calibrate" and o.status == "sent") == ["slack:user:U0123ABCD", "slack:user:U0123ABCE"]
    button = next(e for c in fake.of("chat.postMessage") if c.args["channel"] == "D0123ABCD" for b in c.args["blocks"] if b["type"] == "actions" for e in b["elements"])
    assert button["action_id"] == "qa.calibration"
    if scored:
        ask(db, "alice", f"/qa calibration {number} accuracy=2 tone=4 policy=pass")
    # bob's zone is Berlin (his team's): the deadline is the end of 2026-12-02 there, 23:00 UTC.
    before = await run_tick(db, [notifier], datetime(2026, 12, 2, 22, 59, tzinfo=timezone.utc), only="coaching")
    assert not [o for o in before.outcomes if o.kind == "qa_calibrated"]
    assert ask(db, "bob", f"/qa calibration {number}")["data"]["calibration"]["revealed"] is False
    after = await run_tick(db, [notifier], datetime(2026, 12, 2, 23, 0, tzinfo=timezone.utc), only="coaching")
    assert sorted(o.recipient for o in after.outcomes if o.kind == "qa_calibrated" and o.status == "sent") == ["slack:user:U0123ABCD", "slack:user:U0123ABCE"]
    shown = ask(db, "bob", f"/qa calibration {number}", datetime(2026, 12, 3, tzinfo=timezone.utc))
    assert shown["data"]["calibration"]["revealed"] is True
    assert list(shown["data"]["calibration"]["scores"]) == (["alice"] if scored else [])
    assert "Did not score before the deadline: bob" in json.dumps([str(b) for b in shown["reply"].blocks])
    late = ask(db, "bob", f"/qa calibration {number} accuracy=2 tone=4 policy=pass", datetime(2026, 12, 3, tzinfo=timezone.utc))
    assert late["code"] == "invalid" and "closed" in late["error"]
    again = await run_tick(db, [notifier], datetime(2026, 12, 3, 1, 0, tzinfo=timezone.utc), only="coaching")
    assert not [o for o in again.outcomes if o.kind == "qa_calibrated"]  # revealed once
