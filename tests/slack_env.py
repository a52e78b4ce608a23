"""The real csbot app with Slack configured, served over HTTP, talking to the local Slack API.

Shared by the Slack test modules: `running_slack(db)` starts the fake Slack
(tests/fake_slack.py) and csbot (`create_app`) on loopback ports, and the
`Env` it yields signs and posts requests the way Slack does.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from urllib.parse import urlencode

import aiohttp
from slack_sdk.models.blocks import Block
from slack_sdk.signature import SignatureVerifier

from bot.config import load_settings
from bot.web import create_app
from handlers.router import Router
from store.database import Database
from tests.fake_slack import FakeSlack
from tests.helpers import apply_fixture_org, serve

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TOKEN = "xoxb-test-token"
BOT_USER = "UBOT"  # csbot's own user id, as the fake Slack's auth.test tells it
CHANNEL = "C2147483705"
# What must never appear in text csbot sends: each would ping people or make a link.
LIVE_MENTIONS = ("<!channel", "<!here", "<!everyone", "<!subteam", "<@U", "<@W", "<https://evil")


def assert_valid_blocks(blocks: list[dict]) -> None:  # type: ignore[type-arg]
    """Within Block Kit's limits, and every block one slack_sdk can parse and validate."""
    assert len(blocks) <= 50
    for b in blocks:
        parsed = Block.parse(b)
        assert parsed is not None, b
        parsed.validate_json()


def mention_event(text: str, user: str = "U0123ABCD", ts: str = "1700000100.000100", **fields: object) -> dict:  # type: ignore[type-arg]
    """An app_mention event as Slack sends it for a person's message in CHANNEL (fields replace or add)."""
    event: dict[str, object] = {
        "type": "app_mention",
        "user": user,
        "text": text,
        "ts": ts,
        "channel": CHANNEL,
        "event_ts": ts,
        "team": "T0001",
    }
    return {k: v for k, v in (event | fields).items() if v is not ...}


def sign_bytes(body: bytes, stamp: str, secret: str = SECRET) -> str:
    """Slack's v0 signature over raw bytes (SignatureVerifier only signs text that is valid UTF-8)."""
    return "v0=" + hmac.new(secret.encode(), b"v0:" + stamp.encode() + b":" + body, hashlib.sha256).hexdigest()


