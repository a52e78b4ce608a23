"""Announcing who is on call in a queue's channel: weekly at a set time, or at every handoff; opt-in per queue.

The clock is moved: `run_tick(..., only="oncall")` at successive instants, the
Slack stand-in recording what is posted.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from bot.slack.notifier import SlackNotifier
from bot.tick import run_tick
from kpi.definitions import METRIC_NAMES
from store.database import Database
from store.org_file import OrgFileError, dump_org, org_document, parse_org
from store.outbox import OutboxRow
from tests.fake_slack import FakeSlack
from tests.test_escalations import ORG, T0, ask, posts, setup

UTC = timezone.utc
# tier2 gets a schedule too, but does not ask for announcements.
BASE = ORG.replace(
    """      channels: {slack: CTIER2}
      policy:""",
    """      channels: {slack: CTIER2}
      schedules:
        - key: day
          timezone: Europe/Berlin
          layers:
            - {members: [eli, fay], shift: 1d, start: "2026-01-05T09:00"}
      policy:""",
)
BILLING_CHANNEL = "      channels: {slack: CBILL}\n"


def announcing(announce: str) -> str:
    assert BILLING_CHANNEL in BASE
    return BASE.replace(BILLING_CHANNEL, BILLING_CHANNEL + f"      announce: {announce}\n", 1)


def announcements(fake: FakeSlack) -> list[dict]:
    return [p for p in posts(fake) if p["channel"] in ("CBILL", "CTIER2") and p["text"].startswith("On call ·")]


async def tick(db: Database, notifier: SlackNotifier, at: datetime) -> None:
    report = await run_tick(db, [notifier], at, only="oncall")
    assert not report.job_failures, report.job_failures


async def test_weekly_at_the_time_exactly_once_and_not_before(db: Database, slack: tuple[FakeSlack, SlackNotifier]) -> None:
    fake, notifier = slack
    setup(db, announcing('{at: "mon 09:00"}'))  # the org's zone: Berlin
    monday_nine = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
    await tick(db, notifier, monday_nine - timedelta(minutes=1))
    assert announcements(fake) == []
    for minutes in (0, 0, 1, 30, 120):
        await tick(db, notifier, monday_nine + timedelta(minutes=minutes))
    sent = announcements(fake)
    assert [p["channel"] for p in sent] == ["CBILL"]
    text = sent[0]["text"] + json.dumps(sent[0]["blocks"])
    # dana's week began at this very instant: the weekly post says so, and no second "has changed" post follows.
    assert "@dana" in text and "2026-12-14 09:00" in text and "@eli from 2026-12-14 09:00" in text and "has changed" not in text
    assert "secondary" in text and "Times in Europe/Berlin" in text
    # Nothing during the week; the next Monday, once more.
    for day in range(1, 7):
        await tick(db, notifier, monday_nine + timedelta(days=day))
    assert len(announcements(fake)) == 1
    await tick(db, notifier, monday_nine + timedelta(days=7))
    await tick(db, notifier, monday_nine + timedelta(days=7, minutes=5))
    assert len(announcements(fake)) == 2 and "@eli" in announcements(fake)[-1]["text"] + json.dumps(announcements(fake)[-1]["blocks"])
    with db.sessions() as s:
        keys = s.execute(select(OutboxRow.kind, OutboxRow.subject, OutboxRow.occurrence).where(OutboxRow.kind.like("oncall_announce%"))).all()
    assert sorted(keys) == [("oncall_announce", "billing", "2026-12-07"), ("oncall_announce", "billing", "2026-12-14")]


async def test_a_weekly_announcement_missed_by_more_than_the_catch_up_is_not_posted(db: Database, slack: tuple[FakeSlack, SlackNotifier]) -> None:
    fake, notifier = slack
    setup(db, announcing('{at: "mon 09:00"}'))
    await tick(db, notifier, datetime(2026, 12, 7, 15, 0, tzinfo=UTC))  # 7 hours late; the tick's catch-up is 6
    assert announcements(fake) == []


async def test_on_handoff_once_per_change_and_only_for_queues_that_asked(db: Database, slack: tuple[FakeSlack, SlackNotifier]) -> None:
    fake, notifier = slack
    setup(db, announcing("{on: handoff, timezone: America/New_York}"))
    # Hourly ticks for a day, twice each: billing/primary changed at 08:00Z (dana's week, seen at the first tick),
    # billing/secondary changes at 13:00Z and 01:00Z (New York 08:00 and 20:00).
    at = T0
    while at <= T0 + timedelta(hours=24):
        await tick(db, notifier, at)
        await tick(db, notifier, at)
        at += timedelta(hours=1)
    sent = announcements(fake)
    assert [p["channel"] for p in sent] == ["CBILL"] * 3  # tier2's daily handoffs are not announced: it did not opt in
    with db.sessions() as s:
        occurrences = s.scalars(select(OutboxRow.occurrence).where(OutboxRow.kind == "oncall_announce_handoff").order_by(OutboxRow.occurrence)).all()
        assert not s.scalars(select(OutboxRow).where(OutboxRow.subject == "tier2", OutboxRow.kind.like("oncall_announce%"))).all()
    assert occurrences == ["2026-12-07T08:00:00Z", "2026-12-07T13:00:00Z", "2026-12-08T01:00:00Z"]
    second = sent[1]["text"] + json.dumps(sent[1]["blocks"])
    # Composed when sent, in the announcement's zone: hana on the secondary from 08:00 New York until 20:00.
    assert "has changed" in second and "@hana" in second and "2026-12-07 20:00" in second and "Times in America/New_York" in second


async def test_a_cover_starting_is_a_handoff_announced(db: Database, slack: tuple[FakeSlack, SlackNotifier]) -> None:
    fake, notifier = slack
    setup(db, announcing("{on: handoff}"))
    await tick(db, notifier, T0)
    before = len(announcements(fake))
    assert ask(db, "root", "/oncall cover @gus billing 2026-12-07T11:00..2026-12-07T12:00", T0)["ok"]
    await tick(db, notifier, T0 + timedelta(minutes=59))
    assert len(announcements(fake)) == before
    await tick(db, notifier, T0 + timedelta(hours=1))  # 11:00 in Berlin
    await tick(db, notifier, T0 + timedelta(hours=1, minutes=1))
    assert len(announcements(fake)) == before + 1
    last = announcements(fake)[-1]
    assert "@gus" in last["text"] + json.dumps(last["blocks"])


@pytest.mark.parametrize(
    ("announce", "problem"),
    [
        ('{at: "mun 09:00"}', "announce: at 'mun 09:00': 'mun' is not a day"),
        ('{at: "mon 25:00"}', "announce: at 'mon 25:00' is not a day and a 24-hour time"),
        ('{at: "09:00"}', "announce: at '09:00' is not a day and a 24-hour time"),
        ("{on: shift}", "announce: on 'shift' is not an occasion; write on: handoff"),
        ("{on: handoff, when: daily}", "announce: unknown key 'when'"),
        ("{on: handoff, timezone: Mars/Olympus}", "unknown time zone 'Mars/Olympus'"),
        ("{}", "announce: say when, with at, on or both"),
    ],
)
def test_the_org_file_checks_announce_by_line(announce: str, problem: str) -> None:
    text = announcing(announce)
    line = text.splitlines().index(f"      announce: {announce}") + 1
    with pytest.raises(OrgFileError) as caught:
        parse_org(text, METRIC_NAMES, "org.yaml")
    found = [p for p in caught.value.problems if problem in p]
    assert found and found[0].startswith(f"org.yaml:{line}:"), caught.value.problems


def test_announce_needs_a_channel_and_a_schedule() -> None:
    # tier2 of the plain ORG has no schedules; without its channel, nowhere to post either.
    tier2 = ORG.replace("      channels: {slack: CTIER2}\n", "      announce: {on: handoff}\n")
    with pytest.raises(OrgFileError) as caught:
        parse_org(tier2, METRIC_NAMES)
    problems = str(caught.value)
    assert "queue 'tier2': announce: the queue has no channels to announce in" in problems
    assert "queue 'tier2': announce: the queue has no schedules" in problems


def test_org_show_writes_announce_back(db: Database) -> None:
    setup(db, announcing('{at: "Mon-Fri 9:00", on: handoff, timezone: Europe/London}'))
    with db.sessions() as s:
        shown = dump_org(org_document(s))
    assert "announce:" in shown
    again = parse_org(shown, METRIC_NAMES)
    assert again.escalation.queues[0].announce == {"at": "mon-fri 09:00", "on": "handoff", "timezone": "Europe/London"}
    assert again.escalation.queues[1].announce is None
