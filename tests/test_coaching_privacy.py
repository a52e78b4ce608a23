"""The coaching and QA privacy matrix: every command × every role × own team / other team / no team,
through the router, through Slack (signed slash commands, answers by response_url) and through Teams
(activities in a channel, answers in the 1:1 chat).

One agent, alice (support-emea), has a shared note, a private note, a session with an action item and a
QA review, all by her lead bob, and a calibration bob and meg take part in. Each viewer either sees
what the rules allow (coaching.visibility) or is refused the same way whether the record exists or not;
the private note's text never reaches anyone who does not look after alice.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from bot.dispatch import run_command
from coaching.export import rows
from handlers.registry import build_router
from kpi.definitions import METRIC_NAMES
from store.database import Database
from store.org import Member
from store.org_file import apply_org, parse_org
from tests import teams_env
from tests.slack_env import running_slack
from tests.teams_env import start_env

ROUTER = build_router()
T0 = datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)
SHARED, PRIVATE, SESSION, REVIEW = "SHAREDMARK well handled", "PRIVATEMARK watch the tone", "SESSIONMARK calm", "REVIEWMARK textbook"
EXTRA = """
  - {handle: abe, name: Abe Peer, team: support-emea, role: agent, slack_id: U0ABE, teams_id: aaaaaaaa-0000-4000-8000-00000000000a}
  - {handle: lou, name: Lou Lead, team: support-amer, role: lead, slack_id: U0LOU, teams_id: aaaaaaaa-0000-4000-8000-00000000000b}
  - {handle: meg, name: Meg Manager, team: support-emea, role: manager, slack_id: U0MEG, teams_id: aaaaaaaa-0000-4000-8000-00000000000c}
  - {handle: mia, name: Mia Manager, role: manager, slack_id: U0MIA, teams_id: aaaaaaaa-0000-4000-8000-00000000000d}
  - {handle: nat, name: Nat Loner, role: agent, slack_id: U0NAT, teams_id: aaaaaaaa-0000-4000-8000-00000000000e}
qa:
  pass: 0.8
  rubric:
    - {key: accuracy, name: Accuracy, weight: 3, scale: 0-2}
    - {key: tone, name: Tone, weight: 1, scale: 1-5}
