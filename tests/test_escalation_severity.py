"""Urgency by severity: a policy per severity, levels for some severities only, and SEV4 held to working hours.

Through the router and the tick, with a moved clock, over a real week.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from bot.slack.notifier import SlackNotifier
from bot.tick import run_tick
from escalation.models import Escalation, EscalationEvent
from kpi.definitions import METRIC_NAMES
from store.database import Database
from store.org_file import OrgFileError, apply_org, dump_org, org_document, parse_org
from tests.fake_slack import FakeSlack
from tests.test_escalations import ORG, ask

UTC = timezone.utc
# Monday 2026-12-07 15:00 in Berlin, 09:00 in New York: dana is on billing/primary, hana on billing/secondary.
T0 = datetime(2026, 12, 7, 14, 0, tzinfo=UTC)

POLICY = """      policy:
        sev1:
          repeat: 2
          levels:
            - {notify: [schedule:primary, schedule:secondary], wait: 5m}
            - {notify: [channel], wait: 5m}
        sev4:
          working_hours: true
          levels:
            - {notify: [schedule:primary], wait: 30m}
        default:
          levels:
            - {notify: [schedule:primary], wait: 10m}
            - {notify: [member:gus], wait: 15m, only: [sev2]}
            - {notify: [channel], wait: 15m}
"""

CALENDARS = """calendars:
  - key: berlin-office
    timezone: Europe/Berlin
    hours: ["mon-fri 09:00-17:00"]
