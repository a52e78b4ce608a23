"""The on-call calendar: `csbot oncall export --ics` and `GET /oncall/QUEUE.ics`, read back with an independent iCalendar parser."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
import icalendar
import pytest
from sqlalchemy import select

from bot.cli import main
from bot.config import load_settings
from bot.web import create_app
from escalation.ics import subscription_key
from escalation.oncall import queue_timeline, schedules_of
from store.database import Database
from store.queues import EscalationQueue
from tests.helpers import in_clean_directory, serve
from tests.test_escalations import ORG, T0, ask, setup

UTC = timezone.utc
BERLIN = ZoneInfo("Europe/Berlin")


def events_of(text: str) -> list[tuple[datetime, datetime, str]]:
    cal = icalendar.Calendar.from_ical(text)
    return [(e.decoded("DTSTART"), e.decoded("DTEND"), str(e.get("SUMMARY"))) for e in cal.walk("VEVENT")]


def expected(db: Database, queue_key: str, schedule: str | None, start: datetime, end: datetime) -> list[tuple[datetime, datetime, str]]:
    names = {"dana": "Dana Specialist", "eli": "Eli Specialist", "fay": "Fay Specialist", "hana": "Hana Secondary", "ivan": "Ivan Secondary", "gus": "Gus Dayshift"}
    out = []
    with db.sessions() as s:
        queue = s.scalar(select(EscalationQueue).where(EscalationQueue.key == queue_key))
        assert queue is not None
        for sched in schedules_of(queue):
            if schedule in (None, sched.key):
                # Whole stretches that overlap the window (read from a month either side: every stretch here is shorter).
                wide = queue_timeline(s, queue, sched, start - timedelta(days=30), end + timedelta(days=30))
                out += [(p.start, p.end, f"On call: {names[p.handles[0]]} ({queue_key}/{sched.key})") for p in wide if p.handles and p.end > start and p.start < end]
    return sorted(out)


def test_export_writes_one_event_per_stretch_on_call_matching_the_schedule(db: Database, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    setup(db)
    # A cover across a handoff shows up as its own event.
    assert ask(db, "root", "/oncall cover @gus billing/primary 2026-12-13T20:00..2026-12-14T12:00", T0)["ok"]
    in_clean_directory(tmp_path, monkeypatch, db_url)
    out = tmp_path / "billing.ics"
    assert main(["oncall", "export", "billing", "--ics", str(out), "--days", "21", "--at", T0.isoformat()]) == 0
    assert "on-call events for Billing specialists" in capsys.readouterr().out
    raw = out.read_bytes()
    assert b"\r\n" in raw and all(len(line) <= 75 for line in raw.split(b"\r\n"))
    got = sorted(events_of(raw.decode()))
    assert got == expected(db, "billing", None, T0, T0 + timedelta(days=21))
    assert any("Gus Dayshift (billing/primary)" in summary and start == datetime(2026, 12, 13, 19, 0, tzinfo=UTC) for start, _, summary in got)
    # The weekly primary hands over on Monday at 09:00 Berlin time (and takes over again when gus's cover ends at 12:00).
    primary = [e for e in got if "/primary" in e[2] and "Gus" not in e[2]]
    assert all(start.astimezone(BERLIN).strftime("%a %H:%M") in ("Mon 09:00", "Mon 12:00") for start, _, _ in primary)

    assert main(["oncall", "export", "billing/secondary", "--ics", "-", "--days", "3", "--at", T0.isoformat()]) == 0
    text = capsys.readouterr().out
    assert sorted(events_of(text)) == expected(db, "billing", "secondary", T0, T0 + timedelta(days=3))
    assert main(["oncall", "export", "biling", "--ics", "-"]) == 2
    assert "billing" in capsys.readouterr().err
    assert main(["oncall", "export", "billing/nope", "--ics", "-"]) == 2
    assert main(["oncall", "export", "billing", "--ics", "-", "--days", "0"]) == 2


async def test_calendar_subscription_link_serves_the_same_and_refuses_a_wrong_key(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    setup(db)
    monkeypatch.setenv("CSBOT_PUBLIC_URL", "https://csbot.example.com")
    shown = ask(db, "alice", "/oncall schedule billing 7d", T0)
    link = shown["data"]["calendar_url"]
    with db.sessions() as s, s.begin():
        key = subscription_key(s, "billing")
    assert link == f"https://csbot.example.com/oncall/billing.ics?key={key}"
    runner, base = await serve(create_app(db, load_settings({}), clock=lambda: T0))
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/oncall/billing.ics?key={key}") as resp:
                assert resp.status == 200 and resp.content_type == "text/calendar"
                text = await resp.text()
            for bad in (f"/oncall/billing.ics?key={'0' * 40}", f"/oncall/tier2.ics?key={key}", f"/oncall/nope.ics?key={key}", "/oncall/billing.ics", f"/oncall/billing?key={key}"):
                async with http.get(base + bad) as resp:
                    assert resp.status == 404, bad
    finally:
        await runner.cleanup()
    got = sorted(events_of(text))
    assert got and got == expected(db, "billing", None, T0 - timedelta(days=7), T0 + timedelta(days=60))
    assert ORG  # the org the calendar was built from


def uids(text: str) -> dict[tuple[datetime, str], str]:
    cal = icalendar.Calendar.from_ical(text)
    return {(e.decoded("DTSTART"), str(e.get("SUMMARY"))): str(e.get("UID")) for e in cal.walk("VEVENT")}


def test_the_stretch_in_progress_keeps_its_start_and_uid_in_every_export(db: Database, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    setup(db)
    in_clean_directory(tmp_path, monkeypatch, db_url)
    seen = []
    for hours in (0, 3, 50):  # Monday 10:00 in Berlin, 13:00, and Wednesday noon: all inside dana's week
        assert main(["oncall", "export", "billing/primary", "--ics", "-", "--days", "14", "--at", (T0 + timedelta(hours=hours)).isoformat()]) == 0
        seen.append(uids(capsys.readouterr().out))
    dana = [next((start, uid) for (start, summary), uid in found.items() if "Dana" in summary) for found in seen]
    # Dana's week began on Monday at 09:00 Berlin time, before any of these exports: that is its start and its name.
    assert {start for start, _ in dana} == {datetime(2026, 12, 7, 8, 0, tzinfo=UTC)}
    assert len({uid for _, uid in dana}) == 1
    # The stretches after it are the same events too.
    shared = set(seen[0]) & set(seen[1])
    assert len(shared) >= 2 and all(seen[0][k] == seen[1][k] for k in shared)
    # The last stretch runs past the window's end: shown whole, ending at its handoff (Monday 09:00 Berlin).
    last_end = max(end for _, end, _ in events_of(ics_text(db_url, capsys)))
    assert last_end.astimezone(BERLIN).strftime("%a %H:%M") == "Mon 09:00"


def ics_text(db_url: str, capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["oncall", "export", "billing/primary", "--ics", "-", "--days", "10", "--at", T0.isoformat()]) == 0
    return capsys.readouterr().out
