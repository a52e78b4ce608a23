"""The QA review and coaching session forms as users meet them: a Slack modal from the slash command,
a Teams card in the 1:1 chat; problems go back to their fields, a good answer is saved once."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlencode

from sqlalchemy import func, select

from coaching.models import CoachingSession, QaReview
from kpi.definitions import METRIC_NAMES
from store.database import Database
from store.org_file import apply_org, parse_org
from tests.slack_env import Env, running_slack
from tests.teams_env import start_env
from tests.test_qa import QA
from tests.test_coaching_privacy import org_text


def with_rubric(db: Database) -> None:
    text = (Path(__file__).parent / "fixtures" / "org.yaml").read_text() + QA.replace("HIDE", "false")
    with db.sessions() as s, s.begin():
        apply_org(s, parse_org(text, METRIC_NAMES))


SUBMITTED = [0]


async def submit(env: Env, view: dict, values: dict[str, str], user: str = "U0123ABCE") -> tuple[int, str]:  # type: ignore[type-arg]
    SUBMITTED[0] += 1  # each submission is a new view state: Slack changes the hash
    submitted = {
        "id": "V0001", "hash": str(SUBMITTED[0]), "callback_id": view["callback_id"], "private_metadata": view["private_metadata"], "type": "modal",
        "state": {"values": {k: {"value": {"type": "plain_text_input", "value": v}} for k, v in values.items()}},
    }  # fmt: skip
    payload = {"type": "view_submission", "team": {"id": "T0001"}, "user": {"id": user}, "api_app_id": "A123456", "view": submitted}
    status, text, _ = await env.post(urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded")
    return status, text


def count(db: Database, model: type) -> int:
    with db.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


async def test_slack_modals_for_a_review_and_a_session(db: Database) -> None:
    async with running_slack(db) as env:
        with_rubric(db)
        await env.command("/qa", "@alice T-321", user="U0123ABCE")
        view = (await env.wait_for("views.open"))[0].args["view"]
        fields = [b["block_id"] for b in view["blocks"] if b["type"] == "input"]
        assert fields[:2] == ["accuracy", "accuracy_comment"] and "comment" in fields
        values = {"accuracy": "7", "accuracy_comment": "", "tone": "4", "tone_comment": "kind", "policy": "pass", "policy_comment": "", "comment": "ok"}
        status, text = await submit(env, view, values)
        assert status == 200 and "accuracy" in json.loads(text)["errors"] and count(db, QaReview) == 0
        values["accuracy"] = "2"
        status, text = await submit(env, view, values)
        assert status == 200 and text == "" and count(db, QaReview) == 1
        saved = (await env.wait_for("chat.postMessage"))[0].args
        assert saved["channel"] == "U0123ABCE" and "Review 1 saved" in json.dumps(saved)

        await env.command("/coach", "session @alice", user="U0123ABCE", n=2)
        view = (await env.wait_for("views.open", 2))[1].args["view"]
        assert [b["block_id"] for b in view["blocks"] if b["type"] == "input"] == ["strengths", "opportunities", "actions", "follow_up"]
        status, text = await submit(env, view, {"strengths": "calm", "opportunities": "", "actions": "read the policy", "follow_up": "2020-01-01"})
        assert status == 200 and "follow_up" in json.loads(text)["errors"] and count(db, CoachingSession) == 0
        status, text = await submit(env, view, {"strengths": "calm", "opportunities": "", "actions": "read the policy", "follow_up": "14d"})
        assert status == 200 and text == "" and count(db, CoachingSession) == 1
        # Nothing about alice went to a channel.
        assert not [c for c in env.slack.of("chat.postMessage") if str(c.args.get("channel", "")).startswith("C")]


async def test_teams_cards_for_a_review_and_a_session(db: Database) -> None:
    env, runners = await start_env(db)
    try:
        text = org_text().replace("    role: lead\n    slack_id: U0123ABCE\n", "    role: lead\n    slack_id: U0123ABCE\n    teams_id: dddddddd-0000-4000-8000-00000000000d\n")
        text = text.replace("    slack_id: U0DANA\n    teams_id: dddddddd-0000-4000-8000-00000000000d\n", "    slack_id: U0DANA\n")
        with db.sessions() as s, s.begin():
            apply_org(s, parse_org(text, METRIC_NAMES))
        # Teams' "dana" user is bob here (his Entra id); he asks in a channel, the card comes 1:1.
        await env.post(env.activity("csbot whoami", who="dana", where="personal"))
        before = len(env.connector.messages())
        await env.post(env.activity("qa @alice T-77", who="dana", where="channel"))
        card = next(m.body["attachments"][0]["content"] for m in env.connector.messages()[before:] if m.conversation_id == "a:1personal-dana" and m.body.get("attachments"))
        submit_data = card["actions"][0]["data"]
        assert submit_data["action_id"] == "qa.review_form"
        answer = {**submit_data, "accuracy": "2", "accuracy_comment": "", "tone": "9", "tone_comment": "", "comment": ""}
        await env.post(env.activity(None, who="dana", where="personal", value=answer))
        assert count(db, QaReview) == 0
        assert "tone" in env.card_texts(env.connector.messages()[-1])
        await env.post(env.activity(None, who="dana", where="personal", value={**answer, "tone": "4"}))
        assert count(db, QaReview) == 1, env.card_texts(env.connector.messages()[-1])

        before = len(env.connector.messages())
        await env.post(env.activity("coach session @alice", who="dana", where="personal"))
        card = next(m.body["attachments"][0]["content"] for m in env.connector.messages()[before:] if m.body.get("attachments"))
        data = card["actions"][0]["data"]
        assert data["action_id"] == "coach.session_form"
        await env.post(env.activity(None, who="dana", where="personal", value={**data, "strengths": "calm", "opportunities": "", "actions": "", "follow_up": "14d"}))
        assert count(db, CoachingSession) == 1
    finally:
        for r in runners:
            await r.cleanup()
