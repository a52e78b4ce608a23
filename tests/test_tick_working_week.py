"""A real working week of scheduled scorecards, the clock moved through it tick by tick.

A `mon-fri` team posts Monday to Friday, and Monday's post is Friday's
scorecard with the weekend's volume summarised (never Sunday's, and Friday's
is never lost); a `daily` team posts every day, each the day before. The org
roll-up and personal subscriptions (working days) do the same. Friday morning
csbot is down: its post goes out late within the catch-up window. Every moment
is ticked twice and posts once. Slack is the local stand-in.
"""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select

from bot.dispatch import run_command
from bot.slack.notifier import SlackNotifier
from bot.tick import run_tick
from handlers.registry import build_router
from kpi.definitions import METRIC_NAMES
from kpi.tickets import Ticket
from store.database import Database
from store.org import Member, Team
from store.org_file import apply_org, parse_org
from store.outbox import OutboxRow
from tests.fake_slack import FakeSlack

UTC = timezone.utc
BERLIN = ZoneInfo("Europe/Berlin")
ORG = """
org: {name: Acme Support, timezone: UTC, digest: {time: "07:30", days: mon-fri}}
teams:
  - {key: berlin, name: Berlin, timezone: Europe/Berlin, channels: {slack: CBER}, digest: {time: "09:00", days: mon-fri}}
  - {key: allweek, name: All Week, timezone: UTC, channels: {slack: CALL}, digest: {time: "08:00", days: daily}}
members:
  - {handle: ada, name: Ada Admin, role: admin, slack_id: UADA}
  - {handle: lena, name: Lena Lead, team: berlin, role: lead, slack_id: ULENA, timezone: Europe/Berlin}
  - {handle: alex, name: Alex Agent, team: berlin, role: agent, slack_id: UALEX, timezone: Europe/Berlin}
"""
FIRST = date(2026, 11, 30)  # a Monday
LAST = date(2026, 12, 8)  # the Tuesday after the next Monday
# Friday 4 December csbot is down from 07:00 to 10:00 UTC (Berlin's 09:00 is 08:00 UTC).
DOWN = (datetime(2026, 12, 4, 7, tzinfo=UTC), datetime(2026, 12, 4, 10, tzinfo=UTC))
TICKS = (time(7, 0), time(7, 30), time(8, 0), time(9, 0), time(10, 0), time(12, 0), time(23, 59))


def created_on(day: date) -> int:
    """Tickets each team gets on `day` (weekends too: the summary must count them)."""
    return 2 + day.toordinal() % 4


def seed(db: Database) -> None:
    with db.sessions() as s, s.begin():
        apply_org(s, parse_org(ORG, METRIC_NAMES))
    with db.sessions() as s, s.begin():
        teams = dict(s.execute(select(Team.key, Team.id)).all())
        alex = s.scalar(select(Member.id).where(Member.handle == "alex"))
        rows = []
        day = FIRST - timedelta(days=35)
        while day <= LAST:
            for key, zone in (("berlin", BERLIN), ("allweek", UTC)):
                for k in range(created_on(day)):
                    at = datetime.combine(day, time(10 + k), zone)
                    solved = k % 2 == 0
                    rows.append({
                        "source": "t", "external_id": f"{key}-{day}-{k}", "team_id": teams[key],
                        "agent_id": alex if key == "berlin" else None, "status": "solved" if solved else "open",
                        "created_at": at, "first_reply_at": at + timedelta(minutes=20 + k),
                        "solved_at": at + timedelta(hours=3) if solved else None, "replies": 1,
                    })  # fmt: skip
            day += timedelta(days=1)
        s.execute(insert(Ticket), rows)


def moments() -> list[datetime]:
    out = []
    day = FIRST
    while day <= LAST:
        out += [datetime.combine(day, t, UTC) for t in TICKS]
        day += timedelta(days=1)
    return [m for m in out if not DOWN[0] <= m < DOWN[1]]


def posts(fake: FakeSlack, channel: str) -> list[dict]:  # type: ignore[type-arg]
    return [c.args for c in fake.of("chat.postMessage") if c.args.get("channel") == channel]


def title(post: dict) -> str:  # type: ignore[type-arg]
    return str(post["text"]).splitlines()[0]


def words(post: dict) -> str:  # type: ignore[type-arg]
    return json.dumps(post.get("blocks"), ensure_ascii=False)


def weekend_line(created: int, solved: int) -> str:
    return f"Weekend · Sat 05 Dec – Sun 06 Dec (not working days): {created} created, {solved} solved"


