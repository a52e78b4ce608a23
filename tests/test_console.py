"""The console in-process: forms asked line by line, buttons, identity switching."""

from __future__ import annotations

import io
from datetime import datetime, timezone

from bot.console import Console
from handlers.registry import build_router
from store.database import Database
from tests.forms import feedback_router
from tests.helpers import apply_fixture_org

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc)


def run(db: Database, lines: str) -> str:
    out = io.StringIO()
    Console(db, feedback_router(build_router()), "alice", lambda: NOW, out).run(io.StringIO(lines))
    return out.getvalue()


def test_a_form_is_asked_field_by_field_and_errors_ask_again(db: Database) -> None:
    apply_fixture_org(db)
    out = run(db, "/feedback\n\nsome details\nBilling\n/csbot whoami\n")
    assert "Topic: " in out and "Details (optional): " in out
    assert "topic: Say what the feedback is about." in out
    assert "Got: Billing (from-command)" in out
    assert "You are Alice Smith" in out  # the console goes on after the form


def test_an_abandoned_form_says_so(db: Database) -> None:
    apply_fixture_org(db)
    assert "Form abandoned." in run(db, "/feedback\nOnly a topic")
