"""Ticket events count in event order (`at`), whatever order they arrive in.

Over real HTTP: the late `rated good` and the late `reopened` of issue 20, the
`stale` count in the answer, same-second tie-breaking and events from the
future. As a property over the real database: any permutation of a ticket's
events gives the same ticket, and the same /kpi numbers, as event order.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from typing import Any

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.config import load_settings
from bot.dispatch import run_command
from bot.web import create_app
from bot.webhooks import sign
from handlers.registry import build_router
from kpi.day_facts import refresh_database
from kpi.events import apply_event, parse_event
from kpi.field_times import TicketFieldTime
from kpi.tickets import Ticket, TicketEvent
from store.database import Database
from store.engine import write_transaction
from tests.helpers import apply_fixture_org, serve

SECRET = "test-webhook-secret-0123456789"
NOW = datetime(2026, 3, 2, 14, 0, tzinfo=timezone.utc)


@pytest.fixture
async def server(db: Database) -> AsyncIterator[str]:
    apply_fixture_org(db)
    app = create_app(db, load_settings({"CSBOT_WEBHOOK_SECRET": SECRET}), clock=lambda: NOW)
    runner, base = await serve(app)
    yield f"{base}/webhooks/tickets"
    await runner.cleanup()


async def post(url: str, event: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    body = json.dumps(event).encode()
    stamp = str(int(time.time()))
    headers = {"Content-Type": "application/json", "X-Csbot-Timestamp": stamp, "X-Csbot-Signature": sign(SECRET, stamp, body)}
    async with aiohttp.ClientSession() as http, http.post(url, data=body, headers=headers) as resp:
        return resp.status, await resp.json()


def ev(event_id: str, kind: str, at: str, **extra: Any) -> dict[str, Any]:
    ticket = {"external_id": "T-1", **extra.pop("ticket", {})}
    return {"id": event_id, "type": kind, "source": "helpdesk", "at": at, "ticket": ticket, **extra}


def ticket(db: Database) -> Ticket:
    with db.sessions() as s:
        return s.scalar(select(Ticket).where(Ticket.external_id == "T-1"))


async def test_a_late_good_rating_does_not_undo_a_later_bad_one(server: str, db: Database) -> None:
    await post(server, ev("e1", "created", "2026-03-02T12:00:00Z"))
    status, body = await post(server, ev("e3", "rated", "2026-03-02T13:09:00Z", rating="bad"))
    assert (status, body["stale"]) == (200, 0)
    status, body = await post(server, ev("e2", "rated", "2026-03-02T13:08:00Z", rating="good"))
    assert (status, body["ok"], body["stale"], body["superseded"]) == (200, True, 1, ["csat"])
    assert ticket(db).csat == "bad"
    # Recorded as stale, and a re-delivery is still a duplicate that changes nothing.
    with db.sessions() as s:
        assert s.scalar(select(TicketEvent.stale).where(TicketEvent.event_id == "e2")) is True
    status, body = await post(server, ev("e2", "rated", "2026-03-02T13:08:00Z", rating="good"))
    assert (status, body["duplicate"], body["stale"]) == (200, True, 1)
    assert ticket(db).csat == "bad"


async def test_a_late_reopen_counts_but_does_not_reopen_a_later_solve(server: str, db: Database) -> None:
    await post(server, ev("e1", "created", "2026-03-02T10:00:00Z"))
    await post(server, ev("e3", "solved", "2026-03-02T12:00:00Z"))
    status, body = await post(server, ev("e2", "reopened", "2026-03-02T11:00:00Z"))
    assert (status, body["stale"], body["superseded"]) == (200, 1, ["status"])
    t = ticket(db)
    assert (t.status, t.reopens, t.solved_at) == ("solved", 1, datetime(2026, 3, 2, 12, tzinfo=timezone.utc))
    # A reopen that really is later still reopens.
    status, body = await post(server, ev("e4", "reopened", "2026-03-02T12:30:00Z"))
    assert (status, body["stale"]) == (200, 0)
    assert (ticket(db).status, ticket(db).reopens) == ("open", 2)


async def test_a_late_created_or_assignment_changes_no_newer_field(server: str, db: Database) -> None:
    await post(server, ev("e2", "assigned", "2026-03-02T10:05:00Z", ticket={"agent": "bob", "priority": "urgent"}))
    await post(server, ev("e3", "agent_replied", "2026-03-02T10:10:00Z"))
    status, body = await post(server, ev("e1", "created", "2026-03-02T10:00:00Z", ticket={"team": "support-emea", "agent": "alice", "priority": "low"}))
    assert (status, body["stale"], sorted(body["superseded"])) == (200, 1, ["agent", "priority"])
    with db.sessions() as s:
        t = s.scalar(select(Ticket).where(Ticket.external_id == "T-1"))
        assert (t.status, t.priority, t.agent.handle, t.team.key) == ("open", "urgent", "bob", "support-emea")
    assert t.created_at == datetime(2026, 3, 2, 10, tzinfo=timezone.utc)


@pytest.mark.parametrize("order", [("solve", "reopen"), ("reopen", "solve")])
async def test_a_solve_and_a_reopen_in_the_same_second_leave_it_open(server: str, db: Database, order: tuple[str, str]) -> None:
    events = {
        "solve": ev("s", "solved", "2026-03-02T12:00:00Z"),
        "reopen": ev("r", "reopened", "2026-03-02T12:00:00Z"),
    }
    await post(server, ev("c", "created", "2026-03-02T11:00:00Z"))
    for name in order:
        assert (await post(server, events[name]))[0] == 200
    assert ticket(db).status == "open"  # life-cycle order: solved, then reopened


async def test_two_ratings_in_the_same_second_are_ordered_by_event_id(server: str, db: Database) -> None:
    await post(server, ev("r-b", "rated", "2026-03-02T12:00:00Z", rating="bad"))
    await post(server, ev("r-a", "rated", "2026-03-02T12:00:00Z", rating="good"))
    assert ticket(db).csat == "bad"  # "r-b" sorts after "r-a"


@pytest.mark.parametrize("where", ["at", "created_at"])
async def test_an_event_from_the_future_is_refused_and_touches_nothing(server: str, db: Database, where: str) -> None:
    later = (NOW + timedelta(minutes=11)).isoformat()
    event = ev("e1", "created", later) if where == "at" else ev("e1", "created", NOW.isoformat(), ticket={"created_at": later})
    status, body = await post(server, event)
    assert status == 400
    assert any("ahead of csbot's clock" in p and p.startswith(("at", "ticket.created_at")) for p in body["problems"])
    # A sender's clock a few minutes fast is fine.
    status, _ = await post(server, ev("e2", "created", (NOW + timedelta(minutes=9)).isoformat()))
    assert status == 200
    with db.sessions() as s:
        assert s.scalar(select(func.count()).select_from(TicketEvent)) == 1


async def test_field_times_outlive_the_process(server: str, db: Database, db_url: str) -> None:
    await post(server, ev("e2", "rated", "2026-03-02T13:09:00Z", rating="bad"))
    # A new app on the same database (a restart) still knows the later rating.
    app = create_app(db, load_settings({"CSBOT_WEBHOOK_SECRET": SECRET}), clock=lambda: NOW)
    runner, base = await serve(app)
    try:
        status, body = await post(f"{base}/webhooks/tickets", ev("e1", "rated", "2026-03-02T13:08:00Z", rating="good"))
    finally:
        await runner.cleanup()
    assert (status, body["stale"]) == (200, 1)
    assert ticket(db).csat == "bad"


# ---- any permutation gives the ticket and the KPI numbers of event order ----

PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
START = datetime(2026, 2, 20, 9, 0, tzinfo=timezone.utc)
# The same ticket twice: in event order in one team, shuffled in the other.
MIRROR = {"support-emea": "support-amer", "alice": "carol", "bob": "dana"}


def _life_cycle() -> st.SearchStrategy[list[dict[str, Any]]]:
    minutes = st.sampled_from([0, 5, 5, 30, 60, 60, 90, 600, 1440, 2000])  # repeats make same-second ties
    kinds = st.sampled_from(["assigned", "agent_replied", "solved", "reopened", "rated", "status_changed"])
    extra = {
        "assigned": st.fixed_dictionaries({"ticket": st.fixed_dictionaries({"agent": st.sampled_from(["alice", "bob"])})}),
        "rated": st.fixed_dictionaries({"rating": st.sampled_from(["good", "bad"])}),
        "status_changed": st.fixed_dictionaries({"status": st.sampled_from(["pending", "on_hold", "open", "solved", "closed"])}),
    }

    def one(kind: str) -> st.SearchStrategy[dict[str, Any]]:
        base = st.fixed_dictionaries({"type": st.just(kind), "minutes": minutes})
        with_priority = st.fixed_dictionaries({}, optional={"priority": st.sampled_from(["low", "high"])})
        parts = st.tuples(base, extra.get(kind, st.just({})), with_priority)
        return parts.map(lambda p: {**p[0], **p[1], **({"ticket": {**p[1].get("ticket", {}), **p[2]}} if p[2] else {})})

    created = st.fixed_dictionaries(
        {"type": st.just("created"), "minutes": st.just(0), "ticket": st.fixed_dictionaries({"team": st.just("support-emea"), "priority": st.just("normal")})}
    )
    rest = st.lists(kinds.flatmap(one), min_size=1, max_size=8)
    return st.tuples(st.booleans(), created, rest).map(lambda p: ([p[1]] if p[0] else []) + p[2])


def _payload(spec: dict[str, Any], n: int, source: str, external_id: str, mirrored: bool) -> dict[str, Any]:
    ticket = {"external_id": external_id, **spec.get("ticket", {})}
    if mirrored:
        ticket = {k: MIRROR.get(v, v) if k in ("team", "agent") else v for k, v in ticket.items()}
    else:
        ticket.setdefault("team", "support-emea") if spec["type"] == "created" else None
    at = START + timedelta(minutes=spec["minutes"])
    payload = {"id": f"{external_id}-e{n}", "type": spec["type"], "source": source, "at": at.isoformat(), "ticket": ticket}
    payload.update({k: spec[k] for k in ("rating", "status") if k in spec})
    return payload


def _apply_all(db: Database, payloads: list[dict[str, Any]]) -> None:
    for payload in payloads:
        event = parse_event(payload, now=NOW)
        with write_transaction(db.sessions) as session:
            apply_event(session, event, now=NOW)


def _state(db: Database, source: str, external_id: str) -> tuple[Any, ...]:
    with db.sessions() as s:
        t = s.scalar(select(Ticket).where(Ticket.source == source, Ticket.external_id == external_id))
        agent = MIRROR.get(t.agent.handle, t.agent.handle) if t.agent else None
        team = MIRROR.get(t.team.key, t.team.key) if t.team else None
        return (t.status, t.priority, t.csat, t.created_at, t.first_reply_at, t.solved_at, t.replies, t.reopens, agent, team)


def _kpis(db: Database, team: str) -> dict[str, Any]:
    reply = run_command(db, build_router(), "root", f"/kpi team {team} 30d", now=NOW, platform="console")
    assert reply.ok, reply.text
    return reply.data["metrics"]


_counter = iter(range(10**9))


@PROPERTY
@given(specs=_life_cycle(), data=st.data())
def test_any_arrival_order_gives_the_ticket_and_kpis_of_event_order(specs: list[dict[str, Any]], data: st.DataObject, db: Database) -> None:
    with db.sessions() as s:
        if s.scalar(select(func.count()).select_from(Ticket)) == 0:
            apply_fixture_org(db)
    n = next(_counter)
    external_id = f"T-{n}"
    ordered = [_payload(spec, i, "ordered", external_id, False) for i, spec in enumerate(specs)]
    shuffled = [_payload(spec, i, "shuffled", external_id, True) for i, spec in enumerate(specs)]
    in_order = sorted(ordered, key=lambda p: parse_event(p).at)  # ties: as generated
    permuted = data.draw(st.permutations(shuffled))
    _apply_all(db, in_order)
    _apply_all(db, permuted)
    _apply_all(db, permuted[:2])  # re-deliveries change nothing
    refresh_database(db)
    assert _state(db, "ordered", external_id) == _state(db, "shuffled", external_id)
    assert _kpis(db, "support-emea") == _kpis(db, "support-amer")
    with db.sessions() as s:
        assert s.scalar(select(func.count()).select_from(TicketFieldTime)) > 0
