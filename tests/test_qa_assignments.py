"""The weekly QA sample through `csbot tick`, the router and the outbox: assigned once, queued, skipped, reviewed, rolled over, lapsed."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from bot.dispatch import run_action, run_command
from bot.slack.notifier import SlackNotifier
from bot.tick import run_tick
from coaching.models import QaAssignment
from handlers.registry import build_router
from kpi.definitions import METRIC_NAMES
from kpi.tickets import Ticket
from store.database import Database
from store.org import Member, Team
from store.org_file import apply_org, parse_org
from tests.fake_slack import FakeSlack

ROUTER = build_router()
MONDAY = datetime(2026, 12, 7, 8, 0, tzinfo=timezone.utc)  # 09:00 in Berlin, ISO week 2026-W50
ORG = """
org: {name: Acme Support, timezone: UTC}
teams:
  - {key: emea, name: Support EMEA, timezone: Europe/Berlin}
  - {key: amer, name: Support Americas, timezone: America/New_York}
members:
  - {handle: alice, name: Alice Smith, team: emea, role: agent, slack_id: UALICE}
  - {handle: erin, name: Erin Wu, team: emea, role: agent, slack_id: UERIN}
  - {handle: bob, name: Bob Jones, team: emea, role: lead, slack_id: UBOB}
  - {handle: carol, name: Carol Diaz, team: amer, role: agent, slack_id: UCAROL}
  - {handle: gwen, name: Gwen Ito, team: amer, role: lead, slack_id: UGWEN}
  - {handle: dana, name: Dana Lee, team: amer, role: manager}
  - {handle: max, name: Max Moe, role: manager}
  - {handle: root, name: Riley Admin, role: admin}
qa:
  pass: 0.8
  rubric:
    - {key: accuracy, name: Accuracy, weight: 3, scale: 0-2}
    - {key: tone, name: Tone, weight: 1, scale: 1-5}
  sampling:
    default: {per_agent: 2, weights: {low_csat: 3}}
