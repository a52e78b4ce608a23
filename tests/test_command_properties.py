"""Properties of the one command router for anything a member can type or click.

Invariant, for any text as any member of tests/fixtures/org.yaml (agent, lead,
manager, admin) with tickets in the database: run_command returns a Reply that
is either ok or refused with code usage, not_found, forbidden or invalid and a
message; it never raises, never answers `internal`, and nothing is logged at
ERROR. Every reply renders as text, Block Kit and an Adaptive Card, and its
`--json` form encodes as UTF-8. A KPI answer is over a window inside the
supported days, and every button on an answer works for the member it answered.

Commands here only read, so Hypothesis may reuse one database across examples.
SQLite gets the bulk of the examples; PostgreSQL, which is stricter about text
(no NUL), a smaller run of the same properties.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, select

from bot.cli import reply_json
from bot.dispatch import run_action, run_command
from bot.render.slack import render_slack
from bot.render.teams import render_adaptive_card
from bot.render.text import render_text
from handlers.registry import build_router
from handlers.reply import Actions, Reply
from handlers.router import Router
from kpi.tickets import Ticket
from store.database import Database
from store.org import Member
from tests.command_strategies import (
    FIRST_SUPPORTED,
    LAST_SUPPORTED,
    any_text,
    commands,
    kpi_command,
    moments,
    windows,
)
from tests.helpers import apply_fixture_org, assert_no_traceback

NOW = datetime(2026, 3, 9, 12, tzinfo=timezone.utc)
HANDLES = ("alice", "bob", "carol", "dana", "root")  # agent, lead, agent, manager, admin
REFUSALS = {"usage", "not_found", "forbidden", "invalid"}
KPI_ACTIONS = ("kpi.share", "kpi.previous")


def examples(db: Database, sqlite: int) -> int:
    """Fewer examples on PostgreSQL: each round trip costs more, and the parsing is the same."""
    return sqlite if db.backend == "sqlite" else max(20, sqlite // 3)


def add_tickets(db: Database) -> None:
    """Tickets for both teams and their agents, recent and at the edges of the supported days."""
    with db.sessions() as s:
        ids = {handle: (id_, team_id) for handle, id_, team_id in s.execute(select(Member.handle, Member.id, Member.team_id))}
    created_times = [NOW - timedelta(hours=h) for h in (1, 20, 50, 200, 700, 2000)]
    created_times += [datetime(1970, 1, 1, tzinfo=timezone.utc), datetime(2099, 12, 31, 20, tzinfo=timezone.utc)]
    rows = []
    for i, created in enumerate(created_times * 2):
        agent_id, team_id = ids[("alice", "carol", "bob")[i % 3]]
        solved = created + timedelta(hours=3) if i % 2 else None
        rows.append(
            {
                "source": "props",
                "external_id": f"P{i}",
                "team_id": team_id,
                "agent_id": agent_id,
                "status": "solved" if solved else "open",
                "created_at": created,
                "first_reply_at": created + timedelta(minutes=10 + i),
                "solved_at": solved,
                "replies": i % 4,
                "reopens": i % 2,
                "csat": ("good", "bad", None)[i % 3],
                "sla_met": bool(i % 2),
            }
        )
    with db.sessions() as s, s.begin():
        s.execute(insert(Ticket), rows)


@pytest.fixture
def busy_org(db: Database) -> Database:
    apply_fixture_org(db)
    add_tickets(db)
    return db


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def no_errors_logged() -> Iterator[Callable[[], None]]:
    """Yields a check: nothing logged at ERROR and no traceback since the last check."""
    handler = _Records()
    root = logging.getLogger()
    root.addHandler(handler)

    def check() -> None:
        records, handler.records = handler.records, []
        assert_no_traceback(records)
        errors = [r.getMessage() for r in records if r.levelno >= logging.ERROR]
        assert not errors, errors

    try:
        yield check
    finally:
        root.removeHandler(handler)


def assert_sound(reply: Reply, check_logs: Callable[[], None]) -> None:
    """A correct result or a clear refusal, and it renders on every surface."""
    check_logs()
    if not reply.ok:
        assert reply.error is not None and reply.error.code in REFUSALS, reply.error
        assert reply.error.message.strip(), reply.error
    elif "window" in reply.data:  # a KPI answer: over a real window inside the supported days
        window = reply.data["window"]
        start, end = datetime.fromisoformat(window["start"]), datetime.fromisoformat(window["end"])
        assert start < end, window
        last = (end - timedelta(microseconds=1)).astimezone(ZoneInfo(window["timezone"])).date()
        assert FIRST_SUPPORTED <= start.astimezone(ZoneInfo(window["timezone"])).date() and last <= LAST_SUPPORTED, window
    render_text(reply)
    render_slack(reply)
    render_adaptive_card(reply)
    json.dumps(reply_json(reply), ensure_ascii=False).encode("utf-8")  # what `csbot ask --json` prints


def assert_buttons_work(db: Database, router: Router, handle: str, reply: Reply, check_logs: Callable[[], None]) -> None:
    """Every button on an answer works for the member it answered."""
    for button in (b for block in reply.blocks if isinstance(block, Actions) for b in block.buttons):
        clicked = run_action(db, router, handle, button.action_id, button.value, now=NOW, platform="slack")
        assert_sound(clicked, check_logs)
        assert clicked.ok, (button, clicked.error)


def test_any_text_as_any_member(busy_org: Database) -> None:
    router = build_router()

    @settings(max_examples=examples(busy_org, 300), deadline=None)
    @given(handle=st.sampled_from(HANDLES), text=st.one_of(any_text(), commands()))
    def typed(handle: str, text: str) -> None:
        reply = run_command(busy_org, router, handle, text, now=NOW, platform="slack")
        assert_sound(reply, check_logs)
        assert_buttons_work(busy_org, router, handle, reply, check_logs)

    with no_errors_logged() as check_logs:
        typed()


def test_kpi_windows_at_any_moment(busy_org: Database) -> None:
    router = build_router()
    kpi_text = st.one_of(
        kpi_command(),
        st.tuples(st.sampled_from(["/kpi team", "/kpi me", "/kpi org", "/kpi teams", "/kpi agent alice", "/kpi"]), windows())
        .map(" ".join),
    )

    @settings(max_examples=examples(busy_org, 200), deadline=None)
    @given(handle=st.sampled_from(HANDLES), text=kpi_text, now=moments())
    def asked(handle: str, text: str, now: datetime) -> None:
        reply = run_command(busy_org, router, handle, text, now=now, platform="console")
        assert_sound(reply, check_logs)
        assert_buttons_work(busy_org, router, handle, reply, check_logs)

    with no_errors_logged() as check_logs:
        asked()


def _json_value() -> st.SearchStrategy[object]:
    scalars = st.one_of(
        st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=30),
        moments().map(datetime.isoformat), any_text(), commands(),
    )
    return st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=6)


GENUINE_BUTTON_TEXTS = (
    "/kpi team support-emea 7d", "/kpi team support-amer last-month", "/kpi agent alice 30d", "/kpi agent carol today",
    "/kpi org month", "/kpi teams 7d --sort csat", "/kpi teams 2026-03-01..2026-03-31 --sort backlog",
)


@st.composite
def button_values(draw: st.DrawFn) -> str:
    """What a forged or damaged click can carry: a genuine payload with some fields spoiled, any JSON, any text."""
    choice = draw(st.integers(0, 4))
    if choice == 4:
        opener = draw(st.sampled_from(["[", '{"text":', '{"at":[']))
        return opener * draw(st.integers(1, 3000))  # deep nesting, or a value cut short
    if choice <= 1:
        spoil = draw(st.sets(st.sampled_from(["text", "at", "back", "extra", "missing"]), max_size=2))
        payload: dict[str, object] = {
            "text": draw(st.sampled_from(GENUINE_BUTTON_TEXTS)),
            "at": draw(moments()).isoformat(),
            "back": draw(st.integers(0, 120)),
        }
        if "text" in spoil:
            payload["text"] = draw(st.one_of(kpi_command(), commands(), _json_value()))
        if "at" in spoil:
            payload["at"] = draw(_json_value())
        if "back" in spoil:
            odd = st.sampled_from([float("inf"), float("-inf"), float("nan"), 1e308, -1, 121, True, "3", None, [], {}])
            payload["back"] = draw(st.one_of(odd, st.integers(), st.floats(), _json_value()))
        if "extra" in spoil:
            payload[draw(st.text(max_size=5))] = draw(_json_value())
        if "missing" in spoil:
            payload.pop(draw(st.sampled_from(sorted(payload))))
        return json.dumps(payload)
    if choice == 2:
        return json.dumps(draw(_json_value()))
    return draw(any_text())


def test_any_button_value_as_any_member(busy_org: Database) -> None:
    router = build_router()

    @settings(max_examples=examples(busy_org, 200), deadline=None)
    @given(handle=st.sampled_from(HANDLES), action_id=st.sampled_from(KPI_ACTIONS), value=button_values())
    def clicked(handle: str, action_id: str, value: str) -> None:
        reply = run_action(busy_org, router, handle, action_id, value, now=NOW, platform="teams")
        assert_sound(reply, check_logs)

    with no_errors_logged() as check_logs:
        clicked()
