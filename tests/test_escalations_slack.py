"""Escalations through the real Slack app (Bolt) and the Slack stand-in: slash command, page, button, edit, shortcut, modal."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlencode

import pytest

from bot.config import SlackSettings
from bot.slack.client import make_client
from bot.slack.notifier import SlackNotifier
from bot.tick import run_tick
from kpi.definitions import METRIC_NAMES
from store.database import Database
from store.org_file import apply_org, parse_org
from tests.slack_env import Env, assert_valid_blocks, running_slack

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
    notifier = SlackNotifier(make_client(SlackSettings("xoxb-test-token", "s" * 32, None, f"{env.slack_base}/api/")))
    yield notifier
    if notifier.client.session is not None:
        await notifier.client.session.close()


def buttons(blocks: list[dict]) -> dict[str, dict]:  # type: ignore[type-arg]
    return {e["action_id"]: e for b in blocks if b["type"] == "actions" for e in b["elements"]}


async def test_slash_command_pages_the_on_call_who_acknowledges_with_the_button(env: Env, notifier: SlackNotifier) -> None:
    await env.command("/escalate", "#4711 customer charged twice <!channel>")
    answer = (await env.wait_for("response_url"))[0].args
    assert "ESC-1 opened in Billing specialists" in answer["text"] and "<!channel>" not in json.dumps(answer)
    now = datetime.now(timezone.utc)
    await run_tick(env.db, [notifier], now)
    page = next(c.args for c in env.slack.of("chat.postMessage") if c.args["channel"] == "D0123ABCF")  # carol's DM
    assert "#4711" in page["text"] and "&lt;!channel&gt;" in json.dumps(page["blocks"])
    ack = buttons(page["blocks"])["esc.ack"]

    await env.click(ack, user="U0123ABCF", message_ts="1700000000.000500")
    replaced = (await env.wait_for("response_url", 2))[1].args
    assert replaced.get("replace_original") in (True, "true") and "Acknowledged by Carol Diaz" in json.dumps(replaced)
    # A double click does nothing twice.
    await env.click(ack, user="U0123ABCF", message_ts="1700000000.000500")
    report = await run_tick(env.db, [notifier], now + timedelta(seconds=5))
    edits = [c.args for c in env.slack.of("chat.update")]
    assert {e["channel"] for e in edits} == {"D0123ABCF", "C0BILL"}
    assert all("Acknowledged by Carol Diaz" in json.dumps(e["blocks"]) and "esc.ack" not in json.dumps(e["blocks"]) for e in edits)
    told = [c.args for c in env.slack.of("chat.postMessage") if c.args["channel"] == "D0123ABCD"]  # alice, the requester
    assert told and "acknowledged" in told[-1]["text"]
    # Nobody else is paged: bob's level never comes.
    later = await run_tick(env.db, [notifier], now + timedelta(minutes=30))
    assert not [o for o in later.outcomes if o.kind == "esc_page"] and report.outcomes


async def test_message_shortcut_opens_the_form_prefilled_and_the_modal_escalates(env: Env, notifier: SlackNotifier) -> None:
    payload = {
        "type": "message_action",
        "callback_id": "escalate_message",
        "team": {"id": "T0001"},
        "user": {"id": "U0123ABCE"},  # bob
        "channel": {"id": "C2147483705"},
        "message": {"type": "message", "user": "U0123ABCD", "ts": "1700000000.000900", "text": "T-88 refund still not back <!here>"},
        "response_url": f"{env.slack_base}/response/sc1",
        "trigger_id": "13345224609.738474920.8088930838d88f008e0",
    }
    body = urlencode({"payload": json.dumps(payload)})
    status, _, _ = await env.post(body, "application/x-www-form-urlencoded")
    assert status == 200
    view = (await env.wait_for("views.open"))[0].args["view"]
    initial = {b["block_id"]: b["element"].get("initial_value", "") for b in view["blocks"] if b["type"] == "input"}
    assert initial["ticket"] == "T-88"
    assert initial["reason"].startswith("Alice Smith wrote: T-88 refund still not back")
    context = json.loads(view["private_metadata"])
    assert context["source_url"] == "https://acme.slack.com/archives/C2147483705/p1700000000000900"

    values = {"ticket": "T-88", "queue": "", "severity": "sev9", "reason": initial["reason"]}
    submitted = {
        "id": "V0001", "hash": "1", "callback_id": view["callback_id"], "private_metadata": view["private_metadata"], "type": "modal",
        "state": {"values": {k: {"value": {"type": "plain_text_input", "value": v}} for k, v in values.items()}},
    }  # fmt: skip
    submission = {"type": "view_submission", "team": {"id": "T0001"}, "user": {"id": "U0123ABCE"}, "api_app_id": "A123456", "view": submitted}
    status, text, _ = await env.post(urlencode({"payload": json.dumps(submission)}), "application/x-www-form-urlencoded")
    assert status == 200 and "severity" in json.loads(text)["errors"]
    values["severity"] = "sev2"
    submitted["state"] = {"values": {k: {"value": {"type": "plain_text_input", "value": v}} for k, v in values.items()}}
    submitted["hash"] = "2"
    status, text, _ = await env.post(urlencode({"payload": json.dumps(submission)}), "application/x-www-form-urlencoded")
    assert status == 200 and text == ""
    opened = (await env.wait_for("chat.postMessage"))[0].args
    assert opened["channel"] == "U0123ABCE" and "ESC-1 opened" in opened["text"]
    await run_tick(env.db, [notifier], datetime.now(timezone.utc))
    page = next(c.args for c in env.slack.of("chat.postMessage") if c.args["channel"] == "D0123ABCF")
    assert "SEV2" in page["text"] and "p1700000000000900" in json.dumps(page["blocks"])


async def test_in_serve_a_command_wakes_the_sweep_so_the_page_does_not_wait_for_its_interval(db: Database) -> None:
    from bot.config import load_settings
    from bot.web import create_app
    from tests.fake_slack import FakeSlack
    from tests.helpers import apply_fixture_org, serve
    from tests.slack_env import SECRET, TOKEN, Env

    apply_fixture_org(db)
    with db.sessions() as s, s.begin():
        apply_org(s, parse_org((Path(__file__).parent / "fixtures" / "org.yaml").read_text() + ESCALATION, METRIC_NAMES))
    fake = FakeSlack()
    slack_runner, slack_base = await serve(fake.app())
    fake.base_url = slack_base
    # A sweep interval far longer than the test: only the wake can send the page in time.
    settings = load_settings({"SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": f"{slack_base}/api/", "ESCALATION_SWEEP_SECONDS": "300"})
    runner, base = await serve(create_app(db, settings, schedule=True))
    try:
        env = Env(db, fake, base, slack_base)
        await asyncio.sleep(2.5)  # the scheduler's first passes (leadership, the minute sweep) are over
        await env.command("/escalate", "#4711 customer charged twice")
        for _ in range(100):
            if any(c.args.get("channel") == "D0123ABCF" for c in fake.of("chat.postMessage")):
                break
            await asyncio.sleep(0.05)
        assert any(c.args.get("channel") == "D0123ABCF" and "#4711" in c.args["text"] for c in fake.of("chat.postMessage"))
    finally:
        await runner.cleanup()
        await slack_runner.cleanup()


ROUNDS = """
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
        repeat: 1
        levels:
          - {notify: [schedule:primary], wait: 10m}
          - {notify: [member:bob], wait: 10m}