REVIEWERS"""


def setup(db: Database, reviewers: str = "") -> None:
    with db.sessions() as s, s.begin():
        apply_org(s, parse_org(ORG.replace("REVIEWERS", reviewers), METRIC_NAMES), now=MONDAY - timedelta(days=14))


def solve(db: Database, week_start: datetime, per_agent: int = 3) -> None:
    """Tickets alice and erin solved in the week from `week_start` (and one of carol's, another team's)."""
    with db.sessions() as s, s.begin():
        team = {t.key: t.id for t in s.scalars(select(Team))}
        people = {m.handle: m.id for m in s.scalars(select(Member))}
        n = int(week_start.timestamp()) // 3600
        for handle, key in (("alice", "emea"), ("erin", "emea"), ("carol", "amer")):
            for i in range(per_agent):
                n += 1
                created = week_start + timedelta(days=1, hours=i)
                s.add(Ticket(source="hd", external_id=str(n), team_id=team[key], agent_id=people[handle], status="solved", created_at=created, solved_at=created + timedelta(hours=2), replies=3, csat="bad" if i == 0 else "good"))


def ask(db: Database, handle: str, text: str, at: datetime = MONDAY) -> dict:  # type: ignore[type-arg]
    reply = run_command(db, ROUTER, handle, text, now=at, platform="console")
    return {"ok": reply.ok, "data": reply.data, "code": reply.error.code if reply.error else None, "error": reply.error.message if reply.error else None, "reply": reply}


def click(db: Database, handle: str, action: str, value: str, at: datetime = MONDAY) -> dict:  # type: ignore[type-arg]
    reply = run_action(db, ROUTER, handle, action, value, now=at, platform="slack")
    return {"ok": reply.ok, "data": reply.data, "code": reply.error.code if reply.error else None, "error": reply.error.message if reply.error else None, "reply": reply}


def assignments(db: Database) -> list[tuple[str, str, str, str | None]]:
    with db.sessions() as s:
        handles = {m.id: m.handle for m in s.scalars(select(Member))}
        return [(a.week, a.ticket, a.state, handles[a.reviewer_id]) for a in s.scalars(select(QaAssignment).order_by(QaAssignment.id))]


async def test_the_weekly_job_assigns_once_and_each_reviewer_hears_once(db: Database, slack: tuple[FakeSlack, SlackNotifier]) -> None:
    fake, notifier = slack
    setup(db)
    solve(db, MONDAY - timedelta(days=7, hours=8))
    early = await run_tick(db, [notifier], MONDAY - timedelta(minutes=1), only="qa")
    assert early.planned == 0 and assignments(db) == []
    first = await run_tick(db, [notifier], MONDAY, only="qa")
    stored = assignments(db)
    # emea: two of alice's and two of erin's, all for bob (the lead); amer waits for Monday 09:00 in New York.
    assert sorted(r for _, _, _, r in stored) == ["bob"] * 4
    assert {w for w, _, _, _ in stored} == {"2026-W50"}
    sent = sorted(o.recipient for o in first.outcomes if o.status == "sent")
    assert sent == ["slack:user:UBOB"]
    new_york = await run_tick(db, [notifier], MONDAY + timedelta(hours=6), only="qa")
    assert [o.recipient for o in new_york.outcomes if o.status == "sent"] == ["slack:user:UGWEN"]
    stored = assignments(db)
    assert sorted(r for _, _, _, r in stored) == ["bob"] * 4 + ["gwen"] * 2
    dm = next(c.args for c in fake.of("chat.postMessage") if c.args["channel"] == "UBOB" or c.args.get("channel", "").startswith("D"))
    assert "4 tickets of Support EMEA" in json.dumps(dm)
    # Again, and later that week: nothing twice.
    for at in (MONDAY, MONDAY + timedelta(hours=1), MONDAY + timedelta(days=2)):
        again = await run_tick(db, [notifier], at, only="qa")
        assert again.planned == 0 and not [o for o in again.outcomes if o.status == "sent" and o.recipient == "slack:user:UBOB"]
    assert assignments(db) == stored


async def test_a_tick_missed_on_monday_is_caught_up_that_week(db: Database, slack: tuple[FakeSlack, SlackNotifier]) -> None:
    _, notifier = slack
    setup(db)
    solve(db, MONDAY - timedelta(days=7, hours=8))
    report = await run_tick(db, [notifier], MONDAY + timedelta(days=3), only="qa")
    assert len(assignments(db)) == 6
    assert sorted(o.recipient for o in report.outcomes if o.status == "sent") == ["slack:user:UBOB", "slack:user:UGWEN"]


async def test_queue_review_button_skip_and_the_review_marks_it_done(db: Database, slack: tuple[FakeSlack, SlackNotifier]) -> None:
    _, notifier = slack
    setup(db)
    assert ask(db, "bob", "/qa queue")["data"]["assignments"] == []
    assert "Nothing is assigned to you" in json.dumps(ask(db, "bob", "/qa queue")["reply"].to_neutral())
    solve(db, MONDAY - timedelta(days=7, hours=8))
    await run_tick(db, [notifier], MONDAY, only="qa")
    queue = ask(db, "bob", "/qa queue")
    assert queue["ok"] and len(queue["data"]["assignments"]) == 4
    first, second = queue["data"]["assignments"][:2]
    assert "Sun 13 Dec" in json.dumps(queue["reply"].to_neutral())  # due by the end of the week, in bob's zone
    # Review opens the rubric form for the agent's ticket, as /qa @agent TICKET does.
    button = next(b for block in queue["reply"].blocks if hasattr(block, "buttons") for b in block.buttons)
    form = click(db, "bob", button.action_id, button.value)["reply"].form
    assert form is not None and json.loads(form.context) == {"agent": first["agent"], "ticket": first["ticket"]}
    saved = click(db, "bob", "qa.review_form", json.dumps({"context": form.context, "values": {"accuracy": "2", "tone": "4"}}))
    assert saved["ok"], saved
    # Skipped, with why; a second skip changes nothing and says so.
    skipped = ask(db, "bob", f"/qa skip {second['id']} -- spam ticket")
    assert skipped["ok"] and skipped["data"]["state"] == "skipped"
    assert ask(db, "bob", f"/qa skip {second['id']} -- again")["code"] == "invalid"
    assert ask(db, "bob", "/qa skip 1")["code"] == "usage"  # a reason is required
    left = [a["id"] for a in ask(db, "bob", "/qa queue")["data"]["assignments"]]
    assert first["id"] not in left and second["id"] not in left and len(left) == 2
    with db.sessions() as s:
        done = s.get(QaAssignment, first["id"])
        gone = s.get(QaAssignment, second["id"])
        assert done is not None and done.state == "done" and done.review_id is not None
        assert gone is not None and gone.reason == "spam ticket"


async def test_unfinished_assignments_roll_over_once_then_the_lead_hears(db: Database, slack: tuple[FakeSlack, SlackNotifier]) -> None:
    fake, notifier = slack
    setup(db)
    solve(db, MONDAY - timedelta(days=7, hours=8))
    await run_tick(db, [notifier], MONDAY, only="qa")
    week1 = ask(db, "bob", "/qa queue")["data"]["assignments"]
    # One reviewed during the week; three are not.
    assert ask(db, "bob", f"/qa @{week1[0]['agent']} {week1[0]['ticket']} accuracy=2 tone=5")["ok"]
    next_monday = MONDAY + timedelta(days=7)
    await run_tick(db, [notifier], next_monday, only="qa")  # no tickets solved last week: only the roll-over
    week2 = ask(db, "bob", "/qa queue", at=next_monday)["data"]["assignments"]
    assert sorted(a["ticket"] for a in week2) == sorted(a["ticket"] for a in week1[1:])
    assert all(a["rolled_over"] and a["week"] == "2026-W51" for a in week2)
    # A week later, still not done: they leave the queue and bob hears which.
    third = next_monday + timedelta(days=7)
    report = await run_tick(db, [notifier], third, only="qa")
    assert ask(db, "bob", "/qa queue", at=third)["data"]["assignments"] == []
    lapsed = [o for o in report.outcomes if o.kind == "qa_lapsed" and o.status == "sent"]
    assert [o.recipient for o in lapsed] == ["slack:user:UBOB"]
    text = json.dumps(fake.of("chat.postMessage")[-1].args)
    assert all(a["ticket"] in text for a in week1[1:]) and "rolled over" in text
    states = sorted(state for _, _, state, _ in assignments(db))
    assert states == ["done"] + ["lapsed"] * 3 + ["rolled"] * 3  # each tick was before Monday 09:00 in New York: amer has none
    again = await run_tick(db, [notifier], third + timedelta(hours=1), only="qa")
    assert not [o for o in again.outcomes if o.kind == "qa_lapsed" and o.status == "sent"]


async def test_peer_reviewers_take_turns_never_their_own_and_may_review_what_they_are_given(db: Database, slack: tuple[FakeSlack, SlackNotifier]) -> None:
    _, notifier = slack
    setup(db, "    emea: {reviewers: [alice, erin]}\n")
    solve(db, MONDAY - timedelta(days=7, hours=8))
    await run_tick(db, [notifier], MONDAY, only="qa")
    mine = ask(db, "alice", "/qa queue")["data"]["assignments"]
    assert mine and all(a["agent"] == "erin" for a in mine)
    assert all(a["agent"] == "alice" for a in ask(db, "erin", "/qa queue")["data"]["assignments"])
    # alice does not look after erin, but this ticket was given to her.
    assert ask(db, "alice", f"/qa @erin {mine[0]['ticket']} accuracy=1 tone=3")["ok"]
    assert ask(db, "alice", "/qa @erin T-999 accuracy=1 tone=3")["code"] == "forbidden"


async def test_who_sees_which_queue(db: Database, slack: tuple[FakeSlack, SlackNotifier]) -> None:
    _, notifier = slack
    setup(db, "    emea: {reviewers: [alice, erin]}\n")
    solve(db, MONDAY - timedelta(days=7, hours=8))
    await run_tick(db, [notifier], MONDAY + timedelta(days=1), only="qa")
    cases = {
        ("alice", "/qa queue"): True,
        ("erin", "/qa queue @alice"): False,  # a peer
        ("carol", "/qa queue @alice"): False,
        ("bob", "/qa queue @alice"): True,  # her lead
        ("gwen", "/qa queue @alice"): False,  # another team's lead
        ("dana", "/qa queue @alice"): False,  # another team's manager
        ("max", "/qa queue @alice"): True,  # a manager over every team
        ("root", "/qa queue @alice"): True,
        ("alice", "/qa queue emea"): False,
        ("bob", "/qa queue emea"): True,
        ("gwen", "/qa queue emea"): False,
        ("gwen", "/qa queue amer"): True,
        ("max", "/qa queue emea"): True,
        ("root", "/qa queue emea"): True,
    }
    for (who, text), allowed in cases.items():
        out = ask(db, who, text, at=MONDAY + timedelta(days=1))
        assert out["ok"] is allowed, (who, text, out)
        if not allowed:
            assert out["code"] == "forbidden"
    team = ask(db, "bob", "/qa queue emea", at=MONDAY + timedelta(days=1))["data"]["assignments"]
    assert len(team) == 4
    # Skipping or opening another's assignment: only its reviewer and those over the team.
    erins = next(a for a in team if a["reviewer"] == "erin")
    assert ask(db, "alice", f"/qa skip {erins['id']} -- not mine")["code"] == "not_found"
    assert ask(db, "gwen", f"/qa skip {erins['id']} -- not mine")["code"] == "not_found"
    assert click(db, "alice", "qa.queue_review", json.dumps({"id": erins["id"]}))["code"] == "not_found"
    assert ask(db, "bob", f"/qa skip {erins['id']} -- duplicate of another", at=MONDAY + timedelta(days=1))["ok"]


async def test_qa_coverage_is_the_share_of_the_sample_reviewed(db: Database, slack: tuple[FakeSlack, SlackNotifier]) -> None:
    _, notifier = slack
    setup(db)
    solve(db, MONDAY - timedelta(days=7, hours=8))
    await run_tick(db, [notifier], MONDAY, only="qa")
    first, second = ask(db, "bob", "/qa queue")["data"]["assignments"][:2]
    assert click(db, "bob", "qa.review_form", json.dumps({"context": json.dumps({"agent": first["agent"], "ticket": first["ticket"]}), "values": {"accuracy": "2", "tone": "4"}}))["ok"]
    assert ask(db, "bob", f"/qa skip {second['id']} -- spam ticket")["ok"]
    later = MONDAY + timedelta(days=14)
    # Four assigned, one given back: of the three due that week, one reviewed.
    team = ask(db, "bob", "/kpi team emea 2026-12-01..2026-12-20", later)["data"]["metrics"]
    assert (team["qa_assigned"], team["qa_coverage"]) == (3, pytest.approx(1 / 3))
    rows = {r["agent"]: r["metrics"] for r in ask(db, "bob", "/kpi agents emea 2026-12-01..2026-12-20", later)["data"]["rows"]}
    assert sum(m["qa_assigned"] for m in rows.values()) == 3
    reviewed = rows[first["agent"]]
    assert reviewed["qa_coverage"] == pytest.approx(1 / reviewed["qa_assigned"])
    # The week before, when the tickets were solved, nothing was due: no figure rather than 0%.
    before = ask(db, "bob", "/kpi team emea 2026-11-30..2026-12-06", later)
    assert before["ok"], before
    assert before["data"]["metrics"]["qa_coverage"] is None
    # An agent does not see the pooled figure.
    assert ask(db, "alice", "/kpi team emea 2026-12-01..2026-12-20", later)["data"]["metrics"]["qa_coverage"] is None
