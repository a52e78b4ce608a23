"""Charts in Teams cards: by signed, expiring link under CSBOT_PUBLIC_URL, else inlined, else described."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

import aiohttp
import pytest
from sqlalchemy import select

from bot.chart_links import LINK_DAYS, ChartLinks, forget_expired
from bot.config import load_settings
from bot.render.teams import render_adaptive_card
from bot.tick import run_tick
from handlers.reply import Chart, Reply
from store.chart_images import ChartImage
from store.database import Database
from store.local_time import at_local
from tests.helpers import apply_fixture_org, serve
from tests.teams_env import CHANNEL, start_env

UTC = timezone.utc
PUBLIC = "https://csbot.example.com"
PNG = b"\x89PNG\r\n\x1a\n" + b"chart" * 100


class MovableClock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def images(card: dict) -> list[dict]:  # type: ignore[type-arg]
    found = []

    def walk(value: object) -> None:
        if isinstance(value, dict):
            if value.get("type") == "Image":
                found.append(value)
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(card)
    return found


async def fetch(base: str, url: str) -> tuple[int, bytes, str]:
    async with aiohttp.ClientSession() as http, http.get(url.replace(PUBLIC, base)) as resp:
        return resp.status, await resp.read(), resp.headers.get("Content-Type", "")


async def test_a_linked_chart_is_served_while_its_signed_link_is_valid_and_never_after(db: Database) -> None:
    from bot.web import create_app

    clock = MovableClock(datetime(2026, 12, 1, 9, tzinfo=UTC))
    runner, base = await serve(create_app(db, load_settings({"CSBOT_PUBLIC_URL": PUBLIC}), clock=clock))
    try:
        reply = ChartLinks(db, PUBLIC, clock).publish(Reply(title="t", blocks=[Chart("Trend", PNG, "what it shows")]))
        (chart,) = reply.blocks
        assert isinstance(chart, Chart) and chart.url is not None and chart.url.startswith(f"{PUBLIC}/charts/")
        (image,) = images(render_adaptive_card(reply)[0])
        assert image["url"] == chart.url  # the card links, it does not carry the bytes
        status, body, kind = await fetch(base, chart.url)
        assert (status, body, kind) == (200, PNG, "image/png")
        for forged in (
            chart.url[:-4] + "0000",  # another signature
            chart.url.replace("exp=", "exp=1"),  # another expiry
            chart.url.replace("/charts/", "/charts/x"),  # another token
            chart.url.split("?")[0],  # no signature at all
            f"{PUBLIC}/charts/..%2F..%2Fetc%2Fpasswd",
        ):
            assert (await fetch(base, forged))[0] == 404, forged
        clock.at += timedelta(days=LINK_DAYS, minutes=1)
        assert (await fetch(base, chart.url))[0] == 404  # expired
        assert forget_expired(db, clock.at) == 1
        with db.sessions() as s:
            assert s.scalar(select(ChartImage.id)) is None
    finally:
        await runner.cleanup()


async def test_without_a_public_url_there_is_no_chart_route(db: Database) -> None:
    from bot.web import create_app

    runner, base = await serve(create_app(db, load_settings({})))
    try:
        async with aiohttp.ClientSession() as http, http.get(f"{base}/charts/abc.png") as resp:
            assert resp.status == 404
    finally:
        await runner.cleanup()


@pytest.mark.parametrize("public", [True, False])
async def test_the_morning_scorecard_reaches_a_teams_channel_with_its_chart(db: Database, public: bool) -> None:
    apply_fixture_org(db)
    env_vars = {"TEAMS_AUTH_DISABLED": "true", **({"CSBOT_PUBLIC_URL": PUBLIC} if public else {})}
    e, runners = await start_env(db, settings_env=env_vars)
    try:
        assert await e.post(e.activity("csbot teams")) in (200, 201)  # csbot learns the channel
        teams_app_notifier = None
        app = runners[0].app
        for route in app.router.routes():
            handler = getattr(route.handler, "__self__", None)
            if handler is not None and hasattr(handler, "notifier"):
                teams_app_notifier = handler.notifier
        assert teams_app_notifier is not None
        nine = at_local(date(2026, 12, 1), "09:00", "Europe/Berlin")
        report = await run_tick(db, [teams_app_notifier], nine, only="digests")
        sent = {o.recipient: o for o in report.outcomes}
        assert sent[f"teams:channel:{CHANNEL}"].status == "sent" and sent[f"teams:channel:{CHANNEL}"].message_ids
        post = [s for s in e.connector.messages() if s.conversation_id == CHANNEL and "Scorecard" in e.card_texts(s)]
        assert len(post) == 1
        card = post[0].body["attachments"][0]["content"]
        if public:
            (image,) = images(card)
            assert image["url"].startswith(f"{PUBLIC}/charts/")
            status, body, _ = await fetch(e.base, image["url"])
            assert status == 200 and body.startswith(b"\x89PNG")
        else:
            # An 800x500 chart is larger than a Teams message may be: the card says what it shows.
            assert images(card) == [] and "chart too large to show here" in json.dumps(card, ensure_ascii=False)
        assert json.dumps(post[0].body).count("Support EMEA") >= 1
    finally:
        for runner in runners:
            await runner.cleanup()
