"""Scheduled scorecards through the outbox: on time in every zone, exactly once, retried, caught up.

The clock is moved, never waited for. Slack is the local stand-in
(tests/fake_slack.py), which records every call and keeps each channel's
history so an interrupted send can be looked for.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bot.digests import plan_digests
from bot.notify import Address, Sent
from bot.slack.notifier import SlackNotifier
from bot.tick import run_tick
from handlers.reply import Reply
from kpi.definitions import METRIC_NAMES
from store.database import Database, open_database
from store.engine import write_transaction
from store.local_time import at_local, latest_occurrence
from store.org_file import apply_org, parse_org
from store.outbox import OutboxRow, claim_due
from tests.fake_slack import FakeSlack

UTC = timezone.utc
ORG = """
org: {name: Acme Support, timezone: UTC}
teams:
  - {key: berlin, name: Berlin, timezone: Europe/Berlin, channels: {slack: CBER}, digest: {time: "09:00", days: mon-fri}}
  - {key: newyork, name: New York, timezone: America/New_York, channels: {slack: CNYC}, digest: {time: "09:00", days: mon-fri}}
  - {key: kolkata, name: Kolkata, timezone: Asia/Kolkata, channels: {slack: CKOL}, digest: {time: "09:00", days: mon-fri}}
  - {key: quiet, name: Quiet, timezone: UTC, digest: {time: "09:00", days: mon-fri}}
members:
  - {handle: admin, name: Ada Admin, role: admin}
"""
CHANNELS = {"berlin": "CBER", "newyork": "CNYC", "kolkata": "CKOL"}
BERLIN = """
org: {name: Acme Support, timezone: UTC}
teams:
  - {key: berlin, name: Berlin, timezone: Europe/Berlin, channels: {slack: CBER}, digest: {time: "09:00", days: mon-fri}}
members:
  - {handle: admin, name: Ada Admin, role: admin}