"""
# Who sees what about alice, by the rules: the agent herself (not the private note), her team's lead and
# manager, a manager without a team, an admin. Nobody else: not a peer, another team, or someone without one.
VIEWERS = ("alice", "abe", "carol", "nat", "bob", "lou", "meg", "dana", "mia", "root")
SEES = {"alice", "bob", "meg", "mia", "root"}
SEES_PRIVATE = {"bob", "meg", "mia", "root"}
SUMMARY = {"bob", "meg", "mia", "root"}  # support-emea's coaching summary
CALIBRATION = {"bob", "meg", "root"}  # its reviewers, and admins
SLACK_IDS = {"alice": "U0123ABCD", "bob": "U0123ABCE", "carol": "U0123ABCF", "dana": "U0DANA", "root": "U0ROOT", "abe": "U0ABE", "lou": "U0LOU", "meg": "U0MEG", "mia": "U0MIA", "nat": "U0NAT"}


def org_text() -> str:
    text = (Path(__file__).parent / "fixtures" / "org.yaml").read_text()
    text = text.replace("    team: support-amer\n    role: manager\n", "    team: support-amer\n    role: manager\n    slack_id: U0DANA\n    teams_id: dddddddd-0000-4000-8000-00000000000d\n")
    text = text.replace("    role: admin\n", "    role: admin\n    slack_id: U0ROOT\n")
    return text.rstrip("\n") + "\n" + EXTRA.lstrip("\n")


def seed(db: Database) -> dict[str, int]:
    with db.sessions() as s, s.begin():
        apply_org(s, parse_org(org_text(), METRIC_NAMES), now=T0)
    ids = {
        "shared": ask(db, "bob", f"/coach @alice {SHARED} #tone")["data"]["note"]["id"],
        "private": ask(db, "bob", f"/coach @alice {PRIVATE} #tone --private")["data"]["note"]["id"],
    }
    held = ask(db, "bob", f'/coach session @alice strengths="{SESSION}" actions="follow up on refunds" follow_up=14d')["data"]["session"]
    ids["session"], ids["item"] = held["id"], held["actions"][0]["id"]
    ids["review"] = ask(db, "bob", f"/qa @alice T-4242 accuracy=2 tone=4 -- {REVIEW}")["data"]["review"]["id"]
    ids["calibration"] = ask(db, "bob", "/qa calibrate T-5151 @bob @meg")["data"]["calibration"]["id"]
    ask(db, "bob", f"/qa calibration {ids['calibration']} accuracy=1 tone=2")  # blind: meg has not scored
    return ids


def ask(db: Database, handle: str, text: str, at: datetime = T0) -> dict:  # type: ignore[type-arg]
    reply = run_command(db, ROUTER, handle, text, now=at, platform="console")
    body = json.dumps({"data": reply.data, "blocks": [str(b) for b in reply.blocks], "title": reply.title}, default=str)
    return {"ok": reply.ok, "data": reply.data, "code": reply.error.code if reply.error else None, "error": reply.error.message if reply.error else None, "body": body, "visibility": reply.visibility}


def test_every_command_for_every_role_through_the_router(db: Database) -> None:
    ids = seed(db)
    later = T0 + timedelta(minutes=5)
    for viewer in VIEWERS:
        history = ask(db, viewer, "/coach history @alice", later)
        if viewer in SEES:
            assert history["ok"], (viewer, history)
            assert SHARED in history["body"] and SESSION in history["body"], viewer
            assert (PRIVATE in history["body"]) == (viewer in SEES_PRIVATE), viewer
        else:
            assert history["code"] == "forbidden" and "alice" not in json.dumps(history["data"] or {}).lower(), viewer
        assert PRIVATE not in history["body"] or viewer in SEES_PRIVATE

        for command, number in (("/qa show", ids["review"]), ("/coach done", ids["item"]), ("/qa calibration", ids["calibration"])):
            allowed = CALIBRATION if command == "/qa calibration" else SEES
            got, missing = ask(db, viewer, f"{command} {number}", later), ask(db, viewer, f"{command} 9999", later)
            if viewer in allowed:
                assert got["ok"], (viewer, command, got)
            else:
                # The same refusal as for a number that does not exist: nothing is revealed.
                assert got["code"] == missing["code"] == "not_found", (viewer, command, got)
                assert got["error"].replace(str(number), "N") == missing["error"].replace("9999", "N"), (viewer, command)
        review = ask(db, viewer, f"/qa show {ids['review']}", later)
        assert (REVIEW in review["body"]) == (viewer in SEES), viewer

        actions = ask(db, viewer, "/coach actions @alice", later)
        assert actions["ok"] == (viewer in SEES), (viewer, actions)

        summary = ask(db, viewer, "/coach summary support-emea", later)
        assert summary["ok"] == (viewer in SUMMARY), (viewer, summary)
        if summary["ok"]:
            assert PRIVATE not in summary["body"] and SHARED not in summary["body"]  # counts, never texts
            assert [a["private_notes"] for a in summary["data"]["agents"] if a["agent"] == "alice"] == [1]
        mine = ask(db, viewer, "/coach summary", later)
        if mine["ok"]:
            assert ("alice" in [a["agent"] for a in mine["data"]["agents"]]) == (viewer in SEES_PRIVATE), viewer
        else:
            assert viewer not in SUMMARY - {"mia", "root"} or mine["code"] != "forbidden"

        audit = ask(db, viewer, "/coach audit @alice", later)
        assert audit["ok"] == (viewer == "root"), viewer

        kpi = ask(db, viewer, "/kpi agent @alice 7d", later)
        assert kpi["ok"] == (viewer in SEES), viewer
        if kpi["ok"]:
            assert kpi["data"]["metrics"]["qa_reviews"] == 1

        # Blind calibration: meg (a reviewer who has not scored) and root (an admin) do not see bob's scores.
        calibration = ask(db, viewer, f"/qa calibration {ids['calibration']}", later)
        if calibration["ok"]:
            assert calibration["data"]["calibration"]["scores"] is None
            assert (calibration["data"]["calibration"]["mine"] is not None) == (viewer == "bob")

        for text in ("/coach history @alice --share", "/qa show 1 --share", "/coach summary --share"):
            assert ask(db, viewer, text, later)["code"] == "usage", (viewer, text)
        for answer in (history, review, actions, summary):
            assert answer["visibility"] == "ephemeral"

    # The agent's own view: her shared note and session, never the private note.
    mine = ask(db, "alice", "/coach mine", later)
    assert SHARED in mine["body"] and SESSION in mine["body"] and PRIVATE not in mine["body"]


def test_the_export_follows_the_same_rules(db: Database) -> None:
    seed(db)
    with db.sessions() as s:
        people = {m.handle: m for m in s.query(Member)}
        for viewer in ("meg", "dana", "mia", "root"):
            found = list(rows(s, people[viewer], T0 - timedelta(days=1), T0 + timedelta(days=1)))[1:]
            kinds = sorted(str(r[0]) for r in found if r[3] == "alice")
            assert kinds == ([] if viewer == "dana" else ["note", "note", "qa_review", "session"]), viewer
            assert all(PRIVATE not in str(r) for r in found) or viewer in SEES_PRIVATE


async def test_slack_slash_commands_answer_privately_by_the_same_rules(db: Database) -> None:
    async with running_slack(db) as env:
        ids = seed(db)
        n = 0
        for viewer in VIEWERS:
            for text, marker, allowed in (
                ("history @alice", SHARED, SEES),
                ("history @alice", PRIVATE, SEES_PRIVATE),
                (f"show {ids['review']}", REVIEW, SEES),
            ):
                n += 1
                command = "/qa" if text.startswith("show") else "/coach"
                await env.command(command, text, user=SLACK_IDS[viewer], n=n)
                answer = (await env.wait_for("response_url", n))[n - 1].args
                assert answer.get("response_type", "ephemeral") == "ephemeral", (viewer, text)
                assert (marker in json.dumps(answer)) == (viewer in allowed), (viewer, text, marker)
        # Nothing was ever posted to a channel.
        assert not [c for c in env.slack.of("chat.postMessage") if str(c.args.get("channel", "")).startswith("C")]


@pytest.fixture
def teams_people(monkeypatch: pytest.MonkeyPatch) -> None:
    """The matrix's people as the Teams stand-ins know them."""
    extra = {"bob": "bbbbbbbb-0000-4000-8000-00000000000b", "abe": "aaaaaaaa-0000-4000-8000-00000000000a", "lou": "aaaaaaaa-0000-4000-8000-00000000000b",
             "meg": "aaaaaaaa-0000-4000-8000-00000000000c", "mia": "aaaaaaaa-0000-4000-8000-00000000000d", "nat": "aaaaaaaa-0000-4000-8000-00000000000e"}  # fmt: skip
    for handle, aad in extra.items():
        monkeypatch.setitem(teams_env.USERS, handle, {"id": f"29:1{handle}", "name": handle.title(), "aadObjectId": aad, "email": f"{handle}@example.com"})


