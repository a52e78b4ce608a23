"""The console in-process: forms asked line by line, buttons numbered as shown after a click, shared answers, identity switching."""

from __future__ import annotations

import io
from datetime import datetime, timezone

from sqlalchemy import func, select

from bot.console import SHARED_NOTE, Console
from coaching.models import CoachingAction
from escalation.models import Escalation
from handlers.registry import build_router
from kpi.definitions import METRIC_NAMES
from store.database import Database
from store.org_file import apply_org, parse_org
from tests.forms import feedback_router
from tests.helpers import FIXTURES, apply_fixture_org

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


ESCALATION = """
escalation:
  queues:
    - key: billing
      name: Billing specialists
      schedules:
        - key: primary
          timezone: Europe/Berlin
          layers:
            - {members: [carol], shift: 1d, start: "2026-01-01T00:00"}
      policy:
        levels:
          - {notify: [schedule:primary], wait: 10m}
"""


def with_escalations(db: Database) -> None:
    text = (FIXTURES / "org.yaml").read_text() + ESCALATION
    with db.sessions() as s, s.begin():
        apply_org(s, parse_org(text, METRIC_NAMES))


def test_a_click_answered_without_buttons_leaves_the_clicked_messages_buttons_as_numbered(db: Database) -> None:
    with_escalations(db)
    out = run(db, "/escalate #4711 charged twice\n:as bob\n/escalation ESC-1\n:as alice\n:click 1\n:as bob\n:click 4\n")
    # Alice may not acknowledge: told so, and the page she clicked keeps its five buttons, numbered as before.
    assert "may acknowledge it." in out
    assert "The message you clicked keeps its buttons: [1] Acknowledge  [2] Resolve  [3] Reassign  [4] Snooze 15m  [5] Snooze 1h" in out
    # So button 4 is still Snooze 15m, which bob (a lead) may press.
    assert "ESC-1 is snoozed" in out and "Type :click" not in out and "has no buttons" not in out
    with db.sessions() as s:
        assert s.scalars(select(Escalation.snoozes)).one() == 1


def test_buttons_are_numbered_as_the_replacing_answer_shows_them(db: Database) -> None:
    apply_fixture_org(db)
    out = run(db, ':as bob\n/coach session @alice strengths=calm actions="one; two; three" follow_up=14d\n:click 1\n:click 1\n:click 1\n:click 1\n')
    assert "Actions: [1] Done: [1]  [2] Done: [2]  [3] Done: [3]" in out
    assert "Actions: [1] Done: [2]  [2] Done: [3]" in out and "Actions: [1] Done: [3]" in out
    with db.sessions() as s:
        assert s.scalar(select(func.count()).select_from(CoachingAction).where(CoachingAction.done_at.is_not(None))) == 3
    assert out.rstrip().endswith("The last reply has no buttons.")  # every item ticked off: no Done button left


def test_a_shared_answer_says_where_it_went(db: Database) -> None:
    apply_fixture_org(db)
    out = run(db, "/kpi team --share\n")
    assert out.count(SHARED_NOTE) == 1
    out = run(db, "/kpi team\n:click 1\n")  # Share in channel
    assert out.count(SHARED_NOTE) == 1 and out.index("Actions: [1] Share in channel") < out.index(SHARED_NOTE)
    assert SHARED_NOTE not in run(db, "/kpi team\n:click 2\n")  # Previous window: still only for you
    assert SHARED_NOTE not in run(db, "/kpi agents --share\n")  # refused: nothing was shared
