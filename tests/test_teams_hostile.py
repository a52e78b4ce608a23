"""POST /api/messages against what a stranger (or a broken client) can send.

The real csbot app over real HTTP, with Bot Framework authentication on (a
local token service with its own RSA key, tests/fake_openid.py) and with
TEAMS_AUTH_DISABLED=true. For every hostile request: a clear status (never
500), nothing changed in the database, nothing sent to the Bot Connector, no
traceback, and at most one log line, which carries no token.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import json
import logging
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import inspect, text

from bot.teams import keys
from bot.request_body import MAX_BODY
from store.database import Database
from tests.fake_openid import KEYS_PATH, KID, FakeOpenId, hs256_token, public_pem, rs256_token, rsa_key, unsigned_token
from tests.helpers import apply_fixture_org, assert_no_traceback
from tests.teams_env import Env, microsoft_cloud, start_env

APP_ID = "8f0c2a1e-1111-4000-8000-000000000001"
SECRET = "not-a-real-client-secret"
AUTH_ON = {"MicrosoftAppId": APP_ID, "MicrosoftAppPassword": SECRET}
JSON = {"Content-Type": "application/json"}
# What a refused or ignored request may be answered with; 500 never.
CLEAR_ANSWERS = {200, 400, 401, 404, 413, 503}
DROP = object()  # in a mutation: remove the key


# A database's tables, by its URL: read once, since no request may change them. (Reading them for
# each of a test's hundreds of snapshots was most of its time on PostgreSQL, whose catalog query
# scans pg_class.)
_TABLES: dict[str, list[str]] = {}


def snapshot(db: Database) -> dict[str, list[str]]:
    """Every row of every table (conversation refs, chat users, claims, org...), comparable."""
    with db.engine.connect() as conn:
        url = db.engine.url.render_as_string()
        if url not in _TABLES:
            _TABLES[url] = inspect(conn).get_table_names()
        return {table: sorted(repr(tuple(row)) for row in conn.execute(text(f'SELECT * FROM "{table}"'))) for table in _TABLES[url]}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def mutate(wire: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A deep copy of `wire` with top-level keys set (DROP removes); `a__b` reaches one level down."""
    out = copy.deepcopy(wire)
    for key, value in changes.items():
        target, name = out, key
        if "__" in key:
            outer, name = key.split("__", 1)
            target = out[outer]
        if value is DROP:
            target.pop(name, None)
        else:
            target[name] = value
    return out


@dataclass
class Attempt:
    status: int
    headers: dict[str, str]
    lines: list[str]


async def attempt(env: Env, caplog: pytest.LogCaptureFixture, body: bytes, headers: dict[str, str]) -> Attempt:
    """Send one request and check that it changed nothing, sent nothing and logged no traceback."""
    before, sent = snapshot(env.db), len(env.connector.sent)
    caplog.clear()
    status, resp_headers, _ = await env.post_raw(body, headers)
    assert status in CLEAR_ANSWERS, status
    assert snapshot(env.db) == before
    assert len(env.connector.sent) == sent
    assert_no_traceback(caplog.records)
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(lines) <= 1, lines
    for value in headers.values():
        # A refusal names the route and the reason, never a header value (a token) or the body.
        if len(value) > 20:
            assert not any(value[7:27] in line for line in lines), lines
    return Attempt(status, resp_headers, lines)


@pytest.fixture(autouse=True)
def info_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)


@pytest.fixture
def openid(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeOpenId]:
    with microsoft_cloud(monkeypatch, tmp_path, APP_ID, SECRET) as cloud:
        yield cloud.openid


@dataclass
class Secured:
    env: Env
    openid: FakeOpenId

    def bearer(self, **token_args: Any) -> dict[str, str]:
        return {**JSON, "Authorization": "Bearer " + self.openid.token(APP_ID, self.env.service_url, **token_args)}


@pytest.fixture
async def secured(db: Database, openid: FakeOpenId) -> AsyncIterator[Secured]:
    apply_fixture_org(db)
    env, runners = await start_env(db, settings_env=AUTH_ON)
    try:
        yield Secured(env, openid)
    finally:
        for r in runners:
            await r.cleanup()


