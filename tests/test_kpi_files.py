"""A trend's chart and a `--csv` file, delivered on each surface, on SQLite and PostgreSQL.

Slack (the real app over HTTP, the local Slack stand-in recording every call
and upload): a shared answer's chart and file are uploaded to the channel; a
private answer's file goes to the asker's direct messages (a file cannot be
ephemeral), its chart stays described, as the scorecard's. Teams: the file is
a signed link that expires, served as a download; a chart a signed image.
The console writes the file, or prints it.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import insert, select

from bot.chart_links import FILE_LINK_HOURS, LINK_DAYS, ChartLinks, forget_expired
from bot.cli import main
from bot.config import load_settings
from bot.console import run_console
from bot.render.teams import render_adaptive_card
from handlers.registry import build_router
from handlers.reply import Chart, File, Reply
from kpi.tickets import Ticket
from store.chart_images import ChartImage
from store.database import Database
from store.org import Member, Team
from tests.helpers import apply_fixture_org, serve
from tests.slack_env import CHANNEL, Env, running_slack
from tests.teams_env import start_env

UTC = timezone.utc
PUBLIC = "https://csbot.example.com"
CSV = b"scope,from,to\nsupport-emea,2026-03-02,2026-03-08\n"


def add_tickets(db: Database, now: datetime, count: int = 30) -> None:
    """A month of support-emea tickets up to `now`, a few a day, most answered."""
    with db.sessions() as s, s.begin():
        team_id = s.scalar(select(Team.id).where(Team.key == "support-emea"))
        alice = s.scalar(select(Member.id).where(Member.handle == "alice"))
        s.execute(insert(Ticket), [
            {"source": "test", "external_id": f"F{i}", "team_id": team_id, "agent_id": alice, "status": "solved",
             "created_at": now - timedelta(days=i, hours=2), "first_reply_at": now - timedelta(days=i, hours=1, minutes=i),
             "solved_at": now - timedelta(days=i), "csat": "good" if i % 3 else "bad"}
            for i in range(count)
        ])  # fmt: skip


def rows(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8"))))


class MovableClock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
async def slack(db: Database) -> AsyncIterator[Env]:
    async with running_slack(db) as env:
        add_tickets(db, datetime.now(UTC))
        yield env


async def test_a_private_csv_goes_to_the_askers_direct_messages(slack: Env) -> None:
    await slack.command("/kpi", "team support-emea 7d --csv")
    (upload,) = await slack.wait_for("files.completeUploadExternal")
    answer = slack.slack.of("response_url")[0].args
    assert answer.get("response_type", "ephemeral") == "ephemeral"
    assert "sent to your direct messages with csbot" in json.dumps(answer, ensure_ascii=False)
    (opened,) = slack.slack.of("conversations.open")
    assert opened.args["users"] == "U0123ABCD"  # alice, who asked
    assert upload.args["channel_id"] == "D0123ABCD" and "C2147483705" not in json.dumps(upload.args)
    (url,) = slack.slack.of("files.getUploadURLExternal")
    assert url.args["filename"].startswith("kpis-support-emea-") and url.args["filename"].endswith(".csv")
    (sent,) = slack.slack.of("upload")
    (row,) = rows(sent.args["content"])
    assert (row["scope"], row["name"]) == ("team", "support-emea") and int(row["tickets_created"]) == 7 and "qa_score" not in row


async def test_a_shared_trend_uploads_its_chart_and_file_to_the_channel(slack: Env) -> None:
    await slack.command("/kpi", "trend csat support-emea 28d by week --share --csv")
    uploads = await slack.wait_for("files.completeUploadExternal", count=2)
    assert {u.args["channel_id"] for u in uploads} == {CHANNEL} and slack.slack.of("conversations.open") == []
    names = [c.args["filename"] for c in slack.slack.of("files.getUploadURLExternal")]
    assert names[0].endswith(".png") and names[1].startswith("trend-support-emea-csat-by-week-") and names[1].endswith(".csv")
    png, sheet = (c.args["content"] for c in slack.slack.of("upload"))
    assert png.startswith(b"\x89PNG") and {r["name"] for r in rows(sheet)} == {"support-emea"} and len(rows(sheet)) in (4, 5)  # the weeks of 28 days
    assert "CSAT" in slack.slack.of("files.getUploadURLExternal")[0].args["alt_txt"]


async def test_a_private_trend_describes_its_chart_and_uploads_nothing(slack: Env) -> None:
    await slack.command("/kpi", "trend frt support-emea")
    await slack.wait_for("response_url")
    message = json.dumps(slack.slack.of("response_url")[0].args, ensure_ascii=False)
    assert "📈" in message and "First reply (median)" in message and "lowest" in message
    assert slack.slack.of("files.getUploadURLExternal") == [] and slack.slack.of("conversations.open") == []


async def test_a_file_that_cannot_reach_the_direct_messages_is_said(slack: Env) -> None:
    slack.slack.fail["conversations.open"] = "cannot_dm_bot"
    await slack.command("/kpi", "me --csv")
    await slack.wait_for("response_url", count=2)
    said = slack.slack.of("response_url")[1].args["text"]
    assert "could not be sent to your direct messages" in said and "cannot_dm_bot" in said
    assert slack.slack.of("files.getUploadURLExternal") == []


async def test_a_private_answer_to_a_mention_brings_its_file_into_the_direct_messages(slack: Env) -> None:
    await slack.mention("<@UBOT> kpi me --csv")
    (upload,) = await slack.wait_for("files.completeUploadExternal")
    assert upload.args["channel_id"] == "D0123ABCD"
    (row,) = rows(slack.slack.of("upload")[0].args["content"])
    assert (row["scope"], row["name"]) == ("agent", "alice")  # never `@alice`: a cell a spreadsheet would run


async def test_teams_links_the_file_and_the_chart(db: Database) -> None:
    apply_fixture_org(db)
    add_tickets(db, datetime.now(UTC))
    env, runners = await start_env(db, settings_env={"TEAMS_AUTH_DISABLED": "true", "CSBOT_PUBLIC_URL": PUBLIC})
    try:
        assert await env.post(env.activity("kpi trend csat support-emea 28d --csv", where="personal")) in (200, 201)
        card = env.connector.messages()[-1].body["attachments"][0]["content"]
        text = json.dumps(card)
        opens = [a for e in card["body"] if e["type"] == "ActionSet" for a in e["actions"]]
        (download,) = [a for a in opens if a["type"] == "Action.OpenUrl"]
        assert download["url"].startswith(f"{PUBLIC}/files/") and ".csv?exp=" in download["url"]
        assert f"{PUBLIC}/charts/" in text
        async with aiohttp.ClientSession() as http, http.get(download["url"].replace(PUBLIC, env.base)) as resp:
            assert resp.status == 200
            assert resp.headers["Content-Type"].startswith("text/csv")
            assert resp.headers["Content-Disposition"].startswith('attachment; filename="trend-support-emea-csat-by-week-')
            assert resp.headers["Cache-Control"] == "private, no-store"
            sheet = rows(await resp.read())
        assert len(sheet) in (4, 5) and {r["name"] for r in sheet} == {"support-emea"}
    finally:
        for runner in runners:
            await runner.cleanup()


async def test_without_a_public_address_teams_shows_a_small_file_as_text(db: Database) -> None:
    apply_fixture_org(db)
    add_tickets(db, datetime.now(UTC))
    env, runners = await start_env(db)
    try:
        assert await env.post(env.activity("kpi me 7d --csv", where="personal")) in (200, 201)
        text = env.card_texts(env.connector.messages()[-1])
        assert "scope,name,from,to,until,timezone" in text and "Action.OpenUrl" not in text
        async with aiohttp.ClientSession() as http, http.get(f"{env.base}/files/{'a' * 43}.csv?exp=1&sig={'0' * 64}") as resp:
            assert resp.status == 404  # no public address: no file route at all
    finally:
        for runner in runners:
            await runner.cleanup()


async def test_a_file_link_works_while_valid_and_opens_nothing_else(db: Database) -> None:
    from bot.web import create_app

    clock = MovableClock(datetime(2026, 12, 1, 9, tzinfo=UTC))
    runner, base = await serve(create_app(db, load_settings({"CSBOT_PUBLIC_URL": PUBLIC}), clock=clock))
    try:
        reply = Reply(blocks=[File("kpis.csv", CSV, "text/csv", "2 rows"), Chart("Trend", b"\x89PNG\r\n\x1a\nchart", "what it shows")])
        published = ChartLinks(db, PUBLIC, clock).publish(reply)
        file, chart = published.blocks
        assert isinstance(file, File) and isinstance(chart, Chart) and file.url and chart.url
        assert ChartLinks(db, PUBLIC, clock).publish(published) is published  # nothing left to link

        async def get(url: str) -> tuple[int, bytes]:
            async with aiohttp.ClientSession() as http, http.get(url.replace(PUBLIC, base)) as resp:
                return resp.status, await resp.read()

        assert await get(file.url) == (200, CSV)
        token = file.url.split("/files/")[1].split(".csv")[0]
        chart_token = chart.url.split("/charts/")[1].split(".png")[0]
        for forged in (
            file.url[:-4] + "0000",  # another signature
            file.url.replace("exp=", "exp=1"),  # another expiry
            file.url.replace("/files/", "/files/x"),  # another token
            file.url.split("?")[0],  # unsigned
            file.url.replace(".csv?", ".png?"),
            file.url.replace("/files/", "/charts/").replace(".csv?", ".png?"),  # a file is not a chart
            chart.url.replace("/charts/", "/files/").replace(".png?", ".csv?"),  # nor a chart a file
            f"{PUBLIC}/files/..%2F..%2Fetc%2Fpasswd.csv",
        ):
            assert (await get(forged))[0] == 404, forged
        assert token != chart_token
        clock.at += timedelta(hours=FILE_LINK_HOURS, minutes=1)
        assert (await get(file.url))[0] == 404  # a file's link lasts a day
        assert (await get(chart.url))[0] == 200  # a chart's a week
        assert forget_expired(db, clock.at) == 1
        clock.at += timedelta(days=LINK_DAYS)
        assert forget_expired(db, clock.at) == 1
        with db.sessions() as s:
            assert s.scalar(select(ChartImage.id)) is None
    finally:
        await runner.cleanup()


def test_the_console_writes_the_file_and_ask_prints_it(db: Database, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    apply_fixture_org(db)
    now = datetime(2026, 3, 9, 12, tzinfo=UTC)
    add_tickets(db, now)
    out, folder = io.StringIO(), tmp_path / "charts"
    run_console(db, build_router(), "bob", lambda: now, stdin=io.StringIO("/kpi trend frt 28d --csv\n"), out=out, chart_dir=folder)
    said = out.getvalue()
    saved = sorted(p.name for p in folder.iterdir())
    assert saved == ["support-emea-first-reply-median-by-week.png", "trend-support-emea-first-reply-median-s-by-week-2026-02-09-2026-03-09.csv"]
    assert f"Chart saved to {folder / saved[0]}" in said and f"File saved to {folder / saved[1]}" in said
    assert len(rows((folder / saved[1]).read_bytes())) == 5
    monkeypatch.setenv("DATABASE_URL", db_url)
    assert main(["ask", "/kpi team support-emea 7d --csv", "--as", "bob", "--at", now.isoformat()]) == 0
    printed = capsys.readouterr().out
    assert "[file: kpis-support-emea-" in printed and "\nscope,name,from,to,until,timezone," in printed
    assert printed.rstrip().splitlines()[-1].startswith("team,support-emea,2026-03-02")
    assert main(["ask", "/kpi team support-emea 7d --csv", "--as", "bob", "--at", now.isoformat(), "--json", "--out", str(tmp_path / "o")]) == 0
    out_json = json.loads(capsys.readouterr().out)
    (block,) = [b for b in out_json["blocks"] if b["type"] == "file"]
    assert block["media_type"] == "text/csv" and out_json["data"]["csv"]["rows"] == 1
    assert [Path(p).suffix for p in out_json["chart_files"]] == [".csv"]
    assert render_adaptive_card(Reply(blocks=[File("x.csv", b"a" * 40_000, "text/csv", "big")]))[0]["body"][0]["text"].endswith("link it from)")
