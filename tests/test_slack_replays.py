"""A signed Slack request replayed within its 5-minute window is acknowledged and does nothing.

Real HTTP against the real app (and two replicas of it on one database),
the local Slack API recording what csbot sends.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode

import pytest
from sqlalchemy import insert, select

from bot.refusals import RefusalLog
from bot.slack.replays import KEEP_S, KEY_PREFIX, ReplayGuard
from bot.web import create_app
from store.busy import BUSY_MESSAGE
from store.database import Database, open_database
from store.processed import ProcessedRequest
from tests.helpers import assert_no_traceback, serve
from tests.slack_env import Env, running_slack, slack_settings

FORM = "application/x-www-form-urlencoded"


def keys(db: Database) -> set[str]:
    with db.sessions() as s:
        return set(s.scalars(select(ProcessedRequest.key)))


async def replay_logged(caplog: pytest.LogCaptureFixture, count: int = 1, timeout: float = 10.0) -> None:
    """Wait until `count` replays were refused (the lazy listener logs each as it ignores it)."""
    deadline = time.monotonic() + timeout
    while sum("replayed signed request ignored" in r.getMessage() for r in caplog.records) < count:
        assert time.monotonic() < deadline, [r.getMessage() for r in caplog.records]
        await asyncio.sleep(0.02)


@pytest.fixture
async def env(db: Database) -> AsyncIterator[Env]:
    async with running_slack(db) as running:
        yield running


async def test_a_replayed_share_posts_once(env: Env, caplog: pytest.LogCaptureFixture) -> None:
    body = env.command_body("/kpi", "team --share")
    headers = env.sign(body)
    first = await env.post(body, FORM, headers)
    replays = await asyncio.gather(*(env.post(body, FORM, headers) for _ in range(3)))
    assert first[0] == 200 and all(status == 200 for status, _, _ in replays)
    await env.wait_for("response_url")
    await replay_logged(caplog, 3)
    answers = env.slack.of("response_url")
    assert len(answers) == 1 and answers[0].args["response_type"] == "in_channel"
    assert len([k for k in keys(env.db) if k.startswith(KEY_PREFIX)]) == 1
    assert_no_traceback(caplog.records)


async def test_the_same_command_sent_again_later_runs_again(env: Env) -> None:
    # Same words, new timestamp, so a new signature: a person asking twice gets two answers.
    body = env.command_body("/kpi", "team --share")
    now = int(time.time())
    for stamp in (now - 1, now):
        assert (await env.post(body, FORM, env.sign(body, ts=stamp)))[0] == 200
    await env.command("/kpi", "me", n=2)
    answers = await env.wait_for("response_url", 3)
    assert sorted(a.path for a in answers) == ["/response/cmd1", "/response/cmd1", "/response/cmd2"]


async def test_a_replayed_click_answers_once(env: Env, caplog: pytest.LogCaptureFixture) -> None:
    await env.command("/kpi", "team")
    answer = (await env.wait_for("response_url"))[0].args
    previous = next(e for b in answer["blocks"] if b["type"] == "actions" for e in b["elements"] if e["text"]["text"] == "Previous window")
    body = urlencode({"payload": json.dumps(env.click_payload(previous, n=2))})
    headers = env.sign(body)
    for _ in range(2):
        assert (await env.post(body, FORM, headers))[0] == 200
    answers = await env.wait_for("response_url", 3)
    await replay_logged(caplog)
    # The command's answer, the click's, and the replay's: it did nothing, and says so.
    assert len(env.slack.of("response_url")) == 3
    assert "KPIs · Support EMEA" in answers[1].args["text"] + answers[2].args["text"]
    assert "was already handled" in answers[1].args["text"] + answers[2].args["text"]


async def test_a_replay_sent_to_another_replica_is_ignored_too(env: Env, caplog: pytest.LogCaptureFixture) -> None:
    runner, other = await serve(create_app(env.db, slack_settings(env.slack_base)))
    try:
        body = env.command_body("/kpi", "team --share")
        headers = {"Content-Type": FORM, **env.sign(body)}
        statuses = await asyncio.gather(env.post_bytes(body.encode(), headers), env.post_bytes(body.encode(), headers, base=other))
        assert [s for s, _ in statuses] == [200, 200]
        await env.wait_for("response_url")
        await replay_logged(caplog)
        assert len(env.slack.of("response_url")) == 1
    finally:
        await runner.cleanup()


def test_replay_keys_are_kept_for_the_window_then_pruned(db: Database) -> None:
    now = [1_800_000_000.0]
    guard = ReplayGuard(db, RefusalLog(logging.getLogger("test.refused")), "/slack/events", clock=lambda: now[0])
    long_ago = datetime.fromtimestamp(now[0], timezone.utc) - timedelta(days=30)
    with db.sessions() as s, s.begin():
        # A click's key from long ago (never pruned: it guards a lasting effect),
        # and a signature left behind by a process that stopped before pruning.
        s.add(ProcessedRequest(key="slack:action:kpi.share:1700000000.1:U1", platform="slack", processed_at=long_ago))
        s.add(ProcessedRequest(key=KEY_PREFIX + "left-behind", platform="slack", processed_at=long_ago))
    assert guard.first_delivery("v0=aa")  # this process's first prune: everything older than the window
    assert keys(db) == {"slack:action:kpi.share:1700000000.1:U1", KEY_PREFIX + "aa"}
    now[0] += KEEP_S - 1
    assert not guard.first_delivery("v0=aa")  # still remembered at the end of its window
    assert guard.first_delivery("v0=bb")
    now[0] += 61
    assert guard.first_delivery("v0=cc")  # a minute later: prunes aa, now past its window
    assert keys(db) == {"slack:action:kpi.share:1700000000.1:U1", KEY_PREFIX + "bb", KEY_PREFIX + "cc"}
    assert not guard.first_delivery("v0=bb") and not guard.first_delivery("v0=cc")


async def test_a_busy_database_answers_busy_and_does_nothing(db_url: str, db: Database) -> None:
    # csbot's own handle on the database gives up on a lock after 0.3 s.
    impatient = open_database(db_url, timeout_s=0.3, upgrade=False)
    try:
        async with running_slack(impatient) as env:
            body = env.command_body("/kpi", "team --share")
            headers = env.sign(body)
            # Another writer holds the very row the claim needs (on SQLite, the whole database).
            with db.engine.connect() as blocker, blocker.begin() as held:
                blocker.execute(
                    insert(ProcessedRequest).values(
                        key=KEY_PREFIX + headers["X-Slack-Signature"].removeprefix("v0="), platform="slack", processed_at=datetime.now(timezone.utc)
                    )
                )
                assert (await env.post(body, FORM, headers))[0] == 200
                answer = (await env.wait_for("response_url"))[0].args
                held.rollback()
            assert answer["text"] == BUSY_MESSAGE and answer["response_type"] == "ephemeral"
            # Nothing was claimed or shared: asking again works.
            assert keys(impatient) == set()
            await env.command("/kpi", "team --share", n=2)
            again = (await env.wait_for("response_url", 2))[1].args
            assert again["response_type"] == "in_channel"
    finally:
        impatient.dispose()
