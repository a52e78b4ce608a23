"""Escalations through the real Teams bot (botbuilder) and the Bot Connector stand-in: typed command, page card, button, edit, message action."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import aiohttp
import pytest

from bot.config import load_settings
from bot.teams.app import make_adapter
from bot.teams.delivery import TeamsNotifier
from bot.tick import run_tick
from kpi.definitions import METRIC_NAMES
from store.clock import system_clock
from store.database import Database
from store.org_file import apply_org, parse_org
from tests.teams_env import CHANNEL, Env, start_env
from tests.adaptive_cards import assert_valid

ESCALATION = """
escalation:
  queues:
    - key: billing
      name: Billing specialists
      channels: {teams: "19:abc@thread.tacv2"}
      schedules:
        - key: primary
          timezone: Europe/Berlin
          layers:
            - {members: [alice], shift: 1d, start: "2026-01-01T00:00"}
      policy:
        levels:
          - {notify: [schedule:primary], wait: 10m}
          - {notify: [channel], wait: 10m}
"""


@pytest.fixture
async def env(db: Database) -> AsyncIterator[Env]:
    text = (Path(__file__).parent / "fixtures" / "org.yaml").read_text() + ESCALATION
    with db.sessions() as s, s.begin():
        apply_org(s, parse_org(text, METRIC_NAMES))
    e, runners = await start_env(db)
    try:
        yield e
        if e.connector.cards():
            assert_valid(e.connector.cards())
    finally:
        for r in runners:
            await r.cleanup()


def notifier(env: Env) -> TeamsNotifier:
    settings = load_settings({"TEAMS_AUTH_DISABLED": "true"})
    assert settings.teams is not None
    return TeamsNotifier(make_adapter(settings.teams), settings.teams.app_id, env.db, system_clock)


def card_of(sent) -> dict:  # type: ignore[no-untyped-def,type-arg]
    return sent.body["attachments"][0]["content"]


async def invoke(env: Env, name: str, value: dict, who: str = "carol") -> dict:  # type: ignore[type-arg]
    wire = env.activity(None, who=who, where="channel") | {"type": "invoke", "name": name, "value": value}
    async with aiohttp.ClientSession() as http, http.post(f"{env.base}/api/messages", json=wire) as resp:
        assert resp.status == 200, await resp.text()
        return await resp.json()


async def test_escalate_in_teams_pages_alice_whose_button_acknowledges_and_every_copy_is_edited(env: Env) -> None:
    await env.post(env.activity("csbot whoami", who="alice", where="personal"))  # alice's 1:1 chat with csbot
    await env.post(env.activity("csbot whoami", who="alice", where="channel"))  # csbot sees the queue's channel
    await env.post(env.activity("escalate #4711 customer charged twice", who="carol", where="personal"))
    answer = env.card_texts(env.connector.messages()[-1])
    assert "ESC-1 opened in Billing specialists" in answer

    teams = notifier(env)
    now = datetime.now(timezone.utc)
    report = await run_tick(env.db, [teams], now)
    assert {(o.kind, o.status) for o in report.outcomes} >= {("esc_page", "sent"), ("esc_status", "sent")}
    # alice has a Slack id too; this process runs Teams only, so that copy is recorded as not reachable.
    assert {o.status for o in report.outcomes if o.recipient.startswith("slack:")} == {"skipped"}
    page_row = next(o for o in report.outcomes if o.kind == "esc_page" and o.recipient.startswith("teams:"))
    page = next(s for s in env.connector.messages() if s.conversation_id == "a:1personal-alice" and "#4711" in env.card_texts(s))
    ack = next(a["data"] for a in card_of(page)["actions"] if a["title"] == "Acknowledge")
    page_id = page_row.message_ids[0]

    await env.post(env.activity(None, who="alice", where="personal", value=ack, reply_to=page_id))
    replaced = env.connector.of("update")[-1]
    assert replaced.activity_id == page_id and "Acknowledged by Alice Smith" in env.card_texts(replaced)
    await run_tick(env.db, [teams], now + timedelta(seconds=5))
    edited = {(s.conversation_id.split(";")[0], s.activity_id) for s in env.connector.of("update")}
    status_row = next(o for o in report.outcomes if o.kind == "esc_status")
    assert (CHANNEL, status_row.message_ids[0]) in edited
    # The level after is never paged.
    later = await run_tick(env.db, [teams], now + timedelta(minutes=30))
    assert not [o for o in later.outcomes if o.kind == "esc_page"]


async def test_message_action_opens_the_prefilled_form_in_a_dialog_and_submitting_escalates(env: Env) -> None:
    message = {
        "id": "1700000000900",
        "body": {"contentType": "html", "content": "<p>T-88 refund still not back &amp; customer angry</p>"},
        "from": {"user": {"id": "29:1alice", "displayName": "Alice Smith"}},
        "linkToMessage": "https://teams.microsoft.com/l/message/19:abc@thread.tacv2/1700000000900",
    }
    fetched = await invoke(env, "composeExtension/fetchTask", {"commandId": "escalate_message", "commandContext": "message", "messagePayload": message})
    task = fetched["task"]
    assert task["type"] == "continue"
    card = task["value"]["card"]["content"]
    assert_valid([card])
    inputs = {e["id"]: e.get("value", "") for e in card["body"] if e["type"] == "Input.Text"}
    assert inputs["ticket"] == "T-88" and inputs["reason"].startswith("Alice Smith wrote: T-88 refund still not back & customer angry")
    submit = card["actions"][0]["data"]

    done = await invoke(env, "composeExtension/submitAction", {"commandId": "escalate_message", "data": {**submit, **inputs, "severity": "sev2"}})
    assert done["task"]["type"] == "message" and "ESC-1 opened in Billing specialists" in done["task"]["value"]
    from escalation.models import Escalation

    with env.db.sessions() as s:
        esc = s.get(Escalation, 1)
        assert esc is not None and esc.source_url == message["linkToMessage"] and esc.severity == "sev2"
    unknown = await invoke(env, "composeExtension/fetchTask", {"commandId": "no_such_thing", "messagePayload": message})
    assert unknown["task"]["type"] == "message"
    assert json.dumps(unknown)  # a plain answer, never an error page


def test_the_app_package_has_the_message_action_and_the_slack_manifest_the_shortcut() -> None:
    import yaml

    from bot.teams.package import build_manifest
    from handlers.registry import build_router

    manifest = build_manifest(bot_id="8f0c2a1e-1111-4000-8000-000000000001", router=build_router())
    (extension,) = manifest["composeExtensions"]
    (action,) = extension["commands"]
    assert extension["botId"] == manifest["bots"][0]["botId"]
    assert (action["id"], action["type"], action["context"], action["fetchTask"]) == ("escalate_message", "action", ["message"], True)
    slack = yaml.safe_load((Path(__file__).parent.parent / "manifest.yml").read_text())
    assert [(s["callback_id"], s["type"]) for s in slack["features"]["shortcuts"]] == [("escalate_message", "message")]


async def test_a_timeout_to_the_next_level_edits_the_earlier_page_and_the_status_card(env: Env) -> None:
    await env.post(env.activity("csbot whoami", who="alice", where="personal"))
    await env.post(env.activity("csbot whoami", who="alice", where="channel"))
    await env.post(env.activity("escalate #4711 customer charged twice", who="carol", where="personal"))
    teams = notifier(env)
    now = datetime.now(timezone.utc)
    first = await run_tick(env.db, [teams], now)
    page_id = next(o for o in first.outcomes if o.kind == "esc_page" and o.recipient.startswith("teams:")).message_ids[0]
    status_id = next(o for o in first.outcomes if o.kind == "esc_status").message_ids[0]

    def shown(activity_id: str) -> str:
        edits = [s for s in env.connector.of("update") if s.activity_id == activity_id]
        return env.card_texts(edits[-1]) if edits else ""

    assert shown(page_id) == ""  # nothing edited yet
    # Level 1's wait runs out: the channel is paged, and alice's page and the status card say so, in place.
    report = await run_tick(env.db, [teams], now + timedelta(minutes=10, seconds=5))
    assert ("esc_page", "sent") in {(o.kind, o.status) for o in report.outcomes if o.recipient.startswith("teams:channel")}
    for activity_id in (page_id, status_id):
        assert "Paging the queue channel (level 2); gives up" in shown(activity_id) and "level 2 follows" not in shown(activity_id)
    # The channel page itself, edited when the escalation ends, says it gave up.
    channel_page = next(o for o in report.outcomes if o.kind == "esc_page" and o.recipient.startswith("teams:channel")).message_ids[0]
    await run_tick(env.db, [teams], now + timedelta(minutes=20, seconds=10))
    for activity_id in (page_id, status_id, channel_page):
        assert "Nobody acknowledged" in shown(activity_id)


# Messages as Teams sends them (HTML), in the languages and with the emoji our users write.
MESSAGES_IN_ANY_LANGUAGE = {
    "japanese": ("<p>チケット T-88 の返金がまだ届いていません。お客様はとても怒っています。</p>", "チケット T-88 の返金がまだ届いていません。お客様はとても怒っています。", "山田 花子"),
    "hebrew": ("<p>הלקוח חויב פעמיים על T-88 &amp; מחכה להחזר</p>", "הלקוח חויב פעמיים על T-88 & מחכה להחזר", "דנה לוי"),
    "emoji": (
        '<p>T-88 <emoji id="angry" alt="😡" title="Angry"></emoji> charged twice 💳<br>'
        '<img itemtype="http://schema.skype.com/Emoji" alt="🔥" src="https://statics.teams.cdn.office.net/fire.png"> urgent 👩🏽‍💻</p>',
        "T-88 😡 charged twice 💳\n🔥 urgent 👩🏽‍💻",
        "Zoë 🌻 Ångström",
    ),
}


@pytest.mark.parametrize("language", sorted(MESSAGES_IN_ANY_LANGUAGE))
async def test_a_message_in_any_language_opens_the_form_and_its_escalation_carries_the_text(env: Env, language: str) -> None:
    html_body, text, author = MESSAGES_IN_ANY_LANGUAGE[language]
    message = {
        "id": "1700000000901",
        "body": {"contentType": "html", "content": html_body},
        "from": {"user": {"id": "29:1someone", "displayName": author}},
        # Teams' links carry the team's and channel's names.
        "linkToMessage": "https://teams.microsoft.com/l/message/19:abc@thread.tacv2/1700000000901?teamName=サポート&channelName=Général",
    }
    fetched = await invoke(env, "composeExtension/fetchTask", {"commandId": "escalate_message", "commandContext": "message", "messagePayload": message})
    task = fetched["task"]
    assert task["type"] == "continue", fetched  # the form opens: no 400, no refusal
    card = task["value"]["card"]["content"]
    assert_valid([card])
    inputs = {e["id"]: e.get("value", "") for e in card["body"] if e["type"] == "Input.Text"}
    assert inputs["ticket"] == "T-88"
    assert inputs["reason"] == f"{author} wrote: {text}"

    done = await invoke(env, "composeExtension/submitAction", {"commandId": "escalate_message", "data": {**card["actions"][0]["data"], **inputs}})
    assert done["task"]["type"] == "message" and "ESC-1 opened" in done["task"]["value"], done
    from escalation.models import Escalation

    with env.db.sessions() as s:
        esc = s.get(Escalation, 1)
        assert esc is not None and esc.reason == f"{author} wrote: {text}"
        assert esc.source_url == message["linkToMessage"]


async def test_the_id_rule_still_holds_for_ids_in_a_message_action(env: Env) -> None:
    """Ids still go into Connector URLs: a non-ASCII one is refused, whatever the message says."""
    wire = env.activity(None, who="carol", where="channel") | {
        "type": "invoke",
        "name": "composeExtension/fetchTask",
        "value": {"commandId": "escalate_message", "messagePayload": {"body": {"contentType": "html", "content": "<p>日本語</p>"}}},
    }
    wire["conversation"] = {**wire["conversation"], "id": "19:チャンネル@thread.tacv2"}
    assert await env.post(wire) == 400
    wire = env.activity(None, who="carol", where="channel") | {
        "type": "invoke",
        "name": "composeExtension/fetchTask",
        "value": {"commandId": "escalate_message", "messagePayload": {"body": {"contentType": "html", "content": "x" * 100_001}}},
    }
    assert await env.post(wire) == 400  # bounded, all the same
