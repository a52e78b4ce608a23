"""Teams wire activities, a running csbot with a local Bot Connector, and local Microsoft token services."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from botbuilder.schema import Activity
from botframework.connector.auth import AuthenticationConstants, ChannelValidation

from bot.config import load_settings
from bot.web import create_app
from handlers.router import Router
from store.database import Database
from tests.fake_connector import FakeConnector
from tests.fake_login import FakeLogin
from tests.fake_openid import FakeOpenId
from tests.helpers import serve

BOT = {"id": "28:csbot-app-id", "name": "csbot"}
TENANT = "72f988bf-0000-4000-8000-0000000000aa"
CHANNEL = "19:abc@thread.tacv2"
TEAM = "19:team@thread.tacv2"
USERS = {
    "alice": {"id": "29:1alice", "name": "Alice Smith", "aadObjectId": "8f0c2a1e-0000-4000-8000-000000000001", "email": "alice@example.com"},
    "dana": {"id": "29:1dana", "name": "Dana Lee", "aadObjectId": "dddddddd-0000-4000-8000-00000000000d", "email": "dana@example.com"},
    "carol": {"id": "29:1carol", "name": "Carol Diaz", "aadObjectId": "cccccccc-0000-4000-8000-00000000000c", "email": "carol@example.com"},
    "stranger": {"id": "29:1stranger", "name": "Sam Else", "aadObjectId": "eeeeeeee-0000-4000-8000-00000000000e", "email": "sam@elsewhere.example"},
}


def mention(user: dict[str, str]) -> dict[str, Any]:
    return {"type": "mention", "text": f"<at>{user['name']}</at>", "mentioned": {"id": user["id"], "name": user["name"]}}


@dataclass
class Env:
    db: Database
    connector: FakeConnector
    base: str
    service_url: str
    counter: list[int] = field(default_factory=lambda: [1000])

    def activity(
        self,
        text: str | None,
        *,
        who: str = "alice",
        where: str = "channel",
        value: dict[str, Any] | None = None,
        reply_to: str | None = None,
        mentions: tuple[dict[str, Any], ...] = (),
        activity_id: str | None = None,
    ) -> dict[str, Any]:
        self.counter[0] += 1
        user = USERS[who]
        if where == "channel":
            conversation = {"conversationType": "channel", "tenantId": TENANT, "isGroup": True, "id": f"{CHANNEL};messageid=17000{self.counter[0]}"}
            channel_data = {"teamsChannelId": CHANNEL, "teamsTeamId": TEAM, "channel": {"id": CHANNEL}, "team": {"id": TEAM}, "tenant": {"id": TENANT}}
            entities = [{"type": "mention", "text": "<at>csbot</at>", "mentioned": BOT}, *mentions]
            text = f"<at>csbot</at> {text}" if text is not None else None
        else:
            conversation = {"conversationType": "personal", "tenantId": TENANT, "id": f"a:1personal-{who}"}
            channel_data = {"tenant": {"id": TENANT}}
            entities = list(mentions)
        wire = {
            "type": "message",
            "id": activity_id or f"17000{self.counter[0]}",
            "timestamp": "2026-03-02T10:00:00.000Z",
            "serviceUrl": self.service_url,
            "channelId": "msteams",
            "from": {"id": user["id"], "name": user["name"], "aadObjectId": user["aadObjectId"]},
            "conversation": conversation,
            "recipient": BOT,
            "textFormat": "plain",
            "locale": "en-US",
            "entities": entities + [{"type": "clientInfo", "locale": "en-US", "country": "US", "platform": "Web"}],
            "channelData": channel_data,
        }
        if text is not None:
            wire["text"] = text
        if value is not None:
            wire["value"] = value
        if reply_to is not None:
            wire["replyToId"] = reply_to
        # What botbuilder itself would read from this wire JSON.
        assert Activity().deserialize(wire).from_property.aad_object_id == user["aadObjectId"]
        return wire

    async def post(self, wire: dict[str, Any], headers: dict[str, str] | None = None) -> int:
        async with aiohttp.ClientSession() as http, http.post(
            f"{self.base}/api/messages", json=wire, headers=headers or {}
        ) as resp:
            await resp.read()
            return resp.status

    async def post_raw(self, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str], str]:
        """POST any bytes with any headers: (status, response headers, response text)."""
        async with aiohttp.ClientSession() as http, http.post(f"{self.base}/api/messages", data=body, headers=headers) as resp:
            return resp.status, dict(resp.headers), await resp.text()

    def card_texts(self, sent: Any) -> str:
        return json.dumps([a["content"] for a in sent.body.get("attachments") or []], ensure_ascii=False)


async def start_env(db: Database, router: Router | None = None, settings_env: dict[str, str] | None = None) -> tuple[Env, list[web.AppRunner]]:
    connector = FakeConnector(users={u["id"]: u for u in USERS.values()})
    conn_runner, conn_base = await serve(connector.app())
    settings = load_settings(settings_env or {"TEAMS_AUTH_DISABLED": "true"})
    runner, base = await serve(create_app(db, settings, router=router))
    return Env(db, connector, base, conn_base + "/"), [runner, conn_runner]


@dataclass
class MicrosoftCloud:
    """Local stand-ins for the token services a Teams bot with authentication on talks to."""

    openid: FakeOpenId  # signs incoming activities; csbot checks them against its published keys
    login: FakeLogin  # Entra ID: issues csbot's own token for answering through the Bot Connector


@contextmanager
def microsoft_cloud(monkeypatch: pytest.MonkeyPatch, directory: Path, app_id: str, secret: str) -> Iterator[MicrosoftCloud]:
    """Point botbuilder at local token services, through the settings it has for other clouds."""
    with FakeOpenId().running() as openid, FakeLogin(app_id, secret).running(directory) as login:
        monkeypatch.setattr(ChannelValidation, "open_id_metadata_endpoint", openid.metadata_url)
        monkeypatch.setattr(AuthenticationConstants, "TO_CHANNEL_FROM_BOT_LOGIN_URL_PREFIX", login.base)
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(login.ca_file))  # MSAL (requests) trusts the local certificate
        yield MicrosoftCloud(openid, login)
