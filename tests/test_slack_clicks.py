"""Clicks through the real Slack app (Bolt) over HTTP: each click acts, a repeated delivery of one click acts once.

A click is identified by its own `action_ts`, never by (action, message,
user): the three Done buttons of one DM, Snooze 15m then Snooze 1h on one
page, and an Acknowledge pressed again after a reassign brought the page
back are each a click of their own. A retried or replayed delivery of one
click acts once and still gets a visible answer.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select

from bot.config import SlackSettings
from bot.slack.client import make_client
from bot.slack.notifier import SlackNotifier
from bot.tick import run_tick
from coaching.models import CoachingAction
from escalation.models import Escalation, EscalationEvent
from kpi.definitions import METRIC_NAMES
from store.database import Database
from store.org_file import apply_org, parse_org
from tests.slack_env import TOKEN, Env, assert_valid_blocks, running_slack, running_socket_mode

FORM = "application/x-www-form-urlencoded"
ALICE, BOB, CAROL = "U0123ABCD", "U0123ABCE", "U0123ABCF"
ALICE_DM, BOB_DM, CAROL_DM = "D0123ABCD", "D0123ABCE", "D0123ABCF"
ESCALATION = """
escalation:
  queues:
    - key: billing
      name: Billing specialists
      channels: {slack: C0BILL}
      schedules:
        - key: primary
          timezone: Europe/Berlin
          layers:
            - {members: [carol], shift: 1d, start: "2026-01-01T00:00"}
      policy:
        levels:
          - {notify: [schedule:primary], wait: 10m}
          - {notify: [member:bob], wait: 10m}
"""


@pytest.fixture
async def env(db: Database) -> AsyncIterator[Env]:
    async with running_slack(db) as running:
        text = (Path(__file__).parent / "fixtures" / "org.yaml").read_text() + ESCALATION
        with db.sessions() as s, s.begin():
            apply_org(s, parse_org(text, METRIC_NAMES))
        yield running
        for call in running.slack.calls:
            if isinstance(call.args.get("blocks"), list):
                assert_valid_blocks(call.args["blocks"])


@pytest.fixture
async def notifier(env: Env) -> AsyncIterator[SlackNotifier]:
    notifier = SlackNotifier(make_client(SlackSettings(TOKEN, "s" * 32, None, f"{env.slack_base}/api/")))
    yield notifier
    if notifier.client.session is not None:
        await notifier.client.session.close()


def buttons(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for b in blocks if b["type"] == "actions" for e in b["elements"]]


def labelled(blocks: list[dict[str, Any]], label: str) -> dict[str, Any]:
    return next(e for e in buttons(blocks) if e["text"]["text"] == label)


def latest(env: Env, channel: str) -> tuple[str, list[dict[str, Any]]]:
    """The ts and blocks of csbot's latest post in `channel`, as the person sees it there."""
    post = [c.args for c in env.slack.of("chat.postMessage") if c.args["channel"] == channel][-1]
    ts = env.slack.history[channel][-1]["ts"]
    return ts, post["blocks"]


async def answered(env: Env, path: str, count: int = 1, timeout: float = 15.0) -> dict[str, Any]:
    """The latest answer to the click whose response_url ends in `path`, once it has `count` of them."""
    deadline = time.monotonic() + timeout
    while True:
        found = [c.args for c in env.slack.of("response_url") if c.path == f"/response/{path}"]
        if len(found) >= count:
            return found[-1]
        assert time.monotonic() < deadline, f"no answer at /response/{path}: {[c.path for c in env.slack.of('response_url')]}"
        await asyncio.sleep(0.02)


def escalation(db: Database) -> tuple[Escalation, list[str]]:
    with db.sessions() as s:
        esc = s.scalars(select(Escalation)).one()
        events = list(s.scalars(select(EscalationEvent.event).where(EscalationEvent.escalation_id == esc.id).order_by(EscalationEvent.id)))
        s.expunge(esc)
        return esc, events


