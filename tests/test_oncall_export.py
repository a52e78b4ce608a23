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
                out += [(p.start, p.end, f"On call: {names[p.handles[0]]} ({queue_key}/{sched.key})") for p in queue_timeline(s, queue, sched, start, end) if p.handles]
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
    assert all(start.astimezone(BERLIN).strftime("%a %H:%M") in ("Mon 09:00", "Mon 10:00", "Mon 12:00") or start == T0 for start, _, _ in primary)

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
