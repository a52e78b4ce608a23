"""`csbot org apply` / `org show`: validation by line, idempotence, deactivation, round trip."""

from __future__ import annotations

import pytest
import yaml
from sqlalchemy import func, select

from kpi.definitions import METRIC_NAMES
from store.database import Database
from store.org import Member, Org, Team
from store.org_file import OrgFileError, apply_org, dump_org, org_document, parse_org, weekdays


def apply_text(db: Database, text: str):  # type: ignore[no-untyped-def]
    spec = parse_org(text, METRIC_NAMES)
    with db.sessions() as s, s.begin():
        return apply_org(s, spec)


def snapshot(db: Database) -> list[tuple]:
    with db.sessions() as s:
        teams = [
            (t.key, t.name, t.timezone, t.slack_channel, t.teams_channel, t.digest_time, t.digest_days, t.targets, t.active)
            for t in s.scalars(select(Team).order_by(Team.key))
        ]
        members = [
            (m.handle, m.name, m.email, m.slack_id, m.teams_id, m.team_id, m.role, m.timezone, m.active)
            for m in s.scalars(select(Member).order_by(Member.handle))
        ]
        org = s.get(Org, 1)
        return [(org.name, org.timezone) if org else None, teams, members]


def test_apply_creates_everything(db: Database, org_yaml: str) -> None:
    result = apply_text(db, org_yaml)
    assert "team support-emea" in result.created and "member alice" in result.created
    with db.sessions() as s:
        alice = s.scalar(select(Member).where(Member.handle == "alice"))
        assert alice.team.key == "support-emea" and alice.role == "agent"
        assert alice.slack_id == "U0123ABCD" and alice.teams_id == "8f0c2a1e-0000-4000-8000-000000000001"
        emea = s.scalar(select(Team).where(Team.key == "support-emea"))
        assert emea.targets == {"first_reply_median_s": 3600, "csat": 0.9, "reopen_rate": 0.05}
        assert emea.digest_time == "09:00" and emea.digest_days == "mon-fri"
        assert emea.teams_channel == "19:abc@thread.tacv2"
        root = s.scalar(select(Member).where(Member.handle == "root"))
        assert root.team is None and root.role == "admin"
        assert s.get(Org, 1).name == "Acme Support"


def test_apply_is_idempotent(db: Database, org_yaml: str) -> None:
    apply_text(db, org_yaml)
    before = snapshot(db)
    again = apply_text(db, org_yaml)
    assert not again.changed, again.summary()
    assert snapshot(db) == before


def test_missing_members_are_deactivated_not_deleted_and_come_back(db: Database, org_yaml: str) -> None:
    apply_text(db, org_yaml)
    doc = yaml.safe_load(org_yaml)
    doc["members"] = [m for m in doc["members"] if m["handle"] != "carol"]
    doc["teams"][1]["name"] = "Support Americas East"
    result = apply_text(db, dump_org(doc))
    assert result.deactivated == ["member carol"]
    assert result.updated == ["team support-amer"]
    with db.sessions() as s:
        carol = s.scalar(select(Member).where(Member.handle == "carol"))
        assert carol is not None and carol.active is False
        assert s.scalar(select(func.count()).select_from(Member)) == 5
    result = apply_text(db, org_yaml)
    assert "member carol" in result.reactivated


def test_chat_ids_can_move_between_members(db: Database, org_yaml: str) -> None:
    apply_text(db, org_yaml)
    doc = yaml.safe_load(org_yaml)
    by_handle = {m["handle"]: m for m in doc["members"]}
    by_handle["alice"]["slack_id"], by_handle["bob"]["slack_id"] = by_handle["bob"]["slack_id"], by_handle["alice"]["slack_id"]
    apply_text(db, dump_org(doc))
    with db.sessions() as s:
        ids = dict(s.execute(select(Member.handle, Member.slack_id)).all())
    assert ids["alice"] == "U0123ABCE" and ids["bob"] == "U0123ABCD"


def test_show_round_trips(db: Database, org_yaml: str) -> None:
    apply_text(db, org_yaml)
    with db.sessions() as s:
        shown = dump_org(org_document(s))
    assert yaml.safe_load(shown) == yaml.safe_load(org_yaml)
    result = apply_text(db, shown)
    assert not result.changed