@pytest.fixture
async def open_env(db: Database) -> AsyncIterator[Env]:
    apply_fixture_org(db)
    env, runners = await start_env(db)
    try:
        yield env
    finally:
        for r in runners:
            await r.cleanup()


def installation_update(env: Env) -> dict[str, Any]:
    """An activity csbot accepts that sends nothing back (so no outbound Bot Framework token is needed)."""
    wire = env.activity(None, where="channel")
    return mutate(wire, type="installationUpdate", action="add", text=DROP, entities=DROP)


def forged_tokens(s: Secured) -> dict[str, str]:
    """Authorization header values that must all be refused with 401."""
    fake, url = s.openid, s.env.service_url
    claims = fake.claims(APP_ID, url)
    good = fake.token(APP_ID, url)
    now = int(time.time())
    return {
        "empty bearer": "Bearer ",
        "bearer garbage": "Bearer garbage",
        "basic auth": "Basic dXNlcjpwYXNzd29yZA==",
        "lower-case scheme": "bearer " + good,
        "two tokens": f"Bearer {good} {good}",
        "not a JWT": "Bearer aaa.bbb.ccc",
        "JWT of non-JSON": f"Bearer {b64(b'not json')}.{b64(b'nor this')}.{b64(b'sig')}",
        "JWT of a JSON list": f"Bearer {b64(b'[1]')}.{b64(b'[2]')}.{b64(b'sig')}",
        "longer than any real token": "Bearer " + "a" * 8000 + ".b.c",  # aiohttp itself refuses header lines over 8190 bytes
        "signature stripped": "Bearer " + good.rsplit(".", 1)[0] + ".",
        "wrong key": "Bearer " + fake.token(APP_ID, url, key=rsa_key("attacker")),
        "unknown kid": "Bearer " + fake.token(APP_ID, url, headers={"kid": "not-a-published-key"}),
        "missing kid": "Bearer " + fake.token(APP_ID, url, headers={}),
        "kid not a string": "Bearer " + rs256_token({"kid": [KID]}, claims, fake.key),
        "alg none": "Bearer " + unsigned_token({"alg": "none", "typ": "JWT", "kid": KID}, claims),
        "alg none without kid": "Bearer " + unsigned_token({"alg": "none"}, claims),
        "HS256 with the public key": "Bearer " + hs256_token({"kid": KID, "typ": "JWT"}, claims, public_pem(fake.key)),
        "PS256": "Bearer " + fake.token(APP_ID, url, algorithm="PS256"),
        "expired": "Bearer " + fake.token(APP_ID, url, exp=now - 3600, nbf=now - 7200, iat=now - 7200),
        "not yet valid": "Bearer " + fake.token(APP_ID, url, nbf=now + 3600, iat=now + 3600),
        "no expiry": "Bearer " + fake.token(APP_ID, url, exp=None),
        "another bot's audience": "Bearer " + fake.token(APP_ID, url, aud="00000000-0000-4000-8000-000000000000"),
        "no audience": "Bearer " + fake.token(APP_ID, url, aud=None),
        "wrong issuer": "Bearer " + fake.token(APP_ID, url, iss="https://evil.example"),
        "no issuer": "Bearer " + fake.token(APP_ID, url, iss=None),
        "another service URL": "Bearer " + fake.token(APP_ID, "https://evil.example/"),
        "no service URL": "Bearer " + fake.token(APP_ID, url, serviceurl=None),
    }


