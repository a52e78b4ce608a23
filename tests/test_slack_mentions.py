"""@csbot mentions in a Slack channel, end to end.

The real csbot aiohttp app with Bolt, signed app_mention events, the local
Slack API (tests/fake_slack.py) recording what csbot sends, on SQLite and
PostgreSQL.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import datetime, timezone

import pytest
from sqlalchemy import insert, select

from bot.slack.listeners.mentions import COULD_NOT_DM, SENT_BY_DM, mention_key
from bot.slack.replays import KEY_PREFIX
from store.busy import BUSY_MESSAGE
from store.database import Database, open_database
from store.processed import ProcessedRequest
from handlers.registry import build_router
from handlers.args import MAX_COMMAND_CHARS
from tests.fake_slack import Call
from tests.forms import feedback_router
from tests.helpers import assert_no_traceback, table_counts
from tests.hostile import HOSTILE
from tests.slack_env import BOT_USER, CHANNEL, LIVE_MENTIONS, Env, assert_valid_blocks, mention_event, running_slack, running_socket_mode

TS = "1700000100.000100"
DM = "D0123ABCD"  # the fake Slack's DM channel for alice (U0123ABCD)


@pytest.fixture
async def env(db: Database) -> AsyncIterator[Env]:
    async with running_slack(db) as running:
        yield running
        for call in running.slack.calls:
            if isinstance(call.args.get("blocks"), list):
                assert_valid_blocks(call.args["blocks"])


def posts(env: Env, channel: str) -> list[Call]:
    return [c for c in env.slack.of("chat.postMessage") if c.args.get("channel") == channel]


def mention_keys(db: Database) -> set[str]:
    with db.sessions() as s:
        return set(s.scalars(select(ProcessedRequest.key).where(ProcessedRequest.key.startswith("slack:mention:"))))


def changed(event: dict[str, object], **fields: object) -> dict[str, object]:
    """`event` with `fields` replaced (`...` removes one)."""
    return {k: v for k, v in (event | fields).items() if v is not ...}


async def settle(env: Env, seconds: float = 0.5) -> None:
    """Time for any lazy listener still running to call Slack (to show that none does)."""
    await asyncio.sleep(seconds)


# ---------------------------------------------------------------- answers


async def test_a_shared_answer_is_posted_in_a_thread_under_the_mention(env: Env) -> None:
    status, body, _ = await env.mention(f"<@{BOT_USER}> kpi team support-emea 30d --share")
    assert status == 200 and body == ""
    (answer,) = await env.wait_for("chat.postMessage")
    assert answer.args["channel"] == CHANNEL and answer.args["thread_ts"] == TS
    assert "Support EMEA" in answer.args["text"]
    # Already shared: the card keeps only its Previous window button.
    assert {e["text"]["text"] for b in answer.args["blocks"] if b["type"] == "actions" for e in b["elements"]} == {"Previous window"}
    await settle(env)
    assert env.slack.of("conversations.open") == [] and len(env.slack.of("chat.postMessage")) == 1


async def test_a_mention_in_a_thread_is_answered_in_that_thread(env: Env) -> None:
    await env.mention(f"<@{BOT_USER}|csbot> kpi team --share", thread_ts="1700000000.000001")
    (answer,) = await env.wait_for("chat.postMessage")
    assert answer.args["channel"] == CHANNEL and answer.args["thread_ts"] == "1700000000.000001"
    assert "Support EMEA" in answer.args["text"]


async def test_the_event_is_acknowledged_before_the_slow_part(env: Env) -> None:
    # Dana has no slack_id: csbot asks users.info for her email, which is slow today.
    env.slack.delay_s["users.info"] = 1.0
    status, _, ack_s = await env.mention(f"<@{BOT_USER}> kpi team support-amer --share", user="U0EMAIL01")
    acked_at = time.monotonic()
    assert status == 200 and ack_s < 0.9
    (answer,) = await env.wait_for("chat.postMessage")
    assert answer.at >= acked_at and "Support Americas" in answer.args["text"]


async def test_a_private_answer_goes_by_dm_and_the_thread_gets_a_note(env: Env) -> None:
    await env.mention(f"<@{BOT_USER}> kpi me 30d")
    await env.wait_for("chat.postMessage", 2)
    assert [c.args["users"] for c in env.slack.of("conversations.open")] == ["U0123ABCD"]
    (private,) = posts(env, DM)
    assert "KPIs ·" in private.args["text"] and "thread_ts" not in private.args
    (note,) = posts(env, CHANNEL)
    assert note.args["thread_ts"] == TS and note.args["text"] == SENT_BY_DM
    # The note comes after the answer arrived, so it never says "sent" too early.
    assert env.slack.calls.index(private) < env.slack.calls.index(note)


async def test_when_the_dm_fails_the_thread_says_so_and_never_shows_the_answer(env: Env) -> None:
    env.slack.fail["conversations.open"] = "user_disabled"
    await env.mention(f"<@{BOT_USER}> kpi me 30d")
    (note,) = await env.wait_for("chat.postMessage")
    assert note.args["channel"] == CHANNEL and note.args["thread_ts"] == TS
    assert note.args["text"] == COULD_NOT_DM
    await settle(env)
    assert all("KPIs ·" not in t for t in env.slack.texts())


async def test_a_mention_answers_exactly_what_the_slash_command_answers(env: Env) -> None:
    await env.command("/kpi", "team support-emea 30d")
    await env.mention(f"<@{BOT_USER}> kpi team support-emea 30d")
    slash = (await env.wait_for("response_url"))[0].args
    await env.wait_for("chat.postMessage", 2)
    (private,) = posts(env, DM)
    assert private.args["text"] == slash["text"]

    def shown(blocks: list[dict[str, object]]) -> list[object]:
        # Buttons carry the moment they were asked at, a few milliseconds apart here.
        return [b if b["type"] != "actions" else [e["action_id"] for e in b["elements"]] for b in blocks]  # type: ignore[attr-defined]

    assert shown(private.args["blocks"]) == shown(slash["blocks"])


async def test_help_a_bare_mention_and_text_that_is_not_a_command(env: Env) -> None:
    asked = {
        "1700000101.000100": f"<@{BOT_USER}>",
        "1700000102.000100": f"<@{BOT_USER}> help",
        "1700000103.000100": f"<@{BOT_USER}> help kpi",
        "1700000104.000100": f"hey <@{BOT_USER}>, what's our CSAT?",
        "1700000105.000100": f"<@{BOT_USER}> kpj team",
    }
    for n, (ts, text) in enumerate(asked.items()):
        await env.mention(text, event_id=f"EvHELP{n}", ts=ts)
    await env.wait_for("chat.postMessage", 2 * len(asked))
    notes = posts(env, CHANNEL)
    assert sorted(n.args["thread_ts"] for n in notes) == sorted(asked) and {n.args["text"] for n in notes} == {SENT_BY_DM}
    answers = sorted(json.dumps(c.args["blocks"], ensure_ascii=False) for c in posts(env, DM))
    assert sum("csbot commands" in a for a in answers) == 2  # the bare mention and `help`
    assert sum("/kpi — KPIs" in a for a in answers) == 1  # `help kpi`: how /kpi works
    assert sum("Unknown command 'hey'" in a and "/csbot help" in a for a in answers) == 1
    assert sum("Did you mean /kpi?" in a for a in answers) == 1


async def test_charts_go_into_the_thread_and_forms_point_to_the_slash_command(db: Database) -> None:
    async with running_slack(db, feedback_router(build_router())) as env:
        await env.mention(f"<@{BOT_USER}> chart --share", event_id="EvCHART", ts="1700000700.000100")
        await env.wait_for("files.completeUploadExternal")
        (answer,) = posts(env, CHANNEL)
        assert answer.args["thread_ts"] == "1700000700.000100"
        complete = env.slack.of("files.completeUploadExternal")[0].args
        assert complete["channel_id"] == CHANNEL and complete["thread_ts"] == "1700000700.000100"
        # A modal needs a trigger_id, which an event does not carry.
        await env.mention(f"<@{BOT_USER}> feedback", event_id="EvFORM", ts="1700000701.000100")
        note = (await env.wait_for("chat.postMessage", 2))[1]
        assert note.args["thread_ts"] == "1700000701.000100" and "type /feedback instead" in note.args["text"]
        assert env.slack.of("views.open") == []


# ---------------------------------------------------------------- once, and only for people


async def test_retries_and_replays_of_a_mention_have_one_effect(env: Env) -> None:
    text = f"<@{BOT_USER}> kpi team --share"
    body = env.event_body(mention_event(text), "EvONCE")
    headers = env.sign(body)
    assert (await env.post(body, "application/json", headers))[0] == 200
    # Slack's retries (new signatures), and the first request replayed as it was.
    results = await asyncio.gather(
        env.mention(text, event_id="EvONCE", retry=1),
        env.mention(text, event_id="EvONCE", retry=2),
        env.post(body, "application/json", headers),
    )
    assert [status for status, _, _ in results] == [200, 200, 200]
    await env.wait_for("chat.postMessage")
    await settle(env)
    assert len(env.slack.of("chat.postMessage")) == 1
    assert mention_keys(env.db) == {mention_key(CHANNEL, TS)}


async def test_a_retried_mention_that_is_not_a_command_is_answered_once(env: Env) -> None:
    # A reply that is an error commits nothing, so only the message's own claim keeps retries out.
    for retry in (None, 1, 2):
        await env.mention(f"<@{BOT_USER}> nonsense", retry=retry)
    await env.wait_for("chat.postMessage", 2)
    await settle(env)
    assert len(posts(env, DM)) == 1 and len(posts(env, CHANNEL)) == 1


async def test_the_same_words_in_a_new_message_are_answered_again(env: Env) -> None:
    await env.mention(f"<@{BOT_USER}> kpi team --share", event_id="EvA", ts="1700000200.000100")
    await env.mention(f"<@{BOT_USER}> kpi team --share", event_id="EvB", ts="1700000201.000100")
    answers = await env.wait_for("chat.postMessage", 2)
    assert sorted(a.args["thread_ts"] for a in answers) == ["1700000200.000100", "1700000201.000100"]


async def test_a_stranger_gets_the_polite_answer_in_the_thread_and_nothing_else(env: Env) -> None:
    await env.command("/kpi", "team", user="U0STRANGE")
    await env.mention(f"<@{BOT_USER}> kpi team --share", user="U0STRANGE")
    slash = (await env.wait_for("response_url"))[0].args["text"]
    (answer,) = await env.wait_for("chat.postMessage")
    assert answer.args["channel"] == CHANNEL and answer.args["thread_ts"] == TS
    assert answer.args["text"] == slash and "ask a csbot admin" in slash.lower() and "U0STRANGE" in slash
    await settle(env)
    assert env.slack.of("conversations.open") == []
    with env.db.sessions() as s:
        # Only the claims that keep a retry out; no command ran.
        assert {k for k in s.scalars(select(ProcessedRequest.key)) if not k.startswith(KEY_PREFIX)} == {mention_key(CHANNEL, TS)}


async def test_a_stranger_id_that_looks_like_a_ping_is_shown_as_text(env: Env) -> None:
    await env.mention(f"<@{BOT_USER}> kpi team", user="<!channel> <@U0123ABCD>")
    (answer,) = await env.wait_for("chat.postMessage")
    assert "&lt;!channel&gt;" in answer.args["text"]
    for live in LIVE_MENTIONS:
        assert live not in json.dumps(answer.args), live


@pytest.mark.parametrize(
    "fields",
    [
        {"bot_id": "B0OTHER"},  # another bot's message that mentions csbot
        {"subtype": "bot_message", "user": ..., "bot_id": "B0OTHER"},
        {"user": BOT_USER, "bot_id": "BBOT"},  # csbot's own message (Bolt drops it too)
        {"user": BOT_USER},
        {"edited": {"user": "U0123ABCD", "ts": "1700000150.000000"}},  # the mention edited
        {"subtype": "message_changed"},
        {"subtype": "channel_join"},
        {"user": ...},
        {"bot_profile": {"id": "B0OTHER", "name": "otherbot"}},
    ],
    ids=["other bot", "bot_message", "csbot itself", "csbot's user", "edited", "message_changed", "channel_join", "no author", "bot profile"],
)
async def test_bots_and_edits_are_never_answered(env: Env, fields: dict[str, object]) -> None:
    status, _, _ = await env.mention(f"<@{BOT_USER}> kpi team --share", event_id="EvBOT", **fields)
    assert status == 200  # acknowledged, so Slack does not retry it
    await settle(env)
    assert [c.method for c in env.slack.calls if c.method != "auth.test"] == []
    assert mention_keys(env.db) == set()
    # The next person's message is answered as usual.
    await env.mention(f"<@{BOT_USER}> kpi team --share", event_id="EvPERSON", ts="1700000300.000100")
    (answer,) = await env.wait_for("chat.postMessage")
    assert answer.args["thread_ts"] == "1700000300.000100"


@pytest.mark.parametrize("subtype", ["thread_broadcast", "file_share"])
async def test_a_persons_broadcast_reply_or_file_is_answered(env: Env, subtype: str) -> None:
    await env.mention(f"<@{BOT_USER}> kpi team --share", subtype=subtype)
    (answer,) = await env.wait_for("chat.postMessage")
    assert answer.args["thread_ts"] == TS and "Support EMEA" in answer.args["text"]


# ---------------------------------------------------------------- hostile


async def test_odd_but_well_typed_mentions_get_an_answer_not_an_error(env: Env, caplog: pytest.LogCaptureFixture) -> None:
    cases = {
        "1700000401.000100": changed(mention_event("", ts="1700000401.000100"), text=...),  # no text at all
        "1700000402.000100": mention_event("x" * 200_000, ts="1700000402.000100"),  # far over the command limit
        "1700000403.000100": mention_event(f"<@{BOT_USER}> " + "kpi " * 20_000, ts="1700000403.000100"),
        "1700000404.000100": mention_event(f"<@{BOT_USER}> kpi team \"Support", ts="1700000404.000100"),  # open quote
        "1700000405.000100": mention_event(f"<@{BOT_USER}>\n\t kpi\u00a0team", ts="1700000405.000100"),
    }
    for n, event in enumerate(cases.values()):
        status, _, _ = await env.event(event, f"EvODD{n}")
        assert status == 200
    await env.wait_for("chat.postMessage", 2 * len(cases))
    assert sorted(n.args["thread_ts"] for n in posts(env, CHANNEL)) == sorted(cases)
    answers = [json.dumps(c.args, ensure_ascii=False) for c in posts(env, DM)]
    assert sum("csbot commands" in a for a in answers) == 1
    assert sum(f"the limit is {MAX_COMMAND_CHARS:,}" in a for a in answers) == 2
    assert sum("quote is not closed" in a for a in answers) == 1
    assert_no_traceback(caplog.records)


async def test_hostile_text_in_a_mention_never_reaches_slack_live(env: Env) -> None:
    for n, text in enumerate(HOSTILE):
        await env.mention(f'<@{BOT_USER}> kpi team "{text} @here" --share', event_id=f"EvH{n}", ts=f"1700000500.{n:06d}")
    await env.wait_for("chat.postMessage", 2 * len(HOSTILE))
    sent = env.slack.texts()
    assert any("&lt;!channel&gt;" in t for t in sent)  # the text arrived, escaped
    for t in sent:
        for live in LIVE_MENTIONS:
            assert live not in t, t
    for call in env.slack.of("chat.postMessage"):
        assert "link_names" not in call.args and call.args.get("parse") != "full"


@pytest.mark.parametrize(
    "fields",
    [
        {"text": 5},
        {"text": [f"<@{BOT_USER}> kpi team"]},
        {"text": {"type": "rich_text"}},
        {"text": None},
        {"channel": ...},
        {"ts": ...},
        {"ts": 1700000100.0001},
        {"channel": 5},
        {"user": 123},
        {"thread_ts": []},
        {"subtype": 7},
        {"text": "<@UBOT> kpi\x00team"},
    ],
    ids=lambda f: ",".join(f"{k}={v!r}"[:30] for k, v in f.items()),
)
async def test_malformed_mentions_are_refused_and_change_nothing(env: Env, caplog: pytest.LogCaptureFixture, fields: dict[str, object]) -> None:
    before = table_counts(env.db)
    status, body, _ = await env.event(changed(mention_event(f"<@{BOT_USER}> kpi team --share"), **fields), "EvBAD")
    assert status == 400, body
    await settle(env, 0.3)
    assert [c.method for c in env.slack.calls if c.method != "auth.test"] == []
    assert table_counts(env.db) == before
    assert_no_traceback(caplog.records)


async def test_a_busy_database_says_so_in_the_thread_and_asking_again_works(db_url: str, db: Database) -> None:
    # csbot's own handle on the database gives up on a lock after 0.3 s.
    impatient = open_database(db_url, timeout_s=0.3, upgrade=False)
    try:
        async with running_slack(impatient) as env:
            # Another writer holds the row the claim needs (on SQLite, the whole database).
            with db.engine.connect() as blocker, blocker.begin() as held:
                blocker.execute(
                    insert(ProcessedRequest).values(key=mention_key(CHANNEL, TS), platform="slack", processed_at=datetime.now(timezone.utc))
                )
                await env.mention(f"<@{BOT_USER}> kpi team --share")
                (busy,) = await env.wait_for("chat.postMessage")
                held.rollback()
            assert busy.args["text"] == BUSY_MESSAGE and busy.args["thread_ts"] == TS
            assert mention_keys(impatient) == set()
            await env.mention(f"<@{BOT_USER}> kpi team --share", event_id="EvAGAIN", ts="1700000600.000100")
            again = (await env.wait_for("chat.postMessage", 2))[1]
            assert "Support EMEA" in again.args["text"] and again.args["thread_ts"] == "1700000600.000100"
    finally:
        impatient.dispose()


async def test_socket_mode_answers_mentions_in_a_thread(db: Database) -> None:
    async with running_socket_mode(db) as (fake, _base):
        assert fake.outbox is not None
        payload = {
            "token": "x",
            "team_id": "T0001",
            "api_app_id": "A123456",
            "type": "event_callback",
            "event_id": "EvSOCK1",
            "event_time": 1700000100,
            "event": mention_event(f"<@{BOT_USER}> kpi team --share"),
        }
        for n in range(2):  # delivered twice: answered once
            await fake.outbox.put({"envelope_id": f"sock-{n}", "type": "events_api", "accepts_response_payload": False, "payload": payload})
        deadline = time.monotonic() + 15
        while not fake.of("chat.postMessage") or len(fake.acks) < 2:
            assert time.monotonic() < deadline, fake.calls
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)
        (answer,) = fake.of("chat.postMessage")
        assert answer.args["channel"] == CHANNEL and answer.args["thread_ts"] == TS
        assert "Support EMEA" in answer.args["text"]
