"""After a crash: a restarted csbot takes back at once the outbox rows its dead predecessor held, and /healthz and /metrics show held pages."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, timedelta

import aiohttp
import pytest

from bot.config import load_settings
from bot.digests import plan_digests
from bot.slack.notifier import SlackNotifier
from bot.tick import make_sender, run_tick
from bot.web import create_app
from store.claimants import Claimant, is_gone, start_token, this_process
from store.database import Database
from store.engine import write_transaction
from store.local_time import at_local
from store.outbox import CLAIM_LEASE, claim_due
from tests.fake_slack import FakeSlack
from tests.helpers import serve
from tests.test_tick import BERLIN, CrashAfterSending, Killed, apply, posts, rows

NINE = at_local(date(2026, 12, 1), "09:00", "Europe/Berlin")


def dead_process() -> Claimant:
    """A csbot-like process on this host that ran, claimed, and is gone."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    token = start_token(child.pid) or "gone"
    child.kill()
    child.wait()
    return Claimant(this_process().host, child.pid, token)


def earlier_incarnation() -> Claimant:
    """This process's pid with another start: csbot restarted in a container, where it is always pid 1."""
    me = this_process()
    return Claimant(me.host, me.pid, "earlier-start")


def claim_as(db: Database, claimant: Claimant, now=NINE) -> None:  # type: ignore[no-untyped-def]
    plan_digests(db, now, platforms={"slack"}, catchup=timedelta(hours=6))
    with write_transaction(db.sessions) as s:
        assert "berlin" in {c.subject for c in claim_due(s, now, claimed_by=str(claimant))}


def test_who_is_gone() -> None:
    me = this_process()
    assert not is_gone(me)
    assert is_gone(earlier_incarnation())
    assert is_gone(dead_process())
    parent = os.getppid()
    assert not is_gone(Claimant(me.host, parent, start_token(parent) or "?"))  # alive
    assert not is_gone(Claimant("another-host", 4242, "x"))  # never judged: its rows wait for their lease
    assert Claimant.parse(str(me)) == me and Claimant.parse(None) is None and Claimant.parse("garbage") is None


@pytest.mark.parametrize("claimant", [earlier_incarnation, dead_process])
async def test_rows_claimed_by_a_dead_process_on_this_host_are_sent_at_once_after_the_restart(
    db: Database, slack: tuple[FakeSlack, SlackNotifier], claimant  # type: ignore[no-untyped-def]
) -> None:
    fake, notifier = slack
    apply(db, BERLIN)
    claim_as(db, claimant())
    # Restarted ten seconds later: well inside the 2-minute lease, the scorecard goes out now.
    report = await run_tick(db, [notifier], NINE + timedelta(seconds=10))
    assert len(posts(fake, "CBER")) == 1
    assert {o.subject: o.status for o in report.outcomes}["berlin"] == "sent"
    (row,) = [r for r in rows(db) if r.subject == "berlin"]
    assert row.status == "sent" and row.claimed_by == str(this_process())


async def test_a_page_a_dead_process_was_sending_is_looked_for_first_then_recorded_not_posted_again(
    db: Database, slack: tuple[FakeSlack, SlackNotifier]
) -> None:
    fake, notifier = slack
    apply(db, BERLIN)
    plan_digests(db, NINE, platforms={"slack"}, catchup=timedelta(hours=6))
    crashed = make_sender(db, [CrashAfterSending(notifier)])  # type: ignore[list-item]
    crashed.claimant = earlier_incarnation()
    with pytest.raises(Killed):
        await crashed.send_due(NINE)
    (row,) = [r for r in rows(db) if r.subject == "berlin"]
    assert row.status == "sending" and len(posts(fake, "CBER")) == 1
    # A minute later, not ten: the platform is asked, the post found and recorded.
    report = await run_tick(db, [notifier], NINE + timedelta(minutes=1))
    (outcome,) = [o for o in report.outcomes if o.subject == "berlin"]
    assert outcome.status == "sent" and outcome.note == "recovered after an interrupted send"
    assert len(posts(fake, "CBER")) == 1


@pytest.mark.parametrize("holder", ["alive", "other-host", "unnamed"])
async def test_rows_of_a_live_process_or_another_host_wait_for_their_lease(
    db: Database, slack: tuple[FakeSlack, SlackNotifier], holder: str
) -> None:
    fake, notifier = slack
    apply(db, BERLIN)
    me, parent = this_process(), os.getppid()
    claimant = {"alive": Claimant(me.host, parent, start_token(parent) or "?"), "other-host": Claimant("replica-2", me.pid, "x")}.get(holder)
    plan_digests(db, NINE, platforms={"slack"}, catchup=timedelta(hours=6))
    with write_transaction(db.sessions) as s:
        claim_due(s, NINE, claimed_by=str(claimant) if claimant else None)
    await run_tick(db, [notifier], NINE + timedelta(minutes=1))
    assert posts(fake, "CBER") == []
    await run_tick(db, [notifier], NINE + CLAIM_LEASE + timedelta(seconds=1))
    assert len(posts(fake, "CBER")) == 1


async def health_and_metrics(db: Database, now) -> tuple[dict, str]:  # type: ignore[no-untyped-def, type-arg]
    runner, base = await serve(create_app(db, load_settings({}), clock=lambda: now))
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/healthz") as resp:
                assert resp.status == 200
                health = json.loads(await resp.text())
            async with http.get(f"{base}/metrics") as resp:
                text = await resp.text()
        return health, text
    finally:
        await runner.cleanup()


def gauge(text: str, name: str) -> float:
    (line,) = [x for x in text.splitlines() if x.startswith(name + " ")]
    return float(line.split()[1])


async def test_healthz_and_metrics_show_pages_held_by_a_gone_claimant_or_an_expired_lease(db: Database) -> None:
    apply(db, BERLIN)
    health, text = await health_and_metrics(db, NINE)
    assert health["status"] == "ok" and health["outbox"] == {"held": 0, "stale": 0, "expired_lease": 0, "claimant_gone": 0}
    assert gauge(text, "csbot_outbox_stale_leases") == 0
    claim_as(db, dead_process())
    health, text = await health_and_metrics(db, NINE + timedelta(seconds=5))
    assert health["status"] == "degraded"
    assert health["outbox"] == {"held": 1, "stale": 1, "expired_lease": 0, "claimant_gone": 1}
    assert gauge(text, "csbot_outbox_stale_leases") == 1 and gauge(text, "csbot_outbox_held") == 1


async def test_an_expired_lease_nobody_takes_over_shows_after_two_sweeps(db: Database) -> None:
    apply(db, BERLIN)
    claim_as(db, Claimant("replica-2", 7, "x"))  # another host: only its lease can tell
    health, _ = await health_and_metrics(db, NINE + CLAIM_LEASE)
    assert health["status"] == "ok" and health["outbox"]["stale"] == 0
    health, text = await health_and_metrics(db, NINE + CLAIM_LEASE + timedelta(seconds=11))  # sweep every 5 s
    assert health["status"] == "degraded" and health["outbox"]["expired_lease"] == 1
    assert gauge(text, "csbot_outbox_stale_leases") == 1