async def test_a_working_week_mon_fri_daily_org_and_subscriptions(db: Database, slack: tuple[FakeSlack, SlackNotifier]) -> None:
    fake, notifier = slack
    seed(db)
    router = build_router()
    at = datetime(2026, 11, 29, 12, tzinfo=UTC)
    assert run_command(db, router, "lena", "/scorecard subscribe berlin 10:00", now=at, platform="test").ok
    assert run_command(db, router, "alex", "/scorecard subscribe me 08:30", now=at, platform="test").ok

    for moment in moments():
        await run_tick(db, [notifier], moment)
        again = await run_tick(db, [notifier], moment)  # the same moment twice posts nothing twice
        assert [o for o in again.outcomes if o.status == "sent"] == [], moment

    # The mon-fri team: one post each working day, Monday's covering Friday (and never Sunday).
    berlin = posts(fake, "CBER")
    assert [title(p) for p in berlin] == [
        "Scorecard · Berlin (berlin) · Fri 27 Nov 2026",  # posted Monday 30 Nov
        "Scorecard · Berlin (berlin) · Mon 30 Nov 2026",
        "Scorecard · Berlin (berlin) · Tue 01 Dec 2026",
        "Scorecard · Berlin (berlin) · Wed 02 Dec 2026",
        "Scorecard · Berlin (berlin) · Thu 03 Dec 2026",  # posted Friday, late: csbot was down at 09:00
        "Scorecard · Berlin (berlin) · Fri 04 Dec 2026",  # posted Monday 7 Dec: Friday's is not lost
        "Scorecard · Berlin (berlin) · Mon 07 Dec 2026",
    ]
    with db.sessions() as s:
        sent = s.scalars(select(OutboxRow).where(OutboxRow.kind == "scorecard", OutboxRow.subject == "berlin", OutboxRow.status == "sent")).all()
        when = {r.occurrence: r.sent_at.astimezone(BERLIN) for r in sent if r.sent_at is not None}
    assert sorted(when) == ["2026-11-30", "2026-12-01", "2026-12-02", "2026-12-03", "2026-12-04", "2026-12-07", "2026-12-08"]
    assert all(w.weekday() < 5 for w in when.values())
    friday = berlin[4]
    assert "Sent late: this was due at 09:00 (Europe/Berlin) on Fri 04 Dec" in words(friday)
    assert when["2026-12-04"] == datetime(2026, 12, 4, 11, tzinfo=BERLIN)  # the first tick after csbot came back

    # Monday's post summarises the weekend's volume, counted in the team's own days.
    weekend = [date(2026, 12, 5), date(2026, 12, 6)]
    created = sum(created_on(d) for d in weekend)
    solved = sum((created_on(d) + 1) // 2 for d in weekend)
    monday = berlin[5]
    assert weekend_line(created, solved) in words(monday), words(monday)
    assert "Friday was the last working day" in words(monday)
    assert "Weekend" not in words(berlin[4]) and "Weekend" not in words(berlin[6])  # Friday's and Tuesday's posts have none

    # The daily team: every day, each the day before, nothing summarised.
    every = posts(fake, "CALL")
    days = [FIRST + timedelta(days=n) for n in range((LAST - FIRST).days + 1)]
    assert [title(p) for p in every] == [f"Scorecard · All Week (allweek) · {d - timedelta(days=1):%a %d %b %Y}" for d in days]
    assert not any("Weekend" in words(p) for p in every)

    # The org roll-up (mon-fri, by direct message): Monday's is Friday's, with the weekend team by team.
    org = posts(fake, "DADA")
    assert [title(p) for p in org] == [
        f"Scorecard · Acme Support · {d:%a %d %b %Y}"
        for d in (date(2026, 11, 27), date(2026, 11, 30), date(2026, 12, 1), date(2026, 12, 2), date(2026, 12, 3), date(2026, 12, 4), date(2026, 12, 7))
    ]
    assert "Weekend · Sat 05 Dec – Sun 06 Dec" in words(org[5]) and "Weekend" not in words(org[4])

    # A subscription to the team, and one to one's own day: Monday's is Friday's, with the weekend.
    lena = posts(fake, "DLENA")
    assert [title(p) for p in lena] == [title(p) for p in berlin]
    assert weekend_line(created, solved) in words(lena[5])
    alex = posts(fake, "DALEX")
    assert [title(p) for p in alex][5] == "Your day · Alex Agent · Fri 04 Dec 2026"
    assert weekend_line(created, solved) in words(alex[5])
    assert len(alex) == 7


# ---------------------------------------------------------------- which day a post covers


MON_FRI, DAILY, MON_WED_FRI = [0, 1, 2, 3, 4], list(range(7)), [0, 2, 4]


def test_which_day_a_post_covers_and_which_days_off_it_sums_up() -> None:
    from store.working_days import Coverage, coverage

    monday, tuesday, wednesday = date(2026, 12, 7), date(2026, 12, 8), date(2026, 12, 9)
    friday, saturday, sunday = date(2026, 12, 4), date(2026, 12, 5), date(2026, 12, 6)
    assert coverage(monday, MON_FRI) == Coverage(friday, (saturday, sunday))
    assert coverage(tuesday, MON_FRI) == Coverage(monday)
    assert coverage(monday, DAILY) == Coverage(sunday)
    assert coverage(wednesday, MON_WED_FRI) == Coverage(monday, (tuesday,))
    # Closed days (what a holiday calendar will pass): Friday closed, Monday's post is Thursday's with three days off.
    assert coverage(monday, MON_FRI, closed={friday}) == Coverage(date(2026, 12, 3), (friday, saturday, sunday))
    # A shutdown longer than the look-back: the day before, nothing summed up, rather than a month-old day.
    everything = {monday - timedelta(days=n) for n in range(1, 60)}
    assert coverage(monday, MON_FRI, closed=everything) == Coverage(sunday)