"""


def apply(db: Database, text: str = ORG) -> None:
    with db.sessions() as s, s.begin():
        apply_org(s, parse_org(text, METRIC_NAMES))


def posts(fake: FakeSlack, channel: str | None = None) -> list[dict]:  # type: ignore[type-arg]
    return [c.args for c in fake.of("chat.postMessage") if channel is None or c.args.get("channel") == channel]


def rows(db: Database) -> list[OutboxRow]:
    with db.sessions() as s:
        return list(s.scalars(select(OutboxRow).order_by(OutboxRow.id)))


# ---------------------------------------------------------------- local time


@pytest.mark.parametrize(
    ("zone", "day", "utc"),
    [
        ("Europe/Berlin", date(2026, 3, 27), "08:00"),  # winter time, Friday before the change
        ("Europe/Berlin", date(2026, 3, 30), "07:00"),  # summer time, Monday after it
        ("Europe/Berlin", date(2026, 10, 23), "07:00"),
        ("Europe/Berlin", date(2026, 10, 26), "08:00"),
        ("America/New_York", date(2026, 3, 6), "14:00"),
        ("America/New_York", date(2026, 3, 9), "13:00"),
        ("America/New_York", date(2026, 10, 30), "13:00"),
        ("America/New_York", date(2026, 11, 2), "14:00"),
        ("Asia/Kolkata", date(2026, 3, 30), "03:30"),  # no daylight saving, half-hour offset
    ],
)
def test_nine_oclock_local_is_nine_oclock_on_both_sides_of_a_change(zone: str, day: date, utc: str) -> None:
    instant = at_local(day, "09:00", zone)
    assert instant.strftime("%H:%M") == utc and instant.date() == day
    assert instant.astimezone(ZoneInfo(zone)).strftime("%H:%M") == "09:00"


def test_a_time_the_clocks_skip_lands_after_the_gap_and_a_repeated_one_is_the_first() -> None:
    spring = at_local(date(2026, 3, 29), "02:30", "Europe/Berlin")
    assert spring == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)  # 03:30 summer time
    autumn = at_local(date(2026, 10, 25), "02:30", "Europe/Berlin")
    assert autumn == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # the first 02:30 (summer time)


def test_latest_occurrence_skips_days_off() -> None:
    monday_morning = datetime(2026, 3, 30, 6, 0, tzinfo=UTC)  # 08:00 in Berlin: Monday's is not due yet
    day, due = latest_occurrence(monday_morning, "09:00", [0, 1, 2, 3, 4], "Europe/Berlin")  # type: ignore[misc]
    assert day == date(2026, 3, 27) and due == datetime(2026, 3, 27, 8, 0, tzinfo=UTC)


# ---------------------------------------------------------------- on time, once, in every zone


@pytest.fixture
def sqlite_db(tmp_path: Path) -> AsyncIterator[Database]:
    db = open_database(f"sqlite:///{tmp_path / 'tick.db'}")
    yield db  # type: ignore[misc]
    db.dispose()


@pytest.mark.parametrize(
    "weekend",
    [
        date(2026, 3, 7),  # New York springs forward on Sunday the 8th
        date(2026, 3, 28),  # Berlin springs forward on Sunday the 29th
        date(2026, 10, 24),  # Berlin falls back on Sunday the 25th
        date(2026, 10, 31),  # New York falls back on Sunday 1 November
    ],
)
async def test_each_team_gets_one_scorecard_at_nine_local_on_working_days_across_a_dst_change(
    sqlite_db: Database, slack: tuple[FakeSlack, SlackNotifier], weekend: date
) -> None:
    db, (fake, notifier) = sqlite_db, slack
    apply(db)
    friday, monday = weekend - timedelta(days=1), weekend + timedelta(days=2)
    zones = {"berlin": "Europe/Berlin", "newyork": "America/New_York", "kolkata": "Asia/Kolkata"}
    # The clock only moves forward: each day's nine o'clocks in the order they come (Kolkata's first).
    moments = sorted((at_local(day, "09:00", zone), day, team) for day in (friday, weekend, weekend + timedelta(days=1), monday) for team, zone in zones.items())
    for nine, day, team in moments:
        await run_tick(db, [notifier], nine - timedelta(minutes=1))
        before = len(posts(fake, CHANNELS[team]))
        await run_tick(db, [notifier], nine)
        await run_tick(db, [notifier], nine + timedelta(minutes=1))
        expected = 1 if day.weekday() < 5 else 0
        assert len(posts(fake, CHANNELS[team])) - before == expected, (team, day)
    for team in zones:
        sent = [r for r in rows(db) if r.subject == team and r.status == "sent"]
        assert [r.occurrence for r in sent] == [friday.isoformat(), monday.isoformat()]
        assert all(r.sent_at == at_local(date.fromisoformat(r.occurrence), "09:00", zones[team]) for r in sent)
        assert not any(r.late for r in sent)
    # The team with no channel is recorded as not reachable, once per due day, and never posted
    # (Thursday's too: the first tick finds it due, long before).
    quiet = [r for r in rows(db) if r.subject == "quiet"]
    thursday = friday - timedelta(days=1)
    assert [(r.status, r.occurrence) for r in quiet] == [("skipped", d.isoformat()) for d in (thursday, friday, monday)]
    assert "nowhere to send it" in (quiet[0].error or "")


async def test_the_scorecard_posted_is_yesterdays_with_its_chart_uploaded_to_the_channel(
    db: Database, slack: tuple[FakeSlack, SlackNotifier]
) -> None:
    fake, notifier = slack
    apply(db)
    nine = at_local(date(2026, 12, 1), "09:00", "Europe/Berlin")
    report = await run_tick(db, [notifier], nine)
    (post,) = posts(fake, "CBER")
    assert "Scorecard · Berlin (berlin) · Mon 30 Nov 2026" in post["text"]
    assert post["metadata"]["event_type"] == "csbot_outbox"
    (upload,) = [c.args for c in fake.of("files.completeUploadExternal") if c.args["channel_id"] == "CBER"]
    assert "Berlin · last 30 days to 30 Nov 2026" in json.loads(upload["files"])[0]["title"]
    sent = {o.subject: o for o in report.outcomes}
    assert sent["berlin"].status == "sent" and sent["berlin"].message_ids == (fake.history["CBER"][0]["ts"],)
    (row,) = [r for r in rows(db) if r.subject == "berlin"]
    assert row.ids == [fake.history["CBER"][0]["ts"]] and row.recipient == "slack:channel:CBER"


async def test_two_schedulers_at_the_same_moment_post_once(db: Database, slack: tuple[FakeSlack, SlackNotifier]) -> None:
    fake, notifier = slack
    apply(db)
    nine = at_local(date(2026, 12, 1), "09:00", "Europe/Berlin")
    other = open_database(db.engine.url.render_as_string(hide_password=False))  # a second process's connections
    try:
        await asyncio.gather(run_tick(db, [notifier], nine), run_tick(other, [notifier], nine), run_tick(db, [notifier], nine))
    finally:
        other.dispose()
    assert len(posts(fake, "CBER")) == 1


# ---------------------------------------------------------------- crashes, failures, downtime


class Killed(BaseException):
    """The process dying: not an error csbot handles (asyncio keeps KeyboardInterrupt for the real one)."""


class CrashAfterSending:
    """The real Slack notifier, with the process dying right after a successful send (before csbot records it)."""

    platform = "slack"

    def __init__(self, real: SlackNotifier) -> None:
        self.real = real

    async def send(self, to: Address, reply: Reply, *, key: str, thread: str | None = None) -> Sent:
        await self.real.send(to, reply, key=key, thread=thread)
        raise Killed("killed")

    async def find_sent(self, to: Address, key: str) -> tuple[str, ...] | None:
        return await self.real.find_sent(to, key)


async def test_killed_between_claim_and_send_it_is_sent_once_after_the_restart(db: Database, slack: tuple[FakeSlack, SlackNotifier]) -> None:
    fake, notifier = slack
    apply(db, BERLIN)
    nine = at_local(date(2026, 12, 1), "09:00", "Europe/Berlin")
    # A process plans and claims, then dies before sending anything.
    plan_digests(db, nine, platforms={"slack"}, catchup=timedelta(hours=6))
    with write_transaction(db.sessions) as s:
        assert "berlin" in {c.subject for c in claim_due(s, nine)}
    # Restarted a minute later: the claim still holds, nothing is sent twice meanwhile.
    await run_tick(db, [notifier], nine + timedelta(minutes=1))
    assert posts(fake, "CBER") == []
    # When the claim's lease has run out, the scorecard goes out, once, on time enough.
    await run_tick(db, [notifier], nine + timedelta(minutes=3))
    await run_tick(db, [notifier], nine + timedelta(minutes=4))
    assert len(posts(fake, "CBER")) == 1


async def test_killed_between_send_and_recording_it_is_found_not_posted_again(db: Database, slack: tuple[FakeSlack, SlackNotifier]) -> None:
    fake, notifier = slack
    apply(db, BERLIN)
    nine = at_local(date(2026, 12, 1), "09:00", "Europe/Berlin")
    with pytest.raises(Killed):
        await run_tick(db, [CrashAfterSending(notifier)], nine)  # type: ignore[list-item]
    assert len(posts(fake, "CBER")) == 1
    (row,) = [r for r in rows(db) if r.subject == "berlin"]
    assert row.status == "sending"
    # Restarted: nothing happens while the send might still be under way ...
    await run_tick(db, [notifier], nine + timedelta(minutes=5))
    assert len(posts(fake, "CBER")) == 1
    # ... and after its lease the post is found in the channel and recorded, not posted again.
    report = await run_tick(db, [notifier], nine + timedelta(minutes=11))
    assert len(posts(fake, "CBER")) == 1
    (outcome,) = report.outcomes
    assert outcome.status == "sent" and outcome.note == "recovered after an interrupted send"
    (row,) = [r for r in rows(db) if r.subject == "berlin"]
    assert row.status == "sent" and row.ids == [fake.history["CBER"][0]["ts"]]


async def test_a_failed_send_is_retried_with_backoff_and_its_failure_recorded(db: Database, slack: tuple[FakeSlack, SlackNotifier]) -> None:
    fake, notifier = slack
    apply(db, BERLIN)
    nine = at_local(date(2026, 12, 1), "09:00", "Europe/Berlin")
    fake.fail["chat.postMessage"] = "not_in_channel"
    report = await run_tick(db, [notifier], nine)
    assert {o.subject: o.status for o in report.outcomes}["berlin"] == "retrying"
    (row,) = [r for r in rows(db) if r.subject == "berlin"]
    assert row.status == "pending" and row.error == "not_in_channel" and row.attempts == 1
    assert row.next_attempt_at == nine + timedelta(minutes=1)
    await run_tick(db, [notifier], nine + timedelta(seconds=30))  # before the retry is due
    assert len(fake.of("chat.postMessage")) == 1  # not tried again yet
    await run_tick(db, [notifier], nine + timedelta(minutes=1))
    (row,) = [r for r in rows(db) if r.subject == "berlin"]
    assert row.attempts == 2 and row.next_attempt_at == nine + timedelta(minutes=3)  # the wait doubles
    del fake.fail["chat.postMessage"]
    await run_tick(db, [notifier], nine + timedelta(minutes=3))
    (row,) = [r for r in rows(db) if r.subject == "berlin"]
    assert row.status == "sent" and len(posts(fake, "CBER")) == 3  # two refused, then posted


async def test_a_send_that_keeps_failing_gives_up_when_the_catch_up_window_closes(db: Database, slack: tuple[FakeSlack, SlackNotifier]) -> None:
    fake, notifier = slack
    apply(db, BERLIN)
    nine = at_local(date(2026, 12, 1), "09:00", "Europe/Berlin")
    fake.fail["chat.postMessage"] = "channel_not_found"
    at = nine
    while at < nine + timedelta(hours=7):
        await run_tick(db, [notifier], at)
        at += timedelta(minutes=30)
    (row,) = [r for r in rows(db) if r.subject == "berlin"]
    assert row.status == "failed" and row.error == "channel_not_found"
    assert 5 <= row.attempts <= 20  # backed off to every 30 minutes, not every tick


async def test_missed_while_down_it_is_sent_late_within_the_catch_up_and_skipped_after(
    db: Database, slack: tuple[FakeSlack, SlackNotifier]
) -> None:
    fake, notifier = slack
    apply(db, BERLIN)
    tuesday = at_local(date(2026, 12, 1), "09:00", "Europe/Berlin")
    report = await run_tick(db, [notifier], tuesday + timedelta(hours=2))  # csbot was down from 08:55 to 11:00
    berlin = {o.subject: o for o in report.outcomes}["berlin"]
    assert berlin.status == "sent" and berlin.late
    (post,) = posts(fake, "CBER")
    assert "Sent late: this was due at 09:00 (Europe/Berlin)" in json.dumps(post["blocks"], ensure_ascii=False)
    # Down all Wednesday morning, back more than 6 hours after 09:00: recorded, not sent.
    wednesday = at_local(date(2026, 12, 2), "09:00", "Europe/Berlin")
    report = await run_tick(db, [notifier], wednesday + timedelta(hours=6, minutes=1))
    assert len(posts(fake, "CBER")) == 1
    assert any(line.startswith("scorecard berlin 2026-12-02 to slack:channel:CBER: missed") for line in report.skipped)
    (row,) = [r for r in rows(db) if r.subject == "berlin" and r.occurrence == "2026-12-02"]
    assert row.status == "skipped" and "DIGEST_CATCHUP_HOURS" in (row.error or "")


# ---------------------------------------------------------------- csbot tick, as cron runs it


def _tick(db: Database, slack_base: str, *args: str, extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CSBOT_", "SLACK_", "Microsoft", "TEAMS_", "DIGEST_")) and k != "DATABASE_URL"}
    env |= {
        "DATABASE_URL": db.engine.url.render_as_string(hide_password=False),
        "SLACK_BOT_TOKEN": "xoxb-test-token",
        "SLACK_SIGNING_SECRET": "s" * 32,
        "SLACK_API_URL": f"{slack_base}/api/",
        **(extra or {}),
    }
    return subprocess.run([sys.executable, "-m", "bot.cli", "tick", *args], env=env, capture_output=True, text=True, timeout=120)


async def test_csbot_tick_at_posts_each_scorecard_once_at_its_local_time(db: Database, slack: tuple[FakeSlack, SlackNotifier]) -> None:
    fake, _notifier = slack
    apply(db)
    base = fake.base_url
    early = await asyncio.to_thread(_tick, db, base, "--at", "2026-12-01T07:59:00Z", "--json")  # 08:59 in Berlin
    assert early.returncode == 0, early.stderr
    assert {d["subject"] for d in json.loads(early.stdout)["deliveries"]} == {"kolkata"}  # 13:29 in Kolkata
    berlin = await asyncio.to_thread(_tick, db, base, "--at", "2026-12-01T08:00:00Z", "--json")
    out = json.loads(berlin.stdout)
    assert berlin.returncode == 0 and out["ok"] is True
    assert [(d["subject"], d["status"], d["recipient"]) for d in out["deliveries"]] == [("berlin", "sent", "slack:channel:CBER")]
    again = await asyncio.to_thread(_tick, db, base, "--at", "2026-12-01T08:00:00Z")
    assert again.returncode == 0 and "0 message(s) handled" in again.stdout
    assert len(posts(fake, "CBER")) == 1 and posts(fake, "CNYC") == []
    ny = await asyncio.to_thread(_tick, db, base, "--at", "2026-12-01T14:00:00Z", "--only", "digests", "--verbose")
    assert ny.returncode == 0 and "sent: scorecard newyork 2026-12-01 → slack:channel:CNYC" in ny.stdout
    assert len(posts(fake, "CNYC")) == 1 and len(posts(fake, "CKOL")) == 1
    bad = await asyncio.to_thread(_tick, db, base, "--only", "nothing")
    assert bad.returncode == 2 and "not a job" in bad.stderr


async def test_a_personal_subscription_is_a_direct_message_at_the_members_time_on_working_days(
    db: Database, slack: tuple[FakeSlack, SlackNotifier]
) -> None:
    from bot.dispatch import run_command
    from handlers.registry import build_router
    from tests.helpers import apply_fixture_org

    fake, notifier = slack
    apply_fixture_org(db)
    reply = run_command(db, build_router(), "alice", "/scorecard subscribe me 08:30", now=datetime(2026, 11, 30, 12, tzinfo=UTC), platform="test")
    assert reply.ok
    due = at_local(date(2026, 12, 1), "08:30", "Europe/Berlin")
    await run_tick(db, [notifier], due - timedelta(minutes=1))
    assert not [c for c in fake.of("conversations.open") if c.args.get("users") == "U0123ABCD"]
    report = await run_tick(db, [notifier], due)
    mine = [o for o in report.outcomes if o.kind == "subscription"]
    assert [(o.subject, o.recipient, o.status) for o in mine] == [("alice:me", "slack:user:U0123ABCD", "sent")]
    (dm,) = posts(fake, "D0123ABCD")
    assert dm["text"].startswith("Your day · Alice Smith · Mon 30 Nov 2026")
    # Saturday: no message; Monday: one.
    await run_tick(db, [notifier], at_local(date(2026, 12, 5), "08:30", "Europe/Berlin"))
    await run_tick(db, [notifier], at_local(date(2026, 12, 7), "08:30", "Europe/Berlin"))
    assert len(posts(fake, "D0123ABCD")) == 2


def test_many_messages_are_composed_in_worker_processes_exactly_as_in_this_one(db: Database) -> None:
    from bot.digests import compose
    from bot.outbox_sender import compose_all
    from handlers.reply import Chart

    apply(db)
    noon = datetime(2026, 12, 1, 16, tzinfo=UTC)  # every team's 09:00 has passed
    plan_digests(db, noon, platforms={"slack"}, catchup=timedelta(hours=24))
    with write_transaction(db.sessions) as s:
        claimed = claim_due(s, noon)
    assert len(claimed) == 3
    composers = {"scorecard": compose}
    here = compose_all(db, claimed, noon, composers, parallel_from=10**6)
    there = compose_all(db, claimed, noon, composers, parallel_from=1)  # two worker processes

    def shown(reply: Reply) -> tuple[object, ...]:
        return (reply.title, reply.data, reply.to_neutral(), [b.png for b in reply.blocks if isinstance(b, Chart)])

    assert {k: shown(v) for k, v in here.items()} == {k: shown(v) for k, v in there.items()}  # type: ignore[arg-type]


async def test_csbot_tick_at_posts_once_through_the_slack_and_teams_stand_ins(db: Database, slack: tuple[FakeSlack, SlackNotifier]) -> None:
    from tests.helpers import apply_fixture_org
    from tests.teams_env import CHANNEL, start_env

    fake, _notifier = slack
    apply_fixture_org(db)  # support-emea: Slack C0123ABCD and the Teams channel below, digest 09:00 Berlin
    e, runners = await start_env(db)
    assert await e.post(e.activity("csbot teams")) in (200, 201)  # csbot meets the Teams channel
    await runners[0].cleanup()  # and stops; the cron-run tick is on its own
    try:
        env = {"TEAMS_AUTH_DISABLED": "true"}
        ticked = await asyncio.to_thread(_tick, db, fake.base_url, "--at", "2026-12-01T08:00:00Z", "--json", extra=env)
        assert ticked.returncode == 0, ticked.stderr
        sent = {(d["subject"], d["recipient"]): d for d in json.loads(ticked.stdout)["deliveries"]}
        assert sent[("support-emea", "slack:channel:C0123ABCD")]["status"] == "sent"
        assert sent[("support-emea", f"teams:channel:{CHANNEL}")]["status"] == "sent"
        assert sent[("support-emea", f"teams:channel:{CHANNEL}")]["message_ids"]
        again = await asyncio.to_thread(_tick, db, fake.base_url, "--at", "2026-12-01T08:05:00Z", "--json", extra=env)
        assert [d for d in json.loads(again.stdout)["deliveries"] if d["subject"] == "support-emea"] == []
        teams_posts = [s for s in e.connector.messages() if s.conversation_id == CHANNEL and "Scorecard" in e.card_texts(s)]
        assert len(teams_posts) == 1 and "Support EMEA" in e.card_texts(teams_posts[0])
        assert len(posts(fake, "C0123ABCD")) == 1
    finally:
        await runners[1].cleanup()


async def test_weekly_mon_adds_last_weeks_scorecard_on_monday_only(db: Database, slack: tuple[FakeSlack, SlackNotifier]) -> None:
    fake, notifier = slack
    apply(db, BERLIN.replace('days: mon-fri}', 'days: mon-fri, weekly: mon}'))
    monday = at_local(date(2026, 11, 30), "09:00", "Europe/Berlin")
    report = await run_tick(db, [notifier], monday)
    assert sorted(o.kind for o in report.outcomes) == ["scorecard", "scorecard_week"]
    week = next(p for p in posts(fake, "CBER") if p["text"].startswith("Weekly scorecard"))
    assert "week of 23 Nov 2026" in week["text"]
    report = await run_tick(db, [notifier], monday + timedelta(days=1))
    assert [o.kind for o in report.outcomes] == ["scorecard"]


def test_a_fresh_demos_first_tick_is_summed_up_by_kind_with_each_message_behind_verbose(db: Database, tmp_path: Path) -> None:
    from bot.demo import seed_demo

    now = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)  # a Wednesday: every team's scorecard and the org roll-up are due
    seed_demo(db, now=now - timedelta(hours=1), tickets=300, days=20)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CSBOT_", "SLACK_", "Microsoft", "TEAMS_", "DIGEST_")) and k != "DATABASE_URL"}
    env["DATABASE_URL"] = db.engine.url.render_as_string(hide_password=False)

    def tick(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "bot.cli", "tick", "--at", now.isoformat(), *args], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)

    # Neither Slack nor Teams is configured, as in a fresh demo: everything due is "not reachable".
    summary = tick()
    assert summary.returncode == 0, summary.stderr
    lines = summary.stdout.splitlines()
    with db.sessions() as s:
        handled = s.scalars(select(OutboxRow).where(OutboxRow.status == "skipped")).all()
    assert len(handled) > 40
    by_kind: dict[str, list[OutboxRow]] = {}
    for row in handled:
        by_kind.setdefault(row.kind, []).append(row)
    # One line per kind and status, however many messages: what, how many, to how many, and why.
    assert len(lines) <= 2 + len(by_kind) + 2, summary.stdout
    # The headline counts every message the lines below sum up, digests skipped when planned included.
    assert f": {len(handled)} message(s) handled," in lines[0], lines[0]
    for kind, rows_of_kind in by_kind.items():
        recipients = {r.recipient for r in rows_of_kind}
        if all(r.startswith("none:team:") for r in recipients):
            whom = f"for {len(recipients)} team"  # nowhere to send it: counted by team or person
        elif all(r.startswith("none:user:") for r in recipients):
            whom = f"for {len(recipients)} pe"
        else:
            whom = f"to {len(recipients)} destination"
        (line,) = [x for x in lines if x.startswith(f"  skipped: {kind} × ")]
        assert f"{kind} × {len(rows_of_kind)} {whom}" in line, line
        assert "not reachable" in line
    assert lines[-1].strip() == "(each message: csbot tick --verbose, or --json)"
    assert not any("→" in x for x in lines)

    # The details are one --verbose away: a line per message (the next morning's).
    now += timedelta(days=1)
    detailed = tick("--verbose")
    assert detailed.returncode == 0, detailed.stderr
    with db.sessions() as s:
        new = s.scalar(select(func.count()).select_from(OutboxRow).where(OutboxRow.status == "skipped")) - len(handled)  # type: ignore[operator]
    assert new >= 5 and sum(1 for x in detailed.stdout.splitlines() if x.startswith("  skipped: ")) == new, detailed.stdout