def malformed_bodies(env: Env) -> dict[str, bytes]:
    """Bodies that are not an activity csbot can act on: 400 each."""
    msg = env.activity("kpi team", where="personal")
    card = env.activity(None, where="personal", value={"action_id": "kpi.window", "value": "x"})
    invoke = mutate(msg, type="invoke", name="adaptiveCard/action", text=DROP, value={"action": {"type": "Action.Execute", "data": {}}})
    js = lambda wire: json.dumps(wire).encode()  # noqa: E731
    return {
        "empty": b"",
        "not JSON": b"{not json",
        "not UTF-8": b'{"type": "message", "text": "\xff\xfe"}',
        "a JSON array": b"[]",
        "null": b"null",
        "a string": b'"message"',
        "a number": b"5",
        "deeply nested": b"[" * 100_000 + b"]" * 100_000,
        "a huge integer": b'{"type": "message", "id": ' + b"9" * 5000 + b"}",
        "no type": js(mutate(msg, type=DROP)),
        "type 5": js(mutate(msg, type=5)),
        "no id": js(mutate(msg, id=DROP)),
        "id 5": js(mutate(msg, id=5)),
        "id too long": js(mutate(msg, id="1" * 1000)),
        "no from": js(mutate(msg, **{"from": DROP})),
        "from 5": js(mutate(msg, **{"from": 5})),
        "from without id": js(mutate(msg, from__id=DROP)),
        "from.id an object": js(mutate(msg, from__id={"a": 1})),
        "aadObjectId 7": js(mutate(msg, from__aadObjectId=7)),
        "aadObjectId too long": js(mutate(msg, from__aadObjectId="e" * 300)),
        "no conversation": js(mutate(msg, conversation=DROP)),
        "conversation 5": js(mutate(msg, conversation=5)),
        "conversation without id": js(mutate(msg, conversation__id=DROP)),
        "conversation id too long": js(mutate(msg, conversation__id="a:" + "x" * 2000)),
        "conversation id not ASCII": js(mutate(msg, conversation__id="\u0100")),
        "from id with a newline": js(mutate(msg, from__id="29:1alice\nX-Injected: 1")),
        "conversationType too long": js(mutate(msg, conversation__conversationType="x" * 100)),
        "conversationType a list": js(mutate(msg, conversation__conversationType=["channel"])),
        "tenantId a list": js(mutate(msg, conversation__tenantId=["t"])),
        "no recipient": js(mutate(msg, recipient=DROP)),
        "recipient 'x'": js(mutate(msg, recipient="x")),
        "no serviceUrl": js(mutate(msg, serviceUrl=DROP)),
        "serviceUrl 5": js(mutate(msg, serviceUrl=5)),
        "serviceUrl javascript:": js(mutate(msg, serviceUrl="javascript:alert(1)")),
        "serviceUrl too long": js(mutate(msg, serviceUrl="https://x.example/" + "a" * 2000)),
        "no channelId": js(mutate(msg, channelId=DROP)),
        "channelId 5": js(mutate(msg, channelId=5)),
        "text 7": js(mutate(msg, text=7)),
        "text a list": js(mutate(msg, text=["kpi"])),
        "entities 'x'": js(mutate(msg, entities="x")),
        "entities [5]": js(mutate(msg, entities=[5])),
        "entity type 5": js(mutate(msg, entities=[{"type": 5}])),
        "mention without mentioned": js(mutate(msg, entities=[{"type": "mention", "text": "<at>x</at>"}])),
        "mention text 5": js(mutate(msg, entities=[{"type": "mention", "text": 5, "mentioned": {"id": "29:1dana"}}])),
        "mentioned 'x'": js(mutate(msg, entities=[{"type": "mention", "text": "<at>x</at>", "mentioned": "x"}])),
        "value [1]": js(mutate(card, value=[1])),
        "value 'x'": js(mutate(card, value="x")),
        "channelData [1]": js(mutate(msg, channelData=[1])),
        "channelData.tenant 'x'": js(mutate(msg, channelData={"tenant": "x"})),
        "channelData.team 5": js(mutate(msg, channelData={"team": 5})),
        "timestamp garbage": js(mutate(msg, timestamp="yesterday-ish")),
        # A lone surrogate ("\ud800" as a JSON escape) in any string.
        "surrogate in text": js(mutate(msg, text="kpi team \ud800")),
        "surrogate in from.name": js(mutate(msg, from__name="Alice \ud800")),
        "surrogate in a mention": js(mutate(msg, entities=[{"type": "mention", "text": "<at>\udfff</at>", "mentioned": {"id": "29:1dana"}}])),
        "surrogate in a card's value": js(mutate(card, value={"action_id": "kpi.window", "value": "\ud800"})),
        "surrogate in an invoke": js(mutate(invoke, value={"action": {"type": "Action.Execute", "data": {"x": "\ud800"}}})),
        "surrogate in a key": js(mutate(msg, channelData={"\ud800": 1})),
        "surrogate bytes (not UTF-8)": b'{"type": "message", "text": "\xed\xa0\x80"}',
        "replyToId 5": js(mutate(card, replyToId=5)),
        "attachments 'x'": js(mutate(msg, attachments="x")),
        "deliveryMode expectReplies": js(mutate(msg, deliveryMode="expectReplies")),
        "invoke value 'x'": js(mutate(invoke, value="x")),
        "invoke action 'x'": js(mutate(invoke, value={"action": "x"})),
        "invoke data [1]": js(mutate(invoke, value={"action": {"type": "Action.Execute", "data": [1]}})),
        "invoke name 5": js(mutate(invoke, name=5)),
        "membersAdded 'x'": js(mutate(msg, type="conversationUpdate", text=DROP, membersAdded="x")),
        "membersAdded [5]": js(mutate(msg, type="conversationUpdate", text=DROP, membersAdded=[5])),
    }