@dataclass
class Env:
    db: Database
    slack: FakeSlack
    base: str  # csbot's base URL
    slack_base: str  # the fake Slack's base URL
    clicks: list[int] = field(default_factory=lambda: [0])

    def sign(self, body: str, ts: int | None = None) -> dict[str, str]:
        stamp = str(ts if ts is not None else int(time.time()))
        sig = SignatureVerifier(SECRET).generate_signature(timestamp=stamp, body=body)
        return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": sig}

    async def post_bytes(self, body: bytes, headers: dict[str, str], base: str | None = None) -> tuple[int, str]:
        async with aiohttp.ClientSession() as http, http.post(f"{base or self.base}/slack/events", data=body, headers=headers) as resp:
            return resp.status, await resp.text()

    async def post(self, body: str, content_type: str, headers: dict[str, str] | None = None) -> tuple[int, str, float]:
        hdrs = {"Content-Type": content_type, **(self.sign(body) if headers is None else headers)}
        started = time.monotonic()
        status, text = await self.post_bytes(body.encode(), hdrs)
        return status, text, time.monotonic() - started

    def command_body(self, command: str, text: str, user: str = "U0123ABCD", n: int = 1) -> str:
        return urlencode(
            {
                "token": "gIkuvaNzQIHg97ATvDxqgjtO",
                "team_id": "T0001",
                "team_domain": "acme",
                "channel_id": "C2147483705",
                "channel_name": "support",
                "user_id": user,
                "user_name": "someone",
                "command": command,
                "text": text,
                "api_app_id": "A123456",
                "response_url": f"{self.slack_base}/response/cmd{n}",
                "trigger_id": "13345224609.738474920.8088930838d88f008e0",
            }
        )

    async def command(self, command: str, text: str, user: str = "U0123ABCD", n: int = 1) -> tuple[int, str, float]:
        return await self.post(self.command_body(command, text, user, n), "application/x-www-form-urlencoded")

    def action_ts(self) -> str:
        """A new click's stamp: Slack gives every click its own `action_ts`."""
        self.clicks[0] += 1
        return f"{int(time.time())}.{self.clicks[0]:06d}"

    def click_payload(
        self, button: dict, user: str = "U0123ABCD", message_ts: str = "1700000000.000100", n: int = 9, action_ts: str | None = None  # type: ignore[type-arg]
    ) -> dict:  # type: ignore[type-arg]
        """A block_actions payload for a click on `button`: a new click unless `action_ts` names an earlier one."""
        return {
            "type": "block_actions",
            "team": {"id": "T0001", "domain": "acme"},
            "user": {"id": user, "username": "someone", "team_id": "T0001"},
            "api_app_id": "A123456",
            "token": "gIkuvaNzQIHg97ATvDxqgjtO",
            "container": {"type": "message", "message_ts": message_ts, "channel_id": "C2147483705", "is_ephemeral": True},
            "trigger_id": "12466734323.1395872398.c2c3c5b3b1d3bd7e5b5fa1cd8f4b4f09",
            "channel": {"id": "C2147483705", "name": "support"},
            "response_url": f"{self.slack_base}/response/act{n}",
            "actions": [
                {
                    "action_id": button["action_id"],
                    "block_id": "b1",
                    "text": {"type": "plain_text", "text": button["text"]["text"]},
                    "value": button["value"],
                    "type": "button",
                    "action_ts": action_ts or self.action_ts(),
                }
            ],
        }

    async def click(
        self,
        button: dict,  # type: ignore[type-arg]
        user: str = "U0123ABCD",
        message_ts: str = "1700000000.000100",
        n: int = 9,
        ts: int | None = None,
        action_ts: str | None = None,
    ) -> tuple[int, str, float]:
        return await self.deliver(self.click_payload(button, user, message_ts, n, action_ts), ts=ts)

    async def deliver(self, payload: dict, ts: int | None = None, retry: int | None = None) -> tuple[int, str, float]:  # type: ignore[type-arg]
        """Post an interactivity payload, signed now (or at `ts`); `retry` adds Slack's retry headers."""
        body = urlencode({"payload": json.dumps(payload)})
        headers = self.sign(body, ts)
        if retry is not None:
            headers |= {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
        return await self.post(body, "application/x-www-form-urlencoded", headers)

    def event_body(self, event: dict, event_id: str) -> str:  # type: ignore[type-arg]
        return json.dumps(
            {
                "token": "gIkuvaNzQIHg97ATvDxqgjtO",
                "team_id": "T0001",
                "api_app_id": "A123456",
                "event": event,
                "type": "event_callback",
                "event_id": event_id,
                "event_time": int(time.time()),
            }
        )

    async def event(self, event: dict, event_id: str, retry: int | None = None) -> tuple[int, str, float]:  # type: ignore[type-arg]
        body = self.event_body(event, event_id)
        headers = self.sign(body)
        if retry is not None:
            headers |= {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
        return await self.post(body, "application/json", headers)

    async def mention(self, text: str, event_id: str = "EvM0001", retry: int | None = None, **fields: object) -> tuple[int, str, float]:
        """Post an app_mention of csbot (see mention_event) as a signed event."""
        return await self.event(mention_event(text, **fields), event_id, retry=retry)  # type: ignore[arg-type]

    async def wait_for(self, method: str, count: int = 1, timeout: float = 15.0) -> list:  # type: ignore[type-arg]
        deadline = time.monotonic() + timeout
        while len(self.slack.of(method)) < count:
            assert time.monotonic() < deadline, f"no {method} within {timeout}s: {[c.method for c in self.slack.calls]}"
            await asyncio.sleep(0.02)
        return self.slack.of(method)


def slack_settings(slack_base: str):  # type: ignore[no-untyped-def]
    return load_settings({"SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": f"{slack_base}/api/"})


@asynccontextmanager
async def running_slack(db: Database, router: Router | None = None) -> AsyncIterator[Env]:
    """The fixture organisation applied to `db`, the fake Slack and csbot both serving."""
    apply_fixture_org(db)
    fake = FakeSlack(users={"U0EMAIL01": "dana@example.com", "U0STRANGE": "stranger@elsewhere.example"})
    slack_runner, slack_base = await serve(fake.app())
    fake.base_url = slack_base
    runner, base = await serve(create_app(db, slack_settings(slack_base), router=router))
    try:
        yield Env(db, fake, base, slack_base)
    finally:
        await runner.cleanup()
        await slack_runner.cleanup()


@asynccontextmanager
async def running_socket_mode(db: Database) -> AsyncIterator[tuple[FakeSlack, str]]:
    """csbot on Socket Mode only (no signing secret), connected to the fake Slack's websocket.

    Yields the fake Slack (put envelopes on its `outbox`, read its `acks`) and csbot's base URL.
    """
    apply_fixture_org(db)
    fake = FakeSlack()
    fake.outbox, fake.connected = asyncio.Queue(), asyncio.Event()
    slack_runner, slack_base = await serve(fake.app())
    fake.base_url = slack_base
    settings = load_settings({"SLACK_BOT_TOKEN": TOKEN, "SLACK_APP_TOKEN": "xapp-1-A123456-test", "SLACK_API_URL": f"{slack_base}/api/"})
    runner, base = await serve(create_app(db, settings))
    try:
        await asyncio.wait_for(fake.connected.wait(), 10)
        yield fake, base
    finally:
        await runner.cleanup()
        await slack_runner.cleanup()
