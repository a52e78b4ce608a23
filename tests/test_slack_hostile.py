"""Hostile input on POST /slack/events and Socket Mode: a clear refusal, nothing changed, nothing sent.

Every request here is one a stranger (unsigned, mis-signed, stale) or a
signed-but-odd payload could produce. For each: the expected status (never
500), no row added or removed in any table, no call to the Slack API, no
traceback, at most one log line, and never the body, the signing secret or
the signature in the log (at any level, Bolt's DEBUG included).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from urllib.parse import urlencode

import aiohttp
import pytest

from bot.web import create_app
from bot.request_body import MAX_BODY
from store.busy import BUSY_MESSAGE, RETRY_AFTER_S
from store.database import Database, open_database
from tests.fake_slack import FakeSlack
from tests.helpers import assert_no_traceback, serve, table_counts
from tests.slack_env import SECRET, Env, running_slack, running_socket_mode, sign_bytes, slack_settings

CANARY = "canary-7f3a9"  # in every hostile body; must never reach the log
ALLOWED = {200, 400, 401, 404, 413, 503}
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


def log_lines(records: list[logging.LogRecord]) -> list[logging.LogRecord]:
    """What an operator would read at INFO (the access log aside: one line per request by design)."""
    return [r for r in records if r.levelno >= logging.INFO and r.name != "aiohttp.access"]


@pytest.fixture
async def env(db: Database, caplog: pytest.LogCaptureFixture) -> AsyncIterator[Env]:
    # DEBUG before the app exists: Bolt copies the root level into its loggers when it is built.
    caplog.set_level(logging.DEBUG)
    async with running_slack(db) as running:
        yield running


# ---------------------------------------------------------------- payloads


def command(slack_base: str, **fields: object) -> dict[str, object]:
    base: dict[str, object] = {
        "token": "gIkuvaNzQIHg97ATvDxqgjtO",
        "team_id": "T0001",
        "team_domain": "acme",
        "channel_id": "C2147483705",
        "channel_name": "support",
        "user_id": "U0123ABCD",
        "user_name": "alice",
        "command": "/kpi",
        "text": f"team --share {CANARY}",
        "api_app_id": "A123456",
        "response_url": f"{slack_base}/response/hostile",
        "trigger_id": "13345224609.738474920.8088930838d88f008e0",
    }
    return {k: v for k, v in (base | fields).items() if v is not ...}


def click(slack_base: str, **fields: object) -> dict[str, object]:
    base: dict[str, object] = {
        "type": "block_actions",
        "team": {"id": "T0001", "domain": "acme"},
        "user": {"id": "U0123ABCD", "username": "alice", "team_id": "T0001"},
        "api_app_id": "A123456",
        "container": {"type": "message", "message_ts": "1700000000.000100", "channel_id": "C2147483705"},
        "trigger_id": "12466734323.1395872398.c2c3c5b3b1d3bd7e5b5fa1cd8f4b4f09",
        "channel": {"id": "C2147483705", "name": "support"},
        "response_url": f"{slack_base}/response/hostile",
        "actions": [{"action_id": "kpi.share", "block_id": "b1", "value": f"team support-emea 7d {CANARY}", "type": "button"}],
    }
    return {k: v for k, v in (base | fields).items() if v is not ...}


def shortcut(slack_base: str, **fields: object) -> dict[str, object]:
    base: dict[str, object] = {
        "type": "message_action",
        "callback_id": "quote_message",
        "team": {"id": "T0001"},
        "user": {"id": "U0123ABCD"},
        "channel": {"id": "C2147483705"},
        "message": {"type": "message", "user": "U0CUSTOMR", "ts": "1700000000.000900", "text": CANARY},
        "response_url": f"{slack_base}/response/hostile",
        "trigger_id": "13345224609.738474920.8088930838d88f008e0",
    }
    return base | fields


def submission(slack_base: str, **fields: object) -> dict[str, object]:
    view = {"id": "V0001", "hash": "1.2", "callback_id": "feedback.submit", "private_metadata": CANARY, "type": "modal",
            "state": {"values": {"topic": {"value": {"type": "plain_text_input", "value": CANARY}}}}}
    return {"type": "view_submission", "team": {"id": "T0001"}, "user": {"id": "U0123ABCD"}, "view": view} | fields


def event(slack_base: str, **fields: object) -> dict[str, object]:
    base: dict[str, object] = {
        "token": "gIkuvaNzQIHg97ATvDxqgjtO",
        "team_id": "T0001",
        "api_app_id": "A123456",
        "type": "event_callback",
        "event_id": "EvHOSTILE1",
        "event_time": 1700000000,
        "event": {"type": "app_home_opened", "user": "U0123ABCD", "channel": "D0001", "tab": "home", "event_ts": CANARY},
    }
    return base | fields


def mention(**fields: object) -> dict[str, object]:
    """An app_mention event (fields replace or, given `...`, remove its own)."""
    base: dict[str, object] = {"type": "app_mention", "user": "U0123ABCD", "text": f"<@UBOT> kpi team --share {CANARY}", "ts": "1700000100.000100", "channel": "C2147483705"}
    return {k: v for k, v in (base | fields).items() if v is not ...}


def as_form(payload: dict[str, object]) -> bytes:
    return urlencode({"payload": json.dumps(payload)}).encode()


def as_json(payload: object) -> bytes:
    return json.dumps(payload).encode()


# ---------------------------------------------------------------- cases


Headers = Callable[[bytes], dict[str, str]]


def signed(body: bytes, stamp: str | None = None) -> dict[str, str]:
    stamp = stamp if stamp is not None else str(int(time.time()))
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": sign_bytes(body, stamp)}


def stamped(stamp: str) -> Headers:
    """Signed correctly for `stamp`, so only the timestamp is wrong."""
    return lambda body: signed(body, stamp)


def unsigned(body: bytes) -> dict[str, str]:
    return {}


def mis_signed(body: bytes) -> dict[str, str]:
    return signed(body) | {"X-Slack-Signature": "v0=" + "0" * 64}


def wrong_secret(body: bytes) -> dict[str, str]:
    stamp = str(int(time.time()))
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": sign_bytes(body, stamp, secret="x" * 32)}


@dataclass(frozen=True)
class Case:
    name: str
    body: Callable[[str], bytes]  # slack_base -> body
    headers: Headers
    status: int
    content_type: str = FORM

    def __str__(self) -> str:
        return self.name


def cmd_form(**fields: object) -> Callable[[str], bytes]:
    return lambda base: urlencode(command(base, **fields)).encode()


STRANGERS = [
    Case("unsigned", cmd_form(), unsigned, 401),
    Case("mis-signed", cmd_form(), mis_signed, 401),
    Case("wrong secret", cmd_form(), wrong_secret, 401),
    Case("signature only", cmd_form(), lambda b: {"X-Slack-Signature": signed(b)["X-Slack-Signature"]}, 401),
    Case("timestamp only", cmd_form(), lambda b: {"X-Slack-Request-Timestamp": str(int(time.time()))}, 401),
    Case("stale timestamp", cmd_form(), lambda b: signed(b, str(int(time.time()) - 6 * 60)), 401),
    Case("future timestamp", cmd_form(), lambda b: signed(b, str(int(time.time()) + 6 * 60)), 401),
    Case("timestamp abc", cmd_form(), stamped("abc"), 401),
    Case("timestamp of 400 digits", cmd_form(), stamped("9" * 400), 401),
    Case("timestamp 1e9", cmd_form(), stamped("1e9"), 401),
    Case("empty timestamp", cmd_form(), stamped(""), 401),
    Case("negative timestamp", cmd_form(), stamped("-1"), 401),
    Case("timestamp with a space", cmd_form(), lambda b: signed(b, " " + str(int(time.time()))), 401),
    Case("non-ASCII signature", cmd_form(), lambda b: signed(b) | {"X-Slack-Signature": "v0=é" + "0" * 63}, 401),
    Case("invalid UTF-8, unsigned", lambda base: b"command=/kpi&text=\xff\xfe" + CANARY.encode(), unsigned, 401),
    Case("neither JSON nor form, unsigned", lambda base: f"<xml>{CANARY}</xml>".encode(), unsigned, 401, "text/xml"),
    Case("payload smuggled with ssl_check", lambda base: b"ssl_check=1&" + as_form(click(base)), unsigned, 401),
    Case("command smuggled with ssl_check", lambda base: b"ssl_check=1&" + urlencode(command(base)).encode(), unsigned, 401),
    Case("oversized, unsigned", lambda base: b"text=" + CANARY.encode() + b"x" * MAX_BODY, unsigned, 413),
]

SIGNED_MALFORMED = [
    Case("invalid UTF-8, signed", lambda base: b"command=/kpi&text=\xff\xfe" + CANARY.encode(), signed, 400),
    Case("neither JSON nor form, signed", lambda base: f"<xml>{CANARY}</xml>".encode(), signed, 400, "text/xml"),
    Case("no content type, signed", lambda base: f"{CANARY}".encode(), signed, 400, ""),
    Case("JSON that is not JSON", lambda base: b'{"type": "event_callback", ' + CANARY.encode(), signed, 400, JSON),
    Case("JSON that is a list", lambda base: as_json([CANARY]), signed, 400, JSON),
    Case("JSON with a 5000-digit number", lambda base: b'{"type": "event_callback", "n": ' + b"9" * 5000 + b', "c": "' + CANARY.encode() + b'"}', signed, 400, JSON),
    Case("JSON nested 100000 deep", lambda base: b'{"c": "' + CANARY.encode() + b'", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", signed, 400, JSON),
    Case("payload= not JSON", lambda base: urlencode({"payload": "{" + CANARY}).encode(), signed, 400),
    Case("payload= a list", lambda base: urlencode({"payload": json.dumps([CANARY])}).encode(), signed, 400),
    Case("payload= nested too deep", lambda base: urlencode({"payload": '{"c": "' + CANARY + '", "x": ' + "[" * 500 + "]" * 500 + "}"}).encode(), signed, 400),
    Case("form with invalid UTF-8 escapes", lambda base: urlencode(command(base)).encode() + b"&text=%ff%fe", signed, 400),
    Case("form field given twice", lambda base: urlencode(command(base)).encode() + b"&command=/csbot", signed, 400),
    Case("form with thousands of fields", lambda base: urlencode(command(base)).encode() + b"&x=1" * 5000, signed, 400),
    Case("NUL in a command", cmd_form(text=f"team\x00{CANARY}"), signed, 400),
    Case("NUL in a payload", lambda base: as_form(click(base, trigger_id=f"\x00{CANARY}")), signed, 400),
    Case("lone surrogate in a payload", lambda base: urlencode({"payload": json.dumps(click(base)).replace(CANARY, "\\ud800" + CANARY)}).encode(), signed, 400),
    Case("neither a command nor a payload", lambda base: urlencode({"hello": CANARY}).encode(), signed, 400),
    Case("JSON without a type", lambda base: as_json({"hello": CANARY}), signed, 400, JSON),
    Case("oversized, signed", lambda base: b"text=" + CANARY.encode() + b"x" * MAX_BODY, signed, 413),
]

def with_surrogate(payload: dict[str, object]) -> str:
    """`payload` as JSON with a lone surrogate escaped in front of the canary (`\\ud800` on the wire)."""
    return json.dumps(payload).replace(CANARY, "\\ud800" + CANARY)


# A lone surrogate in every kind of request Slack sends, each refused naming its field.
SURROGATES = [
    Case("surrogate bytes in a slash command's text", lambda base: urlencode(command(base, text="x")).replace("text=x", "text=%ED%A0%80").encode(), signed, 400),
    Case("surrogate escape in a button value", lambda base: urlencode({"payload": with_surrogate(click(base))}).encode(), signed, 400),
    Case("surrogate escape in a view submission", lambda base: urlencode({"payload": with_surrogate(submission(base))}).encode(), signed, 400),
    Case("surrogate escape in a shortcut's message", lambda base: urlencode({"payload": with_surrogate(shortcut(base))}).encode(), signed, 400),
    Case("surrogate escape in an event", lambda base: with_surrogate(event(base)).encode(), signed, 400, JSON),
    Case("surrogate escape in a mention", lambda base: with_surrogate(event(base, event=mention())).encode(), signed, 400, JSON),
]
SURROGATE_FIELDS = ["form field text", "payload.actions[0].value", "payload.view.state.values.topic.value.value",
                    "payload.message.text", "payload.event.event_ts", "payload.event.text"]


WRONG_TYPES = [
    Case("actions: null", lambda base: as_form(click(base, actions=None)), signed, 400),
    Case("actions: [1]", lambda base: as_form(click(base, actions=[1])), signed, 400),
    Case("actions: []", lambda base: as_form(click(base, actions=[])), signed, 400),
    Case("actions: {}", lambda base: as_form(click(base, actions={"action_id": "kpi.share"})), signed, 400),
    Case("action_id: 5", lambda base: as_form(click(base, actions=[{"action_id": 5, "value": CANARY}])), signed, 400),
    Case("action value: []", lambda base: as_form(click(base, actions=[{"action_id": "kpi.share", "value": [CANARY]}])), signed, 400),
    Case("user: 123", lambda base: as_form(click(base, user=123)), signed, 400),
    Case("user: {id: 5}", lambda base: as_form(click(base, user={"id": 5})), signed, 400),
    Case("team: []", lambda base: as_form(click(base, team=[])), signed, 400),
    Case("team: 7", lambda base: as_form(click(base, team=7)), signed, 400),
    Case("enterprise: 7", lambda base: as_form(click(base, enterprise=7)), signed, 400),
    Case("channel: 5", lambda base: as_form(click(base, channel=5)), signed, 400),
    Case("container: 1", lambda base: as_form(click(base, container=1)), signed, 400),
    Case("container message_ts: []", lambda base: as_form(click(base, container={"message_ts": []})), signed, 400),
    Case("response_url: 5", lambda base: as_form(click(base, response_url=5)), signed, 400),
    Case("trigger_id: []", lambda base: as_form(click(base, trigger_id=[])), signed, 400),
    Case("type: 5", lambda base: as_form(click(base, type=5)), signed, 400),
    Case("response_urls: [1]", lambda base: as_form(click(base, response_urls=[1])), signed, 400),
    Case("authorizations: x", lambda base: as_json(event(base, authorizations="x")), signed, 400, JSON),
    Case("message: x", lambda base: as_form(shortcut(base, message="x")), signed, 400),
    Case("message ts: 1", lambda base: as_form(shortcut(base, message={"ts": 1, "text": CANARY})), signed, 400),
    Case("callback_id: null", lambda base: as_form(shortcut(base, callback_id=None)), signed, 400),
    Case("view: x", lambda base: as_form(submission(base, view="x")), signed, 400),
    Case("view callback_id: 1", lambda base: as_form(submission(base, view={"callback_id": 1, "id": CANARY})), signed, 400),
    Case("view state value: 1", lambda base: as_form(submission(base, view={"id": "V1", "hash": "h", "callback_id": "feedback.submit", "state": {"values": {"topic": {"value": {"value": 1}}}}, "private_metadata": CANARY})), signed, 400),
    Case("view state values: []", lambda base: as_form(submission(base, view={"id": "V1", "callback_id": "feedback.submit", "state": {"values": [CANARY]}})), signed, 400),
    Case("event: [1]", lambda base: as_json(event(base, event=[1])), signed, 400, JSON),
    Case("event: 'type'", lambda base: as_json(event(base, event="type")), signed, 400, JSON),
    Case("event: {type: 5}", lambda base: as_json(event(base, event={"type": 5, "user": CANARY})), signed, 400, JSON),
    Case("event without a type", lambda base: as_json(event(base, event={"user": CANARY})), signed, 400, JSON),
    Case("event user: 123", lambda base: as_json(event(base, event={"type": "app_home_opened", "user": 123, "tab": CANARY})), signed, 400, JSON),
    Case("event_id: 5", lambda base: as_json(event(base, event_id=5)), signed, 400, JSON),
    Case("shared channel with event: 3", lambda base: as_json(event(base, is_ext_shared_channel=True, event=3)), signed, 400, JSON),
    Case("app_mention without a channel", lambda base: as_json(event(base, event=mention(channel=...))), signed, 400, JSON),
    Case("app_mention without a ts", lambda base: as_json(event(base, event=mention(ts=...))), signed, 400, JSON),
    Case("app_mention text: 5", lambda base: as_json(event(base, event=mention(text=5))), signed, 400, JSON),
    Case("app_mention text: [...]", lambda base: as_json(event(base, event=mention(text=[CANARY]))), signed, 400, JSON),
    Case("app_mention ts: 1.5", lambda base: as_json(event(base, event=mention(ts=1.5))), signed, 400, JSON),
    Case("app_mention thread_ts: {}", lambda base: as_json(event(base, event=mention(thread_ts={"ts": CANARY}))), signed, 400, JSON),
    Case("url_verification without a challenge", lambda base: as_json({"type": "url_verification", "token": CANARY}), signed, 400, JSON),
    Case("command fields as lists (JSON)", lambda base: as_json({k: [v] for k, v in command(base).items()}), signed, 400, JSON),
    Case("command: 5 (JSON)", lambda base: as_json(command(base, command=5)), signed, 400, JSON),
    Case("command without a user", cmd_form(user_id=...), signed, 400),
    Case("command without a response_url", cmd_form(response_url=...), signed, 400),
]


async def check_refused(env: Env, caplog: pytest.LogCaptureFixture, case: Case) -> list[str]:
    """Send `case`; return what went wrong with it (empty when all is well)."""
    body = case.body(env.slack_base)
    headers = case.headers(body)
    if case.content_type:
        headers["Content-Type"] = case.content_type
    secrets = [SECRET, CANARY, *(v for k, v in headers.items() if k == "X-Slack-Signature")]
    before = table_counts(env.db)
    caplog.clear()
    status, answer = await env.post_bytes(body, headers)
    problems = []
    if status != case.status or status not in ALLOWED:
        problems.append(f"status {status}, expected {case.status}: {answer[:200]}")
    if table_counts(env.db) != before:
        problems.append("rows changed")
    if env.slack.calls:
        problems.append(f"Slack API called: {[c.method for c in env.slack.calls]}")
    try:
        assert_no_traceback(caplog.records)
    except AssertionError as exc:
        problems.append(str(exc))
    lines = log_lines(caplog.records)
    if len(lines) > 1 or (status >= 400 and not lines):
        problems.append(f"{len(lines)} log lines: {[r.getMessage()[:200] for r in lines]}")
    elif status >= 400 and not lines[0].getMessage().startswith("/slack/events refused from 127.0.0.1: "):
        problems.append(f"not a refusal line: {lines[0].getMessage()[:200]}")
    for record in caplog.records:
        message = record.getMessage()
        if any(s in message for s in secrets):
            problems.append(f"{record.name} logged the body or a secret: {message[:200]}")
    return [f"{case}: {p}" for p in problems]


@pytest.mark.parametrize("cases", [STRANGERS, SIGNED_MALFORMED, WRONG_TYPES, SURROGATES], ids=["strangers", "signed-malformed", "wrong-types", "surrogates"])
async def test_bad_requests_are_refused_and_change_nothing(env: Env, caplog: pytest.LogCaptureFixture, cases: list[Case]) -> None:
    problems = [p for case in cases for p in await check_refused(env, caplog, case)]
    assert problems == []


async def test_a_lone_surrogate_is_refused_naming_its_field(env: Env) -> None:
    for case, field in zip(SURROGATES, SURROGATE_FIELDS, strict=True):
        body = case.body(env.slack_base)
        status, answer = await env.post_bytes(body, {**signed(body), "Content-Type": case.content_type})
        assert status == 400 and field in answer and "\\ud800" not in answer, (case.name, answer)


async def test_slacks_ssl_check_is_answered_and_does_nothing(env: Env, caplog: pytest.LogCaptureFixture) -> None:
    # Slack's certificate check comes unsigned; it must get 200 and run nothing.
    case = Case("ssl_check", lambda base: b"ssl_check=1&token=" + CANARY.encode(), unsigned, 200)
    assert await check_refused(env, caplog, case) == []


async def test_an_oversized_body_without_a_length_is_refused(env: Env, caplog: pytest.LogCaptureFixture) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"text=" + CANARY.encode()
        for _ in range(MAX_BODY // 4096 + 2):
            yield b"x" * 4096

    before = table_counts(env.db)
    status, _ = await env.post_bytes(chunks(), {"Content-Type": FORM, **signed(b"")})  # type: ignore[arg-type]
    assert status == 413
    assert table_counts(env.db) == before and env.slack.calls == []
    assert_no_traceback(caplog.records)
    assert len(log_lines(caplog.records)) == 1


async def test_a_good_request_still_works_after_the_bad_ones(env: Env, caplog: pytest.LogCaptureFixture) -> None:
    for cases in (STRANGERS, SIGNED_MALFORMED, WRONG_TYPES):
        for case in cases:
            await check_refused(env, caplog, case)
    status, _, _ = await env.command("/kpi", "team")
    assert status == 200
    answer = (await env.wait_for("response_url"))[0].args
    assert "Support EMEA" in answer["text"]
    assert_no_traceback(caplog.records)


async def raw_exchange(base: str, request: bytes, timeout: float = 5.0) -> bytes:
    """Write `request` as is on a fresh connection; the status line that comes back."""
    host, port = base.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(request)
        await writer.drain()
        return await asyncio.wait_for(reader.readline(), timeout)
    finally:
        writer.close()


def refusal_lines(records: list[logging.LogRecord]) -> list[str]:
    return [r.getMessage() for r in records if r.name == "csbot.refused"]


async def test_a_body_that_never_finishes_arriving_is_refused(env: Env, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bot.request_body.BODY_TIMEOUT_S", 0.2)
    before = table_counts(env.db)
    head = b"POST /slack/events HTTP/1.1\r\nHost: csbot\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
    assert (await raw_exchange(env.base, head + b'{"type": "' + CANARY.encode())).startswith(b"HTTP/1.1 400 ")
    assert refusal_lines(caplog.records) == ["/slack/events refused from 127.0.0.1: body not received in time"]
    assert table_counts(env.db) == before and env.slack.calls == []
    assert_no_traceback(caplog.records)


async def test_a_corrupt_compressed_body_is_refused(env: Env, caplog: pytest.LogCaptureFixture) -> None:
    before = table_counts(env.db)
    body = b"\x1f\x8b\x08\x00" + CANARY.encode()
    head = (
        b"POST /slack/events HTTP/1.1\r\nHost: csbot\r\nContent-Type: application/json\r\n"
        b"Content-Encoding: gzip\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n"
    )
    # The app never inflates a body (bot/web.py): the bytes as sent are checked, and these are not signed.
    assert (await raw_exchange(env.base, head + body)).startswith(b"HTTP/1.1 401 ")
    assert len(refusal_lines(caplog.records)) == 1
    assert table_counts(env.db) == before and env.slack.calls == []
    assert_no_traceback(caplog.records)


async def test_bolt_steering_headers_are_not_passed_on(env: Env) -> None:
    # With these, Bolt would run the slow part inside the request instead of acknowledging first.
    # The slow part takes 5 s; an acknowledgement well before that did not wait for it (a margin
    # a loaded machine keeps: 1 s against 0.9 s once failed here with the suite running).
    env.slack.delay_s["users.info"] = 5.0
    body = env.command_body("/kpi", "team support-amer", user="U0EMAIL01")
    headers = env.sign(body) | {"X-Slack-Bolt-Lazy-Only": "1", "X-Slack-Bolt-Lazy-Function-Name": "answer"}
    status, _, ack_s = await env.post(body, FORM, headers)
    assert status == 200 and ack_s < 4.0
    assert "Support Americas" in (await env.wait_for("response_url"))[0].args["text"]


async def test_an_unreachable_database_is_busy_not_a_crash(caplog: pytest.LogCaptureFixture) -> None:
    """A modal submission (answered in the acknowledgement) gets 503 with Retry-After; a command, "busy, try again"."""
    down = open_database("postgresql+psycopg://csbot@127.0.0.1:1/none", timeout_s=1, upgrade=False)
    fake = FakeSlack()
    slack_runner, slack_base = await serve(fake.app())
    runner, base = await serve(create_app(down, slack_settings(slack_base)))
    env = Env(down, fake, base, slack_base)
    try:
        body = as_form(submission(slack_base))
        async with aiohttp.ClientSession() as http, http.post(f"{base}/slack/events", data=body, headers={"Content-Type": FORM, **signed(body)}) as resp:
            assert resp.status == 503 and resp.headers["Retry-After"] == str(RETRY_AFTER_S)
        status, _, _ = await env.command("/kpi", "team --share")
        assert status == 200
        assert (await env.wait_for("response_url"))[0].args["text"] == BUSY_MESSAGE
        assert_no_traceback(caplog.records)
    finally:
        await runner.cleanup()
        await slack_runner.cleanup()
        down.dispose()


# ---------------------------------------------------------------- Socket Mode


async def test_socket_mode_acknowledges_malformed_envelopes_and_does_nothing(db: Database, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with running_socket_mode(db) as (fake, _base):
        assert fake.outbox is not None
        bad = [
            ("slash_commands", {**command(fake.base_url), "user_id": [CANARY]}),
            ("slash_commands", {**command(fake.base_url), "command": 5}),
            ("interactive", click(fake.base_url, user=123)),
            ("interactive", click(fake.base_url, actions=None)),
            ("interactive", submission(fake.base_url, view="x")),
            ("events_api", event(fake.base_url, event=[1])),
            ("events_api", event(fake.base_url, event={"type": 5, "user": CANARY})),
            ("events_api", event(fake.base_url, event=mention(ts=...))),
            ("events_api", event(fake.base_url, event=mention(text={"x": CANARY}))),
            ("events_api", CANARY),
        ]
        before = table_counts(db)
        opened = len(fake.calls)
        caplog.clear()
        for n, (kind, payload) in enumerate(bad):
            await fake.outbox.put({"envelope_id": f"bad-{n}", "type": kind, "accepts_response_payload": kind != "events_api", "payload": payload})
        deadline = time.monotonic() + 10
        while {a.get("envelope_id") for a in fake.acks} < {f"bad-{n}" for n in range(len(bad))}:
            assert time.monotonic() < deadline, f"not acknowledged: {fake.acks}"
            await asyncio.sleep(0.02)
        # A good command after them is answered: nothing was stuck or broken.
        await fake.outbox.put({"envelope_id": "good", "type": "slash_commands", "accepts_response_payload": True,
                               "payload": command(fake.base_url, text="team")})
        while not fake.of("response_url"):
            assert time.monotonic() < deadline, fake.calls
            await asyncio.sleep(0.02)
        assert [c.method for c in fake.calls[opened:]] == ["auth.test", "response_url"]
        assert table_counts(db) == before
        assert_no_traceback(caplog.records)
        refused = [r.getMessage() for r in log_lines(caplog.records) if r.name == "csbot.refused"]
        assert len(refused) == len(bad) and all(m.startswith("Slack Socket Mode refused from slack: ") for m in refused)
        assert not any(CANARY in r.getMessage() for r in caplog.records)


# ---------------------------------------------------------------- what Bolt logs


async def test_bolt_never_logs_a_payload(env: Env, caplog: pytest.LogCaptureFixture) -> None:
    """At DEBUG, a good command, an event and a command nobody listens for: no payload in the log."""
    await env.command("/kpi", f"team {CANARY}")
    status, _, _ = await env.event({"type": "app_mention", "user": "U0123ABCD", "text": f"<@UBOT> {CANARY}", "channel": "C1", "ts": "1.2"}, "EvMENTION1")
    assert status == 200  # Slack retries (and eventually disables) events not acknowledged
    status, _, _ = await env.command("/nope", CANARY)
    assert status == 404
    status, _, _ = await env.post(as_form({"type": "block_suggestion", "action_id": CANARY, "value": CANARY, "user": {"id": "U0123ABCD"}}).decode(), FORM)
    assert status == 404
    await env.wait_for("response_url")
    assert_no_traceback(caplog.records)
    leaks = [f"{r.name}: {r.getMessage()[:200]}" for r in caplog.records if CANARY in r.getMessage() and not r.name.startswith("sqlalchemy")]
    assert leaks == []
    assert len([r for r in log_lines(caplog.records) if r.name.startswith(("slack_bolt", "csbot.slack"))]) <= 2


async def test_socket_mode_takes_a_submission_with_several_response_urls(db: Database, caplog: pytest.LogCaptureFixture) -> None:
    # Valid (modals with several conversation pickers send these), but Bolt used to
    # fail building its context for it: no acknowledgement, a traceback.
    async with running_socket_mode(db) as (fake, _base):
        assert fake.outbox is not None
        urls = [{"response_url": f"{fake.base_url}/response/r{n}", "block_id": "b", "action_id": "a", "channel_id": "C1"} for n in (1, 2)]
        await fake.outbox.put({"envelope_id": "several", "type": "interactive", "accepts_response_payload": True,
                               "payload": submission(fake.base_url, response_urls=urls)})
        deadline = time.monotonic() + 10
        # Acknowledged, and answered (csbot has no such form: it says so in a DM).
        while not (any(a.get("envelope_id") == "several" for a in fake.acks) and fake.of("chat.postMessage")):
            assert time.monotonic() < deadline, f"not acknowledged and answered: {fake.acks} {fake.calls}"
            await asyncio.sleep(0.02)
        assert_no_traceback(caplog.records)


async def test_a_response_url_off_slack_is_never_posted_to(env: Env, caplog: pytest.LogCaptureFixture) -> None:
    """Even a signed command cannot make csbot post to another host (an internal one, say)."""
    hits: list[str] = []

    async def record(request: aiohttp.web.Request) -> aiohttp.web.Response:
        hits.append(request.path)
        return aiohttp.web.Response(text="ok")

    internal = aiohttp.web.Application()
    internal.router.add_post("/{tail:.*}", record)
    runner, base = await serve(internal)
    try:
        # "localhost" is not the Slack API's host (127.0.0.1) nor hooks.slack.com.
        steal = base.replace("127.0.0.1", "localhost") + "/steal"
        body = env.command_body("/kpi", "team support-emea").replace(
            urlencode({"response_url": f"{env.slack_base}/response/cmd1"}), urlencode({"response_url": steal})
        )
        assert urlencode({"response_url": steal}) in body
        status, _, _ = await env.post(body, "application/x-www-form-urlencoded")
        assert status == 200
        deadline = time.monotonic() + 10
        while not any("not on a Slack host" in r.getMessage() for r in caplog.records):
            assert time.monotonic() < deadline, "the answer was never attempted"
            await asyncio.sleep(0.05)
        assert hits == []
    finally:
        await runner.cleanup()
