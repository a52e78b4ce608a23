"""A queue's outbound webhook: every change of its escalations POSTed, signed, through the outbox, retried until the receiver takes it.

The receiver is a small local HTTP server that records what it gets, as a
helpdesk would; escalations run through the router and the tick with a
moved clock.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler

import pytest
from sqlalchemy import select

from bot.dispatch import run_action
from bot.escalation_webhook import EscalationWebhooks
from bot.slack.notifier import SlackNotifier
from bot.tick import run_tick
from bot.webhooks import verify
from kpi.definitions import METRIC_NAMES
from store.database import Database
from store.org_file import OrgFileError, apply_org, parse_org
from store.outbox import OutboxRow
from tests.fake_slack import FakeSlack
from tests.helpers import threaded_http_server
from tests.test_escalations import ORG, ROUTER, T0, ask

SECRET = "outbound-webhook-secret-0123456789"


class Receiver:
    def __init__(self) -> None:
        self.got: list[tuple[dict[str, str], bytes]] = []
        self.fail_next = 0


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, int]]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.got.append(({k: v for k, v in self.headers.items()}, body))
            status = 500 if state.fail_next > 0 else 204
            state.fail_next -= 1
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    with threaded_http_server(Handler) as port:
        yield state, port


def setup(db: Database, port: int) -> None:
    text = ORG.replace("      channels: {slack: CBILL}\n", f"      channels: {{slack: CBILL}}\n      webhook: http://127.0.0.1:{port}/csbot\n", 1)
    with db.sessions() as s, s.begin():
        apply_org(s, parse_org(text, METRIC_NAMES))


async def test_every_change_is_posted_signed_and_in_order(db: Database, receiver: tuple[Receiver, int], slack: tuple[FakeSlack, SlackNotifier]) -> None:
    state, port = receiver
    _, notifier = slack
    setup(db, port)
    hooks = EscalationWebhooks(db, SECRET)
    try:
        assert ask(db, "alice", "/escalate #4711 customer wants a refund, charged twice", T0)["ok"]
        await run_tick(db, [notifier, hooks], T0)
        assert run_action(db, ROUTER, "dana", "esc.ack", json.dumps({"id": 1}), now=T0 + timedelta(minutes=3), platform="slack").ok
        await run_tick(db, [notifier, hooks], T0 + timedelta(minutes=3))
        assert ask(db, "dana", "/escalation resolve ESC-1 refunded", T0 + timedelta(minutes=20))["ok"]
        await run_tick(db, [notifier, hooks], T0 + timedelta(minutes=20))
    finally:
        await hooks.close()
    # Sends run side by side: a receiver orders by the event's id (or time), not by arrival.
    bodies = sorted((json.loads(body) for _, body in state.got), key=lambda b: b["event"]["id"])
    assert [b["event"]["type"] for b in bodies] == ["created", "paged", "acknowledged", "resolved"]
    assert bodies[2]["event"]["by"] == "dana" and bodies[3]["event"]["note"] == "refunded"
    assert all(b["escalation"]["id"] == "ESC-1" and b["escalation"]["ticket"] == "#4711" for b in bodies)
    assert bodies[-1]["escalation"]["state"] == "resolved"
    for headers, body in state.got:
        # Signed as csbot asks helpdesks to sign what they send it: the same check verifies it.
        assert verify(SECRET, headers["X-Csbot-Timestamp"], headers["X-Csbot-Signature"], body, time.time()) is None
        assert headers["X-Csbot-Delivery"].startswith("csbot-outbox-")
    assert len({h["X-Csbot-Delivery"] for h, _ in state.got}) == 4


async def test_a_receiver_that_fails_gets_the_same_delivery_again_later(db: Database, receiver: tuple[Receiver, int]) -> None:
    state, port = receiver
    setup(db, port)
    hooks = EscalationWebhooks(db, SECRET)
    state.fail_next = 2
    try:
        assert ask(db, "alice", "/escalate #4711 customer wants a refund", T0)["ok"]
        first = await run_tick(db, [hooks], T0)
        assert {o.status for o in first.outcomes if o.kind == "esc_hook"} == {"retrying"}
        retried = await run_tick(db, [hooks], T0 + timedelta(minutes=10))
        assert {o.status for o in retried.outcomes if o.kind == "esc_hook"} == {"sent"}
    finally:
        await hooks.close()
    # The two refused (created, paged level 1) came again with the same delivery id, with level 2's page.
    deliveries = [h["X-Csbot-Delivery"] for h, _ in state.got]
    counts = sorted(deliveries.count(d) for d in set(deliveries))
    assert counts == [1, 2, 2] and set(deliveries[:2]) == {d for d in deliveries if deliveries.count(d) == 2}
    # Once taken, never again.
    hooks = EscalationWebhooks(db, SECRET)
    try:
        again = await run_tick(db, [hooks], T0 + timedelta(minutes=11))
    finally:
        await hooks.close()
    assert not [o for o in again.outcomes if o.kind == "esc_hook"] and len(state.got) == 5


async def test_without_the_secret_nothing_is_posted_and_each_event_says_why(db: Database, receiver: tuple[Receiver, int]) -> None:
    state, port = receiver
    setup(db, port)
    assert ask(db, "alice", "/escalate #4711 customer wants a refund", T0)["ok"]
    report = await run_tick(db, [], T0)
    hooks = [o for o in report.outcomes if o.kind == "esc_hook"]
    assert hooks and all(o.status == "skipped" and o.error == "not reachable: Webhook is not configured" for o in hooks)
    assert state.got == []


async def test_a_queue_without_a_webhook_plans_nothing(db: Database) -> None:
    with db.sessions() as s, s.begin():
        apply_org(s, parse_org(ORG, METRIC_NAMES))
    assert ask(db, "alice", "/escalate #4711 customer wants a refund", T0)["ok"]
    with db.sessions() as s:
        assert not list(s.scalars(select(OutboxRow).where(OutboxRow.kind == "esc_hook")))


@pytest.mark.parametrize(
    "url",
    ["http://helpdesk.example.com/hook", "ftp://127.0.0.1/x", "https://", "https://helpdesk.example.com/a b", "javascript:alert(1)"],
)
def test_a_webhook_must_be_https_or_local(url: str) -> None:
    text = ORG.replace("      channels: {slack: CBILL}\n", f'      channels: {{slack: CBILL}}\n      webhook: "{url}"\n', 1)
    with pytest.raises(OrgFileError) as caught:
        parse_org(text, METRIC_NAMES)
    assert "webhook must be an https:// URL (http:// only to localhost)" in str(caught.value)
    ok = ORG.replace("      channels: {slack: CBILL}\n", "      channels: {slack: CBILL}\n      webhook: https://helpdesk.example.com/hooks/csbot\n", 1)
    assert parse_org(ok, METRIC_NAMES).escalation.queues[0].webhook == "https://helpdesk.example.com/hooks/csbot"
