"""The org file's `sla:` section (refused by line, versioned, shown back) and the policy and due times each ticket keeps.

Tickets get their policy where they come from: an import, a webhook event and
the demo, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select, update

from kpi.definitions import METRIC_NAMES
from kpi.events import apply_event, parse_event
from kpi.importer import import_tickets
from kpi.mapping import Mapping
from kpi.tickets import Ticket
from store.database import Database
from store.org_file import OrgFileError, apply_org, dump_org, org_document, parse_org
from store.sla_policies import SlaPolicy, current
from tests.helpers import FIXTURES

UTC = timezone.utc
T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)
ORG = (FIXTURES / "org.yaml").read_text().replace(
    "org: {name: Acme Support, timezone: UTC}",
    """org: {name: Acme Support, timezone: UTC, calendar: office}
calendars:
  - key: office
    timezone: Europe/Berlin
    hours: ["mon-fri 09:00-17:00"]
    holidays: {dates: ["2026-03-04"]}""",
)
SLA = """
sla:
  - key: urgent
    name: Urgent
    match: {priority: [urgent]}
    first_reply: 1h
    resolution: 1d
    warn_before: 15m
  - key: vip-chat
    name: VIP chat
    match: {channel: [Chat], tag: [VIP], team: [support-emea]}
    first_reply: 10m
    time: calendar
    warn_before: 5m
  - key: standard
    name: Standard
    first_reply: 8h
    next_reply: 4h
    resolution: 3d
"""


def apply(db: Database, text: str, at: datetime = T0) -> list[str]:
    with db.sessions() as s, s.begin():
        result = apply_org(s, parse_org(text, METRIC_NAMES), now=at)
    return [x for x in result.created + result.updated + result.deactivated + result.reactivated if x.startswith("sla")]


def problems(text: str) -> list[str]:
    with pytest.raises(OrgFileError) as refused:
        parse_org(text, METRIC_NAMES, source="org.yaml")
    return refused.value.problems


def test_policies_are_read_in_order_and_shown_back_as_written(db: Database) -> None:
    assert apply(db, ORG + SLA) == ["sla policy urgent v1", "sla policy vip-chat v1", "sla policy standard v1"]
    with db.sessions() as s:
        shown = org_document(s)
        assert [p.key for p in current(s)] == ["urgent", "vip-chat", "standard"]
    assert shown["sla"] == [
        {"key": "urgent", "name": "Urgent", "match": {"priority": ["urgent"]}, "first_reply": "1h", "resolution": "1d", "time": "business", "warn_before": "15m"},
        {"key": "vip-chat", "name": "VIP chat", "match": {"channel": ["chat"], "tag": ["vip"], "team": ["support-emea"]}, "first_reply": "10m", "time": "calendar", "warn_before": "5m"},
        {"key": "standard", "name": "Standard", "first_reply": "8h", "next_reply": "4h", "resolution": "3d", "time": "business", "warn_before": "30m"},
    ]
    # What org show writes applies as it is, changing nothing.
    assert apply(db, dump_org(shown)) == []


def test_a_change_of_what_is_measured_is_a_new_version_and_the_rest_changes_in_place(db: Database) -> None:
    apply(db, ORG + SLA)
    later = T0 + timedelta(days=1)
    assert apply(db, ORG + SLA.replace("first_reply: 1h", "first_reply: 30m"), later) == ["sla policy urgent v2"]
    assert apply(db, ORG + SLA.replace("first_reply: 1h", "first_reply: 30m").replace("name: Standard", "name: Everyone else"), later) == ["sla policy standard v1"]
    with db.sessions() as s:
        urgent = s.scalars(select(SlaPolicy).where(SlaPolicy.key == "urgent").order_by(SlaPolicy.version)).all()
        assert [(p.version, p.first_reply, p.retired_at) for p in urgent] == [(1, "1h", later), (2, "30m", None)]
        assert urgent[1].label == "Urgent (v2)" and urgent[0].label == "Urgent"
    # A file without the section retires every policy; the same policy again comes back.
    assert apply(db, ORG, later) == ["sla policy urgent v2", "sla policy vip-chat v1", "sla policy standard v1"]
    with db.sessions() as s:
        assert current(s) == [] and "sla" not in org_document(s)
    assert apply(db, ORG + SLA.replace("first_reply: 1h", "first_reply: 30m"), later) == [
        "sla policy standard v1", "sla policy urgent v2", "sla policy vip-chat v1", "sla policy standard v1",
    ]  # fmt: skip  (standard's name back in place, then the three reactivated)


def test_every_problem_is_refused_at_its_line() -> None:
    bad = ORG + """
