"""The org file's `calendars:` section: read, refused by line, applied, shown back."""

from __future__ import annotations

import pytest
import yaml

from kpi.definitions import METRIC_NAMES
from store.calendar_file import date_range, own_dates
from store.database import Database
from store.org import Org, Team
from store.org_file import apply_org, dump_org, org_document, parse_org
from tests.test_org_file import problems_of

CALENDARS = """\
org: {name: Acme, timezone: Europe/Berlin, calendar: berlin-office}
calendars:
  - key: berlin-office
    timezone: Europe/Berlin
    hours: ["mon-fri 08:00-12:00,13:00-18:00", "sat 10:00-14:00"]
    holidays:
      country: de
      subdiv: be
      dates: ["2026-12-24", 2026-12-31, "2026-12-28 to 2026-12-30"]
  - key: night-desk
    timezone: America/Chicago
    hours:
      - fri 22:00-02:00
teams:
  - key: emea
    name: EMEA
    timezone: Europe/Berlin
  - key: nights
    name: Nights
    timezone: America/Chicago
    calendar: night-desk
  - key: tier2
    name: Tier 2
    timezone: UTC
    calendar: none
members: []
"""


def test_calendars_are_read_applied_and_shown_back(db: Database) -> None:
    spec = parse_org(CALENDARS, METRIC_NAMES)
    assert spec.calendar == "berlin-office"
    office = spec.calendars[0]
    assert office.country == "DE" and office.subdiv == "BE"  # as the holidays package spells them
    assert office.dates == ["2026-12-24", "2026-12-31", "2026-12-28 to 2026-12-30"]
    assert [t.calendar for t in spec.teams] == [None, "night-desk", "none"]
    with db.sessions() as s, s.begin():
        apply_org(s, spec)
    with db.sessions() as s:
        assert s.get(Org, 1).calendar == "berlin-office"
        assert [c["key"] for c in s.get(Org, 1).calendars] == ["berlin-office", "night-desk"]
        assert {t.key: t.calendar for t in s.query(Team)} == {"emea": None, "nights": "night-desk", "tier2": "none"}
        shown = dump_org(org_document(s))
    doc = yaml.safe_load(shown)
    assert doc["org"]["calendar"] == "berlin-office"
    assert doc["calendars"][1] == {"key": "night-desk", "timezone": "America/Chicago", "hours": ["fri 22:00-02:00"]}
    # What `org show` writes applies as is, and changes nothing.
    with db.sessions() as s, s.begin():
        assert not apply_org(s, parse_org(shown, METRIC_NAMES)).changed


def test_own_dates_cover_each_day_of_a_range() -> None:
    days = own_dates(["2026-12-24", "2026-12-28 to 2026-12-30", "2027-01-01..2027-01-01"])
    assert sorted(d.isoformat() for d in days) == ["2026-12-24", "2026-12-28", "2026-12-29", "2026-12-30", "2027-01-01"]
    with pytest.raises(ValueError, match="ends before it starts"):
        date_range("2026-12-30 to 2026-12-28")


BAD_CALENDARS = """\
org: {name: Acme, timezone: UTC, calendar: berlin-ofice}
calendars:
  - key: berlin-office
    timezone: Europe/Berlinn
    hours: ["mon-fri 08:00-18:00", "mon 17:00-19:00", "tue 25:00-26:00", "someday 08:00-09:00"]
    holidays:
      country: XX
      dates: ["2026-02-30", "2026-12-30 to 2026-12-24", "2026-01-01 to 2026-12-31", 42]
  - key: berlin-office
    timezone: UTC
    hours: []
  - key: none
    timezone: UTC
    hours: ["mon 09:00-09:00"]
  - key: late
    timezone: UTC
    hours: ["fri 22:00-02:00", "sat 01:00-05:00"]
  - key: region
    timezone: UTC
    hours: ["mon-fri 09:00-17:00"]
    holidays: {country: DE, subdiv: XY}
teams:
  - key: emea
    name: EMEA
    timezone: UTC
    calendar: nights
members: []
"""


def test_every_calendar_problem_is_refused_at_its_line() -> None:
    problems = problems_of(BAD_CALENDARS)
    text = "\n".join(problems)

    def at(line: int, fragment: str) -> None:
        assert any(p.startswith(f"org.yaml:{line}:") and fragment in p for p in problems), (line, fragment, text)

    at(1, "unknown calendar 'berlin-ofice'; did you mean 'berlin-office'?")
    at(4, "unknown time zone 'Europe/Berlinn'")
    at(7, "'XX' is not a country code")
    at(8, "'2026-02-30' is not a date that exists")
    at(8, "ends before it starts")
    at(8, "365 days")
    at(8, "42")
    at(9, "duplicate calendar key")
    at(11, "hours list no open time")
    at(12, "'none' means no calendar")
    at(14, "calendar 'none'")  # start == end, reported for that calendar
    at(21, "subdivision of DE")
    at(26, "unknown calendar 'nights' (calendars: berlin-office, late, region;")
    # Each bad line of hours is named; the lines that overlap each other are named too.
    at(5, "hours line 3 'tue 25:00-26:00': 25:00 is not a time")
    at(5, "hours line 4 'someday 08:00-09:00'")
    assert any("overlap" in p for p in problems), text
    assert any(p.startswith("org.yaml:17:") and "late" in p and "overlap" in p for p in problems), text