def ignored_bodies(env: Env) -> dict[str, bytes]:
    """Well-formed activities csbot does not act on: 200, and nothing happens."""
    msg = env.activity("kpi team", where="personal")
    js = lambda wire: json.dumps(wire).encode()  # noqa: E731
    return {
        "unknown type": js(mutate(msg, type="surprise")),
        "typing": js(mutate(msg, type="typing", text=DROP)),
        "messageReaction": js(mutate(msg, type="messageReaction", reactionsAdded=[{"type": "like"}])),
        "an invoke csbot does not offer": js(mutate(msg, type="invoke", name="task/fetch", value={"data": {}})),
    }


# ---------------------------------------------------------------- auth on


async def test_a_signed_activity_is_accepted(secured: Secured, caplog: pytest.LogCaptureFixture) -> None:
    """The control: the local token service and key really work, so the refusals below mean something."""
    status, _, _ = await secured.env.post_raw(json.dumps(installation_update(secured.env)).encode(), secured.bearer())
    assert status in (200, 201)
    assert snapshot(secured.env.db)["conversation_refs"]  # the channel is remembered
    assert_no_traceback(caplog.records)


async def test_unsigned_and_forged_tokens_get_401(secured: Secured, caplog: pytest.LogCaptureFixture) -> None:
    body = json.dumps(installation_update(secured.env)).encode()
    cases = {"no header": None, **forged_tokens(secured)}
    for name, header in cases.items():
        headers = JSON if header is None else {**JSON, "Authorization": header}
        result = await attempt(secured.env, caplog, body, headers)
        assert result.status == 401, name
        assert len(result.lines) == 1 and "/api/messages" in result.lines[0], (name, result.lines)


async def test_a_token_for_another_channel_gets_401(secured: Secured, caplog: pytest.LogCaptureFixture) -> None:
    # The key is endorsed for msteams only; botbuilder checks the activity's channelId against it.
    body = json.dumps(mutate(installation_update(secured.env), channelId="webchat")).encode()
    assert (await attempt(secured.env, caplog, body, secured.bearer())).status == 401


async def test_signed_but_malformed_bodies_get_400(secured: Secured, caplog: pytest.LogCaptureFixture) -> None:
    for name, body in malformed_bodies(secured.env).items():
        result = await attempt(secured.env, caplog, body, secured.bearer())
        assert result.status == 400, name
        assert len(result.lines) == 1, (name, result.lines)


