"""A QA dispute's proposed scores, shown beside the original wherever the review is: `/qa show` (text, Slack,
Teams), its --json, `/qa disputes`, the reviewer's and lead's direct messages through the outbox (Slack and
Teams stand-ins); settling says what changes. Whoever may see the review sees the proposal, nobody else."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from bot.config import load_settings
from bot.render.slack import render_slack
from bot.render.teams import render_adaptive_card
from bot.render.text import render_text
from bot.slack.notifier import SlackNotifier
from bot.teams.app import make_adapter
from bot.teams.delivery import TeamsNotifier
from bot.tick import run_tick
from kpi.definitions import METRIC_NAMES
from store.clock import system_clock
from store.database import Database
from store.org_file import apply_org, parse_org
from tests import test_coaching_privacy as matrix
from tests.adaptive_cards import assert_valid
from tests.fake_slack import FakeSlack
from tests.teams_env import start_env
from tests.test_qa import T0, ask, click, setup

# bob's review of alice: accuracy 1 of 0-2 (weight 3), tone 4 of 1-5 (1), policy pass (2): (1.5 + 0.75 + 2) / 6.
REVIEW = "/qa @alice T-1 accuracy=1 tone=4 policy=pass -- the refund link was missing"
# alice proposes accuracy 2: (3 + 0.75 + 2) / 6 = 95.8%, and the review would pass (at 80%).
PROPOSAL = "accuracy 1 → 2, score 70.8% → 95.8%, would pass"


def disputed(db: Database, hide: bool = False) -> int:
    setup(db, hide=hide)
    number = ask(db, "bob", REVIEW)["data"]["review"]["id"]
    out = ask(db, "alice", f"/qa dispute {number} the link was in my macro accuracy=2", T0 + timedelta(hours=1))
    assert out["ok"], out["error"]
    return number


def test_show_json_and_every_render_put_the_proposal_beside_the_original(db: Database) -> None:
    number = disputed(db)
    shown = ask(db, "bob", f"/qa show {number}", T0 + timedelta(hours=2))
    reply = shown["reply"]
    # The table: each category's score, and beside it what alice proposes where she proposes a change.
    table = next(b for b in reply.to_neutral() if b["type"] == "table")
    assert table["columns"] == ["Category", "Score", "Proposed", "Comment"]
    assert table["rows"][0] == ["Accuracy", "1 of 0-2", "2 of 0-2", ""] and table["rows"][1][2] == ""
    text = render_text(reply)
    assert f"Proposed: {PROPOSAL}." in text and "2 of 0-2" in text
    slack = json.dumps(render_slack(reply), ensure_ascii=False)
    assert PROPOSAL in slack and "Proposed" in slack and "2 of 0-2" in slack
    cards = render_adaptive_card(reply)
    assert_valid(cards)
    assert PROPOSAL in json.dumps(cards, ensure_ascii=False) and "2 of 0-2" in json.dumps(cards, ensure_ascii=False)
    # --json: the proposal and what it would change, as data.
    dispute = shown["data"]["review"]["dispute"]
    assert dispute["proposed"] == {"accuracy": 2, "tone": 4, "policy": 1} and dispute["comment"] == "the link was in my macro"
    change = dispute["proposed_change"]
    assert change["categories"] == [{"category": "accuracy", "from": 1, "to": 2}]
    assert (change["score_before"], change["score_after"], change["passed_before"], change["passed_after"]) == (pytest.approx(4.25 / 6), pytest.approx(5.75 / 6), False, True)
    assert dispute["outcome"] is None and dispute["change"] is None
    # The agent sees her own proposal the same way.
    assert f"Proposed: {PROPOSAL}." in render_text(ask(db, "alice", f"/qa show {number}")["reply"])


def test_open_disputes_list_the_proposal(db: Database) -> None:
    number = disputed(db)
    listed = ask(db, "bob", "/qa disputes")
    table = next(b for b in listed["reply"].to_neutral() if b["type"] == "table")
    assert table["columns"] == ["Review", "Agent", "Ticket", "Disputed", "Result", "Proposed", "Comment"]
    assert table["rows"] == [[str(number), "Alice Smith", "T-1", "2026-12-01 12:00", "70.8% did not pass", PROPOSAL, "the link was in my macro"]]
    item = listed["data"]["disputes"][0]
    assert item["proposed"] == {"accuracy": 2, "tone": 4, "policy": 1} and item["proposed_change"]["categories"] == [{"category": "accuracy", "from": 1, "to": 2}]
    assert (item["score"], item["passed"]) == (pytest.approx(4.25 / 6), False)


def test_settling_says_what_changes(db: Database) -> None:
    number = disputed(db)
    accepted = ask(db, "bob", f"/qa resolve {number} accepted -- fair, the macro has it", T0 + timedelta(hours=3))
    assert accepted["ok"], accepted["error"]
    first = accepted["reply"].blocks[0].text
    assert first == f"Settled (accepted): accuracy 1 → 2, score 70.8% → 95.8%, now passes. The review is locked and Alice Smith is told."
    review = accepted["data"]["review"]
    assert review["dispute"]["change"]["categories"] == [{"category": "accuracy", "from": 1, "to": 2}] and review["dispute"]["scores_before"]["accuracy"] == 1
    # Afterwards the review shows its new scores beside those it had.
    table = next(b for b in ask(db, "alice", f"/qa show {number}")["reply"].to_neutral() if b["type"] == "table")
    assert table["columns"] == ["Category", "Score", "Before the dispute", "Comment"] and table["rows"][0][:3] == ["Accuracy", "2 of 0-2", "1 of 0-2"]

    # Partly accepted: what the lead gives, not what was proposed; rejected: nothing changes.
    setup(db)
    second = ask(db, "bob", "/qa @alice T-2 accuracy=1 tone=3 policy=pass")["data"]["review"]["id"]
    ask(db, "alice", f"/qa dispute {second} kinder than that accuracy=2 tone=5")
    partial = ask(db, "bob", f"/qa resolve {second} partial tone=5")
    assert partial["reply"].blocks[0].text.startswith("Settled (partial): tone 3 → 5, score 66.7% → 75.0%, still does not pass.")
    third = ask(db, "bob", "/qa @alice T-3 accuracy=1 tone=3 policy=pass")["data"]["review"]["id"]
    ask(db, "alice", f"/qa dispute {third} please look again tone=4")
    rejected = ask(db, "bob", f"/qa resolve {third} reject")
    assert rejected["reply"].blocks[0].text.startswith("Settled (rejected): the scores stay as they are.")
    assert "Proposed: tone 3 → 4, score 66.7% → 70.8%, would still not pass." in render_text(rejected["reply"])
    # A proposal that changes nothing is no proposal.
    fourth = ask(db, "bob", "/qa @alice T-4 accuracy=1 tone=3 policy=pass")["data"]["review"]["id"]
    same = ask(db, "alice", f"/qa dispute {fourth} it was fine tone=3")
    assert same["code"] == "invalid" and "the review's own" in same["error"]


def test_a_hidden_reviewer_stays_hidden_in_the_settlement(db: Database) -> None:
    number = disputed(db, hide=True)
    ask(db, "bob", f"/qa resolve {number} accepted")
    mine = ask(db, "alice", f"/qa show {number}")
    assert mine["data"]["review"]["reviewer"] is None and mine["data"]["review"]["dispute"]["settled_by"] is None
    assert "Bob" not in render_text(mine["reply"])
    assert ask(db, "bob", f"/qa show {number}")["data"]["review"]["dispute"]["settled_by"] == "bob"


async def test_the_reviewer_and_the_lead_are_told_the_proposal_and_the_agent_the_change(db: Database, slack: tuple[FakeSlack, SlackNotifier]) -> None:
    fake, notifier = slack
    with db.sessions() as s, s.begin():
        apply_org(s, parse_org(matrix.org_text(), METRIC_NAMES), now=T0)
    # root (an admin) reviews; bob is alice's lead: both hear of the dispute.
    number = ask(db, "root", "/qa @alice T-7 accuracy=1 tone=4")["data"]["review"]["id"]
    await run_tick(db, [notifier], T0, only="coaching")
    assert ask(db, "alice", f"/qa dispute {number} kind and right accuracy=2", T0 + timedelta(minutes=5))["ok"]
    report = await run_tick(db, [notifier], T0 + timedelta(minutes=6), only="coaching")
    told = sorted(o.recipient for o in report.outcomes if o.kind == "qa_dispute" and o.status == "sent")
    assert told == ["slack:user:U0123ABCE", "slack:user:U0ROOT"]
    for user in ("U0123ABCE", "U0ROOT"):
        dm = json.dumps([c.args for c in fake.of("chat.postMessage") if c.args["channel"] == f"D{user[1:]}"], ensure_ascii=False)
        # accuracy 1 of 0-2 and tone 4 of 1-5, weights 3 and 1: 56.25%; proposed accuracy 2: 93.75%.
        assert "disputes this review, proposing accuracy 1 → 2, score 56.2% → 93.8%, would pass" in dm, user
        assert "2 of 0-2" in dm and "Proposed" in dm
    assert ask(db, "bob", f"/qa resolve {number} accepted", T0 + timedelta(minutes=10))["ok"]
    await run_tick(db, [notifier], T0 + timedelta(minutes=11), only="coaching")
    to_alice = json.dumps([c.args for c in fake.of("chat.postMessage") if c.args["channel"] == "D0123ABCD"], ensure_ascii=False)
    assert "Your dispute is settled (accepted): accuracy 1 → 2, score 56.2% → 93.8%, now passes." in to_alice


async def test_the_lead_hears_of_the_proposal_in_teams(db: Database) -> None:
    env, runners = await start_env(db)
    try:
        # bob, the lead, is Teams' "dana" here (his Entra id).
        text = matrix.org_text().replace("    role: lead\n    slack_id: U0123ABCE\n", "    role: lead\n    slack_id: U0123ABCE\n    teams_id: dddddddd-0000-4000-8000-00000000000d\n")
        text = text.replace("    slack_id: U0DANA\n    teams_id: dddddddd-0000-4000-8000-00000000000d\n", "    slack_id: U0DANA\n")
        with db.sessions() as s, s.begin():
            apply_org(s, parse_org(text, METRIC_NAMES), now=T0)
        await env.post(env.activity("csbot whoami", who="dana", where="personal"))  # bob's 1:1 chat with csbot
        number = ask(db, "root", "/qa @alice T-8 accuracy=1 tone=4")["data"]["review"]["id"]
        assert ask(db, "alice", f"/qa dispute {number} kind and right accuracy=2")["ok"]
        settings = load_settings({"TEAMS_AUTH_DISABLED": "true"})
        assert settings.teams is not None
        teams = TeamsNotifier(make_adapter(settings.teams), settings.teams.app_id, db, system_clock)
        before = len(env.connector.messages())
        report = await run_tick(db, [teams], T0 + timedelta(minutes=1), only="coaching")
        assert ("qa_dispute", "sent") in {(o.kind, o.status) for o in report.outcomes if o.recipient.startswith("teams:")}
        sent = [m for m in env.connector.messages()[before:] if m.conversation_id == "a:1personal-dana"]
        assert sent and all(m.body.get("attachments") for m in sent)
        card = " ".join(env.card_texts(m) for m in sent)
        assert "proposing accuracy 1 → 2, score 56.2% → 93.8%, would pass" in card and "2 of 0-2" in card
        assert_valid([a["content"] for m in sent for a in m.body["attachments"]])
    finally:
        for r in runners:
            await r.cleanup()


def test_the_proposal_is_seen_by_whoever_may_see_the_review_and_nobody_else(db: Database) -> None:
    ids = matrix.seed(db)
    assert matrix.ask(db, "alice", f"/qa dispute {ids['review']} PROPOSALMARK tone=5")["ok"]
    later = T0 + timedelta(minutes=5)
    settles = {"bob", "meg", "mia", "root"}  # the reviewer, and whoever looks after alice
    for viewer in matrix.VIEWERS:
        shown = matrix.ask(db, viewer, f"/qa show {ids['review']}", later)
        proposed = (shown["data"].get("review") or {}).get("dispute") or {}
        assert (proposed.get("proposed") == {"accuracy": 2, "tone": 5}) == (viewer in matrix.SEES), viewer
        assert ("tone 4 \\u2192 5" in shown["body"]) == ("PROPOSALMARK" in shown["body"]) == (viewer in matrix.SEES), viewer
        listed = matrix.ask(db, viewer, "/qa disputes", later)
        assert ("tone 4 \\u2192 5" in listed["body"]) == (viewer in settles), viewer
        assert [d["proposed"] for d in listed["data"].get("disputes", [])] == ([{"accuracy": 2, "tone": 5}] if viewer in settles else []), viewer


def test_the_dispute_form_keeps_the_comment_and_shows_a_bad_proposal_under_its_field(db: Database) -> None:
    setup(db)
    number = ask(db, "bob", REVIEW)["data"]["review"]["id"]
    form = click(db, "alice", "qa.dispute", json.dumps({"id": number}))["reply"].form
    assert form is not None and "given: 1" in next(f.label for f in form.fields if f.name == "accuracy")
    values = {"comment": "the link was in my macro", "accuracy": "3", "tone": "", "policy": "pas"}
    bad = click(db, "alice", "qa.dispute_form", json.dumps({"context": form.context, "values": values}))
    assert bad["data"]["field_errors"] == {"accuracy": "accuracy: 3 is outside 0-2", "policy": "policy: 'pas' is not pass or fail — did you mean pass?"}
    good = click(db, "alice", "qa.dispute_form", json.dumps({"context": form.context, "values": {**values, "accuracy": "2", "policy": ""}}))
    assert good["ok"] and good["data"]["review"]["dispute"]["proposed_change"]["categories"] == [{"category": "accuracy", "from": 1, "to": 2}]
