"""Teams end to end: the real csbot aiohttp app with botbuilder, Bot Framework wire JSON, a local Connector."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select

from bot.config import ConfigError, load_settings
from handlers.registry import build_router
from store.conversations import ConversationRef
from store.database import Database
from store.processed import ProcessedRequest
from tests.adaptive_cards import assert_valid
from tests.forms import feedback_router
from tests.helpers import apply_fixture_org
from tests.hostile import HOSTILE
from tests.teams_env import BOT, CHANNEL, TENANT, USERS, Env, mention, start_env


@pytest.fixture
async def env(db: Database, request: pytest.FixtureRequest) -> AsyncIterator[Env]:
    apply_fixture_org(db)
    router = feedback_router(build_router()) if request.node.get_closest_marker("forms") else None
    e, runners = await start_env(db, router)
    try:
        yield e
        # Whatever the test did, every card the app sent is valid 1.5 and fits in a message.
        if e.connector.cards():
            assert_valid(e.connector.cards())
    finally:
        for r in runners:
            await r.cleanup()


def refs_count(db: Database) -> int:
    with db.sessions() as s:
        return s.scalar(select(func.count()).select_from(ConversationRef)) or 0


async def test_each_command_in_a_channel_with_the_mention_stripped(env: Env) -> None:
    for family in build_router().families:
        before = len(env.connector.sent)
        assert await env.post(env.activity(f"{family.name} help")) in (200, 201)
        new = env.connector.sent[before:]
        # Help is a private answer: it goes to the asker's 1:1 chat, the channel gets a note.
        private = [s for s in new if s.conversation_id.startswith("a:1on1-")]
        assert private and f"/{family.name}" in env.card_texts(private[0])
        note = [s for s in new if s.conversation_id.startswith(CHANNEL)]
        assert note and "1:1 chat" in env.card_texts(note[0])
    assert len(env.connector.of("create")) == 1  # the 1:1 chat was created once, then reused
    create = env.connector.of("create")[0].body
    assert create["members"][0]["id"] == "29:1alice" and TENANT in json.dumps(create), create
    assert_valid(env.connector.cards())


async def test_personal_chat_answers_in_place_and_buttons_round_trip(env: Env) -> None:
    wire = env.activity("kpi team support-emea 30d", where="personal")
    assert await env.post(wire) in (200, 201)
    answer = env.connector.messages()[-1]
    assert answer.kind == "reply" and answer.activity_id == wire["id"]
    assert "KPIs · Support EMEA" in env.card_texts(answer)
    card = answer.body["attachments"][0]["content"]
    actions = {a["title"]: a["data"] for a in card["actions"]}
    assert set(actions) == {"Share in channel", "Previous window"}
    click = env.activity(None, where="personal", value=actions["Previous window"], reply_to="m1")
    assert await env.post(click) in (200, 201)
    previous = env.connector.messages()[-1]
    assert "KPIs · Support EMEA" in env.card_texts(previous) and env.card_texts(previous) != env.card_texts(answer)
    # A retried delivery of one Share click shares once, and says so; each click is a click of its own.
    share = env.activity(None, where="personal", value=actions["Share in channel"], reply_to="m1")
    await env.post(share)
    sent = len(env.connector.sent)
    await env.post(share)
    assert len(env.connector.sent) == sent + 1 and "already handled" in env.card_texts(env.connector.sent[-1])
    await env.post(env.activity(None, where="personal", value=actions["Share in channel"], reply_to="m1"))
    assert len(env.connector.sent) == sent + 2 and "KPIs · Support EMEA" in env.card_texts(env.connector.sent[-1])
    await env.post(env.activity(None, where="personal", value=actions["Previous window"], reply_to="m1"))
    assert len(env.connector.sent) == sent + 3
    assert_valid(env.connector.cards())


async def test_mentions_of_people_resolve_to_members(env: Env) -> None:
    carol = USERS["carol"]
    wire = env.activity(f"kpi agent <at>{carol['name']}</at> 30d", who="dana", where="personal", mentions=(mention(carol),))
    assert await env.post(wire) in (200, 201)
    # Dana has no teams_id: she is matched by the email in the roster; Carol likewise.
    assert "KPIs · Carol Diaz" in env.card_texts(env.connector.messages()[-1])


async def test_shared_answers_stay_in_the_channel(env: Env) -> None:
    await env.post(env.activity("kpi team --share"))
    last = env.connector.messages()[-1]
    assert last.conversation_id.startswith(CHANNEL) and "KPIs · Support EMEA" in env.card_texts(last)
    assert env.connector.of("create") == []


async def test_replayed_activity_has_one_effect(env: Env) -> None:
    wire = env.activity("kpi team support-emea", where="personal")
    for _ in range(3):
        assert await env.post(wire) in (200, 201)
    assert len(env.connector.messages()) == 1
    with env.db.sessions() as s:
        assert s.scalar(select(func.count()).select_from(ProcessedRequest)) == 1


async def test_unknown_people_get_a_polite_answer_and_nothing_else(env: Env) -> None:
    await env.post(env.activity("kpi team", who="stranger", where="personal"))
    assert "ask a csbot admin" in env.card_texts(env.connector.messages()[-1]).lower()
    with env.db.sessions() as s:
        assert s.scalar(select(func.count()).select_from(ProcessedRequest)) == 0


async def test_the_answer_to_strangers_echoes_only_a_real_entra_object_id(env: Env) -> None:
    await env.post(env.activity("kpi team", who="stranger", where="personal"))
    # A real object id is shown, so the person can hand it to an admin.
    assert USERS["stranger"]["aadObjectId"] in env.card_texts(env.connector.messages()[-1])
    for hostile in ("<at>Dana Lee</at>", "[x](https://evil.example)", "<!channel> **now**", "&lt;b&gt;"):
        wire = env.activity("kpi team", who="stranger", where="personal")
        wire["from"]["aadObjectId"] = hostile
        assert await env.post(wire) in (200, 201)
        sent = env.connector.messages()[-1]
        # What Teams shows: the card, the notification summary, any text.
        everything = json.dumps([sent.body.get(k) for k in ("attachments", "summary", "text")], ensure_ascii=False)
        assert "ask a csbot admin" in everything.lower()
        assert hostile not in everything and "<at>" not in everything and "evil.example" not in everything


async def test_csbot_says_hello_when_it_joins_and_only_then(env: Env) -> None:
    def update(*members: dict[str, str]) -> dict[str, Any]:
        wire = env.activity(None) | {"type": "conversationUpdate", "membersAdded": list(members)}
        del wire["channelData"], wire["entities"]  # not every update carries them
        return wire

    assert await env.post(update(BOT)) in (200, 201)
    assert "Hi, I'm csbot" in env.card_texts(env.connector.messages()[-1])
    sent = len(env.connector.sent)
    assert await env.post(update({"id": USERS["dana"]["id"], "name": "Dana Lee"})) in (200, 201)
    assert len(env.connector.sent) == sent


async def test_help_in_a_chat_is_the_command_list_as_the_welcome_promises(env: Env) -> None:
    assert await env.post(env.activity("help", where="personal")) in (200, 201)
    texts = env.card_texts(env.connector.messages()[-1])
    assert "/kpi" in texts and "Unknown command" not in texts


async def test_hostile_text_stays_plain_in_cards(env: Env) -> None:
    for text in HOSTILE:
        await env.post(env.activity(f'kpi team "{text}"', where="personal"))
    for card in env.connector.cards():
        dumped = json.dumps(card, ensure_ascii=False)
        assert "<at>" not in dumped and "](https://evil" not in dumped
    assert_valid(env.connector.cards())


@pytest.mark.forms
async def test_cards_update_in_place_and_forms_collect_answers(env: Env) -> None:
    await env.post(env.activity("page", where="personal"))
    page = env.connector.messages()[-1].body["attachments"][0]["content"]
    ack = page["actions"][0]["data"]
    await env.post(env.activity(None, who="alice", where="personal", value=ack, reply_to="m7"))
    update = env.connector.of("update")[-1]
    assert update.activity_id == "m7" and "T-1 acknowledged by Alice Smith" in env.card_texts(update)
    await env.post(env.activity("feedback", where="personal"))
    form = env.connector.messages()[-1].body["attachments"][0]["content"]
    assert [e["id"] for e in form["body"] if e["type"] == "Input.Text"] == ["topic", "details"]
    submit = form["actions"][0]["data"]
    await env.post(env.activity(None, where="personal", value={**submit, "topic": "", "details": "x"}, reply_to="m9"))
    assert "Say what the feedback is about." in env.card_texts(env.connector.messages()[-1])
    await env.post(env.activity(None, where="personal", value={**submit, "topic": "Billing", "details": ""}, reply_to="m9"))
    assert "Got: Billing (from-command)" in env.card_texts(env.connector.messages()[-1])
    assert_valid(env.connector.cards())


async def test_with_an_app_id_unsigned_requests_get_401_and_nothing_happens(db: Database) -> None:
    apply_fixture_org(db)
    e, runners = await start_env(db, settings_env={"MicrosoftAppId": "8f0c2a1e-1111-4000-8000-000000000001", "MicrosoftAppPassword": "secret"})
    try:
        assert await e.post(e.activity("kpi team", where="personal")) == 401
        assert await e.post(e.activity("kpi team", where="personal"), headers={"Authorization": "Bearer not-a-token"}) == 401
        assert e.connector.sent == [] and refs_count(db) == 0
    finally:
        for r in runners:
            await r.cleanup()


async def test_proactive_posts_after_a_restart(db: Database) -> None:
    apply_fixture_org(db)
    e, runners = await start_env(db)
    connector_runner = runners[1]
    await e.post(e.activity("csbot teams"))  # the bot sees the channel (and Alice)
    await runners[0].cleanup()  # csbot stops; only the database remembers
    assert refs_count(db) >= 1
    env_vars = {k: v for k, v in os.environ.items() if not k.startswith(("CSBOT_", "SLACK_", "Microsoft", "TEAMS_")) and k != "DATABASE_URL"}
    env_vars |= {"DATABASE_URL": db.engine.url.render_as_string(hide_password=False), "TEAMS_AUTH_DISABLED": "true"}

    def post(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "bot.cli", "post", *args], env=env_vars, capture_output=True, text=True, timeout=120)

    try:
        before = len(e.connector.sent)
        r = await asyncio.to_thread(post, "support-emea", "Holiday hours <!channel> & [x](https://evil.example)")
        assert r.returncode == 0, r.stderr
        channel_post = e.connector.sent[before]
        assert channel_post.kind == "send" and channel_post.conversation_id == CHANNEL
        assert "Holiday hours" in e.card_texts(channel_post) and "](https://evil" not in e.card_texts(channel_post)
        # Alice has never chatted 1:1 with the bot: the chat is created, then remembered.
        r = await asyncio.to_thread(post, "@alice", "Your QA review is ready")
        assert r.returncode == 0, r.stderr
        assert len(e.connector.of("create")) == 1
        assert e.connector.messages()[-1].conversation_id == "a:1on1-29:1alice"
        r = await asyncio.to_thread(post, "@alice", "A second note")
        assert r.returncode == 0 and len(e.connector.of("create")) == 1
        # Nobody the bot can reach: reported, exit 2.
        r = await asyncio.to_thread(post, "@carol", "hello")
        assert r.returncode == 2 and "cannot be reached" in r.stderr
        r = await asyncio.to_thread(post, "support-amer", "hello")
        assert r.returncode == 2 and "no channel" in r.stderr
        assert_valid(e.connector.cards())
    finally:
        await connector_runner.cleanup()


@pytest.mark.parametrize(
    ("values", "variable"),
    [
        ({"MicrosoftAppPassword": "x"}, "MicrosoftAppId"),
        ({"MicrosoftAppId": "8f0c2a1e-1111-4000-8000-000000000001"}, "MicrosoftAppPassword"),
        ({"MicrosoftAppId": "8f0c2a1e-1111-4000-8000-000000000001", "MicrosoftAppPassword": "x", "MicrosoftAppType": "SingleTenant"}, "MicrosoftAppTenantId"),
        ({"MicrosoftAppId": "8f0c2a1e-1111-4000-8000-000000000001", "MicrosoftAppPassword": "x", "MicrosoftAppType": "Personal"}, "MicrosoftAppType"),
        ({"MicrosoftAppId": "8f0c2a1e-1111-4000-8000-000000000001", "MicrosoftAppPassword": "x", "TEAMS_AUTH_DISABLED": "true"}, "TEAMS_AUTH_DISABLED"),
        ({"TEAMS_AUTH_DISABLED": "maybe"}, "TEAMS_AUTH_DISABLED"),
    ],
)
def test_teams_settings_fail_closed(values: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(values)
    assert info.value.variable == variable


def test_without_teams_settings_there_is_no_teams_endpoint() -> None:
    assert load_settings({}).teams is None
    msi = load_settings({"MicrosoftAppId": "8f0c2a1e-1111-4000-8000-000000000001", "MicrosoftAppType": "UserAssignedMSI", "MicrosoftAppTenantId": TENANT})
    assert msi.teams is not None and msi.teams.app_type == "UserAssignedMSI" and not msi.teams.auth_disabled


async def test_action_execute_invokes_answer_with_the_replacing_card(env: Env) -> None:
    await env.post(env.activity("kpi team support-emea 7d", where="personal"))
    card = env.connector.messages()[-1].body["attachments"][0]["content"]
    data = next(a["data"] for a in card["actions"] if a["title"] == "Previous window")
    wire = env.activity(None, where="personal")
    wire |= {"type": "invoke", "name": "adaptiveCard/action", "value": {"action": {"type": "Action.Execute", "verb": "kpi", "data": data}, "trigger": "manual"}}
    async with aiohttp.ClientSession() as http, http.post(f"{env.base}/api/messages", json=wire) as resp:
        assert resp.status == 200
        body = await resp.json()
    assert body["statusCode"] == 200 and body["type"] == "application/vnd.microsoft.card.adaptive"
    assert "KPIs · Support EMEA" in json.dumps(body["value"], ensure_ascii=False)
    assert_valid([body["value"]])


def test_csbot_teams_package_from_the_command_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import zipfile

    env_vars = {k: v for k, v in os.environ.items() if not k.startswith(("CSBOT_", "SLACK_", "Microsoft", "TEAMS_")) and k != "DATABASE_URL"}
    env_vars |= {"MicrosoftAppId": "8f0c2a1e-1111-4000-8000-000000000001", "MicrosoftAppPassword": "secret", "DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}"}
    out = tmp_path / "csbot-teams.zip"
    r = subprocess.run([sys.executable, "-m", "bot.cli", "teams", "package", "--out", str(out)], env=env_vars, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    with zipfile.ZipFile(out) as z:
        manifest = json.loads(z.read("manifest.json"))
    assert manifest["bots"][0]["botId"] == "8f0c2a1e-1111-4000-8000-000000000001"
    commands = manifest["bots"][0]["commandLists"][0]["commands"]
    assert [(c["title"], c["description"]) for c in commands] == [(f.name, f.summary) for f in build_router().families]
    del env_vars["MicrosoftAppId"], env_vars["MicrosoftAppPassword"]
    r = subprocess.run([sys.executable, "-m", "bot.cli", "teams", "package", "--out", str(out)], env=env_vars, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "MicrosoftAppId" in r.stderr


async def test_private_answers_never_fall_back_to_the_channel(env: Env) -> None:
    env.connector.refuse_new_chats = True
    await env.post(env.activity("kpi me 30d"))
    in_channel = [s for s in env.connector.messages() if s.conversation_id.startswith(CHANNEL)]
    assert len(in_channel) == 1
    text = env.card_texts(in_channel[0])
    assert "could not message you privately" in text and "KPIs ·" not in text
