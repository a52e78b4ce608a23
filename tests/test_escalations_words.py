"""`/escalate`, `/escalation` and `/oncall` as people type them: a severity or queue that is not one is never read as the reason, and every closed vocabulary suggests what was meant."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.dispatch import run_action
from escalation.models import Escalation
from store.database import Database
from tests.test_escalations import ROUTER, T0, ask, setup


def opened(db: Database) -> int:
    with db.sessions() as s:
        return s.scalar(select(func.count()).select_from(Escalation)) or 0


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("/escalate T-78 sev5 customer charged twice", ["'sev5' is not a severity", "sev4 (low)", "/escalate T-78 sev2 customer charged twice", "quotes"]),
        ("/escalate T-78 billing SEV0 customer charged twice", ["'SEV0' is not a severity", "/escalate T-78 billing sev2 customer charged twice"]),
        ("/escalate T-78 p1 site down", ["'p1' is not a severity", "Did you mean sev1?", "/escalate T-78 sev1 site down"]),
        ("/escalate T-78 sve2 refund stuck", ["'sve2' is not a severity", "Did you mean sev2?"]),
        ("/escalate T-78 sev 9 refund stuck", ["'sev 9' is not a severity"]),
        ("/escalate T-78 sev2 sev3 refund stuck", ["Two severities, sev2 and sev3"]),
        ("/escalate T-79 payments sev2 customer charged twice", ["no queue called 'payments'", "Queues: billing, tier2", "/escalate T-79 sev2 customer charged twice"]),
        ("/escalate T-79 biling sev2 customer charged twice", ["no queue called 'biling'", "Did you mean billing?"]),
        ("/escalate T-79 billing payments sev2 customer charged twice", ["'payments' stands between", "/escalate T-79 billing sev2 payments customer charged twice"]),
        ("/escalate T-79 payments sev7 customer charged twice", ["no queue called 'payments'", "Nor is the word after it a severity"]),
    ],
)
def test_a_word_that_looks_like_a_severity_or_a_queue_but_is_none_is_refused_and_nothing_opens(db: Database, text: str, said: list[str]) -> None:
    setup(db)
    out = ask(db, "alice", text, T0)
    assert not out["ok"] and out["reply"].error.code == "usage", out
    for part in said:
        assert part in out["error"], (part, out["error"])
    assert opened(db) == 0


@pytest.mark.parametrize("words", ["sev2", "SEV2", "sev-2", "Sev_2", "severity2", "sev 2"])
def test_the_usual_spellings_of_a_severity_are_that_severity(db: Database, words: str) -> None:
    setup(db)
    out = ask(db, "alice", f"/escalate T-80 billing {words} refund stuck", T0)
    assert out["ok"] and out["data"]["escalation"]["severity"] == "sev2" and out["data"]["escalation"]["reason"] == "refund stuck", out
    after = ask(db, "alice", f"/escalate T-81 {words} billing refund stuck", T0)["data"]["escalation"]
    assert (after["severity"], after["queue"], after["reason"]) == ("sev2", "billing", "refund stuck")


def test_a_misspelt_queue_is_asked_about_in_the_form_with_everything_kept(db: Database) -> None:
    setup(db)
    out = ask(db, "alice", "/escalate T-82 sev1 biling charged twice, card blocked", T0)
    assert out["ok"] and opened(db) == 0
    form = out["reply"].form
    assert form is not None
    initial = {f.name: f.initial for f in form.fields}
    assert initial == {"ticket": "T-82", "queue": "billing", "severity": "sev1", "reason": "biling charged twice, card blocked"}
    assert "'biling' is not a queue: did you mean billing?" in json.dumps([b.text for b in out["reply"].blocks if hasattr(b, "text")])
    # Ordinary first words of a reason are not taken for queues, however close difflib finds them.
    for n, reason in enumerate(["the customer was charged twice", "still no refund", "login fails after refund", "a refund is stuck"]):
        plain = ask(db, "alice", f"/escalate T-9{n} {reason}", T0)
        assert plain["ok"] and plain["reply"].form is None and plain["data"]["escalation"]["reason"] == reason, (reason, plain)
    # Quoted, a reason may start with anything.
    quoted = ask(db, "alice", '/escalate T-83 "sev5 reproduced" on the new app', T0)
    assert quoted["ok"] and quoted["data"]["escalation"]["reason"] == "sev5 reproduced on the new app"


def test_the_form_reads_a_spelled_severity_and_suggests_for_a_wrong_one(db: Database) -> None:
    setup(db)

    def submit(severity: str) -> object:
        value = json.dumps({"context": "{}", "values": {"ticket": "T-84", "queue": "", "severity": severity, "reason": "refund stuck"}})
        return run_action(db, ROUTER, "alice", "escalate.form", value, now=T0, platform="slack")

    wrong = submit("sevv2")
    assert not wrong.ok and "Did you mean sev2?" in wrong.data["field_errors"]["severity"] and opened(db) == 0
    right = submit("SEV-2")
    assert right.ok and right.data["escalation"]["severity"] == "sev2"


@pytest.mark.parametrize(
    ("who", "text", "said"),
    [
        ("lena", "/escalation ak ESC-1", "Did you mean ack"),
        ("lena", "/escalation resolv ESC-1 done", "Did you mean resolve"),
        ("lena", "/escalation lst", "Did you mean list"),
        ("lena", "/escalation list mien", "Did you mean mine"),
        ("lena", "/escalation snooze ESC-1 15min", "Did you mean 15m"),
        ("lena", "/oncall schedual billing", "Did you mean schedule"),
        ("lena", "/oncall covr @dana billing 2h", "Did you mean cover"),
        ("lena", "/oncall schedule billing/primry", "Did you mean primary"),
        ("lena", "/oncall biling", "Did you mean billing"),
    ],
)
def test_did_you_mean_for_subcommands_filters_snoozes_schedules_and_queues(db: Database, who: str, text: str, said: str) -> None:
    setup(db)
    assert ask(db, "alice", "/escalate #5 refund stuck", T0)["ok"]
    out = ask(db, who, text, T0 + timedelta(minutes=1))
    assert not out["ok"] and said in out["error"], out


def test_reassigning_to_the_current_owner_says_so_and_changes_nothing(db: Database) -> None:
    from escalation.models import EscalationEvent
    from store.outbox import OutboxRow

    setup(db)
    assert ask(db, "alice", "/escalate #6 refund stuck", T0)["ok"]
    assert ask(db, "dana", "/escalation ack ESC-1", T0 + timedelta(minutes=1))["ok"]

    def state() -> tuple[int, int, int]:
        with db.sessions() as s:
            esc = s.get(Escalation, 1)
            assert esc is not None
            events = s.scalar(select(func.count()).select_from(EscalationEvent)) or 0
            return events, s.scalar(select(func.count()).select_from(OutboxRow)) or 0, esc.version

    before = state()
    again = ask(db, "lena", "/escalation reassign ESC-1 @dana", T0 + timedelta(minutes=2))
    assert not again["ok"] and "Dana Specialist already owns ESC-1; nothing changed." in again["error"]
    herself = ask(db, "dana", "/escalation reassign ESC-1 dana", T0 + timedelta(minutes=2))
    assert not herself["ok"] and "already owns" in herself["error"]
    form = json.dumps({"context": "1", "values": {"to": "@dana"}})
    clicked = run_action(db, ROUTER, "lena", "esc.reassign_form", form, now=T0 + timedelta(minutes=2), platform="slack")
    assert not clicked.ok and "already owns" in clicked.data["field_errors"]["to"]
    assert state() == before
    shown = ask(db, "lena", "/escalation ESC-1", T0 + timedelta(minutes=3))["data"]["escalation"]
    assert (shown["state"], shown["owner"]) == ("acknowledged", "dana") and [e["event"] for e in shown["timeline"]] == ["created", "paged", "acknowledged"]
    # Someone else is a handover as before.
    assert ask(db, "lena", "/escalation reassign ESC-1 @eli", T0 + timedelta(minutes=4))["ok"]
