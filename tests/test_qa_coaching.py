"""From a QA score to coaching: the Start coaching button on a failing review, the session form it opens
pre-filled, the session citing the review in /coach history, the follow-up's QA score before and since;
/qa trend per category checked against the reviews; a dispute's proposal wherever the review shows; and
the privacy of each in the matrix of tests.test_coaching_privacy."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from bot.dispatch import run_action, run_command
from bot.slack.notifier import SlackNotifier
from bot.tick import run_tick
from coaching.export import rows
from handlers.registry import build_router
from handlers.reply import Actions, Chart, Table
from kpi.definitions import METRIC_NAMES
from store.database import Database
from store.org import Member
from store.org_file import apply_org, parse_org
from tests.fake_slack import FakeSlack
from tests.test_coaching_privacy import VIEWERS, org_text
from tests.test_qa import T0, setup

ROUTER = build_router()
# Rubric (tests.test_qa.QA): accuracy 0-2 critical weight 3, tone 1-5 weight 1, policy pass-fail weight 2; pass 0.8.
PASSING = "accuracy=2 tone=4 policy=pass"  # 0.958
BELOW_PASS = "accuracy=1 tone=1 policy=pass"  # (1.5 + 0 + 2) / 6 = 0.583, no critical failed
CRITICAL = "accuracy=0 tone=5 policy=pass"  # accuracy below half its range: 0


def ask(db: Database, handle: str, text: str, at: datetime = T0) -> dict:  # type: ignore[type-arg]
    reply = run_command(db, ROUTER, handle, text, now=at, platform="console")
    return {"ok": reply.ok, "data": reply.data, "code": reply.error.code if reply.error else None, "error": reply.error.message if reply.error else None, "reply": reply}


def click(db: Database, handle: str, action: str, value: str, at: datetime = T0) -> dict:  # type: ignore[type-arg]
    reply = run_action(db, ROUTER, handle, action, value, now=at, platform="slack")
    return {"ok": reply.ok, "data": reply.data, "code": reply.error.code if reply.error else None, "error": reply.error.message if reply.error else None, "reply": reply}


def buttons(reply: object) -> list[str]:
    return [b.action_id for block in reply.blocks if isinstance(block, Actions) for b in block.buttons]  # type: ignore[attr-defined]


def test_start_coaching_is_offered_only_for_a_failing_review(db: Database) -> None:
    setup(db)
    passing = ask(db, "bob", f"/qa @alice T-1 {PASSING}")
    below = ask(db, "bob", f"/qa @alice T-2 {BELOW_PASS} -- rushed")
    critical = ask(db, "bob", f"/qa @alice T-3 {CRITICAL}")
    assert passing["data"]["review"]["passed"] is True and "qa.coach" not in buttons(passing["reply"])
    assert passing["data"]["coaching_offered"] is False
    for out in (below, critical):
        assert out["ok"], out["error"]
        assert out["data"]["review"]["passed"] is False and out["data"]["coaching_offered"] is True
        assert "qa.coach" in buttons(out["reply"])
    # /qa show offers it too, but only to whoever may coach alice (never to alice herself).
    number = below["data"]["review"]["id"]
    assert "qa.coach" in buttons(ask(db, "bob", f"/qa show {number}")["reply"])
    shown = ask(db, "alice", f"/qa show {number}")
    assert shown["ok"] and "qa.coach" not in buttons(shown["reply"]) and shown["data"]["coaching_offered"] is False


def test_the_button_opens_the_session_form_pre_filled_and_the_session_cites_the_review(db: Database) -> None:
    setup(db)
    review = ask(db, "bob", f"/qa @alice T-7 {CRITICAL} -- wrong refund amount")["data"]["review"]
    with_comment = ask(db, "bob", f"/qa @alice T-8 {BELOW_PASS}")["data"]["review"]
    opened = click(db, "bob", "qa.coach", json.dumps({"id": review["id"]}))
    assert opened["ok"], opened["error"]
    form = opened["reply"].form
    assert form is not None and form.action_id == "coach.session_form" and json.loads(form.context) == {"agent": "alice"}
    prefilled = next(f.initial for f in form.fields if f.name == "opportunities")
    assert f"review {review['id']} (T-7)" in prefilled and "0.0%" in prefilled and "critical failed: Accuracy" in prefilled
    assert "- Accuracy: 0 of 0-2" in prefilled and "wrong refund amount" in prefilled
    assert "Tone" not in prefilled  # 5 of 1-5 is not low
    below = next(f.initial for f in click(db, "bob", "qa.coach", json.dumps({"id": with_comment["id"]}))["reply"].form.fields if f.name == "opportunities")
    assert "58.3%, below the pass mark of 80.0%" in below and "- Accuracy: 1 of 0-2" not in below and "- Tone: 1 of 1-5" in below
    # Submitting the form as it came records a session citing the review.
    values = {f.name: f.initial for f in form.fields}
    saved = click(db, "bob", "coach.session_form", json.dumps({"context": form.context, "values": values}))
    assert saved["ok"], saved["error"]
    assert saved["data"]["session"]["opportunities"] == prefilled
    # /coach history shows the review with the session citing it; a note can cite one too.
    note = ask(db, "bob", f"/coach @alice talked through review {with_comment['id']} and Review #{review['id']}")["data"]["note"]
    history = ask(db, "bob", "/coach history @alice", T0 + timedelta(minutes=1))
    cited = {c["id"]: c["cited_by"] for c in history["data"]["cited_reviews"]}
    assert cited == {review["id"]: [f"note {note['id']}", f"session {saved['data']['session']['id']}"], with_comment["id"]: [f"note {note['id']}"]}
    text = "\n".join(str(b) for b in history["reply"].blocks)
    assert f"Review {review['id']} · T-7" in text and "0.0% did not pass" in text
    # A number naming another agent's review is just words.
    carol = ask(db, "root", f"/qa @carol T-9 {PASSING}")["data"]["review"]["id"]
    ask(db, "bob", f"/coach @alice compare review {carol}")
    assert carol not in {c["id"] for c in ask(db, "bob", "/coach history @alice", T0 + timedelta(minutes=2))["data"]["cited_reviews"]}


def test_the_button_is_for_those_who_may_coach_the_agent(db: Database) -> None:
    setup(db)
    number = ask(db, "bob", f"/qa @alice T-2 {BELOW_PASS}")["data"]["review"]["id"]
    value = json.dumps({"id": number})
    assert click(db, "bob", "qa.coach", value)["ok"]
    assert click(db, "root", "qa.coach", value)["ok"]
    assert click(db, "alice", "qa.coach", value)["code"] == "forbidden"  # nobody coaches themselves
    assert click(db, "carol", "qa.coach", value)["code"] == "not_found"  # another team's agent: no such review for her
    assert click(db, "dana", "qa.coach", value)["code"] == "not_found"  # another team's manager
    assert click(db, "bob", "qa.coach", json.dumps({"id": 9999}))["code"] == "not_found"
    assert click(db, "bob", "qa.coach", "{nonsense")["code"] == "usage"


def test_privacy_of_the_offer_and_the_cited_reviews_in_the_matrix(db: Database) -> None:
    with db.sessions() as s, s.begin():
        apply_org(s, parse_org(org_text(), METRIC_NAMES), now=T0)
    number = ask(db, "bob", "/qa @alice T-4242 accuracy=0 tone=1 -- CITEDMARK")["data"]["review"]["id"]
    ask(db, "bob", f'/coach session @alice opportunities="see review {number}" follow_up=14d')
    may_coach, sees = {"bob", "meg", "mia", "root"}, {"alice", "bob", "meg", "mia", "root"}
    later = T0 + timedelta(minutes=5)
    for viewer in VIEWERS:
        clicked = click(db, viewer, "qa.coach", json.dumps({"id": number}), later)
        assert clicked["ok"] == (viewer in may_coach), (viewer, clicked)
        if viewer not in may_coach:
            assert clicked["code"] == ("forbidden" if viewer == "alice" else "not_found"), viewer
        shown = ask(db, viewer, f"/qa show {number}", later)
        assert (shown["ok"] and "qa.coach" in buttons(shown["reply"])) == (viewer in may_coach), viewer
        history = ask(db, viewer, "/coach history @alice", later)
        if viewer in sees:
            assert [c["id"] for c in history["data"]["cited_reviews"]] == [number], viewer
        else:
            assert history["code"] == "forbidden" and "T-4242" not in json.dumps(history["data"] or {}), viewer


async def test_the_follow_up_of_a_session_citing_a_review_shows_qa_before_and_since(db: Database, slack: tuple[FakeSlack, SlackNotifier]) -> None:
    fake, notifier = slack
    setup(db)
    # Before the session (in the 14 days before it): two reviews, 0.583 and 0.0 (critical failed).
    first = ask(db, "bob", f"/qa @alice T-1 {BELOW_PASS}", T0 - timedelta(days=10))["data"]["review"]
    ask(db, "bob", f"/qa @alice T-2 {CRITICAL}", T0 - timedelta(days=3))
    ask(db, "bob", f"/qa @alice T-0 {PASSING}", T0 - timedelta(days=20))  # outside the equal span before: not counted
    session = ask(db, "bob", f'/coach session @alice opportunities="accuracy, see review {first["id"]}" follow_up=2026-12-15')["data"]["session"]
    # Since: three reviews, 0.958, 1.0 and 0.583.
    ask(db, "bob", f"/qa @alice T-3 {PASSING}", T0 + timedelta(days=2))
    ask(db, "bob", "/qa @alice T-4 accuracy=2 tone=5 policy=pass", T0 + timedelta(days=5))
    ask(db, "bob", f"/qa @alice T-5 {BELOW_PASS}", T0 + timedelta(days=9))
    ask(db, "bob", f"/qa @alice T-6 {PASSING}", datetime(2026, 12, 15, 8, 30, tzinfo=timezone.utc))  # after the reminder: not counted
    nine = datetime(2026, 12, 15, 8, 0, tzinfo=timezone.utc)  # 09:00 in Berlin
    report = await run_tick(db, [notifier], nine, only="coaching")
    assert sorted(o.recipient for o in report.outcomes if o.kind == "coach_followup" and o.status == "sent") == ["slack:user:U0123ABCD", "slack:user:U0123ABCE"]
    reminder = json.dumps(next(c.args for c in fake.of("chat.postMessage") if c.args["channel"] == "D0123ABCE" and "Follow-up" in json.dumps(c.args)))
    before = (3.5 / 6 + 0.0) / 2
    since = (5.75 / 6 + 1.0 + 3.5 / 6) / 3
    assert f"QA since the session: {since * 100:.1f}% (n=3), against {before * 100:.1f}% (n=2) before" in reminder
    assert f"{(since - before) * 100:+.1f} points" in reminder and f"review {first['id']} (T-1)" in reminder
    assert f"coaching session {session['id']}" in reminder


async def test_a_follow_up_without_a_cited_review_has_no_qa_line(db: Database, slack: tuple[FakeSlack, SlackNotifier]) -> None:
    fake, notifier = slack
    setup(db)
    ask(db, "bob", f"/qa @alice T-1 {BELOW_PASS}", T0 - timedelta(days=1))
    ask(db, "bob", '/coach session @alice opportunities="long holds" follow_up=2026-12-15')
    await run_tick(db, [notifier], datetime(2026, 12, 15, 8, 0, tzinfo=timezone.utc), only="coaching")
    reminder = json.dumps(next(c.args for c in fake.of("chat.postMessage") if c.args["channel"] == "D0123ABCE" and "Follow-up" in json.dumps(c.args)))
    assert "Did it work?" in reminder and "QA since the session" not in reminder


# ---------------------------------------------------------------- /qa trend


def test_qa_trend_per_category_by_week_checked_against_the_reviews(db: Database) -> None:
    setup(db)
    # T0 is Tuesday 2026-12-01. Each review: (days from T0, accuracy 0-2, tone 1-5, policy pass-fail).
    given = [(-1, 2, 5, "pass"), (-2, 1, 3, "fail"), (-8, 2, 1, "pass"), (-8, 0, 5, "na"), (-100, 2, 5, "pass")]
    for n, (days, accuracy, tone, policy) in enumerate(given):
        assert ask(db, "bob", f"/qa @alice T-{n} accuracy={accuracy} tone={tone} policy={policy}", T0 + timedelta(days=days))["ok"]
    out = ask(db, "alice", "/qa trend @alice")
    assert out["ok"], out["error"]
    data = out["data"]
    assert data["reviews"] == 4  # the one 100 days ago is outside 90d
    weeks = {w["week"]: w for w in data["weeks"] if w["score"]["n"]}
    assert set(weeks) == {"2026-11-23", "2026-11-30"}  # Mondays, in alice's zone

    def result(accuracy: int, tone: int, policy: str) -> float:
        if accuracy == 0:
            return 0.0  # a critical category below half its range
        parts = [(3, accuracy / 2), (1, (tone - 1) / 4)] + ([] if policy == "na" else [(2, 1.0 if policy == "pass" else 0.0)])
        return sum(w * f for w, f in parts) / sum(w for w, _ in parts)

    this_week, last_week = [g for g in given if g[0] in (-1,)], [g for g in given if g[0] in (-2, -8)]
    # -2 days is Sunday 2026-11-29: last week, with the two of 2026-11-23.
    assert weeks["2026-11-30"]["score"] == {"score": pytest.approx(result(*this_week[0][1:])), "n": 1}
    assert weeks["2026-11-23"]["score"]["n"] == 3
    assert weeks["2026-11-23"]["score"]["score"] == pytest.approx(sum(result(*g[1:]) for g in last_week) / 3)
    cats = weeks["2026-11-23"]["categories"]
    assert cats["accuracy"] == {"score": pytest.approx((0.5 + 1 + 0) / 3), "n": 3}
    assert cats["tone"] == {"score": pytest.approx((0.5 + 0 + 1) / 3), "n": 3}
    assert cats["policy"] == {"score": pytest.approx(0.5), "n": 2}  # na left out, not a zero
    assert data["categories"]["policy"] == {"score": pytest.approx(2 / 3), "n": 3}
    blocks = out["reply"].blocks
    assert any(isinstance(b, Chart) and b.png.startswith(b"\x89PNG") for b in blocks)
    table = next(b for b in blocks if isinstance(b, Table))
    assert table.columns == ("Week of", "Reviews", "Score", "Accuracy", "Tone", "Policy followed")
    assert [r[:2] for r in table.rows] == [("2026-11-23", "3"), ("2026-11-30", "1")]
    assert table.rows[0][5] == "50.0% (n=2)"
    # A shorter window; nothing at all; bad windows and usage.
    assert ask(db, "bob", "/qa trend @alice 7d")["data"]["reviews"] == 2
    empty = ask(db, "bob", "/qa trend @alice", T0 + timedelta(days=200))
    assert empty["ok"] and empty["data"]["reviews"] == 0 and "No QA reviews" in str(empty["reply"].blocks[0])
    assert ask(db, "bob", "/qa trend @alice fortnightish")["code"] == "usage"
    assert "/qa trend @agent" in ask(db, "bob", "/qa trend")["error"]
    assert ask(db, "bob", "/qa trend @nobody")["code"] == "not_found"


def test_qa_trend_privacy_in_the_matrix(db: Database) -> None:
    with db.sessions() as s, s.begin():
        apply_org(s, parse_org(org_text(), METRIC_NAMES), now=T0)
    ask(db, "bob", "/qa @alice T-4242 accuracy=2 tone=4 -- TRENDMARK")
    allowed = {"alice", "bob", "meg", "mia", "root"}
    for viewer in VIEWERS:
        out = ask(db, viewer, "/qa trend @alice", T0 + timedelta(minutes=5))
        if viewer in allowed:
            assert out["ok"] and out["data"]["reviews"] == 1 and out["reply"].visibility == "ephemeral", viewer
        else:
            assert out["code"] == "forbidden" and not out["data"].get("weeks"), viewer
    # A lead is refused an agent of another team, and anyone a lead or manager's own trend (not an agent).
    assert ask(db, "lou", "/qa trend @alice")["code"] == "forbidden"
    assert ask(db, "root", "/qa trend @bob")["ok"]  # an admin looks after everyone's records
    assert ask(db, "meg", "/qa trend @bob")["code"] == "forbidden"


# ---------------------------------------------------------------- a dispute's proposal wherever the review is


def test_a_disputes_proposal_shows_wherever_the_review_does(db: Database) -> None:
    setup(db)
    number = ask(db, "bob", f"/qa @alice T-7 {CRITICAL}")["data"]["review"]["id"]
    assert ask(db, "alice", f"/qa dispute {number} the KB article says so accuracy=2")["ok"]
    ask(db, "bob", f'/coach session @alice opportunities="review {number}" follow_up=14d')
    proposing = "accuracy 0 → 2"
    # /qa show (as before), /coach history's cited reviews, the Start coaching form, the export.
    assert proposing in "\n".join(str(b) for b in ask(db, "bob", f"/qa show {number}")["reply"].blocks)
    history = ask(db, "bob", "/coach history @alice", T0 + timedelta(minutes=1))
    assert history["data"]["cited_reviews"][0]["proposed"] == {"accuracy": 2, "tone": 5, "policy": 1}
    assert f"disputed, proposing {proposing}" in "\n".join(str(b) for b in history["reply"].blocks)
    form = click(db, "bob", "qa.coach", json.dumps({"id": number}))["reply"].form
    prefilled = next(f.initial for f in form.fields if f.name == "opportunities")
    assert f"Disputed, proposing {proposing}" in prefilled and "the KB article says so" in prefilled
    with db.sessions() as s:
        bob = s.scalar(select(Member).where(Member.handle == "bob"))
        written = [r for r in rows(s, bob, T0 - timedelta(days=1), T0 + timedelta(days=1)) if r[0] == "qa_review"]
    assert len(written) == 1 and "Disputed: the KB article says so Proposed: accuracy 0 → 2." in str(written[0][9])
    # Once settled, the export says so and the proposal stays beside the scores it replaced.
    assert ask(db, "bob", f"/qa resolve {number} accepted")["ok"]
    with db.sessions() as s:
        bob = s.scalar(select(Member).where(Member.handle == "bob"))
        settled = next(r for r in rows(s, bob, T0 - timedelta(days=1), T0 + timedelta(days=1)) if r[0] == "qa_review")
    assert "Proposed: accuracy 0 → 2. Settled accepted." in str(settled[9])


async def test_the_disputed_message_to_the_lead_offers_start_coaching(db: Database, slack: tuple[FakeSlack, SlackNotifier]) -> None:
    fake, notifier = slack
    setup(db)
    failing = ask(db, "bob", f"/qa @alice T-7 {CRITICAL}")["data"]["review"]["id"]
    passing = ask(db, "bob", f"/qa @alice T-8 {PASSING}")["data"]["review"]["id"]
    assert ask(db, "alice", f"/qa dispute {failing} the KB article says so accuracy=2")["ok"]
    assert ask(db, "alice", f"/qa dispute {passing} tone was fine tone=5")["ok"]
    await run_tick(db, [notifier], T0 + timedelta(minutes=1), only="coaching")
    to_bob = [c.args for c in fake.of("chat.postMessage") if c.args["channel"] == "D0123ABCE" and "disputes this review" in json.dumps(c.args)]
    actions = {ticket: [e["action_id"] for m in to_bob if ticket in json.dumps(m) for b in m["blocks"] if b["type"] == "actions" for e in b["elements"]] for ticket in ("T-7", "T-8")}
    assert len(to_bob) == 2 and all(any(t in json.dumps(m) for m in to_bob) for t in ("T-7", "T-8"))
    assert actions == {"T-7": ["qa.coach"], "T-8": []}
    # alice's own messages never carry it.
    to_alice = [c.args for c in fake.of("chat.postMessage") if c.args["channel"] == "D0123ABCD"]
    assert to_alice and "qa.coach" not in json.dumps(to_alice)
