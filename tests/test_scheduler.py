"""The scheduler in `csbot serve`: cron times in each team's zone, one leader on PostgreSQL, /metrics."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta, timezone

import aiohttp
import pytest

from bot.config import load_settings
from bot.scheduler import Leadership, digest_triggers
from bot.web import create_app
from kpi.definitions import METRIC_NAMES
from store.database import Database, open_database
from store.local_time import at_local
from store.org_file import apply_org, parse_org
from tests.fake_slack import FakeSlack
from tests.helpers import serve

UTC = timezone.utc
ORG = """
org: {name: Acme Support, timezone: UTC, digest: {time: "07:30", days: mon-fri}}
teams:
  - {key: berlin, name: Berlin, timezone: Europe/Berlin, channels: {slack: CBER}, digest: {time: "09:00", days: mon-fri, weekly: mon}}
  - {key: newyork, name: New York, timezone: America/New_York, channels: {slack: CNYC}, digest: {time: "09:00", days: "mon,wed"}}
members:
  - {handle: admin, name: Ada Admin, role: admin, slack_id: UADMIN}
"""


def apply(db: Database) -> None:
    with db.sessions() as s, s.begin():
        apply_org(s, parse_org(ORG, METRIC_NAMES))


def test_each_digest_time_is_a_cron_trigger_in_its_own_zone_across_dst(db: Database) -> None:
    apply(db)
    triggers = digest_triggers(db)
    assert set(triggers) == {
        "digest 09:00 mon-fri Europe/Berlin",
        "digest 09:00 mon,wed America/New_York",
        "digest 07:30 mon-fri UTC",
    }
    berlin = triggers["digest 09:00 mon-fri Europe/Berlin"]
    after_friday = datetime(2026, 3, 27, 8, 0, 1, tzinfo=UTC)  # just after Friday's 09:00 (winter time)
    monday = berlin.get_next_fire_time(None, after_friday)
    assert monday == at_local(date(2026, 3, 30), "09:00", "Europe/Berlin") == datetime(2026, 3, 30, 7, 0, tzinfo=UTC)
    newyork = triggers["digest 09:00 mon,wed America/New_York"]
    assert newyork.get_next_fire_time(None, datetime(2026, 3, 9, 13, 0, 1, tzinfo=UTC)) == datetime(2026, 3, 11, 13, 0, tzinfo=UTC)


def test_only_one_replica_leads_on_postgresql_and_another_takes_over_when_it_dies(db: Database) -> None:
    if db.backend != "postgresql":
        # SQLite: every process runs the jobs; the outbox's claims keep each message to one send.
        assert Leadership(db).hold() and Leadership(db).hold()
        return
    url = db.engine.url.render_as_string(hide_password=False)
    first, second = open_database(url), open_database(url)
    try:
        a, b = Leadership(first), Leadership(second)
        assert a.hold() is True
        assert b.hold() is False
        assert a.hold() is True  # still the leader
        a.release()  # the leader's process dies: its connection closes, PostgreSQL frees the lock
        assert b.hold() is True
        assert Leadership(first).hold() is False  # the old leader, restarted, follows
    finally:
        for leadership in (a, b):
            leadership.release()
        first.dispose()
        second.dispose()


async def test_serve_posts_the_due_scorecard_and_counts_it_in_metrics(db: Database) -> None:
    apply(db)
    fake = FakeSlack()
    slack_runner, slack_base = await serve(fake.app())
    fake.base_url = slack_base
    settings = load_settings({"SLACK_BOT_TOKEN": "xoxb-test-token", "SLACK_SIGNING_SECRET": "s" * 32, "SLACK_API_URL": f"{slack_base}/api/"})
    now = at_local(date(2026, 12, 1), "09:00", "Europe/Berlin") + timedelta(seconds=5)
    runner, base = await serve(create_app(db, settings, clock=lambda: now, schedule=True))
    try:
        for _ in range(200):
            if any(c.args.get("channel") == "CBER" for c in fake.of("chat.postMessage")):
                break
            await asyncio.sleep(0.05)
        posted = [c.args for c in fake.of("chat.postMessage")]
        assert [p["channel"] for p in posted if p["channel"] == "CBER"] == ["CBER"]
        # The org roll-up went to the admin by DM at 07:30 UTC (late by now, within the catch-up).
        assert any(c.args.get("users") == "UADMIN" for c in fake.of("conversations.open"))
        text = ""
        async with aiohttp.ClientSession() as http:
            for _ in range(200):  # counted when the pass is over
                async with http.get(f"{base}/metrics") as resp:
                    assert resp.status == 200 and resp.content_type == "text/plain"
                    text = await resp.text()
                if 'csbot_deliveries_total{kind="scorecard",outcome="sent"}' in text:
                    break
                await asyncio.sleep(0.05)
        assert 'csbot_deliveries_total{kind="scorecard",outcome="sent"}' in text
        assert "csbot_scheduler_leader 1.0" in text
        assert "csbot_job_seconds_count" in text
    finally:
        await runner.cleanup()
        await slack_runner.cleanup()


async def test_metrics_count_commands_by_their_registered_name_only(db: Database) -> None:
    from bot.dispatch import run_command
    from handlers.registry import build_router

    apply(db)
    router = build_router()
    run_command(db, router, "admin", "/kpi teams", now=datetime(2026, 12, 1, 9, tzinfo=UTC), platform="console")
    run_command(db, router, "admin", "/<!channel> secret-words", now=datetime(2026, 12, 1, 9, tzinfo=UTC), platform="console")
    runner, base = await serve(create_app(db, load_settings({})))
    try:
        async with aiohttp.ClientSession() as http, http.get(f"{base}/metrics") as resp:
            text = await resp.text()
    finally:
        await runner.cleanup()
    assert 'csbot_commands_total{command="/kpi",outcome="ok",surface="console"}' in text
    assert 'command="unknown",outcome="usage"' in text
    assert "secret-words" not in text and "channel" not in text


@pytest.mark.parametrize("weekday", ["monday", "Mon", "funday"])
def test_weekly_day_in_the_org_file(weekday: str) -> None:
    text = ORG.replace("weekly: mon", f"weekly: {weekday}")
    if weekday == "funday":
        with pytest.raises(Exception, match="digest weekly 'funday' is not a day"):
            parse_org(text, METRIC_NAMES)
    else:
        (berlin, _) = parse_org(text, METRIC_NAMES).teams
        assert berlin.digest_weekly == "mon"
