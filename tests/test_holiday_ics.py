"""`csbot holidays import FILE.ics`: an iCalendar file's days off, printed for a calendar of the org file."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import yaml
from icalendar import Calendar, Event

from bot.cli import main
from kpi.definitions import METRIC_NAMES
from store.holiday_ics import read_days_off
from store.org_file import parse_org

# As Outlook exports a company calendar (CRLF lines, a time zone, a folded line).
OUTLOOK = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Microsoft Corporation//Outlook 16.0 MIMEDIR//EN\r\n"
    "BEGIN:VTIMEZONE\r\nTZID:W. Europe Standard Time\r\nBEGIN:STANDARD\r\nDTSTART:16011028T030000\r\n"
    "TZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n"
    "BEGIN:VEVENT\r\nUID:1\r\nSUMMARY:Christmas shutdown\r\nDTSTART;VALUE=DATE:20261224\r\nDTEND;VALUE=DATE:20261228\r\nEND:VEVENT\r\n"
    "BEGIN:VEVENT\r\nUID:2\r\nSUMMARY:Company day (the whole company is at the annual o\r\n ffsite)\r\nDTSTART;VALUE=DATE:20260918\r\nEND:VEVENT\r\n"
    "BEGIN:VEVENT\r\nUID:3\r\nSUMMARY:New Year\r\nDTSTART;VALUE=DATE:20260101\r\nDTEND;VALUE=DATE:20260102\r\n"
    "RRULE:FREQ=YEARLY\r\nEXDATE;VALUE=DATE:20280101\r\nEND:VEVENT\r\n"
    "BEGIN:VEVENT\r\nUID:4\r\nSUMMARY:Team offsite\r\nDTSTART;TZID=W. Europe Standard Time:20261105T090000\r\n"
    "DTEND;TZID=W. Europe Standard Time:20261106T170000\r\nEND:VEVENT\r\n"
    "END:VCALENDAR\r\n"
)


def test_an_outlook_export_gives_each_day_off_once_runs_merged(tmp_path: Path) -> None:
    ics = tmp_path / "company.ics"
    ics.write_bytes(OUTLOOK.encode())
    runs = read_days_off(ics, range(2026, 2029))
    assert [(r.text, r.summary) for r in runs] == [
        ("2026-01-01", "New Year"),
        ("2026-09-18", "Company day (the whole company is at the annual offsite)"),
        ("2026-11-05 to 2026-11-06", "Team offsite"),  # a timed event: each date it touches
        ("2026-12-24 to 2026-12-27", "Christmas shutdown"),  # DTEND is the day after the last
        ("2027-01-01", "New Year"),  # the yearly rule expanded over the years asked for; 2028 excluded
    ]


def test_the_printed_dates_go_into_the_org_file_as_they_are(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    cal = Calendar()
    cal.add("prodid", "-//test//")
    cal.add("version", "2.0")
    for n, (day, name) in enumerate([(date(2026, 5, 1), "Labour Day"), (date(2026, 10, 3), "Unity Day")]):
        event = Event()
        event.add("uid", str(n))
        event.add("summary", name)
        event.add("dtstart", day)
        cal.add_component(event)
    ics = tmp_path / "de.ics"
    ics.write_bytes(cal.to_ical())
    assert main(["holidays", "import", str(ics), "--years", "2026"]) == 0
    printed = capsys.readouterr().out
    assert printed.splitlines()[0].startswith("# 2 day(s) off in 2026–2026 from de.ics")
    # Pasted under a calendar's holidays:, it is read back as the same days.
    block = "\n".join("      " + line for line in printed.splitlines())
    org = f"""
org: {{name: Acme, timezone: UTC, calendar: office}}
calendars:
  - key: office
    timezone: Europe/Berlin
    hours: ["mon-fri 09:00-17:00"]
    holidays:
{block}
teams: []
members: []
"""
    assert parse_org(org, METRIC_NAMES).calendars[0].dates == ["2026-05-01", "2026-10-03"]
    assert main(["holidays", "import", str(ics), "--years", "2026", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)["data"]
    assert data["dates"] == [
        {"first": "2026-05-01", "last": "2026-05-01", "summary": "Labour Day"},
        {"first": "2026-10-03", "last": "2026-10-03", "summary": "Unity Day"},
    ]
    assert yaml.safe_load(printed)["dates"] == ["2026-05-01", "2026-10-03"]


def test_a_bad_file_is_refused_with_every_problem_and_nothing_printed(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.ics"
    bad.write_text(
        "BEGIN:VCALENDAR\nVERSION:2.0\n"
        "BEGIN:VEVENT\nUID:1\nSUMMARY:Backwards\nDTSTART;VALUE=DATE:20261210\nDTEND;VALUE=DATE:20261205\nEND:VEVENT\n"
        "BEGIN:VEVENT\nUID:2\nSUMMARY:Sabbatical\nDTSTART;VALUE=DATE:20260101\nDTEND;VALUE=DATE:20260701\nEND:VEVENT\n"
        "BEGIN:VEVENT\nUID:3\nSUMMARY:No start\nEND:VEVENT\n"
        "END:VCALENDAR\n"
    )
    assert main(["holidays", "import", str(bad), "--years", "2026"]) == 2
    out = capsys.readouterr()
    assert out.out == ""
    assert "event 1 (Backwards): it ends before it starts" in out.err
    assert "event 2 (Sabbatical): it lasts 181 days" in out.err
    assert "event 3 (No start): it has no DTSTART" in out.err
    not_ics = tmp_path / "notes.ics"
    not_ics.write_text("these are my holidays: christmas\n")
    assert main(["holidays", "import", str(not_ics)]) == 2
    assert "not an iCalendar file" in capsys.readouterr().err
    assert main(["holidays", "import", str(tmp_path / "missing.ics")]) == 2
    assert "cannot read it" in capsys.readouterr().err
    assert main(["holidays", "import", str(bad), "--years", "twenty"]) == 2
    assert "--years: 'twenty' is not FIRST-LAST" in capsys.readouterr().err