BAD = """\
org: {name: Acme, timezone: UTC}
teams:
  - key: support
    name: Support
    timezone: Europe/Berlinn
    targets: {csat: 0.9, happiness: 3}
  - key: support
    name: Support again
    timezone: UTC
members:
  - handle: alice
    name: Alice
    team: support
    role: agent
  - handle: alice
    name: Alice Two
    team: supprt
    role: superstar
  - handle: Bob Smith
    name: Bob
    timezone: Moon/Base
    email: not-an-email
"""


def test_wrong_file_lists_every_problem_by_line_and_changes_nothing(db: Database, org_yaml: str) -> None:
    apply_text(db, org_yaml)
    before = snapshot(db)
    with pytest.raises(OrgFileError) as info:
        parse_org(BAD, METRIC_NAMES, source="bad.yaml")
    problems = info.value.problems
    expected = [
        ("bad.yaml:5:", "unknown time zone 'Europe/Berlinn'"),
        ("bad.yaml:6:", "unknown target 'happiness'"),
        ("bad.yaml:7:", "duplicate team key"),
        ("bad.yaml:15:", "duplicate handle 'alice'"),
        ("bad.yaml:17:", "unknown team 'supprt'"),
        ("bad.yaml:18:", "unknown role 'superstar'"),
        ("bad.yaml:19:", "handle must be a lowercase slug"),
        ("bad.yaml:21:", "unknown time zone 'Moon/Base'"),
        ("bad.yaml:22:", "is not an email address"),
    ]
    for prefix, fragment in expected:
        assert any(p.startswith(prefix) and fragment in p for p in problems), (prefix, fragment, problems)
    assert len(problems) == len(expected), problems
    assert snapshot(db) == before


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "the file is empty"),
        ("- just\n- a list\n", "must be a mapping"),
        ("teams: [\n", "not valid YAML"),
        ("org: {name: A}\nteam: []\n", "unknown key 'team'"),
        ("teams:\n  - {key: a, name: A, timezone: UTC, tz: UTC}\n", "unknown key 'tz'"),
        ("teams:\n  - {key: a, name: A, timezone: UTC, digest: {time: '25:00'}}\n", "is not HH:MM"),
        ("teams:\n  - {key: a, name: A, timezone: UTC, digest: {time: '09:00', days: mon-funday}}\n", "digest days"),
        ("teams:\n  - {key: a, name: A, timezone: UTC, targets: {csat: high}}\n", "must be a non-negative number"),
        ("members:\n  - {handle: a, name: A, slack_id: U1}\n  - {handle: b, name: B, slack_id: U1}\n", "duplicate slack_id"),
        ("members:\n  - {handle: a, name: A, email: X@e.com}\n  - {handle: b, name: B, email: x@E.com}\n", "duplicate email"),
        ("members:\n  - {handle: a}\n", "'name' is required"),
        ("members:\n  - {handle: no, name: A}\n", "must be text"),
    ],
)
def test_each_kind_of_problem(text: str, fragment: str) -> None:
    with pytest.raises(OrgFileError) as info:
        parse_org(text, METRIC_NAMES)
    assert any(fragment in p for p in info.value.problems), info.value.problems


def test_unquoted_digest_time_is_understood() -> None:
    # YAML 1.1 reads 9:30 as the integer 570; the file still means half past nine.
    spec = parse_org("teams:\n  - {key: a, name: A, timezone: UTC, digest: {time: 9:30}}\n", METRIC_NAMES)
    assert spec.teams[0].digest_time == "09:30"


def test_weekdays() -> None:
    assert weekdays("mon-fri") == [0, 1, 2, 3, 4]
    assert weekdays("mon,wed,fri") == [0, 2, 4]
    assert weekdays("sat-sun") == [5, 6]
    assert weekdays("daily") == list(range(7))
    with pytest.raises(ValueError):
        weekdays("fri-mon")


def test_values_longer_than_their_columns_are_refused_by_line() -> None:
    text = "members:\n  - handle: a\n    name: A\n    slack_id: " + "U" * 40 + "\n  - handle: b\n    name: " + "B" * 250 + "\n"
    with pytest.raises(OrgFileError) as info:
        parse_org(text, METRIC_NAMES, source="long.yaml")
    assert any(p.startswith("long.yaml:4:") and "slack_id" in p and "at most 32" in p for p in info.value.problems)
    assert any(p.startswith("long.yaml:6:") and "'name'" in p and "at most 200" in p for p in info.value.problems)