async def page_carol(env: Env, notifier: SlackNotifier) -> tuple[datetime, str, list[dict[str, Any]]]:
    """Alice escalates, the sweep pages carol: (now, the page's ts, its blocks)."""
    await env.command("/escalate", "#4711 customer charged twice", user=ALICE, n=1)
    await env.wait_for("response_url")
    now = datetime.now(timezone.utc)
    await run_tick(env.db, [notifier], now)
    ts, blocks = latest(env, CAROL_DM)
    return now, ts, blocks


async def test_snooze_15m_then_1h_on_one_page_both_act_and_a_retried_click_acts_once(env: Env, notifier: SlackNotifier) -> None:
    now, page_ts, page = await page_carol(env, notifier)
    first = env.click_payload(labelled(page, "Snooze 15m"), user=CAROL, message_ts=page_ts, n=11)
    assert (await env.deliver(first))[0] == 200
    assert "snoozed" in json.dumps(await answered(env, "act11"))
    second = env.click_payload(labelled(page, "Snooze 1h"), user=CAROL, message_ts=page_ts, n=12)
    assert (await env.deliver(second))[0] == 200
    reply = await answered(env, "act12")
    assert reply["replace_original"] is True and "snoozed" in json.dumps(reply)
    esc, events = escalation(env.db)
    assert esc.snoozes == 2 and events.count("snoozed") == 2
    # The second snooze counts: the same level is paged again an hour after it, not 15 minutes.
    assert esc.next_action_at is not None and esc.next_action_at - now > timedelta(minutes=59)

    # Slack (or a proxy) delivers the 1h click again: a new signature, the same click.
    assert (await env.deliver(second, ts=int(time.time()) - 1, retry=1))[0] == 200
    retried = await answered(env, "act12", count=2)
    assert retried["replace_original"] is False and retried["response_type"] == "ephemeral"
    assert "Your click on “Snooze 1h” was already handled, so nothing was done again." in json.dumps(retried, ensure_ascii=False)
    # And the very same request again (the same signature): refused as a replay, still answered.
    body = urlencode({"payload": json.dumps(second)})
    headers = {"Content-Type": FORM, **env.sign(body)}
    for _ in range(2):
        assert (await env.post_bytes(body.encode(), headers))[0] == 200
    await answered(env, "act12", count=4)
    assert ["already handled" in c.args["text"] for c in env.slack.of("response_url") if c.path == "/response/act12"] == [False, True, True, True]
    esc, events = escalation(env.db)
    assert esc.snoozes == 2 and events.count("snoozed") == 2


async def test_acknowledge_after_a_reassign_back_acts_and_paging_stops(env: Env, notifier: SlackNotifier) -> None:
    now, page_ts, page = await page_carol(env, notifier)
    ack = labelled(page, "Acknowledge")
    await env.click(ack, user=CAROL, message_ts=page_ts, n=11)
    assert "Acknowledged by Carol Diaz" in json.dumps(await answered(env, "act11"))
    # A lead hands it to himself, then back to carol: her page is edited back to open.
    await env.command("/escalation", "reassign ESC-1 @bob", user=BOB, n=2)
    await env.command("/escalation", "reassign ESC-1 @carol", user=BOB, n=3)
    await env.wait_for("response_url", 4)
    assert escalation(env.db)[0].state == "open"
    await run_tick(env.db, [notifier], now + timedelta(seconds=5))
    edits = [c.args for c in env.slack.of("chat.update") if c.args["channel"] == CAROL_DM and c.args["ts"] == page_ts]
    assert edits and "esc.ack" in json.dumps(edits[-1]["blocks"])

    # The same button on the same message, by the same person, pressed again: it acts.
    await env.click(labelled(edits[-1]["blocks"], "Acknowledge"), user=CAROL, message_ts=page_ts, n=12)
    reply = await answered(env, "act12")
    assert "Acknowledged by Carol Diaz" in json.dumps(reply) and "already handled" not in json.dumps(reply)
    esc, events = escalation(env.db)
    assert esc.state == "acknowledged" and events.count("acknowledged") == 2
    # Paging has stopped: no level is paged however long it waits.
    later = await run_tick(env.db, [notifier], now + timedelta(hours=2))
    assert [o for o in later.outcomes if o.kind == "esc_page"] == []


