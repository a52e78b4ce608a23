"""Answering in Teams with authentication on: the Bot Connector token, got without blocking the event loop.

Three local stand-ins for Microsoft's clouds: the token service that signs
incoming activities (tests/fake_openid.py), Entra ID that issues csbot's own
token for answering (tests/fake_login.py, HTTPS because MSAL insists), and
the Bot Connector that records the answers (tests/fake_connector.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import func, select

from bot.teams import credentials
from store.database import Database
from store.processed import ProcessedRequest
from tests.fake_login import FakeLogin
from tests.fake_openid import FakeOpenId
from tests.helpers import apply_fixture_org, assert_no_traceback
from tests.teams_env import Env, microsoft_cloud, start_env

APP_ID = "8f0c2a1e-1111-4000-8000-000000000001"
SECRET = "not-a-real-client-secret"


@dataclass
class Cloud:
    env: Env
    openid: FakeOpenId
    login: FakeLogin

    def headers(self) -> dict[str, str]:
        token = self.openid.token(APP_ID, self.env.service_url)
        return {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}

    async def ask(self, text: str) -> tuple[int, dict[str, str]]:
        wire = self.env.activity(text, where="personal")
        status, headers, _ = await self.env.post_raw(json.dumps(wire).encode(), self.headers())
        return status, headers


@pytest.fixture
async def cloud(db: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> AsyncIterator[Cloud]:
    apply_fixture_org(db)
    with microsoft_cloud(monkeypatch, tmp_path, APP_ID, SECRET) as microsoft:
        env, runners = await start_env(db, settings_env={"MicrosoftAppId": APP_ID, "MicrosoftAppPassword": SECRET})
        try:
            yield Cloud(env, microsoft.openid, microsoft.login)
        finally:
            microsoft.login.release()
            for r in runners:
                await r.cleanup()


def claims(db: Database) -> int:
    with db.sessions() as s:
        return s.scalar(select(func.count()).select_from(ProcessedRequest)) or 0


async def test_answers_carry_one_token_fetched_once(cloud: Cloud, caplog: pytest.LogCaptureFixture) -> None:
    for _ in range(3):
        status, _ = await cloud.ask("kpi team support-emea")
        assert status in (200, 201)
    answers = cloud.env.connector.messages()
    assert len(answers) == 3
    assert {a.authorization for a in answers} == {"Bearer connector-token-1"}
    assert cloud.login.token_requests == 1  # reused, not fetched again for every activity
    assert_no_traceback(caplog.records)


async def test_a_hanging_login_service_stalls_no_other_route(
    cloud: Cloud, db: Database, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(credentials, "TOKEN_TIMEOUT_S", 3.0)
    cloud.login.hang_s = 30.0
    started = time.monotonic()
    asking = [asyncio.create_task(cloud.ask("kpi team support-emea")) for _ in range(5)]
    while not cloud.login.token_requests:  # csbot is now waiting for its token
        assert time.monotonic() - started < 5, "csbot never asked for a token"
        await asyncio.sleep(0.01)
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{cloud.env.base}/healthz") as resp:
            assert resp.status == 200
    # The event loop was free: /healthz answered while the Teams requests still waited.
    assert not any(a.done() for a in asking)
    results = await asyncio.gather(*asking)
    # Bounded by csbot's limit, not the login service's hang.
    assert 3.0 <= time.monotonic() - started < 15.0
    # Told to come back before anything happened: no answer, no claim, so the retry is answered.
    assert {status for status, _ in results} == {503} and all(int(h["Retry-After"]) > 0 for _, h in results)
    assert cloud.login.token_requests == 1  # one attempt for all five
    assert cloud.env.connector.sent == [] and claims(db) == 0
    assert_no_traceback(caplog.records)
    cloud.login.hang_s = 0
    cloud.login.release()
    status, _ = await cloud.ask("kpi team support-emea")
    assert status in (200, 201) and len(cloud.env.connector.messages()) == 1


async def test_a_rejected_client_secret_is_503_and_one_warning(
    cloud: Cloud, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    cloud.login.client_secret = "the-secret-was-rotated"
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="bot.teams.credentials"):
        for _ in range(3):
            status, _ = await cloud.ask("kpi team support-emea")
            assert status == 503
    assert cloud.env.connector.sent == [] and claims(db) == 0
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.teams.credentials"]
    assert len(lines) == 1 and "invalid_client" in lines[0] and SECRET not in lines[0], lines
    assert_no_traceback(caplog.records)
