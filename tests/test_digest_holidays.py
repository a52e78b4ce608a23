"""Digests skip a team's holidays: the next working day's post covers the day before, the holiday summed up.

The team's calendar (org file `calendars:`) closes its own days off and its
country's public holidays (the `holidays` package); the org roll-up follows the
org's calendar, and a team with `calendar: none` works through them.
"""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select

from bot.outbox_sender import Outcome
from bot.slack.notifier import SlackNotifier
from bot.tick import run_tick
from kpi.definitions import METRIC_NAMES
from kpi.tickets import Ticket
from store.calendars import public_holidays
from store.database import Database
from store.org import Team
from store.org_file import apply_org, parse_org
from tests.fake_slack import FakeSlack

UTC = timezone.utc
BERLIN = ZoneInfo("Europe/Berlin")
ORG = """
org: {name: Acme Support, timezone: Europe/Berlin, calendar: office, digest: {time: "07:30", days: mon-fri}}
calendars:
  - key: office
    timezone: Europe/Berlin
    hours: ["mon-fri 08:00-18:00"]
    holidays: {country: DE, subdiv: BE, dates: ["2026-12-02"]}
teams:
  - {key: berlin, name: Berlin, timezone: Europe/Berlin, channels: {slack: CBER}, digest: {time: "09:00", days: mon-fri}}
  - {key: always, name: Always, timezone: Europe/Berlin, calendar: none, channels: {slack: CALW}, digest: {time: "09:00", days: mon-fri}}
members:
  - {handle: ada, name: Ada Admin, role: admin, slack_id: UADA}
"""


def seed(db: Database) -> None:
    with db.sessions() as s, s.begin():
        apply_org(s, parse_org(ORG, METRIC_NAMES))
    with db.sessions() as s, s.begin():
        teams = dict(s.execute(select(Team.key, Team.id)).all())
        rows = []
        for n in range(40):
            day = date(2026, 11, 20) + timedelta(days=n)
            for key in teams:
                at = datetime.combine(day, time(11), BERLIN)
                rows.append({"source": "t", "external_id": f"{key}-{day}", "team_id": teams[key], "status": "solved",
                             "created_at": at, "first_reply_at": at + timedelta(minutes=5), "solved_at": at + timedelta(hours=1), "replies": 1})  # fmt: skip
        s.execute(insert(Ticket), rows)


def titles(fake: FakeSlack, channel: str) -> list[str]:
    return [str(c.args["text"]).splitlines()[0] for c in fake.of("chat.postMessage") if c.args.get("channel") == channel]


def blocks(fake: FakeSlack, channel: str) -> list[str]:
    return [json.dumps(c.args.get("blocks"), ensure_ascii=False) for c in fake.of("chat.postMessage") if c.args.get("channel") == channel]


async def tick_days(db: Database, notifier: SlackNotifier, first: date, last: date) -> list[Outcome]:
    outcomes: list[Outcome] = []
    day = first
    while day <= last:
        for hour in (6, 7, 8, 12):
            outcomes += (await run_tick(db, [notifier], datetime.combine(day, time(hour), UTC))).outcomes
        day += timedelta(days=1)
    return outcomes


async def test_a_holiday_of_its_own_has_no_post_and_the_next_post_sums_it_up(db: Database, slack: tuple[FakeSlack, SlackNotifier]) -> None:
    fake, notifier = slack
    seed(db)
    await tick_days(db, notifier, date(2026, 12, 1), date(2026, 12, 3))  # Tuesday to Thursday; Wednesday is closed
    assert titles(fake, "CBER") == [
        "Scorecard · Berlin (berlin) · Mon 30 Nov 2026",  # posted Tuesday
        "Scorecard · Berlin (berlin) · Tue 01 Dec 2026",  # posted Thursday: nothing on the holiday
    ]
    thursday = blocks(fake, "CBER")[1]
    assert "Wednesday · Wed 02 Dec (not a working day): 1 created, 1 solved" in thursday, thursday
    assert "Tuesday was the last working day before this post" in thursday
    # A team working around the clock posts on the holiday as on any weekday.
    assert titles(fake, "CALW") == [f"Scorecard · Always (always) · {d:%a %d %b %Y}" for d in (date(2026, 11, 30), date(2026, 12, 1), date(2026, 12, 2))]
    # The org roll-up follows the org's calendar.
    assert [t.rsplit("· ", 1)[1] for t in titles(fake, "DADA")] == ["Mon 30 Nov 2026", "Tue 01 Dec 2026"]


async def test_public_holidays_of_the_country_and_region_close_the_digest(db: Database, slack: tuple[FakeSlack, SlackNotifier]) -> None:
    fake, notifier = slack
    seed(db)
    # Christmas in Berlin: the 25th (Friday) and 26th (Saturday) are public holidays.
    assert {date(2026, 12, 25), date(2026, 12, 26)} <= public_holidays("DE", "BE")
    await tick_days(db, notifier, date(2026, 12, 24), date(2026, 12, 28))
    assert titles(fake, "CBER") == [
        "Scorecard · Berlin (berlin) · Wed 23 Dec 2026",  # posted Thursday 24th
        "Scorecard · Berlin (berlin) · Thu 24 Dec 2026",  # posted Monday 28th: Friday the 25th is a holiday
    ]
    monday = blocks(fake, "CBER")[1]
    assert "Days off · Fri 25 Dec – Sun 27 Dec (not working days): 3 created, 3 solved" in monday, monday
    assert "the volume of the 3 days off since is summed up" in monday
