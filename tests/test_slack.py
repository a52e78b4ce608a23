"""Slack end to end: the real csbot aiohttp app with Bolt, signed requests, a local Slack API."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
import pytest
from slack_sdk.models.blocks import Block
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import func, select

from bot.config import ConfigError, load_settings
from bot.slack.replays import KEY_PREFIX
from handlers.registry import build_router
from store.database import Database
from store.processed import ProcessedRequest
from tests.forms import feedback_router
from tests.hostile import HOSTILE
from tests.slack_env import LIVE_MENTIONS, SECRET, TOKEN, Env, assert_valid_blocks, running_slack, running_socket_mode



@pytest.fixture
async def env(db: Database, request: pytest.FixtureRequest) -> AsyncIterator[Env]:
    router = feedback_router(build_router()) if request.node.get_closest_marker("forms") else None
    async with running_slack(db, router) as running:
        yield running
        # Whatever the test did, every Block Kit payload the app sent must be valid.
        for call in running.slack.calls:
            if isinstance(call.args.get("blocks"), list):
                assert_valid_blocks(call.args["blocks"])
            if isinstance(call.args.get("view"), dict):
                assert len(call.args["view"]["blocks"]) <= 100
                for block in call.args["view"]["blocks"]:
                    Block.parse(block).validate_json()  # type: ignore[union-attr]


def processed(db: Database) -> int:
    """Effects recorded once (clicks, events), not the signatures kept against replays."""
    with db.sessions() as s:
        return s.scalar(select(func.count()).select_from(ProcessedRequest).where(~ProcessedRequest.key.startswith(KEY_PREFIX))) or 0


async def test_every_slash_command_end_to_end(env: Env) -> None:
    for n, family in enumerate(build_router().families, start=1):
        status, body, _ = await env.command(f"/{family.name}", "help", n=n)
        assert status == 200 and body == ""
        calls = await env.wait_for("response_url", n)
        answer = calls[-1].args
        assert answer["response_type"] == "ephemeral" and answer["replace_original"] is False
        assert_valid_blocks(answer["blocks"])
        assert f"/{family.name}" in json.dumps(answer["blocks"])


async def test_kpi_reply_with_share_and_previous_buttons(env: Env) -> None:
    await env.command("/kpi", "team support-emea 30d")
    answer = (await env.wait_for("response_url"))[-1].args
    assert_valid_blocks(answer["blocks"])
    assert "Support EMEA" in answer["text"]
    buttons = {e["text"]["text"]: e for b in answer["blocks"] if b["type"] == "actions" for e in b["elements"]}
    assert set(buttons) == {"Share in channel", "Previous window"}
    status, _, _ = await env.click(buttons["Share in channel"], n=2)
    assert status == 200
    shared = (await env.wait_for("response_url", 2))[-1].args
    assert shared["response_type"] == "in_channel"
    await env.click(buttons["Previous window"], message_ts="1700000000.000200", n=3)
    previous = (await env.wait_for("response_url", 3))[-1].args
    assert previous["response_type"] == "ephemeral"
    assert previous["blocks"] != answer["blocks"]


async def test_share_flag_posts_in_channel(env: Env) -> None:
    await env.command("/kpi", "team --share")
    answer = (await env.wait_for("response_url"))[-1].args
    assert answer["response_type"] == "in_channel"


async def test_ack_arrives_before_the_slow_part(env: Env) -> None:
    # Dana has no slack_id: csbot must ask users.info for her email, which is slow today.
    env.slack.delay_s["users.info"] = 1.0
    status, _, ack_s = await env.command("/kpi", "team support-amer", user="U0EMAIL01")
    acked_at = time.monotonic()
    assert status == 200 and ack_s < 0.9
    calls = await env.wait_for("response_url")
    assert calls[0].at >= acked_at
    assert "Support Americas" in calls[0].args["text"]


async def test_unknown_user_gets_a_polite_answer_and_nothing_happens(env: Env) -> None:
    await env.command("/kpi", "team", user="U0STRANGE")
    answer = (await env.wait_for("response_url"))[-1].args
    assert "ask a csbot admin" in answer["text"].lower() and "U0STRANGE" in answer["text"]
    assert processed(env.db) == 0


async def test_i_dont_know_you_never_pings_with_the_id_it_quotes(env: Env) -> None:
    # A signed but odd payload can carry any user id; the answer quotes it.
    hostile = "<!channel> <@U0123ABCD> *x*"
    await env.command("/kpi", "team", user=hostile)
    button = {"action_id": "kpi.share", "text": {"text": "Share"}, "value": "team support-emea 7d"}
    await env.click(button, user=hostile, n=2)
    await env.event({"type": "app_home_opened", "user": hostile, "channel": "D0001", "tab": "home"}, "EvHOSTILEID")
    answers = [c.args for c in await env.wait_for("response_url", 2)]
    home = (await env.wait_for("views.publish"))[0].args["view"]
    shown = [a["text"] for a in answers] + [b["text"]["text"] for b in home["blocks"]]
    for text in shown:
        assert "&lt;!channel&gt;" in text, text
        for live in LIVE_MENTIONS:
            assert live not in text, text
    assert processed(env.db) == 0


@pytest.mark.parametrize("case", ["bad signature", "stale timestamp", "missing headers", "wrong secret"])
async def test_forged_requests_get_401_and_touch_nothing(env: Env, case: str) -> None:
    body = env.command_body("/kpi", "team")
    if case == "bad signature":
        headers = env.sign(body) | {"X-Slack-Signature": "v0=" + "0" * 64}
    elif case == "stale timestamp":
        headers = env.sign(body, ts=int(time.time()) - 6 * 60)
    elif case == "missing headers":
        headers = {}
    else:
        stamp = str(int(time.time()))
        headers = {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": SignatureVerifier("x" * 32).generate_signature(timestamp=stamp, body=body)}
    status, _, _ = await env.post(body, "application/x-www-form-urlencoded", headers)
    assert status == 401
    await asyncio.sleep(0.3)
    assert [c.method for c in env.slack.calls if c.method != "auth.test"] == []
    assert processed(env.db) == 0


async def test_one_click_delivered_three_times_shares_once_and_each_delivery_is_answered(env: Env) -> None:
    await env.command("/kpi", "team")
    answer = (await env.wait_for("response_url"))[-1].args
    share = next(e for b in answer["blocks"] if b["type"] == "actions" for e in b["elements"] if e["action_id"] == "kpi.share")
    # One click (one action_ts) delivered three times a second apart: three signatures, one effect.
    click = env.click_payload(share, n=2)
    now = int(time.time())
    results = await asyncio.gather(*(env.deliver(click, ts=now - i) for i in range(3)))
    assert all(status == 200 for status, _, _ in results)
    answers = [c.args for c in await env.wait_for("response_url", 4)][1:]
    assert sorted(a["response_type"] for a in answers) == ["ephemeral", "ephemeral", "in_channel"]
    assert [a["text"] for a in answers if a["response_type"] == "ephemeral"] == [
        "Your click on “Share in channel” was already handled, so nothing was done again."
    ] * 2
    assert processed(env.db) == 1
    # Pressing Share again later is a click of its own: it is shared again.
    await env.click(share, n=3)
    again = (await env.wait_for("response_url", 5))[-1].args
    assert again["response_type"] == "in_channel" and processed(env.db) == 2


async def test_event_retries_publish_app_home_once(env: Env) -> None:
    event = {"type": "app_home_opened", "user": "U0123ABCD", "channel": "D0001", "tab": "home", "event_ts": "1700000000.1"}
    status, _, _ = await env.event(event, "Ev0001")
    assert status == 200
    published = await env.wait_for("views.publish")
    for retry in (1, 2):
        await env.event(event, "Ev0001", retry=retry)
    await asyncio.sleep(0.5)
    assert len(env.slack.of("views.publish")) == 1
    view = published[0].args["view"]
    assert view["type"] == "home"
    assert_valid_blocks([b for b in view["blocks"]])
    assert "Your KPIs, last 7 days" in json.dumps(view)
    assert published[0].args["user_id"] == "U0123ABCD"


async def test_hostile_text_never_reaches_slack_live(env: Env, tmp_path: Path) -> None:
    for n, text in enumerate(HOSTILE, start=1):
        await env.command("/kpi", f'team "{text} @here"', n=n)
    await env.wait_for("response_url", len(HOSTILE))
    await env.command("/csbot", "help " + " ".join(HOSTILE), n=99)
    await env.wait_for("response_url", len(HOSTILE) + 1)
    sent = env.slack.texts()
    assert any("&lt;!channel&gt;" in t for t in sent)  # the text arrived, escaped
    for t in sent:
        for live in LIVE_MENTIONS:
            assert live not in t, t
    for call in env.slack.of("response_url"):
        assert "link_names" not in call.args and call.args.get("parse") != "full"


async def test_csbot_post_reaches_slack_and_waits_out_rate_limits(env: Env, tmp_path: Path) -> None:
    env.slack.rate_limit["chat.postMessage"] = 1
    db_url = str(env.db.engine.url.render_as_string(hide_password=False))
    cli_env = {k: v for k, v in os.environ.items() if not k.startswith(("CSBOT_", "SLACK_")) and k != "DATABASE_URL"}
    cli_env |= {"DATABASE_URL": db_url, "SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": f"{env.slack_base}/api/"}

    def post(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "bot.cli", "post", *args], env=cli_env, capture_output=True, text=True, timeout=120)

    r = await asyncio.to_thread(post, "support-emea", "Holiday hours: <!channel> we close at 3pm & reopen Monday")
    assert r.returncode == 0, r.stderr
    posts = env.slack.of("chat.postMessage")
    assert len(posts) == 2 and posts[1].at - posts[0].at >= 0.9  # waited out Retry-After: 1
    assert posts[1].args["channel"] == "C0123ABCD"
    assert "&lt;!channel&gt;" in posts[1].args["text"] and "&amp;" in posts[1].args["text"]
    assert_valid_blocks(posts[1].args["blocks"])
    r = await asyncio.to_thread(post, "@alice", "Your QA review is ready")
    assert r.returncode == 0, r.stderr
    assert env.slack.of("conversations.open")[-1].args["users"] == "U0123ABCD"
    assert env.slack.of("chat.postMessage")[-1].args["channel"] == "D0123ABCD"
    r = await asyncio.to_thread(post, "@dana", "no slack id")
    assert r.returncode == 2 and "cannot be reached" in r.stderr
    env.slack.fail["chat.postMessage"] = "channel_not_found"
    r = await asyncio.to_thread(post, "support-amer", "hello")
    assert r.returncode == 1 and "channel_not_found" in r.stderr


@pytest.mark.parametrize(
    ("values", "variable"),
    [
        ({"SLACK_SIGNING_SECRET": "abc"}, "SLACK_BOT_TOKEN"),
        ({"SLACK_APP_TOKEN": "xapp-1"}, "SLACK_BOT_TOKEN"),
        ({"SLACK_BOT_TOKEN": "xoxp-user-token", "SLACK_SIGNING_SECRET": "abc"}, "SLACK_BOT_TOKEN"),
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_SIGNING_SECRET"),
        ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xoxb-2"}, "SLACK_APP_TOKEN"),
        ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "abc", "SLACK_API_URL": "ftp://x"}, "SLACK_API_URL"),
    ],
)
def test_missing_or_contradictory_slack_settings(values: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(values)
    assert info.value.variable == variable


def test_socket_mode_alone_needs_no_signing_secret() -> None:
    s = load_settings({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"})
    assert s.slack is not None and s.slack.signing_secret is None and s.slack.api_url == "https://slack.com/api/"


def _view_payload(view: dict, values: dict[str, str], user: str = "U0123ABCD") -> str:  # type: ignore[type-arg]
    submitted = {
        "id": "V0001",
        "hash": "156772938.1827394" + str(len(json.dumps(values))),
        "callback_id": view["callback_id"],
        "private_metadata": view.get("private_metadata", ""),
        "state": {"values": {name: {"value": {"type": "plain_text_input", "value": v}} for name, v in values.items()}},
        "type": "modal",
    }
    payload = {"type": "view_submission", "team": {"id": "T0001"}, "user": {"id": user}, "api_app_id": "A123456", "view": submitted}
    return urlencode({"payload": json.dumps(payload)})


@pytest.mark.forms
async def test_forms_open_as_modals_and_field_errors_stay_in_the_modal(env: Env) -> None:
    from slack_sdk.models.views import View

    await env.command("/feedback", "")
    opened = (await env.wait_for("views.open"))[0].args
    assert opened["trigger_id"].startswith("13345224609")
    view = opened["view"]
    View(**{k: v for k, v in view.items()}).validate_json()
    assert [b["block_id"] for b in view["blocks"]] == ["topic", "details"]
    status, body, _ = await env.post(_view_payload(view, {"topic": "", "details": "x"}), "application/x-www-form-urlencoded")
    assert status == 200 and json.loads(body) == {"response_action": "errors", "errors": {"topic": "Say what the feedback is about."}}
    assert env.slack.of("chat.postMessage") == []
    status, body, _ = await env.post(_view_payload(view, {"topic": "Billing <!here>", "details": ""}), "application/x-www-form-urlencoded")
    assert status == 200 and body == ""
    posted = (await env.wait_for("chat.postMessage"))[0].args
    assert posted["channel"] == "U0123ABCD" and "Got: Billing &lt;!here&gt; (from-command)" in posted["text"]


@pytest.mark.forms
async def test_message_shortcut_routes_by_callback_id(env: Env) -> None:
    payload = {
        "type": "message_action",
        "callback_id": "quote_message",
        "team": {"id": "T0001"},
        "user": {"id": "U0123ABCD"},
        "channel": {"id": "C2147483705"},
        "message": {"type": "message", "user": "U0CUSTOMR", "ts": "1700000000.000900", "text": "refund stuck <!channel>"},
        "response_url": f"{env.slack_base}/response/sc1",
        "trigger_id": "13345224609.738474920.8088930838d88f008e0",
    }
    status, _, _ = await env.post(urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded")
    assert status == 200
    answer = (await env.wait_for("response_url"))[0].args
    assert "Message from U0CUSTOMR: refund stuck &lt;!channel&gt;" in answer["text"]


async def test_socket_mode_runs_commands_without_a_public_url(db: Database) -> None:
    async with running_socket_mode(db) as (fake, base):
        assert fake.of("apps.connections.open") and fake.outbox is not None
        await fake.outbox.put(
            {
                "envelope_id": "env-1",
                "type": "slash_commands",
                "accepts_response_payload": True,
                "payload": {
                    "team_id": "T0001",
                    "channel_id": "C2147483705",
                    "user_id": "U0123ABCD",
                    "command": "/kpi",
                    "text": "team",
                    "response_url": f"{fake.base_url}/response/sock1",
                    "trigger_id": "1.2.3",
                },
            }
        )
        deadline = time.monotonic() + 15
        while not fake.of("response_url"):
            assert time.monotonic() < deadline, fake.calls
            await asyncio.sleep(0.05)
        assert any(a.get("envelope_id") == "env-1" for a in fake.acks)
        assert "Support EMEA" in fake.of("response_url")[0].args["text"]
        # Without a signing secret the HTTP endpoint refuses everything.
        async with aiohttp.ClientSession() as http, http.post(f"{base}/slack/events", data=b"command=/kpi") as resp:
            assert resp.status == 401


@pytest.mark.forms
async def test_shared_charts_are_uploaded_private_ones_are_not(env: Env) -> None:
    from tests.forms import tiny_png

    await env.command("/chart", "")
    await env.wait_for("response_url")
    await asyncio.sleep(0.3)
    assert env.slack.of("files.getUploadURLExternal") == []  # a file cannot be ephemeral
    await env.command("/chart", "--share", n=2)
    await env.wait_for("files.completeUploadExternal")
    assert env.slack.of("files.getUploadURLExternal")[0].args["length"] == str(len(tiny_png()))
    assert env.slack.of("upload")[0].args["bytes"] == len(tiny_png())
    complete = env.slack.of("files.completeUploadExternal")[0].args
    assert complete["channel_id"] == "C2147483705" and "Backlog trend" in complete["files"]
