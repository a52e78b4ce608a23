"""Any signed payload, however odd its fields, gets an answer and never a crash.

Hypothesis takes real payloads (a slash command, a click, a message shortcut,
a modal submission, an App Home event, an @mention), puts arbitrary JSON values at the
places Bolt and the listeners read, signs them and posts them to the real
app over HTTP. Whatever it sends: 200, 400 or 404, never 500; no traceback
and no error in the log, including from the listeners that run after the
acknowledgement (each example waits for them to finish).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from handlers.registry import build_router
from store.database import Database
from tests.forms import feedback_router
from tests.helpers import assert_no_traceback
from tests.hostile import HOSTILE
from tests.slack_env import Env, mention_event, running_slack

# Strings a field might hold: valid-looking ids and names (so many payloads
# pass the shape check and reach the listeners), and hostile ones. Never a
# URL: a response_url is posted to, and the test must not reach the network.
WORDS = st.sampled_from(
    [*HOSTILE, "", " ", "x", "U0123ABCD", "U0STRANGE", "C2147483705", "T0001", "V0001", "1700000000.000100",
     "kpi.share", "page.ack", "feedback.submit", "quote_message", "/kpi", "/csbot", "/feedback", "team", "help",
     "home", "messages", "app_home_opened", "block_actions", "view_submission", "event_callback", "\u202e\u0663", "value",
     "app_mention", "<@UBOT> kpi team", "<@UBOT>", "thread_broadcast", "bot_message", "B0OTHER", "UBOT"]
)
LEAVES = st.one_of(st.none(), st.booleans(), st.integers(-(2**40), 2**40), st.floats(allow_nan=False, allow_infinity=False), WORDS)
JSON_VALUES = st.recursive(
    LEAVES,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.one_of(WORDS, st.sampled_from(["id", "type", "value", "ts", "user", "callback_id", "action_id"])), inner, max_size=3)),
    max_leaves=6,
)
# Mostly a string (the type most fields have), so many payloads get past the
# check and through the listeners; otherwise anything.
VALUES = st.one_of(WORDS, WORDS, JSON_VALUES)


def _form_fields(env: Env) -> dict[str, str]:
    return dict(parse_qsl(env.command_body("/kpi", "team")))


def bases(env: Env) -> dict[str, dict[str, Any]]:
    button = {"action_id": "kpi.share", "text": {"text": "Share"}, "value": "team support-emea 7d"}
    return {
        "command": _form_fields(env),
        "click": env.click_payload(button),
        "shortcut": {
            "type": "message_action",
            "callback_id": "quote_message",
            "team": {"id": "T0001"},
            "user": {"id": "U0123ABCD"},
            "channel": {"id": "C2147483705"},
            "message": {"type": "message", "user": "U0CUSTOMR", "ts": "1700000000.000900", "text": "refund stuck"},
            "response_url": f"{env.slack_base}/response/sc",
            "trigger_id": "13345224609.738474920.8088930838d88f008e0",
            "action_ts": "1700000000.000901",
        },
        "submission": {
            "type": "view_submission",
            "team": {"id": "T0001"},
            "user": {"id": "U0123ABCD"},
            "view": {"id": "V0001", "hash": "1.2", "callback_id": "feedback.submit", "private_metadata": "from-command", "type": "modal",
                     "state": {"values": {"topic": {"value": {"type": "plain_text_input", "value": "Billing"}}}}},
        },
        "event": json.loads(env.event_body({"type": "app_home_opened", "user": "U0123ABCD", "channel": "D0001", "tab": "home"}, "Ev1")),
        "mention": json.loads(env.event_body(mention_event("<@UBOT> kpi team --share"), "Ev2")),
    }


# Where Bolt and the listeners look, per kind of payload.
PATHS: dict[str, list[tuple[Any, ...]]] = {
    "command": [("command",), ("text",), ("user_id",), ("channel_id",), ("trigger_id",), ("team_id",), ("user",), ("type",), ("ssl_check",)],
    "click": [("type",), ("user",), ("user", "id"), ("team",), ("channel",), ("container",), ("container", "message_ts"), ("message",),
              ("actions",), ("actions", 0), ("actions", 0, "action_id"), ("actions", 0, "value"), ("actions", 0, "action_ts"), ("actions", 0, "text"), ("trigger_id",), ("response_urls",),
              ("enterprise",), ("authorizations",), ("is_enterprise_install",), ("view",)],
    "shortcut": [("callback_id",), ("action_ts",), ("message",), ("message", "ts"), ("message", "user"), ("message", "text"), ("channel",), ("channel", "id"), ("user",)],
    "submission": [("view",), ("view", "callback_id"), ("view", "id"), ("view", "private_metadata"), ("view", "state"), ("view", "state", "values"),
                   ("view", "state", "values", "topic"), ("view", "state", "values", "topic", "value"), ("view", "state", "values", "topic", "value", "value"),
                   ("user",), ("team",), ("response_urls",)],
    "event": [("type",), ("event",), ("event", "type"), ("event", "user"), ("event", "tab"), ("event", "channel"), ("event_id",),
              ("is_ext_shared_channel",), ("authorizations",), ("team_id",), ("enterprise_id",)],
    "mention": [("event",), ("event", "type"), ("event", "text"), ("event", "user"), ("event", "channel"), ("event", "ts"), ("event", "thread_ts"),
                ("event", "subtype"), ("event", "bot_id"), ("event", "bot_profile"), ("event", "edited"), ("event_id",)],
}


def put(payload: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    """Set `path` to `value` where the path still leads somewhere (an earlier change may have cut it)."""
    target: Any = payload
    for step in path[:-1]:
        if isinstance(target, dict) and isinstance(step, str) and step in target:
            target = target[step]
        elif isinstance(target, list) and isinstance(step, int) and step < len(target):
            target = target[step]
        else:
            return
    if isinstance(target, dict) and isinstance(path[-1], str):
        target[path[-1]] = value
    elif isinstance(target, list) and isinstance(path[-1], int) and path[-1] < len(target):
        target[path[-1]] = value


@st.composite
def mutations(draw: st.DrawFn) -> tuple[str, list[tuple[tuple[Any, ...], Any]]]:
    kind = draw(st.sampled_from(sorted(PATHS)))
    changes = draw(st.lists(st.tuples(st.sampled_from(PATHS[kind]), VALUES), min_size=1, max_size=3))
    return kind, changes


def _work(task: asyncio.Task[Any]) -> bool:
    # A server connection task stays open for a pooled keep-alive client: not work.
    return getattr(task.get_coro(), "__qualname__", "") != "RequestHandler.start"


async def settle(before: set[asyncio.Task[Any]], timeout: float = 10.0) -> None:
    """Wait until every task started since `before` (the lazy listeners) has finished."""
    deadline = time.monotonic() + timeout
    while running := [t for t in asyncio.all_tasks() if t not in before and t is not asyncio.current_task() and not t.done() and _work(t)]:
        assert time.monotonic() < deadline, f"still running: {running}"
        await asyncio.sleep(0.01)


@pytest.fixture
async def env(db: Database, caplog: pytest.LogCaptureFixture) -> AsyncIterator[Env]:
    caplog.set_level(logging.INFO)
    async with running_slack(db, feedback_router(build_router())) as running:
        yield running


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(change=mutations())
# What it found: a channel sent as a bare id, a shortcut naming the modal's
# action, several response_urls (Bolt logged with a logger it did not have
# yet), and a stranger submitting a modal without inputs (empty "errors").
@example(change=("shortcut", [(("channel",), "<!channel>")]))
@example(change=("shortcut", [(("callback_id",), "feedback.submit")]))
@example(change=("shortcut", [(("action_ts",), {"id": 1})]))
@example(change=("click", [(("actions", 0, "action_ts"), ["x"]), (("actions", 0, "text"), "Share")]))
@example(change=("submission", [(("response_urls",), [{}, {}])]))
@example(change=("submission", [(("user",), "U0STRANGE"), (("view", "state", "values"), {})]))
@example(change=("mention", [(("event", "text"), "<@UBOT> feedback")]))
@example(change=("mention", [(("event", "channel"), {"id": "<!channel>"}), (("event", "user"), {"id": "U0STRANGE"})]))
async def test_any_signed_payload_is_answered_never_crashes(env: Env, caplog: pytest.LogCaptureFixture, change: tuple[str, list[tuple[tuple[Any, ...], Any]]]) -> None:
    kind, changes = change
    payload = bases(env)[kind]
    for path, value in changes:
        put(payload, path, value)
    if kind == "command":
        # A form carries text only: a non-text value goes in as JSON (which Slack never sends).
        body, content_type = json.dumps(payload), "application/json"
        if all(isinstance(v, str) for v in payload.values()):
            body, content_type = urlencode(payload), "application/x-www-form-urlencoded"
    elif kind in ("event", "mention"):
        body, content_type = json.dumps(payload), "application/json"
    else:
        body, content_type = urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded"
    before = set(asyncio.all_tasks())
    caplog.clear()
    status, answer, _ = await env.post(body, content_type)
    await settle(before)
    event(f"{kind}: {status}")
    assert status in (200, 400, 404), (status, answer[:300])
    assert_no_traceback(caplog.records)
    errors = [f"{r.name}: {r.getMessage()[:300]}" for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == []
