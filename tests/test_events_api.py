"""POST /events/v2/enqueue over real HTTP, driven by pdpyras's EventsAPISession as by any PagerDuty-capable tool.

Routing keys come from `/oncall key QUEUE new` through the router; pages go
out through the outbox to the Slack stand-in; the clock is moved, never
waited for.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone

import warnings

import aiohttp
import pytest
from sqlalchemy import func, select

from bot.config import load_settings
from bot.render.text import render_text
from bot.slack.notifier import SlackNotifier
from bot.tick import run_tick
from bot.web import create_app
from escalation.models import Escalation, EscalationEvent, InboundEvent, RoutingKey
from store.database import Database
from tests.fake_slack import FakeSlack
from tests.helpers import serve
from tests.test_escalations import ask, posts, setup

with warnings.catch_warnings():  # pdpyras says, on import, that its successor is `pagerduty`; the protocol is the same
    warnings.simplefilter("ignore", UserWarning)
    import pdpyras

UTC = timezone.utc
T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)  # dana is on call for billing/primary


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


async def start(db: Database, clock: Clock, per_minute: int = 120) -> tuple[aiohttp.web.AppRunner, str]:
    setup(db)
    app = create_app(db, load_settings({"CSBOT_EVENTS_PER_MINUTE": str(per_minute)}, dotenv=False), clock=clock)
    return await serve(app)


@pytest.fixture
async def base(db: Database, clock: Clock) -> AsyncIterator[str]:
    runner, url = await start(db, clock)
    yield url
    await runner.cleanup()


def new_key(db: Database, queue: str = "billing", who: str = "root") -> str:
    out = ask(db, who, f"/oncall key {queue} new", T0)
    assert out["ok"], out
    assert out["reply"].visibility == "ephemeral"
    return out["data"]["routing_key"]


def session_for(base: str, key: str) -> pdpyras.EventsAPISession:
    session = pdpyras.EventsAPISession(key)
    session.url = f"{base}/events"  # pdpyras posts to url + "/v2/enqueue", as to https://events.pagerduty.com
    session.max_http_attempts = 1
    return session


async def post(base: str, body: object, raw: bytes | None = None) -> tuple[int, dict, dict]:  # type: ignore[type-arg]
    data = raw if raw is not None else json.dumps(body).encode()
    async with aiohttp.ClientSession() as http, http.post(f"{base}/events/v2/enqueue", data=data, headers={"Content-Type": "application/json"}) as resp:
        return resp.status, await resp.json(content_type=None), dict(resp.headers)


def escalation(db: Database, number: int) -> Escalation:
    with db.sessions() as s:
        esc = s.get(Escalation, number)
        assert esc is not None
        s.expunge(esc)
        return esc


def timeline(db: Database, number: int) -> list[tuple[str, str | None, str | None]]:
    with db.sessions() as s:
        rows = s.scalars(select(EscalationEvent).where(EscalationEvent.escalation_id == number).order_by(EscalationEvent.id))
        return [(e.event, e.source, e.note) for e in rows]


async def test_a_pagerduty_client_triggers_dedups_acknowledges_and_resolves(db: Database, base: str, clock: Clock, slack: tuple[FakeSlack, SlackNotifier]) -> None:
    fake, notifier = slack
    key = new_key(db)
    pd = session_for(base, key)
    dedup = await asyncio.to_thread(
        pd.trigger, "Checkout error rate 12% on EU", "grafana.acme.io", dedup_key="checkout-eu-errors", severity="critical",
        custom_details={"ticket": "#4521", "region": "eu-west"}, links=[{"href": "https://grafana.acme.io/d/abc", "text": "Dashboard"}],
    )  # fmt: skip
    assert dedup == "checkout-eu-errors"
    esc = escalation(db, 1)
    assert (esc.severity, esc.reason, esc.ticket, esc.source, esc.requester_id, esc.state) == ("sev1", "Checkout error rate 12% on EU", "#4521", "grafana.acme.io", None, "open")
    assert esc.paged == ["dana"]

    # The page reaches the on-call specialist in chat, and says who sent it.
    await run_tick(db, [notifier], T0)
    page = next(p for p in posts(fake) if p["channel"] == "DDANA" and "ESC-1" in p["text"].split("\n")[0])  # (dana also gets her handoff note)
    shown = json.dumps(page["blocks"])
    assert "Checkout error rate 12% on EU" in shown and "grafana.acme.io (Events API)" in shown
    assert "Dashboard (https://grafana.acme.io/d/abc)" in shown and "region: eu-west" in shown

    # The same dedup key again: the same escalation gets a line, nobody is paged twice.
    clock.now = T0 + timedelta(minutes=2)
    again = await asyncio.to_thread(pd.trigger, "Checkout error rate 19% on EU", "grafana.acme.io", dedup_key="checkout-eu-errors", severity="critical")
    assert again == "checkout-eu-errors"
    with db.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Escalation)) == 1
    assert timeline(db, 1)[-1] == ("triggered", "grafana.acme.io (Events API)", "Checkout error rate 19% on EU")
    out = ask(db, "dana", "/escalation ESC-1", clock.now)
    assert out["data"]["escalation"]["source"] == "grafana.acme.io" and out["data"]["escalation"]["requester"] is None

    # Acknowledge: paging stops, the page is edited to say so.
    clock.now = T0 + timedelta(minutes=4)
    assert await asyncio.to_thread(pd.acknowledge, "checkout-eu-errors") == "checkout-eu-errors"
    esc = escalation(db, 1)
    assert (esc.state, esc.owner_id, esc.next_action_at) == ("acknowledged", None, None)
    before = len(fake.calls)
    await run_tick(db, [notifier], clock.now)
    edits = [c.args for c in fake.calls[before:] if c.method == "chat.update"]
    assert edits and all("Acknowledged through the Events API" in json.dumps(e["blocks"]) for e in edits)
    # Level 2 never comes.
    later = await run_tick(db, [notifier], T0 + timedelta(hours=1))
    assert not [o for o in later.outcomes if o.kind == "esc_page"]

    clock.now = T0 + timedelta(minutes=30)
    assert await asyncio.to_thread(pd.resolve, "checkout-eu-errors") == "checkout-eu-errors"
    assert escalation(db, 1).state == "resolved"
    assert [e for e, _, _ in timeline(db, 1)] == ["created", "paged", "triggered", "acknowledged", "resolved"]

    # A trigger for a resolved key opens a new escalation, as PagerDuty opens a new incident.
    clock.now = T0 + timedelta(hours=2)
    await asyncio.to_thread(pd.trigger, "Checkout errors again", "grafana.acme.io", dedup_key="checkout-eu-errors", severity="warning")
    assert (escalation(db, 2).state, escalation(db, 2).severity) == ("open", "sev3")
    with db.sessions() as s:
        outcomes = list(s.scalars(select(InboundEvent.outcome).order_by(InboundEvent.id)))
        assert outcomes == ["opened", "added", "acknowledged", "resolved", "opened"]
        assert s.scalar(select(RoutingKey.last_used_at)) == clock.now


async def test_a_trigger_without_a_dedup_key_gets_one_back(db: Database, base: str) -> None:
    key = new_key(db)
    status, body, _ = await post(base, {"routing_key": key, "event_action": "trigger", "payload": {"summary": "Disk full", "source": "db-1", "severity": "error"}})
    assert status == 202 and body["status"] == "success" and body["message"] == "Event processed"
    assert len(body["dedup_key"]) == 32 and body["escalation"] == "ESC-1"
    esc = escalation(db, 1)
    assert (esc.dedup_key, esc.ticket, esc.severity) == (body["dedup_key"], body["dedup_key"], "sev2")
    status, again, _ = await post(base, {"routing_key": key, "event_action": "resolve", "dedup_key": body["dedup_key"]})
    assert (status, again["outcome"]) == (202, "resolved")


async def test_a_ticket_escalated_in_chat_takes_the_helpdesk_trigger_as_a_line(db: Database, base: str) -> None:
    key = new_key(db)
    assert ask(db, "alice", "/escalate #4711 billing sev2 refund stuck", T0)["ok"]
    status, body, _ = await post(
        base,
        {"routing_key": key, "event_action": "trigger", "dedup_key": "zd-4711",
         "payload": {"summary": "Ticket #4711 breached its SLA", "source": "Zendesk", "severity": "error", "custom_details": {"ticket": "#4711"}}},
    )  # fmt: skip
    assert (status, body["escalation"], body["outcome"]) == (202, "ESC-1", "added")
    assert escalation(db, 1).dedup_key == "zd-4711"
    status, body, _ = await post(base, {"routing_key": key, "event_action": "resolve", "dedup_key": "zd-4711"})
    assert (status, body["outcome"], escalation(db, 1).state) == (202, "resolved", "resolved")


async def test_invalid_events_are_400_with_every_problem_listed(db: Database, base: str) -> None:
    key = new_key(db)
    status, body, _ = await post(base, {"routing_key": key, "event_action": "page", "payload": {}})
    assert status == 400 and body["status"] == "invalid event" and body["message"] == "Event object is invalid"
    assert "'event_action' is invalid (must be one of the following: 'trigger', 'acknowledge' or 'resolve')" in body["errors"]
    status, body, _ = await post(base, {"routing_key": key, "event_action": "trigger", "payload": {"summary": " ", "severity": "sev1"}})
    assert status == 400 and body["errors"] == [
        "'payload.summary' is missing or blank",
        "'payload.source' is missing or blank",
        "'payload.severity' is invalid (must be one of the following: 'critical', 'warning', 'error' or 'info')",
    ]
    status, body, _ = await post(base, {"routing_key": key, "event_action": "trigger"})
    assert (status, body["errors"]) == (400, ["'payload' is missing or blank"])
    status, body, _ = await post(base, {"routing_key": key, "event_action": "acknowledge"})
    assert (status, body["errors"]) == (400, ["'dedup_key' is missing or blank"])
    status, body, _ = await post(base, {"routing_key": key, "event_action": "resolve", "dedup_key": "x" * 256})
    assert (status, body["errors"]) == (400, ["'dedup_key' is invalid (must be at most 255 characters)"])
    status, body, _ = await post(base, {"event_action": "trigger"})
    assert (status, body["errors"]) == (400, ["'routing_key' is missing or blank"])
    status, body, _ = await post(base, None, raw=b"{not json")
    assert status == 400 and body["status"] == "invalid event"
    status, body, _ = await post(base, [1, 2])
    assert status == 400
    with db.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Escalation)) == 0
        assert s.scalar(select(func.count()).select_from(InboundEvent)) == 0


async def test_unknown_and_revoked_keys_get_the_same_404_and_rotation_takes_effect_at_once(db: Database, base: str) -> None:
    old = new_key(db)
    event = {"event_action": "trigger", "payload": {"summary": "x", "source": "y", "severity": "info"}}
    unknown = await post(base, {"routing_key": "0" * 32, **event})
    misshapen = await post(base, {"routing_key": "not-a-key", **event})
    assert unknown[0] == misshapen[0] == 404 and unknown[1] == misshapen[1]
    assert (await post(base, {"routing_key": old, **event}))[0] == 202

    new = new_key(db)  # a rotation: the old key is refused from now on, from memory or not
    assert new != old
    revoked = await post(base, {"routing_key": old, **event})
    assert revoked[:2] == unknown[:2]
    assert (await post(base, {"routing_key": new, **event}))[0] == 202

    out = ask(db, "root", "/oncall key billing revoke", T0)
    assert out["ok"] and out["data"]["revoked"] == new[-4:]
    assert (await post(base, {"routing_key": new, **event}))[:2] == unknown[:2]
    out = ask(db, "root", "/oncall key billing", T0)
    assert out["data"]["key"] is None and "no Events API key" in render_text(out["reply"])
    with db.sessions() as s:
        # Only hashes are stored.
        assert not {old, new} & set(s.scalars(select(RoutingKey.digest)))


async def test_a_resolve_for_an_unknown_dedup_key_is_accepted_ignored_and_recorded(db: Database, base: str) -> None:
    key = new_key(db)
    status, body, _ = await post(base, {"routing_key": key, "event_action": "resolve", "dedup_key": "never-seen"})
    assert (status, body["status"], body["dedup_key"], body["outcome"]) == (202, "success", "never-seen", "ignored")
    status, body, _ = await post(base, {"routing_key": key, "event_action": "acknowledge", "dedup_key": "never-seen"})
    assert (status, body["outcome"]) == (202, "ignored")
    with db.sessions() as s:
        rows = [(e.action, e.dedup_key, e.outcome, e.escalation_id) for e in s.scalars(select(InboundEvent).order_by(InboundEvent.id))]
    assert rows == [("resolve", "never-seen", "ignored", None), ("acknowledge", "never-seen", "ignored", None)]


async def test_bodies_over_512_kb_are_413(db: Database, base: str) -> None:
    key = new_key(db)
    big = {"routing_key": key, "event_action": "trigger", "payload": {"summary": "x", "source": "y", "severity": "info", "custom_details": {"blob": "a" * (512 * 1024)}}}
    status, body, _ = await post(base, big)
    assert status == 413 and body["status"] == "request too large"
    # Just under the limit is accepted, and the details kept are bounded.
    fits = {"routing_key": key, "event_action": "trigger", "payload": {"summary": "x", "source": "y", "severity": "info", "custom_details": {"blob": "a" * (500 * 1024)}}}
    status, body, _ = await post(base, fits)
    assert status == 202
    assert len(json.dumps(escalation(db, 1).details)) < 20 * 1024


async def test_beyond_the_keys_rate_is_429_with_retry_after(db: Database, clock: Clock) -> None:
    runner, base = await start(db, clock, per_minute=3)
    try:
        key, other = new_key(db, "billing"), new_key(db, "tier2")
        event = {"event_action": "resolve", "dedup_key": "k"}
        answers = [await post(base, {"routing_key": key, **event}) for _ in range(4)]
        assert [a[0] for a in answers] == [202, 202, 202, 429]
        status, body, headers = answers[-1]
        assert body["status"] == "throttle event" and 1 <= int(headers["Retry-After"]) <= 60
        # Another queue's key has its own allowance.
        assert (await post(base, {"routing_key": other, **event}))[0] == 202
    finally:
        await runner.cleanup()


async def test_two_triggers_with_one_new_dedup_key_at_once_open_one_escalation(db: Database, base: str) -> None:
    key = new_key(db)
    event = {"routing_key": key, "event_action": "trigger", "dedup_key": "same", "payload": {"summary": "x", "source": "y", "severity": "info"}}
    answers = await asyncio.gather(*(post(base, event) for _ in range(6)))
    assert {a[0] for a in answers} == {202}
    assert sorted(a[1]["outcome"] for a in answers) == ["added"] * 5 + ["opened"]
    with db.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Escalation)) == 1


async def test_only_leads_managers_and_admins_see_or_change_a_key(db: Database) -> None:
    setup(db)
    out = ask(db, "alice", "/oncall key billing new", T0)
    assert not out["ok"] and "leads, managers and admins" in out["error"]
    out = ask(db, "dana", "/oncall key billing", T0)
    assert not out["ok"]
    out = ask(db, "root", "/oncall key billing", T0)
    assert out["ok"] and out["data"]["key"] is None
    out = ask(db, "root", "/oncall key billing sideways", T0)
    assert not out["ok"] and "new (or rotate) or revoke" in out["error"]
    out = ask(db, "root", "/oncall key nosuch new", T0)
    assert not out["ok"]
    with db.sessions() as s:
        assert s.scalar(select(func.count()).select_from(RoutingKey)) == 0


async def test_control_characters_and_mentions_in_a_summary_stay_one_line_of_text(db: Database, base: str, slack: tuple[FakeSlack, SlackNotifier]) -> None:
    fake, notifier = slack
    key = new_key(db)
    summary = "Refunds down\n\r<!channel> <@UDANA> *now*\x00"
    status, _, _ = await post(base, {"routing_key": key, "event_action": "trigger", "payload": {"summary": summary, "source": "zd\nX-Evil: 1", "severity": "critical"}})
    assert status == 202
    esc = escalation(db, 1)
    assert "\n" not in esc.reason and "\x00" not in esc.reason and "\n" not in (esc.source or "")
    await run_tick(db, [notifier], T0)
    page = next(p for p in posts(fake) if p["channel"] == "DDANA" and "ESC-1" in p["text"].split("\n")[0])
    assert "<!channel>" not in json.dumps(page["blocks"]) and "<@UDANA>" not in json.dumps(page["blocks"])