async def test_a_lone_surrogate_is_refused_naming_its_field(secured: Secured, caplog: pytest.LogCaptureFixture) -> None:
    bodies = malformed_bodies(secured.env)
    named = {"surrogate in text": "text", "surrogate in from.name": "from.name", "surrogate in a mention": "entities[0].text",
             "surrogate in a card's value": "value.value", "surrogate in an invoke": "value.action.data.x",
             "surrogate in a key": "a key in channelData", "surrogate bytes (not UTF-8)": "text holds a lone surrogate"}
    for name, field in named.items():
        status, _, answer = await secured.env.post_raw(bodies[name], secured.bearer())
        assert status == 400 and field in answer, (name, answer)


async def test_signed_activities_csbot_does_not_handle_are_ignored(secured: Secured, caplog: pytest.LogCaptureFixture) -> None:
    for name, body in ignored_bodies(secured.env).items():
        assert (await attempt(secured.env, caplog, body, secured.bearer())).status == 200, name


async def test_unsigned_malformed_bodies_get_401_without_being_read(secured: Secured, caplog: pytest.LogCaptureFixture) -> None:
    for name, body in malformed_bodies(secured.env).items():
        assert (await attempt(secured.env, caplog, body, JSON)).status == 401, name


async def test_oversized_bodies_get_413(secured: Secured, caplog: pytest.LogCaptureFixture) -> None:
    wire = installation_update(secured.env)
    big = json.dumps(mutate(wire, text="x" * MAX_BODY)).encode()
    assert (await attempt(secured.env, caplog, big, secured.bearer())).status == 413
    # Without a token the body is never read: 401 whatever its size.
    assert (await attempt(secured.env, caplog, big, JSON)).status == 401


async def test_wrong_content_types_get_400(secured: Secured, caplog: pytest.LogCaptureFixture) -> None:
    body = json.dumps(installation_update(secured.env)).encode()
    bearer = secured.bearer()["Authorization"]
    for content_type in ("text/plain", "text/plain; note=application/json", "application/jsonp", ""):
        result = await attempt(secured.env, caplog, body, {"Content-Type": content_type, "Authorization": bearer})
        assert result.status == 400, content_type


# ---------------------------------------------------------------- auth disabled (local testing)


async def test_without_auth_malformed_bodies_get_400(open_env: Env, caplog: pytest.LogCaptureFixture) -> None:
    for name, body in malformed_bodies(open_env).items():
        result = await attempt(open_env, caplog, body, JSON)
        assert result.status == 400, name
        assert len(result.lines) == 1, (name, result.lines)


async def test_without_auth_unhandled_activities_are_ignored(open_env: Env, caplog: pytest.LogCaptureFixture) -> None:
    for name, body in ignored_bodies(open_env).items():
        assert (await attempt(open_env, caplog, body, JSON)).status == 200, name


async def test_without_auth_any_token_sent_is_still_checked(open_env: Env, caplog: pytest.LogCaptureFixture) -> None:
    body = json.dumps(open_env.activity("kpi team", where="personal")).encode()
    for header in ("Bearer garbage", "Bearer aaa.bbb.ccc", "Basic dXNlcjpwYXNzd29yZA=="):
        assert (await attempt(open_env, caplog, body, {**JSON, "Authorization": header})).status == 401, header


async def test_without_auth_oversized_bodies_get_413(open_env: Env, caplog: pytest.LogCaptureFixture) -> None:
    wire = open_env.activity("kpi team", where="personal")
    assert (await attempt(open_env, caplog, json.dumps(mutate(wire, text="x" * MAX_BODY)).encode(), JSON)).status == 413
    # Streamed without a Content-Length (chunked), it is cut off at the limit just the same.
    big = json.dumps(mutate(wire, text="y" * (MAX_BODY + 10))).encode()

    async def chunks() -> AsyncIterator[bytes]:
        for i in range(0, len(big), 16384):
            yield big[i : i + 16384]

    async with aiohttp.ClientSession() as http, http.post(f"{open_env.base}/api/messages", data=chunks(), headers=JSON) as resp:
        assert resp.status == 413


# ---------------------------------------------------------------- the signing-key service hangs