async def test_teams_answers_go_to_the_one_to_one_chat_by_the_same_rules(db: Database, teams_people: None) -> None:
    env, runners = await start_env(db)
    try:
        text = org_text().replace("    role: lead\n    slack_id: U0123ABCE\n", "    role: lead\n    slack_id: U0123ABCE\n    teams_id: bbbbbbbb-0000-4000-8000-00000000000b\n")
        with db.sessions() as s, s.begin():
            apply_org(s, parse_org(text, METRIC_NAMES), now=T0)
        ids = seed(db)
        teams_viewers = [v for v in VIEWERS if v in teams_env.USERS]
        assert len(teams_viewers) >= 8
        for viewer in teams_viewers:
            # Asked in a 1:1 chat first, so csbot knows where to answer privately.
            await env.post(env.activity("csbot whoami", who=viewer, where="personal"))
            for asked, marker, allowed in (("coach history @alice", SHARED, SEES), ("coach history @alice", PRIVATE, SEES_PRIVATE), (f"qa show {ids['review']}", REVIEW, SEES)):
                before = len(env.connector.messages())
                await env.post(env.activity(asked, who=viewer, where="channel"))
                sent = env.connector.messages()[before:]
                in_channel = [m for m in sent if teams_env.CHANNEL in m.conversation_id]
                private = [m for m in sent if m.conversation_id == f"a:1personal-{viewer}" or teams_env.CHANNEL not in m.conversation_id]
                assert all(marker not in env.card_texts(m) for m in in_channel), (viewer, asked)  # never in front of the channel
                assert any(marker in env.card_texts(m) for m in private) == (viewer in allowed), (viewer, asked, marker)
        # A form asked for in a channel goes to the 1:1 chat too.
        before = len(env.connector.messages())
        await env.post(env.activity("qa @alice T-9", who="bob", where="channel"))
        sent = env.connector.messages()[before:]
        assert not any("QA review of T-9" in env.card_texts(m) for m in sent if teams_env.CHANNEL in m.conversation_id)
        assert any("QA review of T-9" in env.card_texts(m) for m in sent if teams_env.CHANNEL not in m.conversation_id)
    finally:
        for r in runners:
            await r.cleanup()
