"""Card clicks through the real Teams bot (botbuilder) over HTTP: each click acts, a repeated delivery acts once.

Teams gives every click (an Action.Submit message, an Action.Execute
invoke) an activity id of its own, and a retried delivery the same id: so
two buttons on one card, or the same button pressed again after a reassign,
each act, while the same activity delivered twice acts once and is still
answered.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select

from bot.config import load_settings
from bot.dispatch import run_command
from bot.teams.app import make_adapter
from bot.teams.delivery import TeamsNotifier
from bot.tick import run_tick
from coaching.models import CoachingAction
from escalation.models import Escalation, EscalationEvent
from handlers.registry import build_router
from kpi.definitions import METRIC_NAMES
from store.clock import system_clock
from store.database import Database
from store.org_file import apply_org, parse_org
from tests.adaptive_cards import assert_valid
from tests.teams_env import Env, start_env

ALICE_CHAT = "a:1personal-alice"
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
ALREADY = "was already handled, so nothing was done again."


@pytest.fixture
async def env(db: Database) -> AsyncIterator[Env]:
    text = (Path(__file__).parent / "fixtures" / "org.yaml").read_text() + ESCALATION
    with db.sessions() as s, s.begin():
        apply_org(s, parse_org(text, METRIC_NAMES))
    e, runners = await start_env(db)
    try:
        await e.post(e.activity("csbot whoami", who="alice", where="personal"))  # alice's 1:1 chat with csbot
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


def actions(sent: Any) -> dict[str, dict[str, Any]]:
    return {a["title"]: a["data"] for a in sent.body["attachments"][0]["content"].get("actions", [])}


def escalation(db: Database) -> tuple[Escalation, list[str]]:
    with db.sessions() as s:
        esc = s.scalars(select(Escalation)).one()
        events = list(s.scalars(select(EscalationEvent.event).where(EscalationEvent.escalation_id == esc.id).order_by(EscalationEvent.id)))
        s.expunge(esc)
        return esc, events


async def page_alice(env: Env) -> tuple[datetime, str, dict[str, dict[str, Any]]]:
    """Carol escalates, the sweep pages alice in her 1:1 chat: (now, the page card's id, its buttons)."""
    await env.post(env.activity("escalate #4711 customer charged twice", who="carol", where="personal"))
    now = datetime.now(timezone.utc)
    report = await run_tick(env.db, [notifier(env)], now)
    row = next(o for o in report.outcomes if o.kind == "esc_page" and o.recipient.startswith("teams:"))
    page = next(s for s in env.connector.messages() if s.conversation_id == ALICE_CHAT and "#4711" in env.card_texts(s))
    return now, row.message_ids[0], actions(page)


async def test_snooze_15m_then_1h_on_one_card_both_act_and_a_retried_activity_acts_once(env: Env) -> None:
    now, page_id, buttons = await page_alice(env)
    await env.post(env.activity(None, who="alice", where="personal", value=buttons["Snooze 15m"], reply_to=page_id))
    second = env.activity(None, who="alice", where="personal", value=buttons["Snooze 1h"], reply_to=page_id)
    await env.post(second)
    updates = [s for s in env.connector.of("update") if s.activity_id == page_id]
    assert len(updates) == 2 and all("Snoozed" in env.card_texts(u) for u in updates)
    esc, events = escalation(env.db)
    assert esc.snoozes == 2 and events.count("snoozed") == 2
    assert esc.next_action_at is not None and esc.next_action_at - now > timedelta(minutes=59)

    # Teams delivers the 1h click again (the same activity): it acts once, and says so beside the card.
    sent = len(env.connector.sent)
    assert await env.post(second) in (200, 201)
    answer = env.connector.sent[sent:]
    assert [(s.kind, s.conversation_id) for s in answer] == [("reply", ALICE_CHAT)]
    assert ALREADY in env.card_texts(answer[0])
    esc, events = escalation(env.db)
    assert esc.snoozes == 2 and events.count("snoozed") == 2


async def test_an_action_execute_retry_answers_with_a_message_and_leaves_the_card(env: Env) -> None:
    _, _, buttons = await page_alice(env)
    wire = env.activity(None, who="alice", where="personal") | {
        "type": "invoke",
        "name": "adaptiveCard/action",
        "value": {"action": {"type": "Action.Execute", "verb": "snooze", "data": buttons["Snooze 15m"]}, "trigger": "manual"},
    }
    bodies = []
    for _ in range(2):
        async with aiohttp.ClientSession() as http, http.post(f"{env.base}/api/messages", json=wire) as resp:
            assert resp.status == 200
            bodies.append(await resp.json())
    assert bodies[0]["type"] == "application/vnd.microsoft.card.adaptive" and "Snoozed" in json.dumps(bodies[0]["value"])
    assert bodies[1] == {"statusCode": 200, "type": "application/vnd.microsoft.activity.message", "value": f"That click {ALREADY}"}
    assert escalation(env.db)[0].snoozes == 1


async def test_acknowledge_after_a_reassign_back_acts_and_paging_stops(env: Env) -> None:
    now, page_id, buttons = await page_alice(env)
    await env.post(env.activity(None, who="alice", where="personal", value=buttons["Acknowledge"], reply_to=page_id))
    assert escalation(env.db)[0].state == "acknowledged"
    # A manager hands it to carol, then back to alice: her page card is edited back to open.
    for to in ("@carol", "@alice"):
        await env.post(env.activity(f"escalation reassign ESC-1 {to}", who="dana", where="personal"))
    await run_tick(env.db, [notifier(env)], now + timedelta(seconds=5))
    reopened = [s for s in env.connector.of("update") if s.activity_id == page_id][-1]
    assert "Acknowledge" in actions(reopened)

    # The same button on the same card, by the same person, pressed again: it acts.
    await env.post(env.activity(None, who="alice", where="personal", value=actions(reopened)["Acknowledge"], reply_to=page_id))
    last = [s for s in env.connector.of("update") if s.activity_id == page_id][-1]
    assert "Acknowledged by Alice Smith" in env.card_texts(last) and ALREADY not in env.card_texts(last)
    esc, events = escalation(env.db)
    assert esc.state == "acknowledged" and events.count("acknowledged") == 2
    later = await run_tick(env.db, [notifier(env)], now + timedelta(hours=2))
    assert [o for o in later.outcomes if o.kind == "esc_page"] == []


async def test_each_done_button_of_one_coaching_card_acts(env: Env) -> None:
    now = datetime.now(timezone.utc)
    session = 'session @alice strengths=calm actions="one; two; three" follow_up=14d'
    assert run_command(env.db, build_router(), "bob", f"/coach {session}", now=now, platform="slack").ok
    report = await run_tick(env.db, [notifier(env)], now + timedelta(minutes=1), only="coaching")
    card_id = next(o for o in report.outcomes if o.kind == "coach_session" and o.recipient.startswith("teams:")).message_ids[0]
    card = next(s for s in env.connector.messages() if s.conversation_id == ALICE_CHAT and "Coaching session" in env.card_texts(s))
    done = [data for title, data in actions(card).items() if title.startswith("Done")]
    assert len(done) == 3
    for data in done:
        await env.post(env.activity(None, who="alice", where="personal", value=data, reply_to=card_id))
    with env.db.sessions() as s:
        assert s.scalar(select(func.count()).select_from(CoachingAction).where(CoachingAction.done_at.is_not(None))) == 3
    last = [s for s in env.connector.of("update") if s.activity_id == card_id][-1]
    assert env.card_texts(last).count("✓") == 3 and not [t for t in actions(last) if t.startswith("Done")]