async def test_each_done_button_of_one_coaching_dm_acts(env: Env, notifier: SlackNotifier) -> None:
    await env.command("/coach", 'session @alice strengths=calm actions="one; two; three" follow_up=14d', user=BOB, n=1)
    await env.wait_for("response_url")
    await run_tick(env.db, [notifier], datetime.now(timezone.utc) + timedelta(minutes=1), only="coaching")
    dm_ts, dm = latest(env, ALICE_DM)
    done = buttons(dm)
    assert [b["action_id"] for b in done] == ["coach.done"] * 3
    for n, button in enumerate(done, start=11):
        assert (await env.click(button, user=ALICE, message_ts=dm_ts, n=n))[0] == 200
        reply = await answered(env, f"act{n}")
        assert reply["replace_original"] is True and "already handled" not in json.dumps(reply)
    with env.db.sessions() as s:
        assert s.scalar(select(func.count()).select_from(CoachingAction).where(CoachingAction.done_at.is_not(None))) == 3
    # The last answer is the session with every item ticked off and no Done button left.
    assert buttons(reply["blocks"]) == [] and json.dumps(reply["blocks"], ensure_ascii=False).count("✓") == 3


async def test_a_click_redelivered_over_socket_mode_acts_once_and_is_answered(db: Database) -> None:
    # Socket Mode requests carry no signature: only the click's own stamp tells a redelivery.
    async with running_socket_mode(db) as (fake, _):
        assert fake.outbox is not None

        async def answers(count: int) -> list[dict[str, Any]]:
            deadline = time.monotonic() + 15
            while len(fake.of("response_url")) < count:
                assert time.monotonic() < deadline, [c.method for c in fake.calls]
                await asyncio.sleep(0.02)
            return [c.args for c in fake.of("response_url")]

        command = {"team_id": "T0001", "channel_id": "C2147483705", "user_id": ALICE, "command": "/kpi", "text": "team",
                   "response_url": f"{fake.base_url}/response/sock1", "trigger_id": "1.2.3"}  # fmt: skip
        await fake.outbox.put({"envelope_id": "env-1", "type": "slash_commands", "accepts_response_payload": True, "payload": command})
        share = labelled((await answers(1))[0]["blocks"], "Share in channel")
        click = {
            "type": "block_actions", "team": {"id": "T0001"}, "user": {"id": ALICE}, "api_app_id": "A123456",
            "container": {"type": "message", "message_ts": "1700000000.000100", "channel_id": "C2147483705", "is_ephemeral": True},
            "channel": {"id": "C2147483705"}, "trigger_id": "1.2.4", "response_url": f"{fake.base_url}/response/sock2",
            "actions": [{"action_id": share["action_id"], "block_id": "b1", "text": share["text"], "value": share["value"], "type": "button", "action_ts": "1700000001.000001"}],
        }  # fmt: skip
        await fake.outbox.put({"envelope_id": "env-2", "type": "interactive", "accepts_response_payload": False, "payload": click})
        await answers(2)
        # Slack sends the envelope again (it missed the ack): the same click.
        await fake.outbox.put({"envelope_id": "env-2", "type": "interactive", "accepts_response_payload": False, "payload": click,
                               "retry_attempt": 1, "retry_reason": "timeout"})  # fmt: skip
        found = await answers(3)
        assert [a["response_type"] for a in found[1:]] == ["in_channel", "ephemeral"]
        assert "“Share in channel” was already handled" in found[2]["text"]
