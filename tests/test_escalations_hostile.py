"""What a hostile or careless user found in escalations, kept fixed: every answer is a clear refusal, never a crash."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from bot.config import ConfigError, load_settings
from bot.dispatch import run_action
from bot.escalations import sweep
from escalation.models import Escalation, EscalationEvent
from kpi.definitions import METRIC_NAMES
from store.database import Database
from store.org_file import OrgFileError, parse_org
from store.outbox import OutboxRow
from tests.test_escalations import ORG, ROUTER, T0, ask, setup


def code(out: dict) -> str | None:  # type: ignore[type-arg]
    reply = out["reply"]
    return reply.error.code if reply.error else None


def test_a_rotation_start_out_of_this_century_is_refused_by_line() -> None:
    for start in ("0001-01-01T00:00", "9999-12-31T23:00"):
        with pytest.raises(OrgFileError) as refused:
            parse_org(ORG.replace("2026-01-05T09:00", start, 1), METRIC_NAMES)
        assert any("the year must be from 2000 to 2099" in p for p in refused.value.problems)


def test_one_broken_escalation_does_not_hold_up_the_sweep(db: Database) -> None:
    setup(db)
    for n in range(3):
        assert ask(db, "alice", f"/escalate #{n} refund {n}", T0)["ok"]
    with db.sessions() as s, s.begin():
        # A policy snapshot nobody foresaw: its levels have no wait.
        broken = {"levels": [{"notify": ["member:gus"], "how": "all"}, {"notify": ["member:gus"], "how": "all"}]}
        s.execute(update(Escalation).where(Escalation.id == 2).values(policy=broken))
    assert sweep(db, T0 + timedelta(minutes=10)) == 2
    with db.sessions() as s:
        levels = {e.id: (e.level, e.next_action_at) for e in s.scalars(select(Escalation))}
    assert levels[1][0] == levels[3][0] == 1
    assert levels[2] == (0, T0 + timedelta(minutes=11))  # left as it was, tried again a minute later


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/oncall cover @dana billing 9999-12-30..9999-12-31", "usage"),
        ("/oncall cover @dana billing 2099-12-31T20:00..2099-12-31T23:00", "invalid"),
        ("/oncall cover @dana billing 99999d", "usage"),
        ("/oncall cover @dana billing 9999d", "invalid"),
        ("/oncall uncover ²", "usage"),
        ("/oncall uncover 99999999999", "usage"),
        ("/oncall schedule billing 999d", "usage"),
        ("/escalation ESC-99999999999", "usage"),
    ],
)
def test_out_of_range_input_is_refused_not_crashed(db: Database, text: str, expected: str) -> None:
    setup(db)
    assert code(ask(db, "dana", text, T0)) == expected


@pytest.mark.parametrize("value", ['{"id": 1, "for": []}', '{"id": 1, "for": {}}', '{"id": true}', '{"id": "1"}', "[]", "nope"])
def test_forged_snooze_buttons_are_refused(db: Database, value: str) -> None:
    setup(db)
    assert ask(db, "alice", "/escalate #1 refund", T0)["ok"]
    reply = run_action(db, ROUTER, "dana", "esc.snooze", value, now=T0, platform="slack")
    assert reply.error is not None and reply.error.code == "usage"


def test_forged_forms_keep_only_what_is_safe(db: Database) -> None:
    setup(db)
    bad_id = json.dumps({"context": True, "values": {"note": "x"}})
    assert run_action(db, ROUTER, "root", "esc.resolve_form", bad_id, now=T0, platform="slack").error.code == "usage"  # type: ignore[union-attr]
    form = json.dumps(
        {"context": json.dumps({"source_url": "javascript:alert(1)"}), "values": {"ticket": "#5", "queue": "", "severity": "", "reason": "billing"}}
    )
    reply = run_action(db, ROUTER, "alice", "escalate.form", form, now=T0, platform="slack")
    assert reply.ok and reply.data["escalation"]["reason"] == "billing"  # the reason, not read as a queue
    with db.sessions() as s:
        assert s.scalar(select(Escalation.source_url)) is None
    long_url = "https://helpdesk.example.com/" + "a" * 900
    out = ask(db, "alice", f"/escalate {long_url} refund stuck", T0)
    assert out["ok"] and len(out["data"]["escalation"]["ticket"]) <= 200 and out["data"]["escalation"]["ticket_url"] == long_url


def test_reassigning_to_someone_unreachable_is_refused_and_coming_back_to_a_queue_pages_again(db: Database) -> None:
    setup(db)
    assert ask(db, "alice", "/escalate #6 refund stuck", T0)["ok"]
    refused = ask(db, "lena", "/escalation reassign ESC-1 @ivan", T0)
    assert code(refused) == "invalid" and "cannot page" in refused["error"]
    assert code(ask(db, "lena", "/escalation reassign ESC-1 billing", T0)) == "invalid"  # already there
    assert ask(db, "lena", "/escalation reassign ESC-1 tier2", T0 + timedelta(minutes=1))["ok"]
    assert ask(db, "lena", "/escalation reassign ESC-1 billing", T0 + timedelta(minutes=2))["ok"]
    with db.sessions() as s:
        dana = [r.occurrence for r in s.scalars(select(OutboxRow).where(OutboxRow.kind == "esc_page", OutboxRow.recipient == "slack:user:UDANA"))]
        notes = [(r.recipient, r.occurrence) for r in s.scalars(select(OutboxRow).where(OutboxRow.kind == "esc_note"))]
        reassigned = [e.id for e in s.scalars(select(EscalationEvent).where(EscalationEvent.event == "reassigned"))]
    assert len(dana) == 2 and len(set(dana)) == 2  # paged again on coming back, not silently dropped
    # The billing thread hears that it went to tier2; tier2's thread that it went back.
    assert ("slack:channel:CBILL", f"e{reassigned[0]}") in notes and ("slack:channel:CTIER2", f"e{reassigned[1]}") in notes


def test_a_policy_that_reaches_nobody_gives_up_after_one_round(db: Database) -> None:
    levels = "\n".join("          - {notify: [member:ivan, member:root], wait: 5m}" for _ in range(20))
    text = ORG.replace(
        """        levels:
          - {notify: [member:eli, member:fay], how: round_robin, wait: 5m}""",
        f"""        repeat: 10
        levels:
{levels}""",
    )
    setup(db, text)
    out = ask(db, "alice", "/escalate #9 tier2 the app is down", T0)
    assert out["ok"] and out["data"]["escalation"]["state"] == "exhausted"
    with db.sessions() as s:
        kinds = [e.event for e in s.scalars(select(EscalationEvent))]
        notes = s.scalar(select(EscalationEvent.note).where(EscalationEvent.event == "exhausted"))
    assert kinds.count("nobody") == 20 and "nobody could be reached" in (notes or "")


def test_the_snooze_line_names_no_utc_time(db: Database) -> None:
    setup(db)
    assert ask(db, "alice", "/escalate #3 refund", T0)["ok"]
    assert ask(db, "dana", "/escalation snooze ESC-1 1h", T0)["ok"]
    shown = ask(db, "alice", "/escalation ESC-1", T0)
    assert "+00:00" not in json.dumps([b for b in shown["reply"].to_neutral() if b["type"] == "table"])


def test_a_ticket_url_template_that_cannot_be_filled_is_refused_at_start_up(monkeypatch: pytest.MonkeyPatch, db: Database) -> None:
    with pytest.raises(ConfigError):
        load_settings({"TICKET_URL_TEMPLATE": "https://helpdesk.example.com/t/{id}?x=}"})
    assert load_settings({"TICKET_URL_TEMPLATE": "https://acme.zendesk.com/agent/tickets/{id}"}).ticket_url_template
    setup(db)
    monkeypatch.setenv("TICKET_URL_TEMPLATE", "https://helpdesk.example.com/t/{id}?x=}")  # set behind csbot's back
    assert ask(db, "alice", "/escalate #12 refund", T0)["ok"]
    monkeypatch.setenv("TICKET_URL_TEMPLATE", "https://acme.zendesk.com/agent/tickets/{id}")
    linked = ask(db, "alice", "/escalate #13 refund", T0)["data"]["escalation"]
    assert linked["ticket_url"] == "https://acme.zendesk.com/agent/tickets/13"


def test_someone_paged_earlier_may_still_take_it_and_a_number_is_not_a_window(db: Database) -> None:
    kim = "  - {handle: kim, name: Kim Agent, team: support, role: agent, slack_id: UKIM}\n"
    setup(db, ORG.replace("  - {handle: root,", kim + "  - {handle: root,"))
    assert ask(db, "alice", "/escalate #31 refund", T0)["ok"]
    assert code(ask(db, "kim", "/escalation ack ESC-1", T0)) == "forbidden"  # no specialist, not paged
    assert ask(db, "dana", "/escalation reassign ESC-1 @kim", T0 + timedelta(minutes=1))["ok"]
    sweep(db, T0 + timedelta(minutes=20))  # kim did not answer: the policy moved on to its next level
    # kim, paged earlier, may still take it.
    assert ask(db, "kim", "/escalation ack ESC-1", T0 + timedelta(minutes=21))["ok"]
    number = ask(db, "lena", "/escalation reassign ESC-1 5", T0 + timedelta(minutes=22))
    assert code(number) == "not_found" and "window" not in number["error"]