sla:
  - key: Urgent
    name: Urgent
    match: {priority: [urgent, critical], team: [support-emae], tag: ["two words"], chanel: [chat]}
    first_reply: 1.5d
    resolution: soon
    time: office
    warn_before: 2d
  - key: empty
    name: Nothing to meet
    match: {}
  - key: all
    name: All
    first_reply: 90s
  - key: after-all
    name: Too late
    first_reply: 1h
    warn_before: 1h
  - key: all
    name: Again
    first_reply: 2h
    resolution: 3600
"""
    found = problems(bad)
    text = "\n".join(found)
    assert "sla policy 'Urgent': key must be a lowercase slug" in text
    assert "match priority 'critical' is not a priority (low, normal, high, urgent)" in text
    assert "match team 'support-emae' is not a team in this file; did you mean 'support-emea'" in text
    assert "match tag 'two words' is not a tag: one word of letters, digits and _ - . : / + & #" in text
    assert "unknown key 'chanel': did you mean 'channel'?" in text
    assert "first_reply '1.5d' is not a whole number of days; write '36h' instead" in text
    assert "resolution 'soon' is not a duration such as 30m, 8h or 3d" in text
    assert "time 'office' is business (the team's calendar) or calendar (around the clock)" in text
    assert "warn_before '2d'" not in text  # a warning up to 7d ahead is allowed; its targets are refused above
    assert "sla policy 'empty': match names nothing" in text and "sla policy 'empty': needs a target" in text
    assert "'90s'" not in text  # a minute and a half is a target
    assert "sla policy 'after-all': never matches: policy 'all'" in text
    assert "sla policy 'after-all': warn_before '1h' is not shorter than its first_reply target 1h" in text
    assert "sla policy 'all': duplicate policy key" in text
    assert "sla policy 'all': resolution '3600' is not a duration" in text
    assert all(line.startswith("org.yaml:") and line.split(":")[1].isdigit() for line in found), found


def test_hostile_section_shapes_are_refused_not_crashed() -> None:
    for section, message in (
        ("sla: {key: x}", "sla must be a list"),
        ("sla: [x]", "sla[0] must be a mapping"),
        ("sla:\n  - {key: a, name: A, first_reply: 1h, match: [urgent]}", "match must be a mapping"),
        ("sla:\n  - {key: a, name: A, first_reply: 1h, match: {priority: {a: b}}}", "match priority must be a list of 1 to 50 words"),
        ("sla:\n  - {key: a, name: A, first_reply: 1h, match: {channel: \"chat\\u202e\"}}", "holds an invisible formatting character"),
        ("sla:\n" + "".join(f"  - {{key: p{i}, name: P, first_reply: 1h, match: {{tag: [t{i}]}}}}\n" for i in range(51)), "51 policies; at most 50"),
    ):
        assert any(message in p for p in problems(ORG + section)), (section, problems(ORG + section))


def _ticket(db: Database, external_id: str) -> Ticket:
    with db.sessions() as s:
        return s.scalar(select(Ticket).where(Ticket.external_id == external_id))


def _policy_key(db: Database, ticket: Ticket) -> str | None:
    with db.sessions() as s:
        policy = s.get(SlaPolicy, ticket.sla_policy_id) if ticket.sla_policy_id else None
        return f"{policy.key} v{policy.version}" if policy else None


def test_an_import_stamps_new_tickets_and_stored_ones_keep_theirs(db: Database, tmp_path: Path) -> None:
    apply(db, ORG + SLA)
    path = tmp_path / "t.csv"
    path.write_text(
        "external_id,team,priority,channel,tags,created_at\n"
        "1,support-emea,urgent,email,,2026-03-06T15:00:00Z\n"  # Friday 16:00 Berlin, an hour before closing
        "2,support-emea,normal,chat,vip,2026-03-06T15:00:00Z\n"
        "3,support-amer,normal,chat,vip,2026-03-06T15:00:00Z\n"  # not the VIP chat policy's team
        "4,,low,,,2026-03-03T10:00:00Z\n"  # no team: the org's calendar; Wednesday is a holiday
    )
    assert import_tickets(db, path, Mapping.default(), source="csv").inserted == 4
    one, two, three, four = (_ticket(db, str(n)) for n in range(1, 5))
    assert _policy_key(db, one) == "urgent v1"
    assert one.first_reply_due_at == datetime(2026, 3, 6, 16, tzinfo=UTC) and one.resolution_due_at == datetime(2026, 3, 9, 15, tzinfo=UTC)
    assert _policy_key(db, two) == "vip-chat v1"
    assert two.first_reply_due_at == datetime(2026, 3, 6, 15, 10, tzinfo=UTC) and two.resolution_due_at is None  # calendar time
    assert _policy_key(db, three) == "standard v1"
    assert three.first_reply_due_at == datetime(2026, 3, 9, 15, tzinfo=UTC)  # 1 h on Friday, 7 on Monday
    assert three.resolution_due_at == datetime(2026, 3, 11, 15, tzinfo=UTC)  # three working days
    assert four.first_reply_due_at == datetime(2026, 3, 5, 10, tzinfo=UTC)  # Tuesday 11:00 + 8 h, past the holiday
    assert four.resolution_due_at == datetime(2026, 3, 9, 10, tzinfo=UTC)
    # The urgent policy changes; a new ticket gets v2, a re-imported one keeps v1 and its due times.
    apply(db, ORG + SLA.replace("first_reply: 1h", "first_reply: 2h"), T0 + timedelta(days=7))
    path.write_text(
        "external_id,team,priority,channel,tags,created_at\n"
        "1,support-emea,urgent,email,bug,2026-03-06T15:00:00Z\n"
        "5,support-emea,urgent,email,,2026-03-06T15:00:00Z\n"
    )
    result = import_tickets(db, path, Mapping.default(), source="csv")
    assert (result.inserted, result.updated) == (1, 1)
    assert _policy_key(db, _ticket(db, "1")) == "urgent v1" and _ticket(db, "1").first_reply_due_at == one.first_reply_due_at
    assert _policy_key(db, _ticket(db, "5")) == "urgent v2" and _ticket(db, "5").first_reply_due_at == datetime(2026, 3, 9, 9, tzinfo=UTC)


def test_without_policies_nothing_is_stamped(db: Database, tmp_path: Path) -> None:
    apply(db, ORG)
    path = tmp_path / "t.csv"
    path.write_text("external_id,team,priority,created_at\n1,support-emea,urgent,2026-03-06T15:00:00Z\n")
    import_tickets(db, path, Mapping.default(), source="csv")
    t = _ticket(db, "1")
    assert (t.sla_policy_id, t.first_reply_due_at, t.resolution_due_at) == (None, None, None)


def _event(event_id: str, kind: str, at: str, **ticket: object) -> dict[str, object]:
    return {"id": event_id, "type": kind, "source": "hd", "at": at, "ticket": {"external_id": "W-1", **ticket}}


def test_webhook_matches_on_the_created_event_and_times_again_when_creation_moves(db: Database) -> None:
    apply(db, ORG + SLA)
    now = datetime(2026, 3, 9, 12, tzinfo=UTC)

    def send(payload: dict[str, object]) -> None:
        with db.sessions() as s, s.begin():
            apply_event(s, parse_event(payload, now=now), now=now)

    # An assignment arrives before the ticket's `created` event: matched on what it knows...
    send(_event("e1", "assigned", "2026-03-09T09:05:00Z", agent="alice", team="support-emea"))
    assert _policy_key(db, _ticket(db, "W-1")) == "standard v1"
    # ...and again on the `created` event, which carries the ticket's fields.
    send(_event("e0", "created", "2026-03-09T09:00:00Z", priority="urgent", created_at="2026-03-09T09:00:00Z"))
    t = _ticket(db, "W-1")
    assert _policy_key(db, t) == "urgent v1" and t.first_reply_due_at == datetime(2026, 3, 9, 10, tzinfo=UTC)
    # A later `created` event (a helpdesk correcting the ticket) moves its creation, and so its due
    # times; its priority changes the ticket, not the policy it was given.
    send(_event("e2", "created", "2026-03-09T09:10:00Z", priority="low", created_at="2026-03-09T08:30:00Z"))
    t = _ticket(db, "W-1")
    assert _policy_key(db, t) == "urgent v1" and t.priority == "low"
    assert t.created_at == datetime(2026, 3, 9, 8, 30, tzinfo=UTC) and t.first_reply_due_at == datetime(2026, 3, 9, 9, 30, tzinfo=UTC)


def test_an_imported_ticket_keeps_its_policy_when_its_created_event_comes(db: Database, tmp_path: Path) -> None:
    apply(db, ORG + SLA)
    path = tmp_path / "t.csv"
    path.write_text("external_id,team,priority,created_at\nW-1,support-emea,low,2026-03-09T09:00:00Z\n")
    import_tickets(db, path, Mapping.default(), source="hd")
    apply(db, ORG + SLA.replace("first_reply: 8h", "first_reply: 4h"), T0 + timedelta(days=9))
    now = datetime(2026, 3, 9, 12, tzinfo=UTC)
    with db.sessions() as s, s.begin():
        apply_event(s, parse_event(_event("e0", "created", "2026-03-09T09:00:00Z", priority="low"), now=now), now=now)
    assert _policy_key(db, _ticket(db, "W-1")) == "standard v1"


def test_a_policy_change_marks_the_days_the_tickets_count_in(db: Database, tmp_path: Path) -> None:
    """The day-facts trigger watches the SLA columns: a ticket whose due times change is recounted."""
    from kpi.day_facts import DirtyDay, refresh_database

    apply(db, ORG + SLA)
    path = tmp_path / "t.csv"
    path.write_text("external_id,team,priority,created_at\n1,support-emea,urgent,2026-03-06T15:00:00Z\n")
    import_tickets(db, path, Mapping.default(), source="csv")
    refresh_database(db)
    with db.sessions() as s, s.begin():
        s.execute(update(Ticket).values(first_reply_due_at=datetime(2026, 3, 9, 9, tzinfo=UTC)))
    with db.sessions() as s:
        assert s.scalars(select(DirtyDay.day)).all()


def test_the_demo_has_policies_per_priority_and_every_ticket_one(db: Database) -> None:
    from bot.demo import seed_demo

    seed_demo(db, now=datetime(2026, 11, 20, 12, tzinfo=UTC), tickets=500, days=10)
    with db.sessions() as s:
        policies = current(s)
        assert policies and yaml.safe_load(dump_org(org_document(s)))["sla"]
        tickets = s.scalars(select(Ticket)).all()
        assert tickets and all(t.sla_policy_id is not None and t.first_reply_due_at is not None for t in tickets)
