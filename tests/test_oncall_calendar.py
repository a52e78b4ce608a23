"""An on-call layer may name a business calendar: on call in its hours, nobody on its holidays.

The layer keeps a copy of the calendar when the org file is applied, so who is
on call is read from the queue alone; `org show` writes the calendar's key back.
"""

from __future__ import annotations

from datetime import datetime, timezone

import yaml
from sqlalchemy import select

from bot.dispatch import run_command
from bot.render.text import render_text
from handlers.registry import build_router
from escalation.oncall import queue_timeline, schedules_of
from escalation.rotations import on_call
from kpi.definitions import METRIC_NAMES
from store.database import Database
from store.org_file import apply_org, dump_org, org_document, parse_org
from store.queues import EscalationQueue
from tests.test_org_file import problems_of

UTC = timezone.utc
ORG = """
org: {name: Acme, timezone: Europe/Berlin}
calendars:
  - key: office
    timezone: Europe/Berlin
    hours: ["mon-fri 09:00-12:00,13:00-17:00"]
    holidays: {dates: ["2026-12-24"]}
teams:
  - {key: tier2, name: Tier 2, timezone: Europe/Berlin}
members:
  - {handle: lena, name: Lena Lead, team: tier2, role: lead}
  - {handle: dana, name: Dana, team: tier2, role: agent}
  - {handle: eli, name: Eli, team: tier2, role: agent}
escalation:
  queues:
    - key: billing
      name: Billing
      schedules:
        - key: primary
          timezone: Europe/Berlin
          layers:
            - {members: [dana, eli], shift: 1w, start: "2026-11-30T09:00", calendar: office}
      policy: {levels: [{notify: [schedule:primary], wait: 10m}]}
"""


def apply(db: Database, text: str = ORG) -> None:
    with db.sessions() as s, s.begin():
        apply_org(s, parse_org(text, METRIC_NAMES))


def test_a_layer_with_a_calendar_is_on_call_in_its_hours_and_not_on_its_holidays(db: Database) -> None:
    apply(db)
    with db.sessions() as s:
        queue = s.scalar(select(EscalationQueue).where(EscalationQueue.key == "billing"))
        (primary,) = schedules_of(queue)
        # Wednesday 23 December (Berlin is UTC+1): Eli's week (the second), in the office's hours only.
        assert on_call(primary, datetime(2026, 12, 23, 9, 30, tzinfo=UTC)) == "eli"  # 10:30 local
        assert on_call(primary, datetime(2026, 12, 23, 11, 30, tzinfo=UTC)) is None  # lunch, 12:30 local
        assert on_call(primary, datetime(2026, 12, 23, 16, 30, tzinfo=UTC)) is None  # 17:30 local
        assert on_call(primary, datetime(2026, 12, 24, 9, 30, tzinfo=UTC)) is None  # a holiday of the calendar
        timeline = queue_timeline(s, queue, primary, datetime(2026, 12, 23, tzinfo=UTC), datetime(2026, 12, 25, tzinfo=UTC))
        on = [(i.start.isoformat(), i.end.isoformat()) for i in timeline if i.handles]
        assert on == [("2026-12-23T08:00:00+00:00", "2026-12-23T11:00:00+00:00"), ("2026-12-23T12:00:00+00:00", "2026-12-23T16:00:00+00:00")]
        shown = yaml.safe_load(dump_org(org_document(s)))
    layer = shown["escalation"]["queues"][0]["schedules"][0]["layers"][0]
    assert layer["calendar"] == "office" and "hours" not in layer
    apply(db, dump_org(shown))  # what org show writes applies as is
    with db.sessions() as s, s.begin():
        assert not apply_org(s, parse_org(dump_org(shown), METRIC_NAMES)).changed


def test_oncall_gaps_show_the_calendar_closed_times(db: Database) -> None:
    apply(db)
    reply = run_command(db, build_router(), "lena", "/oncall gaps billing 3d", now=datetime(2026, 12, 23, 7, tzinfo=UTC), platform="test")
    assert reply.ok, render_text(reply)
    gaps = [(g["start"], g["end"]) for g in reply.data["gaps"]]
    # Lunch and the night on the 23rd, then the holiday with the night either side of it, as one gap.
    assert gaps[:3] == [
        ("2026-12-23T07:00:00+00:00", "2026-12-23T08:00:00+00:00"),
        ("2026-12-23T11:00:00+00:00", "2026-12-23T12:00:00+00:00"),
        ("2026-12-23T16:00:00+00:00", "2026-12-25T08:00:00+00:00"),
    ], gaps


def test_a_layer_naming_an_unknown_calendar_or_both_hours_and_a_calendar_is_refused() -> None:
    unknown = ORG.replace("calendar: office}", "calendar: ofice}")
    assert any("unknown calendar 'ofice' (calendars: office)" in p for p in problems_of(unknown))
    both = ORG.replace("calendar: office}", 'calendar: office, hours: "mon-fri 08:00-18:00"}')
    assert any("give hours or a calendar, not both" in p for p in problems_of(both))