"""


def severity_org() -> str:
    start = ORG.index("      policy:\n        repeat: 1")
    end = ORG.index("    - key: tier2")
    text = ORG[:start] + POLICY + ORG[end:]
    text = text.replace("      channels: {slack: CBILL}\n", "      channels: {slack: CBILL}\n      calendar: berlin-office\n", 1)
    return CALENDARS + text


def setup(db: Database) -> None:
    with db.sessions() as s, s.begin():
        apply_org(s, parse_org(severity_org(), METRIC_NAMES))


def escalation(db: Database, number: int) -> Escalation:
    with db.sessions() as s:
        esc = s.get(Escalation, number)
        assert esc is not None
        s.expunge(esc)
        return esc


def events(db: Database, number: int) -> list[tuple[str, list[str], str | None]]:
    with db.sessions() as s:
        rows = s.scalars(select(EscalationEvent).where(EscalationEvent.escalation_id == number).order_by(EscalationEvent.id))
        return [(e.event, list(e.targets), e.note) for e in rows]


def pages(report: object) -> list[str]:
    return sorted(o.recipient for o in report.outcomes if o.kind == "esc_page" and o.status == "sent")  # type: ignore[attr-defined]


async def test_sev1_pages_both_schedules_at_once_and_repeats_faster(db: Database, slack: tuple[FakeSlack, SlackNotifier]) -> None:
    _, notifier = slack
    setup(db)
    out = ask(db, "alice", "/escalate #1 billing sev1 checkout down for everyone", T0)
    assert out["ok"], out
    assert out["data"]["escalation"]["policy"] == "sev1" and sorted(out["data"]["escalation"]["paged"]) == ["dana", "hana"]
    assert "Paged by the SEV1 policy: 2 levels (waits 5m, 5m), 3 rounds" in str(out["reply"].blocks)
    assert pages(await run_tick(db, [notifier], T0)) == ["slack:user:UDANA", "slack:user:UHANA"]
    assert pages(await run_tick(db, [notifier], T0 + timedelta(minutes=5))) == ["slack:channel:CBILL"]
    # Round 2 five minutes later: both schedules again.
    assert pages(await run_tick(db, [notifier], T0 + timedelta(minutes=10))) == ["slack:user:UDANA", "slack:user:UHANA"]
    assert escalation(db, 1).loop == 1


async def test_levels_only_for_some_severities(db: Database) -> None:
    setup(db)
    sev2 = ask(db, "alice", "/escalate #2 billing sev2 invoice wrong", T0)["data"]["escalation"]
    sev3 = ask(db, "alice", "/escalate #3 billing sev3 invoice typo", T0)["data"]["escalation"]
    assert (sev2["policy"], sev3["policy"]) == ("default", "default")
    with db.sessions() as s:
        levels = {e.id: [level["notify"] for level in e.policy["levels"]] for e in s.scalars(select(Escalation))}
    assert levels[1] == [["schedule:primary"], ["member:gus"], ["channel"]]
    assert levels[2] == [["schedule:primary"], ["channel"]]


async def test_sev4_outside_working_hours_is_held_until_the_calendar_opens(db: Database, slack: tuple[FakeSlack, SlackNotifier]) -> None:
    _, notifier = slack
    setup(db)
    saturday = datetime(2026, 12, 12, 21, 0, tzinfo=UTC)  # 22:00 in Berlin
    out = ask(db, "alice", "/escalate #4 billing sev4 wording of the refund policy page", saturday)
    assert out["ok"] and out["data"]["escalation"]["paged"] == []
    text = str(out["reply"].blocks)
    assert "Held outside working hours: level 1 is paged at" in text and "working hours" in text
    assert events(db, 1)[-1][0] == "held" and "Mon 2026-12-14 09:00 Europe/Berlin" in (events(db, 1)[-1][2] or "")
    # Nothing is paged over the weekend, however often the tick runs.
    for hours in (0, 10, 24, 34):
        assert pages(await run_tick(db, [notifier], saturday + timedelta(hours=hours))) == []
    monday = datetime(2026, 12, 14, 8, 0, tzinfo=UTC)  # 09:00 in Berlin
    assert pages(await run_tick(db, [notifier], monday - timedelta(minutes=1))) == []
    # 09:00 on Monday is also the primary's weekly handoff: eli, on call from then, gets the first page.
    assert pages(await run_tick(db, [notifier], monday)) == ["slack:user:UELI"]
    assert [e for e, _, _ in events(db, 1)] == ["created", "held", "paged"]


async def test_sev4_running_into_the_evening_holds_its_next_step_and_a_sev1_does_not(db: Database, slack: tuple[FakeSlack, SlackNotifier]) -> None:
    _, notifier = slack
    setup(db)
    friday = datetime(2026, 12, 11, 15, 50, tzinfo=UTC)  # 16:50 in Berlin
    assert ask(db, "alice", "/escalate #5 billing sev4 small thing", friday)["ok"]
    assert ask(db, "alice", "/escalate #6 billing sev1 big thing", friday)["ok"]
    assert pages(await run_tick(db, [notifier], friday)) == ["slack:user:UDANA", "slack:user:UDANA", "slack:user:UHANA"]
    # Every 5 minutes: the SEV1 moves on (channel, then round 2 ...); at 17:20 Berlin the SEV4's wait is
    # over after hours: its next step is held till Monday 09:00, not taken (it would exhaust it).
    for minutes in (5, 10, 15, 20, 25, 30):
        await run_tick(db, [notifier], friday + timedelta(minutes=minutes))
    sev4 = escalation(db, 1)
    assert (sev4.state, sev4.next_action_at) == ("open", datetime(2026, 12, 14, 8, 0, tzinfo=UTC))
    assert [e for e, _, _ in events(db, 1)] == ["created", "paged", "held"]
    sev1 = escalation(db, 2)
    assert (sev1.state, sev1.loop) == ("exhausted", 2)
    await run_tick(db, [notifier], datetime(2026, 12, 14, 8, 0, tzinfo=UTC))
    assert escalation(db, 1).state == "exhausted"


def test_severity_policies_are_checked_by_line() -> None:
    def problems(policy: str) -> str:
        with pytest.raises(OrgFileError) as caught:
            parse_org(severity_org().replace(POLICY, policy), METRIC_NAMES)
        return str(caught.value)

    assert "only: 'sev9' is not a severity" in problems(POLICY.replace("only: [sev2]", "only: [sev9]"))
    missing = POLICY.replace("        default:\n", "        sev2:\n")
    assert "sev3 has no policy" in problems(missing)
    one = "      policy:\n        levels:\n          - {notify: [schedule:primary], wait: 10m, only: [sev1]}\n"
    assert "no level pages sev2" in problems(one)
    mixed = "      policy:\n        levels: [{notify: [channel]}]\n        sev1: {levels: [{notify: [channel]}]}\n"
    assert "levels" in problems(mixed)
    no_calendar = severity_org().replace("      calendar: berlin-office\n", "", 1)
    with pytest.raises(OrgFileError) as caught:
        parse_org(no_calendar, METRIC_NAMES)
    assert "working_hours needs the queue's calendar" in str(caught.value)
    assert "working_hours must be true or false" in problems(POLICY.replace("working_hours: true", "working_hours: sometimes"))


def test_org_show_writes_severity_policies_back_as_applied(db: Database) -> None:
    setup(db)
    with db.sessions() as s:
        text = dump_org(org_document(s))
    again = parse_org(text, METRIC_NAMES)
    first = parse_org(severity_org(), METRIC_NAMES)
    assert [q.policy for q in again.escalation.queues] == [q.policy for q in first.escalation.queues]
