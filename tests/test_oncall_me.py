"""`/oncall me` (my shifts across every queue), the personal calendar feed `GET /oncall/me/<token>.ics`, and handoff DMs that name the cover.

Commands go through the router with a moved clock; the feed is fetched over
real HTTP from the real app and read back with the `icalendar` package.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import aiohttp
import icalendar
import pytest
from sqlalchemy import event, select, update
from sqlalchemy import text as sql

from bot.cli import main
from bot.config import load_settings
from bot.render.text import render_text
from bot.slack.notifier import SlackNotifier
from bot.tick import run_tick
from bot.web import create_app
from store.database import Database
from store.org import Member
from tests.fake_slack import FakeSlack
from tests.helpers import in_clean_directory, serve
from tests.test_escalations import ORG, T0, ask, posts, setup

UTC = timezone.utc


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def add_covers(db: Database) -> None:
    """Riley (admin) arranges three covers around dana's week on billing/primary (Berlin) and a night on billing/secondary (New York)."""
    # 1: eli takes Wednesday afternoon of dana's week (12:00-18:00 Berlin = 11:00-17:00Z).
    assert ask(db, "root", "/oncall cover @eli billing/primary 2026-12-09T12:00..2026-12-09T18:00", T0)["ok"]
    # 2: dana takes a secondary night (20:00-08:00 New York = 01:00-13:00Z).
    assert ask(db, "root", "/oncall cover @dana billing/secondary 2026-12-18T20:00..2026-12-19T08:00", T0)["ok"]
    # 3: dana stays three hours past her week's handoff (Monday 09:00-12:00 Berlin).
    assert ask(db, "root", "/oncall cover @dana billing/primary 2026-12-14T09:00..2026-12-14T12:00", T0)["ok"]


def rows(data: dict) -> list[tuple[str, str, datetime, datetime, int | None]]:
    return [(s["queue"], s["schedule"], datetime.fromisoformat(s["start"]), datetime.fromisoformat(s["end"]), s["cover"]["id"] if s["cover"] else None) for s in data["shifts"]]


def test_oncall_me_lists_my_shifts_across_queues_with_the_covers_that_made_them(db: Database) -> None:
    setup(db)
    add_covers(db)
    out = ask(db, "dana", "/oncall me", T0)
    assert out["ok"], out
    # Her week (from now: Monday 10:00 Berlin) until eli's afternoon, again until its handoff, then cover 3, then cover 2's night.
    assert rows(out["data"]) == [
        ("billing", "primary", T0, utc("2026-12-09T11:00"), None),
        ("billing", "primary", utc("2026-12-09T17:00"), utc("2026-12-14T08:00"), None),
        ("billing", "primary", utc("2026-12-14T08:00"), utc("2026-12-14T11:00"), 3),
        ("billing", "secondary", utc("2026-12-19T01:00"), utc("2026-12-19T13:00"), 2),
    ]
    assert out["data"]["member"] == "dana" and out["data"]["shifts"][2]["cover"] == {"id": 3, "by": "root", "kind": "replace"}
    assert out["data"]["shifts"][0]["handles"] == ["dana"]  # the entries of /oncall schedule's timeline, and more
    text = render_text(out["reply"])
    # Times in dana's zone (the org's, Berlin): the cover she keeps after 09:00 on Monday, the New York night from 02:00.
    assert "cover 3 by @root" in text and "cover 2 by @root" in text and "rotation" in text
    assert "2026-12-14 09:00" in text and "2026-12-14 12:00" in text and "2026-12-19 02:00" in text
    assert "Times in Europe/Berlin" in text

    # A span: a week from now ends an hour into cover 3.
    week = ask(db, "dana", "/oncall me 7d", T0)
    assert rows(week["data"]) == [*rows(out["data"])[:2], ("billing", "primary", utc("2026-12-14T08:00"), utc("2026-12-14T09:00"), 3)]
    # Someone with no shifts is told so plainly.
    none = ask(db, "alice", "/oncall me 30d", T0)
    assert none["ok"] and none["data"]["shifts"] == []
    assert "You have no shifts on call in the next 30 days." in render_text(none["reply"])


def test_oncall_me_across_the_autumn_clock_change_keeps_the_wall_clock_handoff(db: Database) -> None:
    setup(db)
    # Fay's week of 19-26 October 2026 spans the night Berlin's clocks go back (25 October).
    before = utc("2026-10-19T06:00")
    out = ask(db, "fay", "/oncall me 8d", before)
    assert rows(out["data"]) == [("billing", "primary", utc("2026-10-19T07:00"), utc("2026-10-26T08:00"), None)]  # 7 days and 1 hour
    text = render_text(out["reply"])
    assert "2026-10-19 09:00" in text and "2026-10-26 09:00" in text
    # Ivan's 12-hour shifts (New York) are exact hours: across 1 November they stay 01:00Z-13:00Z, 20:00 becoming 19:00 on the wall.
    night = ask(db, "lena", "/oncall me @ivan 3d", utc("2026-10-31T00:00"))
    assert [(r[2], r[3]) for r in rows(night["data"])] == [
        (utc("2026-10-31T01:00"), utc("2026-10-31T13:00")),
        (utc("2026-11-01T01:00"), utc("2026-11-01T13:00")),
        (utc("2026-11-02T01:00"), utc("2026-11-02T13:00")),
    ]


