"""POST /webhooks/tickets over real HTTP: signatures, idempotency, and KPIs that see events at once."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import func, select

from bot.config import load_settings
from bot.dispatch import run_command
from bot.web import create_app
from bot.webhooks import sign
from handlers.registry import build_router
from kpi.importer import import_tickets
from kpi.mapping import Mapping
from kpi.tickets import Ticket, TicketEvent
from store.database import Database
from store.org import Member, Team
from tests.helpers import apply_fixture_org, serve

SECRET = "test-webhook-secret-0123456789"
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
async def server(db: Database) -> AsyncIterator[str]:
    apply_fixture_org(db)
    app = create_app(db, load_settings({"CSBOT_WEBHOOK_SECRET": SECRET}), clock=lambda: NOW)
    runner, base = await serve(app)
    yield f"{base}/webhooks/tickets"
    await runner.cleanup()


async def post(url: str, event: dict | bytes, *, secret: str = SECRET, ts: int | None = None, headers: dict | None = None) -> tuple[int, dict]:  # type: ignore[type-arg]
    body = event if isinstance(event, bytes) else json.dumps(event).encode()
    stamp = str(ts if ts is not None else int(time.time()))
    hdrs = {"Content-Type": "application/json", "X-Csbot-Timestamp": stamp, "X-Csbot-Signature": sign(secret, stamp, body)}
    if headers is not None:
        hdrs = headers
    async with aiohttp.ClientSession() as http, http.post(url, data=body, headers=hdrs) as resp:
        return resp.status, await resp.json()


def ev(event_id: str, kind: str, at: str, **extra: object) -> dict:  # type: ignore[type-arg]
    ticket = {"external_id": "T-1", **extra.pop("ticket", {})}  # type: ignore[dict-item]
    return {"id": event_id, "type": kind, "source": "helpdesk", "at": at, "ticket": ticket, **extra}


def ticket(db: Database) -> Ticket:
    with db.sessions() as s:
        return s.scalar(select(Ticket).where(Ticket.external_id == "T-1"))


def counts(db: Database) -> tuple[int, int]:
    with db.sessions() as s:
        return (s.scalar(select(func.count()).select_from(Ticket)), s.scalar(select(func.count()).select_from(TicketEvent)))


async def test_events_update_derived_fields_and_kpis_see_them(server: str, db: Database) -> None:
    status, body = await post(server, ev("e1", "created", "2026-03-02T09:00:00Z", ticket={"team": "support-emea", "subject": "Refund", "priority": "high"}))
    assert (status, body["ok"], body["duplicate"]) == (200, True, False)
    await post(server, ev("e2", "assigned", "2026-03-02T09:01:00Z", ticket={"agent": "alice"}))
    await post(server, ev("e3", "agent_replied", "2026-03-02T09:20:00Z"))
    await post(server, ev("e4", "agent_replied", "2026-03-02T09:40:00Z"))
    await post(server, ev("e5", "solved", "2026-03-02T10:00:00Z"))
    await post(server, ev("e6", "reopened", "2026-03-02T10:30:00Z"))
    await post(server, ev("e7", "solved", "2026-03-02T11:00:00Z"))
    status, _ = await post(server, ev("e8", "rated", "2026-03-02T11:05:00Z", rating=5))
    assert status == 200
    t = ticket(db)
    assert t.first_reply_at == datetime(2026, 3, 2, 9, 20, tzinfo=timezone.utc)
    assert (t.replies, t.reopens, t.csat, t.status, t.priority) == (2, 1, "good", "solved", "high")
    assert t.solved_at == datetime(2026, 3, 2, 11, 0, tzinfo=timezone.utc)  # the latest solve
    reply = run_command(db, build_router(), "alice", "/kpi me today", now=NOW, platform="console")
    metrics = reply.data["metrics"]
    assert metrics["tickets_created"] == 1 and metrics["first_reply_median_s"] == 1200.0
    assert metrics["resolution_median_s"] == 7200.0 and metrics["reopen_rate"] == 1.0 and metrics["csat"] == 1.0


async def test_replays_change_nothing(server: str, db: Database) -> None:
    await post(server, ev("e1", "created", "2026-03-02T09:00:00Z"))
    reply = ev("e2", "agent_replied", "2026-03-02T09:20:00Z")
    for _ in range(3):
        status, body = await post(server, reply)
        assert status == 200
    assert body["duplicate"] is True
    assert ticket(db).replies == 1
    # Concurrent deliveries of one event still apply once.
    results = await asyncio.gather(*(post(server, ev("e3", "reopened", "2026-03-02T10:00:00Z")) for _ in range(5)))
    assert all(status == 200 for status, _ in results)
    assert ticket(db).reopens == 1
    assert counts(db) == (1, 3)


async def test_out_of_order_first_reply_keeps_the_earliest(server: str, db: Database) -> None:
    await post(server, ev("e1", "agent_replied", "2026-03-02T09:40:00Z", ticket={"created_at": "2026-03-02T09:00:00Z"}))
    await post(server, ev("e2", "agent_replied", "2026-03-02T09:10:00Z"))
    t = ticket(db)
    assert t.first_reply_at == datetime(2026, 3, 2, 9, 10, tzinfo=timezone.utc) and t.replies == 2
    assert t.created_at == datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    "case",
    ["no headers", "bad signature", "wrong secret", "stale", "future", "tampered body"],
)
async def test_unauthenticated_requests_get_401_and_touch_nothing(server: str, db: Database, case: str) -> None:
    event = ev("e1", "created", "2026-03-02T09:00:00Z")
    body = json.dumps(event).encode()
    stamp = str(int(time.time()))
    if case == "no headers":
        status, _ = await post(server, event, headers={"Content-Type": "application/json"})
    elif case == "bad signature":
        status, _ = await post(server, event, headers={"X-Csbot-Timestamp": stamp, "X-Csbot-Signature": "sha256=" + "0" * 64})
    elif case == "wrong secret":
        status, _ = await post(server, event, secret="another-secret-0123456789")
    elif case == "stale":
        status, _ = await post(server, event, ts=int(time.time()) - 600)
    elif case == "future":
        status, _ = await post(server, event, ts=int(time.time()) + 600)
    else:
        hdrs = {"X-Csbot-Timestamp": stamp, "X-Csbot-Signature": sign(SECRET, stamp, body)}
        status, _ = await post(server, body.replace(b"T-1", b"T-2"), headers=hdrs)
    assert status == 401
    assert counts(db) == (0, 0)


async def test_without_a_secret_every_request_is_refused(db: Database) -> None:
    app = create_app(db, load_settings({}), clock=lambda: NOW)
    runner, base = await serve(app)
    url = f"{base}/webhooks/tickets"
    try:
        status, _ = await post(url, ev("e1", "created", "2026-03-02T09:00:00Z"), secret="")
        assert status == 401
        assert counts(db) == (0, 0)
    finally:
        await runner.cleanup()


async def test_invalid_events_get_400_with_every_problem(server: str, db: Database) -> None:
    status, body = await post(server, {"id": "", "type": "exploded", "at": "noon", "ticket": {}})
    assert status == 400
    problems = " | ".join(body["problems"])
    for fragment in ("id:", "type:", "at:", "ticket.external_id"):
        assert fragment in problems
    status, body = await post(server, ev("e9", "rated", "2026-03-02T09:00:00Z", rating="meh"))
    assert status == 400 and "rating" in body["problems"][0]
    status, body = await post(server, b"{not json")
    assert status == 400
    assert counts(db) == (0, 0)


async def test_closing_a_solved_ticket_is_not_a_new_solve(server: str, db: Database) -> None:
    await post(server, ev("e1", "created", "2026-02-25T09:00:00Z"))
    await post(server, ev("e2", "solved", "2026-02-25T10:00:00Z"))
    await post(server, ev("e3", "status_changed", "2026-03-01T10:00:00Z", status="closed"))
    t = ticket(db)
    assert t.status == "closed" and t.solved_at == datetime(2026, 2, 25, 10, 0, tzinfo=timezone.utc)


async def test_a_late_created_event_still_sets_the_creation_time(server: str, db: Database) -> None:
    await post(server, ev("e1", "agent_replied", "2026-03-02T09:05:00Z"))
    await post(server, ev("e2", "created", "2026-03-02T09:00:00Z"))
    t = ticket(db)
    assert t.created_at == datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
    assert (t.first_reply_at - t.created_at).total_seconds() == 300


async def test_event_ids_are_unique_per_source(server: str, db: Database) -> None:
    await post(server, ev("1", "created", "2026-03-02T09:00:00Z"))
    other = ev("1", "created", "2026-03-02T09:00:00Z") | {"source": "freshdesk"}
    status, body = await post(server, other)
    assert status == 200 and body["duplicate"] is False
    assert counts(db) == (2, 2)


async def test_impossible_dates_are_a_400_not_a_crash(server: str, db: Database) -> None:
    status, body = await post(server, ev("e1", "created", "0001-01-01T00:30:00+01:00"))
    assert status == 400 and "at" in body["problems"][0]


def created_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "bot.webhooks" and "created" in r.getMessage()]


def org_rows(db: Database, team_key: str, handle: str) -> tuple[dict, dict]:  # type: ignore[type-arg]
    with db.sessions() as s:
        team = s.scalar(select(Team).where(Team.key == team_key))
        member = s.scalar(select(Member).where(Member.handle == handle))
        return (
            {"name": team.name, "timezone": team.timezone, "targets": team.targets, "active": team.active},
            {"name": member.name, "email": member.email, "team": member.team_id == team.id, "role": member.role, "active": member.active},
        )


async def test_an_unknown_team_and_agent_are_created_as_an_import_creates_them_and_logged_once(
    server: str, db: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    event = ev("e1", "created", "2026-03-02T09:00:00Z", ticket={"team": "Night Shift", "agent": "Nora.Newcomer@Example.com"})
    with caplog.at_level(logging.INFO, logger="bot.webhooks"):
        status, _ = await post(server, event)
        assert status == 200
        await post(server, event)  # a retried delivery creates nothing and says nothing
    lines = created_lines(caplog)
    assert lines == [
        "/webhooks/tickets: created team 'night-shift' and agent 'nora-newcomer', named by ticket 'T-1' and not in the org; "
        "add to the org file (csbot org show lists them)"
    ]
    t = ticket(db)
    # A file naming the same kinds of names: the import makes the same kind of team and agent.
    path = tmp_path / "t.csv"
    path.write_text(
        "external_id,team,agent,created_at\n"
        "I-1,Late Shift,Otto.Other@Example.com,2026-03-02T09:00:00Z\n"
        "I-2,night shift,nora.newcomer@example.com,2026-03-02T09:00:00Z\n"  # what the webhook created: found, not made again
    )
    result = import_tickets(db, path, Mapping.default(), source="helpdesk")
    assert (result.teams_created, result.agents_created) == (["late-shift"], ["otto-other"])
    by_webhook = org_rows(db, "night-shift", "nora-newcomer")
    by_import = org_rows(db, "late-shift", "otto-other")
    assert by_webhook[0] == {**by_import[0], "name": "Night Shift"}
    assert by_webhook[1] == {**by_import[1], "name": "Nora.Newcomer@Example.com", "email": "nora.newcomer@example.com"}
    assert by_import[1]["email"] == "otto.other@example.com" and by_import[1]["team"] and by_import[1]["role"] == "agent"
    with db.sessions() as s:
        i2 = s.scalar(select(Ticket).where(Ticket.external_id == "I-2"))
        assert (i2.team_id, i2.agent_id) == (t.team_id, t.agent_id)
    # And the webhook finds what the import created, as the import found what the webhook did.
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="bot.webhooks"):
        status, _ = await post(server, ev("e2", "assigned", "2026-03-02T09:05:00Z", ticket={"external_id": "T-2", "team": "LATE SHIFT", "agent": "otto.other@example.com"}))
    assert status == 200 and created_lines(caplog) == []
    with db.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Team)) == 4  # the fixture's two, and one each
        t2 = s.scalar(select(Ticket).where(Ticket.external_id == "T-2"))
        assert t2.team.key == "late-shift" and t2.agent.handle == "otto-other"


async def test_the_created_line_quotes_what_the_sender_wrote(server: str, db: Database, caplog: pytest.LogCaptureFixture) -> None:
    forged = "T-9\n2026-03-02 INFO csbot: all good"
    # An id that would forge a log line is refused outright (store.name_characters), naming the field.
    status, body = await post(server, ev("e1", "created", "2026-03-02T09:00:00Z", ticket={"external_id": forged}))
    assert status == 400 and body["problems"] == ["ticket.external_id: holds a line break (U+000A); an id must be one line of visible text"]
    with caplog.at_level(logging.INFO, logger="bot.webhooks"):
        status, _ = await post(server, ev("e1", "created", "2026-03-02T09:00:00Z", ticket={"external_id": "T-9 'quoted'", "team": "Evil\nTeam", "agent": "x" * 150}))
    assert status == 200
    [line] = created_lines(caplog)
    assert "\n" not in line and "team 'evil-team'" in line and "\"T-9 'quoted'\"" in line
    assert len(line) < 400  # the 150-character name as its handle, clipped
    with db.sessions() as s:
        assert s.scalar(select(Team.name).where(Team.key == "evil-team")) == "Evil Team"  # the name cleaned
