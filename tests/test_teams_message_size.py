"""Every Teams message csbot sends stays within Teams' size limit as the Bot Connector receives it, whatever the names.

The body is measured where it arrives, in the local Bot Connector (its
bytes as sent, envelope and \\uXXXX escapes included), for the replies with
the most names in them: a team's agents over 30 days, the coaching summary,
answered in place and sent on to a 1:1 chat. Team, people's and
conversation names go up to 200 characters in any script (emoji are twelve
bytes each once escaped).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime, timezone

import pytest
from botbuilder.core import MessageFactory
from botbuilder.schema import ChannelAccount, ConversationAccount, ConversationReference
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import update

from bot.demo import seed_demo
from bot.render.teams import TEAMS_MESSAGE_LIMIT, card_attachment
from bot.teams.delivery import SUMMARY_BYTES, card_activities, summary_of
from bot.teams.wire import as_sent, wire_bytes
from handlers.reply import Reply, Section, Table
from store.database import Database
from store.name_characters import UNWANTED_CATEGORIES
from store.org import Member, Team
from tests.adaptive_cards import assert_valid
from tests.teams_env import Env, start_env

# Any character a name may hold (store.name_characters), from every plane: emoji included.
NAMES = st.text(st.characters(exclude_categories=tuple(UNWANTED_CATEGORIES)), min_size=1, max_size=200).map(str.strip).filter(bool)
# Asked by katrin, lead of support-emea in the demo organisation (Teams' "alice" has her Entra id).
COMMANDS = ("kpi agents support-emea 30d", "coach summary support-emea 30d", "kpi team support-emea 30d")


@pytest.fixture
async def demo_env(db: Database) -> AsyncIterator[Env]:
    seed_demo(db, now=datetime.now(timezone.utc), tickets=1_500)
    env, runners = await start_env(db)
    try:
        yield env
    finally:
        for r in runners:
            await r.cleanup()


def rename(db: Database, team: str, person: str) -> None:
    """Every team and every member under the drawn names (a member's name is unique to nobody)."""
    with db.sessions() as s, s.begin():
        s.execute(update(Team).values(name=team))
        s.execute(update(Member).values(name=person))


async def ask(env: Env, text: str, *, where: str, person: str, team: str) -> None:
    wire = env.activity(text, who="alice", where=where)
    # The envelope of every answer repeats these: the asker's and the conversation's names.
    wire["from"]["name"] = person
    wire["conversation"]["name"] = team
    assert await env.post(wire) in (200, 201)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(team=NAMES, person=NAMES)
@example(team="サポート" * 50, person="山田花子" * 50)
@example(team=("תמיכה בלקוחות " * 15)[:200], person=("דנה לוי " * 25).strip())
@example(team="🛟" * 200, person="👩🏽" * 100)
async def test_every_teams_message_is_within_the_limit_as_sent(demo_env: Env, team: str, person: str) -> None:
    env = demo_env
    rename(env.db, team, person)
    before = len(env.connector.sent)
    await ask(env, "whoami", where="personal", person=person, team=team)  # csbot learns the 1:1 chat
    for command in COMMANDS:
        await ask(env, command, where="personal", person=person, team=team)  # answered in place
    # Private answers asked in a channel go on to the 1:1 chat: the proactive path.
    await ask(env, COMMANDS[0], where="channel", person=person, team=team)
    sent = env.connector.messages()[before:]
    assert sent
    sizes = [s.size for s in sent]
    assert max(sizes) <= TEAMS_MESSAGE_LIMIT, sorted(sizes)[-5:]
    for s in sent:
        # What arrived is json.dumps of the activity, as wire_bytes counts it.
        assert s.size == len(json.dumps(s.body))
        if s.body.get("summary") is not None:
            assert len(json.dumps(s.body["summary"])) <= SUMMARY_BYTES
    assert_valid([a["content"] for s in sent for a in s.body.get("attachments") or []])


async def test_long_names_fill_cards_up_to_the_limit_and_no_further(demo_env: Env) -> None:
    """The 200-emoji names of the report: the agents' table spreads over several full messages, each within the limit."""
    env = demo_env
    team, person = "🛟" * 200, "👩🏽" * 100
    rename(env.db, team, person)
    await ask(env, "kpi agents support-emea 30d", where="personal", person=person, team=team)
    sizes = [s.size for s in env.connector.messages()]
    assert len(sizes) >= 2 and max(sizes) <= TEAMS_MESSAGE_LIMIT
    assert max(sizes) > TEAMS_MESSAGE_LIMIT - 4_000  # the cards use the room there is, rather than a blind reserve


def test_card_activities_measure_the_envelope_they_are_sent_in() -> None:
    """The size budget is the activity as sent: a long title and long names shrink the cards, not overflow them."""
    name = "界" * 200
    reference = ConversationReference(
        activity_id="1" * 200,
        user=ChannelAccount(id="29:" + "u" * 250, name="😀" * 200, aad_object_id="8f0c2a1e-0000-4000-8000-000000000001"),
        bot=ChannelAccount(id="28:" + "b" * 250, name=name),
        conversation=ConversationAccount(id="19:" + "c" * 250, name=name, conversation_type="channel", tenant_id="t" * 64),
        channel_id="msteams",
        service_url="https://smba.trafficmanager.net/" + "s" * 400 + "/",
        locale="en-US",
    )
    rows = tuple((f"{name} {i}", "12", "3.4") for i in range(60))
    reply = Reply(title=f"Agents · {name} · 30d", blocks=[Section(name * 10), Table(("Agent", "Tickets", "CSAT"), rows)])
    for activity_id in (None, "1" * 200):
        activities = card_activities(reply, reference, activity_id=activity_id)
        assert len(activities) > 1
        assert all(wire_bytes(as_sent(a, reference, activity_id=activity_id)) <= TEAMS_MESSAGE_LIMIT for a in activities)
    # Without a conversation to measure, the largest envelope is assumed.
    assert all(wire_bytes(as_sent(a, reference)) <= TEAMS_MESSAGE_LIMIT for a in card_activities(reply))


def test_the_summary_is_cut_by_its_bytes_as_sent() -> None:
    assert summary_of("Agents · Support EMEA · 30d") == "Agents · Support EMEA · 30d"
    for title in ("界" * 200, "😀" * 200, "a" * 1_000, "x\n" * 300):
        summary = summary_of(title)
        assert len(json.dumps(summary)) <= SUMMARY_BYTES and summary.endswith("…") and len(summary) > 10


def test_wire_bytes_is_the_connector_clients_body() -> None:
    """msrest's serialisation, then json.dumps: ASCII escapes, twelve bytes for an emoji."""
    activity = MessageFactory.attachment(card_attachment({"type": "AdaptiveCard", "body": [{"type": "TextBlock", "text": "😀"}]}))
    bare = MessageFactory.attachment(card_attachment({"type": "AdaptiveCard", "body": [{"type": "TextBlock", "text": ""}]}))
    assert wire_bytes(activity) - wire_bytes(bare) == len('"\\ud83d\\ude00"') - len('""')