@pytest.mark.parametrize(
    ("who", "text", "allowed"),
    [
        ("dana", "/oncall me @dana", True),  # herself, named
        ("lena", "/oncall me @dana 14d", True),  # a lead: anyone's
        ("root", "/oncall me 14d dana", True),  # an admin, in either order
        ("alice", "/oncall me @dana", False),  # an agent: only her own
        ("eli", "/oncall me @dana", False),
    ],
)
def test_who_may_see_whose_shifts(db: Database, who: str, text: str, allowed: bool) -> None:
    setup(db)
    out = ask(db, who, text, T0)
    assert out["ok"] is allowed, out
    if allowed:
        assert out["data"]["member"] == "dana" and out["data"]["shifts"]
        assert "Shifts on call · Dana Specialist" in render_text(out["reply"]) or who == "dana"
    else:
        assert "Only leads, managers and admins may look at someone else's shifts" in out["error"]


def test_oncall_me_bad_input_says_how(db: Database) -> None:
    setup(db)
    for text, says in (
        ("/oncall me 14d 30d", "One person and one span"),
        ("/oncall me @dana @eli", "One person and one span"),
        ("/oncall me 400d", "A span from 1d to 366d"),
        ("/oncall me 2weeks", "write days or weeks, e.g. 14d or 2w"),
        ("/oncall me @nobody", "nobody"),
        ("/oncall export billing", "/oncall export me [new]"),
        ("/oncall export me again", "/oncall export me new"),
    ):
        out = ask(db, "lena", text, T0)
        assert not out["ok"] and says in out["error"], (text, out)


def events_of(text: str) -> dict[str, tuple[datetime, datetime, str, str]]:
    """UID -> (start, end, summary, description), read with an independent parser."""
    cal = icalendar.Calendar.from_ical(text)
    return {str(e["UID"]): (e.decoded("DTSTART"), e.decoded("DTEND"), str(e["SUMMARY"]), str(e["DESCRIPTION"])) for e in cal.walk("VEVENT")}


async def fetch(http: aiohttp.ClientSession, url: str) -> tuple[int, str]:
    async with http.get(url) as resp:
        return resp.status, await resp.text()