"""


def shown_now(env: Env, channel: str) -> list[str]:
    """What each message csbot posted in a conversation says now (after every chat.update)."""
    return [str(m["text"]) for m in env.slack.history.get(channel, [])]


def latest_blocks(env: Env, channel: str, ts: str) -> str:
    """The blocks a message shows now: its last chat.update, else what was posted."""
    edits = [c.args for c in env.slack.of("chat.update") if c.args["channel"] == channel and c.args["ts"] == ts]
    if edits:
        return json.dumps(edits[-1]["blocks"])
    posted = [c.args for c in env.slack.of("chat.postMessage") if c.args["channel"] == channel]
    ts_of = {m["ts"]: i for i, m in enumerate(env.slack.history.get(channel, []))}
    return json.dumps(posted[ts_of[ts]]["blocks"])


async def test_a_timeout_to_the_next_level_and_the_next_round_edits_every_page_and_the_status_message(db: Database) -> None:
    async with running_slack(db) as env:
        with db.sessions() as s, s.begin():
            apply_org(s, parse_org((Path(__file__).parent / "fixtures" / "org.yaml").read_text() + ROUNDS, METRIC_NAMES))
        notifier = SlackNotifier(make_client(SlackSettings("xoxb-test-token", "s" * 32, None, f"{env.slack_base}/api/")))
        try:
            await env.command("/escalate", "#4711 customer charged twice")
            await env.wait_for("response_url")
            now = datetime.now(timezone.utc)
            await run_tick(env.db, [notifier], now)
            carol, bob, channel = "D0123ABCF", "D0123ABCE", "C0BILL"
            (status_ts,) = [m["ts"] for m in env.slack.history[channel] if "ESC-1" in str(m["text"])][:1]
            (carol_ts,) = [m["ts"] for m in env.slack.history[carol]]
            assert "Paging @carol (level 1); level 2 follows" in latest_blocks(env, channel, status_ts)

            # Level 1's wait runs out: bob is paged, and carol's page and the status say so.
            report = await run_tick(env.db, [notifier], now + timedelta(minutes=10, seconds=5))
            assert {o.status for o in report.outcomes if o.kind == "esc_edit"} == {"sent"}
            (bob_ts,) = [m["ts"] for m in env.slack.history[bob]]
            for where, ts in ((channel, status_ts), (carol, carol_ts), (bob, bob_ts)):
                shown = latest_blocks(env, where, ts)
                assert "Paging @bob (level 2); level 1 of round 2 follows" in shown and "Paging @carol" not in shown, (where, shown)
            assert not any("Paging @carol" in t for t in shown_now(env, channel) + shown_now(env, carol))

            # Level 2's wait runs out: the levels run again (round 2), carol is paged anew and every copy says so.
            await run_tick(env.db, [notifier], now + timedelta(minutes=20, seconds=10))
            carol_again = [m["ts"] for m in env.slack.history[carol] if m["ts"] != carol_ts]
            assert len(carol_again) == 1
            for where, ts in ((channel, status_ts), (carol, carol_ts), (bob, bob_ts), (carol, carol_again[0])):
                shown = latest_blocks(env, where, ts)
                assert "Paging @carol (level 1, round 2); level 2 follows" in shown and "@bob (level 2)" not in shown, (where, shown)

            # The last level of the last round runs out: every copy says it gave up, without buttons.
            await run_tick(env.db, [notifier], now + timedelta(minutes=30, seconds=15))
            await run_tick(env.db, [notifier], now + timedelta(minutes=40, seconds=20))
            for where, ts in ((channel, status_ts), (carol, carol_ts), (bob, bob_ts), (carol, carol_again[0])):
                shown = latest_blocks(env, where, ts)
                assert "Nobody acknowledged" in shown and "esc.ack" not in shown, (where, shown)
        finally:
            if notifier.client.session is not None:
                await notifier.client.session.close()


@pytest.mark.parametrize(
    "text",
    ["チケット T-88 の返金がまだ届いていません 😡", "הלקוח חויב פעמיים על T-88", "T-88 💳 charged twice 🔥 «très urgent»"],
    ids=["japanese", "hebrew", "emoji"],
)
async def test_message_shortcut_takes_a_message_in_any_language(env: Env, notifier: SlackNotifier, text: str) -> None:
    """The Slack side of the audit: the message is user text, sent by Slack as UTF-8 (not escaped), and the form opens with it."""
    payload = {
        "type": "message_action",
        "callback_id": "escalate_message",
        "team": {"id": "T0001"},
        "user": {"id": "U0123ABCE", "name": "ボブ"},
        "channel": {"id": "C2147483705", "name": "サポート"},
        "message": {"type": "message", "user": "U0123ABCD", "ts": "1700000000.000901", "text": text},
        "response_url": f"{env.slack_base}/response/sc2",
        "trigger_id": "13345224609.738474920.8088930838d88f008e1",
    }
    status, _, _ = await env.post(urlencode({"payload": json.dumps(payload, ensure_ascii=False)}), "application/x-www-form-urlencoded")
    assert status == 200
    view = (await env.wait_for("views.open"))[0].args["view"]
    initial = {b["block_id"]: b["element"].get("initial_value", "") for b in view["blocks"] if b["type"] == "input"}
    assert initial["ticket"] == "T-88" and initial["reason"] == f"Alice Smith wrote: {text}"
