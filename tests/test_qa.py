"""QA reviews through the router and the outbox: score, show (privately), dispute once, settle and lock."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from bot.dispatch import run_action, run_command
from bot.slack.notifier import SlackNotifier
from bot.tick import run_tick
from handlers.registry import build_router
from kpi.definitions import METRIC_NAMES
from store.database import Database
from store.org_file import apply_org, parse_org
from tests.fake_slack import FakeSlack

ROUTER = build_router()
T0 = datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)
QA = """
qa:
  pass: 0.8
  hide_reviewer: HIDE
  rubric:
    - {key: accuracy, name: Accuracy, weight: 3, scale: 0-2, critical: true}
    - {key: tone, name: Tone, weight: 1, scale: 1-5}
    - {key: policy, name: Policy followed, weight: 2, scale: pass-fail}
"""


def setup(db: Database, hide: bool = False, qa: str = QA) -> None:
    text = (Path(__file__).parent / "fixtures" / "org.yaml").read_text() + qa.replace("HIDE", "true" if hide else "false")
    with db.sessions() as s, s.begin():
        apply_org(s, parse_org(text, METRIC_NAMES), now=T0)


def ask(db: Database, handle: str, text: str, at: datetime = T0) -> dict:  # type: ignore[type-arg]
    reply = run_command(db, ROUTER, handle, text, now=at, platform="console")
    return {"ok": reply.ok, "data": reply.data, "code": reply.error.code if reply.error else None, "error": reply.error.message if reply.error else None, "reply": reply}


def click(db: Database, handle: str, action: str, value: str) -> dict:  # type: ignore[type-arg]
    reply = run_action(db, ROUTER, handle, action, value, now=T0, platform="slack")
    return {"ok": reply.ok, "data": reply.data, "code": reply.error.code if reply.error else None, "reply": reply}


async def test_a_review_is_scored_disputed_once_settled_and_locked(db: Database, slack: tuple[FakeSlack, SlackNotifier]) -> None:
    fake, notifier = slack
    setup(db)
    out = ask(db, "bob", "/qa @alice T-123 accuracy=2 tone=4 policy=pass -- clear and kind")
    assert out["ok"], out["error"]
    review = out["data"]["review"]
    assert (review["agent"], review["reviewer"], review["ticket"], review["rubric_version"], review["state"]) == ("alice", "bob", "T-123", 1, "open")
    assert review["scores"] == {"accuracy": 2, "tone": 4, "policy": 1}
    assert review["score"] == pytest.approx((3 * 1 + 1 * 0.75 + 2 * 1) / 6) and review["passed"] is True
    # alice hears of it with a Dispute button.
    await run_tick(db, [notifier], T0, only="coaching")
    dm = next(c.args for c in fake.of("chat.postMessage") if c.args["channel"] == "D0123ABCD")
    button = next(e for b in dm["blocks"] if b["type"] == "actions" for e in b["elements"])
    assert button["action_id"] == "qa.dispute"
    form = click(db, "alice", "qa.dispute", button["value"])["reply"].form
    assert form is not None and [f.name for f in form.fields] == ["comment", "accuracy", "tone", "policy"]
    empty = click(db, "alice", "qa.dispute_form", json.dumps({"context": form.context, "values": {"comment": ""}}))
    assert empty["data"]["field_errors"] == {"comment": "A dispute needs a comment: say what you think is wrong."}
    disputed = click(db, "alice", "qa.dispute_form", json.dumps({"context": form.context, "values": {"comment": "I was kind and quick", "tone": "5"}}))
    assert disputed["ok"] and disputed["data"]["review"]["state"] == "disputed"
    assert ask(db, "alice", "/qa dispute 1 and again")["code"] == "invalid"  # once
    assert ask(db, "carol", "/qa resolve 1 accepted")["code"] == "not_found"  # not hers to see
    settled = ask(db, "bob", "/qa resolve 1 accepted -- fair point")
    assert settled["ok"] and settled["data"]["review"]["state"] == "locked"
    assert settled["data"]["review"]["scores"]["tone"] == 5 and settled["data"]["review"]["score"] == pytest.approx(1.0)
    assert ask(db, "bob", "/qa resolve 1 rejected")["code"] == "invalid"  # locked
    report = await run_tick(db, [notifier], T0 + timedelta(minutes=1), only="coaching")
    told = sorted((o.kind, o.recipient) for o in report.outcomes if o.status == "sent")
    assert told == [("qa_dispute", "slack:user:U0123ABCE"), ("qa_settled", "slack:user:U0123ABCD")]  # bob (reviewer and lead, once), alice


def test_who_sees_a_review_and_a_hidden_reviewer(db: Database) -> None:
    setup(db, hide=True)
    assert ask(db, "bob", "/qa @alice #42 accuracy=1 tone=3 policy=fail")["ok"]
    assert ask(db, "alice", "/qa show 1")["data"]["review"]["reviewer"] is None  # hidden from the agent
    assert ask(db, "bob", "/qa show 1")["data"]["review"]["reviewer"] == "bob"
    assert ask(db, "root", "/qa show 1")["data"]["review"]["reviewer"] == "bob"
    for handle in ("carol", "dana"):  # another team's agent and manager
        refused = ask(db, handle, "/qa show 1")
        assert refused["code"] == "not_found" and refused["error"] == ask(db, handle, "/qa show 99")["error"].replace("99", "1")
    assert ask(db, "carol", "/qa @alice #43 accuracy=2 tone=3 policy=pass")["code"] == "forbidden"
    assert ask(db, "bob", "/qa @carol #44 accuracy=2 tone=3 policy=pass")["code"] == "forbidden"
    # A critical category below half of its range: the review scores 0.
    zero = ask(db, "bob", "/qa @alice #45 accuracy=0 tone=5 policy=pass")["data"]["review"]
    assert (zero["score"], zero["passed"]) == (0.0, False)
    none = ask(db, "bob", "/qa @alice #46 accuracy=na tone=na policy=na")["data"]["review"]
    assert (none["score"], none["passed"]) == (None, None)


def test_bad_scores_list_every_problem_and_no_rubric_says_how_to_add_one(db: Database) -> None:
    setup(db)
    out = ask(db, "bob", "/qa @alice T-9 accuracy=3 tone=4 empathy=2")
    assert out["code"] == "invalid"
    for problem in ("accuracy: 3 is outside 0-2", "unknown category 'empathy'", "missing policy", "Score each of: accuracy (0-2, critical)"):
        assert problem in out["error"]
    assert ask(db, "bob", "/qa @alice yesterday accuracy=1")["code"] == "usage"
    assert ask(db, "bob", "/qa @alice T-9 --share")["code"] == "usage"
    setup(db, qa="")
    assert "QA is not set up" in ask(db, "bob", "/qa @alice T-9 accuracy=1 tone=1 policy=pass")["error"]


def test_the_form_asks_for_every_category_and_a_review_keeps_its_rubric_version(db: Database) -> None:
    setup(db)
    form = ask(db, "bob", "/qa @alice T-77")["reply"].form
    assert form is not None and [f.name for f in form.fields] == ["accuracy", "accuracy_comment", "tone", "tone_comment", "policy", "policy_comment", "comment"]
    values = {"accuracy": "2", "accuracy_comment": "spot on", "tone": "", "tone_comment": "", "policy": "pass", "policy_comment": "", "comment": ""}
    missing = click(db, "bob", "qa.review_form", json.dumps({"context": form.context, "values": values}))
    assert list(missing["data"]["field_errors"]) == ["tone"]
    values["tone"] = "9"
    off = click(db, "bob", "qa.review_form", json.dumps({"context": form.context, "values": values}))
    assert "tone" in off["data"]["field_errors"]
    values["tone"] = "5"
    saved = click(db, "bob", "qa.review_form", json.dumps({"context": form.context, "values": values}))
    assert saved["ok"] and saved["data"]["review"]["score"] == pytest.approx(1.0)
    # The rubric changes: the saved review keeps v1 and its score.
    setup(db, qa=QA.replace("weight: 1, scale: 1-5", "weight: 5, scale: 1-5"))
    again = ask(db, "bob", "/qa show 1")["data"]["review"]
    assert (again["rubric_version"], again["score"]) == (1, pytest.approx(1.0))
    assert ask(db, "bob", "/qa @alice T-78 accuracy=2 tone=1 policy=pass")["data"]["review"]["rubric_version"] == 2