async def test_personal_calendar_over_http_rotates_and_keeps_uids(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    setup(db)
    add_covers(db)
    monkeypatch.setenv("CSBOT_PUBLIC_URL", "https://csbot.example.com")
    public = "https://csbot.example.com"
    shown = ask(db, "dana", "/oncall export me", T0)
    assert shown["ok"] and shown["reply"].visibility == "ephemeral"
    link = shown["data"]["calendar_url"]
    assert link.startswith(f"{public}/oncall/me/") and link.endswith(".ics")
    assert "/oncall export me new" in render_text(shown["reply"])
    assert ask(db, "dana", "/oncall export me", T0)["data"]["calendar_url"] == link  # shown again, the same
    queue_link = ask(db, "dana", "/oncall schedule billing", T0)["data"]["calendar_url"]

    now = {"at": T0}
    runner, base = await serve(create_app(db, load_settings({}), clock=lambda: now["at"]))
    try:
        async with aiohttp.ClientSession() as http:
            status, first = await fetch(http, link.replace(public, base))
            assert status == 200
            status, again = await fetch(http, link.replace(public, base))
            assert status == 200
            status, billing = await fetch(http, queue_link.replace(public, base))
            assert status == 200

            mine, queue = events_of(first), events_of(billing)
            assert mine and set(events_of(again)) == set(mine)
            # Every event is one of dana's stretches in the queue's own feed: the same UID, start and end.
            assert all("Dana Specialist" in summary for _, _, summary, _ in mine.values())
            assert {uid: e[:2] for uid, e in mine.items()} == {uid: e[:2] for uid, e in queue.items() if "Dana" in e[2]}
            spans = sorted(e[:2] for e in mine.values())
            # The last week and the next 60 days: the week that ended before T0 is not hers (fay's), her week runs
            # until eli's afternoon, from it to the handoff and on through cover 3, then the secondary night of cover 2.
            assert (utc("2026-12-07T08:00"), utc("2026-12-09T11:00")) in spans
            assert (utc("2026-12-09T17:00"), utc("2026-12-14T11:00")) in spans
            assert (utc("2026-12-19T01:00"), utc("2026-12-19T13:00")) in spans
            night = next(e for e in mine.values() if e[0] == utc("2026-12-19T01:00"))
            assert "(billing/secondary)" in night[2] and "Cover 2 added by Riley Admin." in night[3]
            assert "Cover 3 added by Riley Admin." in next(e for e in mine.values() if e[1] == utc("2026-12-14T11:00"))[3]
            assert all(start < T0 + timedelta(days=60) and end > T0 - timedelta(days=7) for start, end in spans)

            # Rotation: a new link, the old one 404 at once; two days later the same stretches keep their UIDs.
            rotated = ask(db, "dana", "/oncall export me new", T0 + timedelta(days=2))
            assert rotated["ok"] and rotated["data"]["rotated"]
            new_link = rotated["data"]["calendar_url"]
            assert new_link != link and "previous calendar link no longer works" in render_text(rotated["reply"])
            status, _ = await fetch(http, link.replace(public, base))
            assert status == 404
            now["at"] = T0 + timedelta(days=2)
            status, later = await fetch(http, new_link.replace(public, base))
            assert status == 200
            moved = events_of(later)
            kept = {uid for uid, e in mine.items() if e[0] < T0 + timedelta(days=60)} & set(moved)
            assert len(kept) >= 3 and all(moved[uid][:2] == mine[uid][:2] for uid in kept)
            assert any(e[0] == utc("2026-12-07T08:00") for e in moved.values())  # the week in progress, from its start

            # Garbage, forged and other people's tokens: 404, nothing more.
            token = new_link.rsplit("/", 1)[1].removesuffix(".ics")
            member_id, generation, mac = token.split("-")
            forged_mac = mac[:-1] + ("0" if mac[-1] != "0" else "1")
            for bad in (
                "/oncall/me/nope.ics",
                f"/oncall/me/{token}",
                f"/oncall/me/{member_id}-{generation}-{forged_mac}.ics",
                f"/oncall/me/{int(member_id) + 1}-{generation}-{mac}.ics",
                f"/oncall/me/{member_id}-{int(generation) + 1}-{mac}.ics",
                f"/oncall/me/{member_id}-0-{mac}.ics",
                f"/oncall/me/{token.upper()}.ics",
                "/oncall/me/" + "9" * 200 + ".ics",
            ):
                status, body = await fetch(http, base + bad)
                assert (status, body) == (404, "not found"), bad

            # Someone who is no longer active: their link stops too.
            with db.sessions() as s, s.begin():
                s.execute(update(Member).where(Member.handle == "dana").values(active=False))
            status, _ = await fetch(http, new_link.replace(public, base))
            assert status == 404
    finally:
        await runner.cleanup()


async def test_forged_and_replaced_tokens_are_refused_from_memory(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    setup(db)
    monkeypatch.setenv("CSBOT_PUBLIC_URL", "https://csbot.example.com")
    old = ask(db, "eli", "/oncall export me", T0)["data"]["calendar_url"].removeprefix("https://csbot.example.com")
    new = ask(db, "eli", "/oncall export me new", T0)["data"]["calendar_url"].removeprefix("https://csbot.example.com")
    runner, base = await serve(create_app(db, load_settings({}), clock=lambda: T0))
    statements: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        async with aiohttp.ClientSession() as http:
            assert (await fetch(http, base + new))[0] == 200  # reads the secret, the generation, builds the calendar
            statements.clear()
            forged = new[: -len(".ics") - 1] + ("0" if new[-len(".ics") - 1] != "0" else "1") + ".ics"
            for _ in range(10):
                assert (await fetch(http, base + forged))[0] == 404
            assert statements == []
            assert (await fetch(http, base + old))[0] == 404  # one read of eli's generation: replaced
            assert len(statements) == 1
            statements.clear()
            for _ in range(10):
                assert (await fetch(http, base + old))[0] == 404
            assert statements == []
            # The link in force reads only the generation while its calendar is a minute old at most.
            assert (await fetch(http, base + new))[0] == 200
            assert len(statements) == 1
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
        await runner.cleanup()


def test_export_me_without_a_public_https_address_says_so_and_still_rotates(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    setup(db)
    monkeypatch.setenv("CSBOT_PUBLIC_URL", "http://csbot.internal")
    out = ask(db, "dana", "/oncall export me", T0)
    assert out["ok"] and out["data"]["calendar_url"] is None
    assert "CSBOT_PUBLIC_URL" in render_text(out["reply"])
    rotated = ask(db, "dana", "/oncall export me new", T0)
    assert rotated["ok"] and "previous calendar link no longer works" in render_text(rotated["reply"])


async def test_the_handoff_dm_names_the_cover_that_puts_someone_on_call(db: Database, slack: tuple[FakeSlack, SlackNotifier]) -> None:
    fake, notifier = slack
    setup(db)
    # Riley puts hana on call for billing/primary from 11:00 to 13:00 Berlin; hana covers herself from 14:00 to 15:00.
    assert ask(db, "root", "/oncall cover @hana billing/primary 2026-12-07T11:00..2026-12-07T13:00", T0)["ok"]
    assert ask(db, "hana", "/oncall cover @hana billing/primary 2026-12-07T14:00..2026-12-07T15:00", T0)["ok"]
    await run_tick(db, [notifier], T0 + timedelta(hours=1, seconds=30))
    dm = next(p for p in posts(fake) if p["channel"] == "DHANA" and "You are on call" in json.dumps(p["blocks"]))
    assert "because of cover 1 added by Riley Admin" in json.dumps(dm["blocks"])
    # Back to the rotation at 13:00: dana's note names no cover.
    await run_tick(db, [notifier], T0 + timedelta(hours=3, seconds=30))
    back = [p for p in posts(fake) if p["channel"] == "DDANA" and "You are on call" in json.dumps(p["blocks"])]
    assert back and "because of cover" not in json.dumps(back[-1]["blocks"])
    # At 14:00 Berlin hana's own cover starts, as does her 12-hour secondary shift (08:00 in New York): one note each.
    await run_tick(db, [notifier], T0 + timedelta(hours=4, seconds=30))
    notes = [json.dumps(p["blocks"]) for p in posts(fake) if p["channel"] == "DHANA" and "You are on call" in json.dumps(p["blocks"])]
    primary = [n for n in notes if "Billing specialists (primary)" in n]
    secondary = [n for n in notes if "Billing specialists (secondary)" in n]
    assert len(primary) == 2 and "because of cover 2 you added" in primary[-1]
    assert secondary and "because of cover" not in secondary[-1]
    with db.sessions() as s:
        assert s.scalar(select(Member.name).where(Member.handle == "root")) == "Riley Admin"


def test_csbot_oncall_export_me_writes_the_same_calendar_the_link_serves(db: Database, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    setup(db)
    add_covers(db)
    in_clean_directory(tmp_path, monkeypatch, db_url)
    out = tmp_path / "dana.ics"
    assert main(["oncall", "export", "me", "--as", "@Dana", "--ics", str(out), "--days", "14", "--at", T0.isoformat()]) == 0
    assert "on-call events for Dana Specialist over the next 14 days" in capsys.readouterr().out
    events = events_of(out.read_text(encoding="utf-8"))
    # Whole stretches overlapping the 14 days from T0: her week (from its start) in two, and cover 2's night.
    assert sorted(e[:2] for e in events.values()) == [
        (utc("2026-12-07T08:00"), utc("2026-12-09T11:00")),
        (utc("2026-12-09T17:00"), utc("2026-12-14T11:00")),
        (utc("2026-12-19T01:00"), utc("2026-12-19T13:00")),
    ]
    assert main(["oncall", "export", "me", "--ics", "-"]) == 2
    assert "--as HANDLE" in capsys.readouterr().err
    assert main(["oncall", "export", "me", "--as", "dan", "--ics", "-"]) == 2
    assert "dana" in capsys.readouterr().err
    assert main(["oncall", "export", "billing", "--as", "dana", "--ics", "-"]) == 2


def test_me_and_export_are_not_queue_keys() -> None:
    from tests.test_org_file import problems_of

    text = ORG.replace("- key: tier2\n      name: Tier 2", "- key: me\n      name: Tier 2").replace("default_queue: tier2", "default_queue: billing").replace("queue: tier2", "queue: billing")
    assert any("'me' is a word of /oncall" in p for p in problems_of(text))


async def test_the_personal_calendar_answers_while_another_writer_holds_the_write_lock(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    setup(db)
    monkeypatch.setenv("CSBOT_PUBLIC_URL", "https://csbot.example.com")
    path = ask(db, "dana", "/oncall export me", T0)["data"]["calendar_url"].removeprefix("https://csbot.example.com")
    runner, base = await serve(create_app(db, load_settings({}), clock=lambda: T0))
    writer = db.engine.connect()
    try:
        # Another process writing: SQLite's write lock, or on PostgreSQL a lock no insert or update can pass.
        if db.backend == "sqlite":
            writer.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            writer.begin()
            writer.execute(sql("LOCK TABLE app_keys, oncall_personal_calendars, oncall_overrides, members IN SHARE ROW EXCLUSIVE MODE"))
        started = time.monotonic()
        async with aiohttp.ClientSession() as http:
            status, body = await fetch(http, base + path)
        assert status == 200 and "BEGIN:VEVENT" in body
        assert time.monotonic() - started < 3.0
    finally:
        writer.rollback()
        writer.close()
        await runner.cleanup()