async def test_a_hanging_key_service_stalls_no_other_route(
    db: Database, openid: FakeOpenId, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(keys, "FETCH_TIMEOUT_S", 3.0)
    openid.hang_s = 30.0  # far longer than csbot waits
    apply_fixture_org(db)
    env, runners = await start_env(db, settings_env=AUTH_ON)
    secured = Secured(env, openid)
    body = json.dumps(installation_update(env)).encode()
    before = snapshot(db)
    try:
        started = time.monotonic()
        teams = [asyncio.create_task(env.post_raw(body, secured.bearer())) for _ in range(5)]
        while not openid.hits.get(KEYS_PATH):  # csbot is now waiting for the keys
            assert time.monotonic() - started < 5, "csbot never asked for the signing keys"
            await asyncio.sleep(0.01)
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{env.base}/healthz") as resp:
                assert resp.status == 200
        # The event loop was free: /healthz answered while the Teams requests still waited.
        assert not any(t.done() for t in teams)
        results = await asyncio.gather(*teams)
        elapsed = time.monotonic() - started
        # Bounded by csbot's limit, not the key service's hang; told to come back; one fetch for all five.
        assert 3.0 <= elapsed < 15.0, elapsed
        assert {status for status, _, _ in results} == {503}
        assert all(headers.get("Retry-After") for _, headers, _ in results)
        assert openid.hits[KEYS_PATH] == 1
        assert snapshot(db) == before and env.connector.sent == []
        assert_no_traceback(caplog.records)
        # The service recovers: the Connector's retry goes through.
        openid.hang_s = 0
        openid.release()
        status, _, _ = await env.post_raw(body, secured.bearer())
        assert status in (200, 201)
    finally:
        openid.release()
        for r in runners:
            await r.cleanup()


# ---------------------------------------------------------------- any mutation of a real activity

_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
_PATHS = [
    "type", "id", "from", "from__id", "from__aadObjectId", "from__name", "conversation", "conversation__id",
    "conversation__conversationType", "conversation__tenantId", "recipient", "recipient__id", "serviceUrl", "channelId",
    "text", "value", "entities", "channelData", "channelData__tenant", "replyToId", "timestamp", "name", "membersAdded",
    "attachments", "locale", "textFormat", "deliveryMode", "relatesTo", "action", "callerId", "label",
]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    kind=st.sampled_from(["message", "card", "invoke", "conversationUpdate"]),
    changes=st.dictionaries(st.sampled_from(_PATHS), _JSON_VALUES | st.just(DROP), min_size=1, max_size=3),
)
async def test_no_mutation_of_an_activity_is_a_crash(
    open_env: Env, caplog: pytest.LogCaptureFixture, kind: str, changes: dict[str, Any]
) -> None:
    env = open_env
    wire = {
        "message": lambda: env.activity("csbot help", where="personal"),
        "card": lambda: env.activity(None, where="personal", value={"action_id": "kpi.window", "value": "{}"}, reply_to="m1"),
        "invoke": lambda: mutate(
            env.activity(None, where="personal"),
            type="invoke", name="adaptiveCard/action", value={"action": {"type": "Action.Execute", "data": {"action_id": "kpi.window"}}},
        ),
        "conversationUpdate": lambda: mutate(env.activity(None), type="conversationUpdate", membersAdded=[{"id": "28:csbot-app-id"}]),
    }[kind]()
    # A field inside an object is changed only when the object itself is not (and then it is an object).
    changes = {k: v for k, v in changes.items() if "__" not in k or k.split("__")[0] not in changes}
    for path in changes:
        if "__" in path and not isinstance(wire.get(path.split("__")[0]), dict):
            wire[path.split("__")[0]] = {}
    before, sent = snapshot(env.db), len(env.connector.sent)
    caplog.clear()
    status, _, _ = await env.post_raw(json.dumps(mutate(wire, **changes)).encode(), JSON)
    assert status in (200, 201, 400), status
    assert_no_traceback(caplog.records)
    if status == 400:
        assert snapshot(env.db) == before and len(env.connector.sent) == sent
