"""`csbot org apply` / `org show`: validation by line, idempotence, deactivation, round trip."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from kpi.definitions import METRIC_NAMES
from store.database import Database
from store.org import Member, Org, Team
from store.org_file import OrgFileError, apply_org, dump_org, org_document, parse_org, weekdays
from tests.helpers import assert_no_traceback, in_clean_directory


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


# ---------------------------------------------------------------- hostile files

# "Billion laughs": nine levels of nine aliases each is 9**9 (387 million) leaves
# once expanded; one repr of it in an error message never finishes.
ALIAS_BOMB = (
    'l0: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n'
    + "".join(f"l{n}: &{name} [{', '.join(['*' + prev] * 9)}]\n" for n, (prev, name) in enumerate(zip("abcdefgh", "bcdefghi"), 1))
    + "org: {name: Acme, timezone: *i}\n"
)


def problems_of(text: str, source: str = "org.yaml") -> list[str]:
    with pytest.raises(OrgFileError) as info:
        parse_org(text, METRIC_NAMES, source=source)
    problems = info.value.problems
    assert problems and all(isinstance(p, str) and "\n" not in p for p in problems), problems
    return problems


def test_an_alias_bomb_is_refused_at_once_without_expanding_it() -> None:
    started = time.perf_counter()
    problems = problems_of(ALIAS_BOMB)
    assert time.perf_counter() - started < 1.0
    # One problem per line that uses an alias, the first on line 2; nothing else (no follow-on problems).
    assert problems[0].startswith("org.yaml:2: ") and "anchors and aliases" in problems[0], problems
    assert "write the value out" in problems[0]
    assert [p.split(":")[1] for p in problems] == [str(n) for n in range(2, 11)], problems
    assert sum(len(p) for p in problems) < 2_000


@pytest.mark.parametrize(
    ("text", "line", "first"),
    [
        ("org: {name: Acme, timezone: UTC}\nteams: []\norg: {name: Evil, timezone: UTC}\n", 3, 1),
        ("teams:\n  - key: a\n    name: A\n    timezone: UTC\n    name: B\n", 5, 3),
        (
            "members:\n  - handle: mallory\n    name: Mallory\n    role: agent\n    email: m@example.com\n    role: admin\n",
            6,
            4,
        ),
        ("teams:\n  - key: a\n    name: A\n    timezone: UTC\n    targets: {csat: 0.9,\n      csat: 0.1}\n", 6, 5),
        ("members:\n  - {handle: a, name: A, 'role': agent, \"role\": admin}\n", 2, 2),
    ],
    ids=["top-level", "team", "member-role", "targets", "quoted-keys"],
)
def test_a_duplicate_key_is_refused_naming_both_lines(text: str, line: int, first: int) -> None:
    problems = problems_of(text)
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"org.yaml:{line}: duplicate key "), problems
    assert f"line {first}" in problems[0], problems


@pytest.mark.parametrize(
    "text",
    [
        "members:\n  - handle: a\n    name: A\n    ? [x, y]\n    : agent\n",
        "members:\n  - {handle: a, name: A, [x, y]: agent}\n",
        "members:\n  - {handle: a, name: A, {x: 1}: agent}\n",
    ],
    ids=["block-list-key", "flow-list-key", "mapping-key"],
)
def test_a_key_that_is_not_plain_text_is_refused(text: str) -> None:
    problems = problems_of(text)
    assert len(problems) == 1 and "a key must be plain text" in problems[0], problems
    assert problems[0].startswith(("org.yaml:2:", "org.yaml:4:")), problems


@pytest.mark.parametrize(
    "text",
    [
        "members: " + "[" * 10_000 + "]" * 10_000 + "\n",
        "members: " + "{a: " * 10_000 + "1" + "}" * 10_000 + "\n",
        "members: " + "[" * 10_000 + "\n",  # never closed
    ],
    ids=["lists", "mappings", "unclosed"],
)
def test_deep_nesting_is_refused_before_recursion_can_blow_up(text: str) -> None:
    started = time.perf_counter()
    problems = problems_of(text)
    assert time.perf_counter() - started < 1.0
    assert len(problems) == 1 and problems[0].startswith("org.yaml:1: ") and "nested more than 24 levels" in problems[0], problems


@pytest.mark.parametrize(
    ("field", "written", "line"),
    [
        ("slack_id: 0777", "0777", 3),
        ("teams_id: 0x1F", "0x1F", 3),
        ("email: yes", "yes", 3),
        ("timezone: 1.5", "1.5", 3),
        ("name: 2026-01-01", "2026-01-01", 3),
        ("slack_id: 12:30", "12:30", 3),
        ("slack_id: ~", None, None),
    ],
)
def test_an_id_that_yaml_would_read_as_a_number_must_be_quoted(field: str, written: str | None, line: int | None) -> None:
    text = f"members:\n  - handle: a\n    {field}\n" + ("" if field.startswith("name") else "    name: A\n")
    if written is None:  # an empty value is no value, not the text "~"
        spec = parse_org(text, METRIC_NAMES)
        assert spec.members[0].slack_id is None
        return
    key = field.split(":")[0]
    problems = problems_of(text)
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"org.yaml:{line}: ") and f"must be text: quote it, e.g. {key}: \"{written}\"" in problems[0], problems


def test_handles_team_keys_channels_and_org_names_must_be_text() -> None:
    text = (
        "org: {name: yes, timezone: UTC}\n"
        "teams:\n"
        "  - {key: 123, name: A, timezone: UTC, channels: {slack: 0777, teams: 1.0}}\n"
        "members:\n"
        "  - {handle: 123, name: B}\n"
    )
    problems = problems_of(text)
    for line, fragment in ((1, 'name: "yes"'), (3, 'key: "123"'), (3, 'slack: "0777"'), (3, 'teams: "1.0"'), (5, 'handle: "123"')):
        assert any(p.startswith(f"org.yaml:{line}: ") and f"quote it, e.g. {fragment}" in p for p in problems), (fragment, problems)
    assert len(problems) == 5, problems


def test_quoted_ids_are_kept_exactly_as_written() -> None:
    spec = parse_org('members:\n  - {handle: a, name: A, slack_id: "0777", teams_id: "0x1F"}\n', METRIC_NAMES)
    assert (spec.members[0].slack_id, spec.members[0].teams_id) == ("0777", "0x1F")


@pytest.mark.parametrize(
    "text",
    ['members:\n  - handle: a\n    name: "Al\\0ice"\n', "members:\n  - handle: a\n    name: Al\0ice\n"],
    ids=["escape", "raw"],
)
def test_a_nul_character_is_refused_at_its_line(text: str) -> None:
    problems = problems_of(text)
    assert len(problems) == 1 and problems[0].startswith("org.yaml:3: ") and "NUL" in problems[0], problems


def test_a_file_over_the_size_cap_is_refused_before_it_is_parsed() -> None:
    text = "members:\n" + "  - {handle: a, name: A}\n" * 260_000  # about 6 MB
    started = time.perf_counter()
    problems = problems_of(text)
    assert time.perf_counter() - started < 1.0
    assert len(problems) == 1 and "larger than 5 MB" in problems[0], problems


def test_targets_must_be_finite_numbers() -> None:
    text = "teams:\n  - key: a\n    name: A\n    timezone: UTC\n    targets: {csat: .nan, reopen_rate: .inf}\n"
    problems = problems_of(text)
    assert len(problems) == 2 and all(p.startswith("org.yaml:5: ") and "finite" in p for p in problems), problems


def test_an_error_message_never_renders_a_huge_value() -> None:
    text = "org: {name: Acme, timezone: " + "x" * 100_000 + "}\nteams: []\n? " + "z" * 50_000 + "\n: 1\n"
    problems = problems_of(text)
    assert len(problems) == 2 and all(len(p) < 300 for p in problems), [p[:300] for p in problems]


def _hostile_files(tmp_path: Path) -> dict[str, Path]:
    """One file per way an org file can be refused before anything is interpreted."""
    texts: dict[str, bytes] = {
        "alias-bomb": ALIAS_BOMB.encode(),
        "duplicate-role": b"members:\n  - handle: alice\n    name: Alice\n    role: agent\n    role: admin\n",
        "list-key": b"members:\n  - handle: alice\n    name: Alice\n    ? [role]\n    : admin\n",
        "deep": b"members: " + b"[" * 10_000 + b"]" * 10_000 + b"\n",
        "octal-id": b"members:\n  - {handle: alice, name: Alice, slack_id: 0777}\n",
        "nul-raw": b"members:\n  - {handle: alice, name: Al\0ice}\n",
        "nul-escape": b'members:\n  - {handle: alice, name: "Al\\0ice"}\n',
        "six-mb": b"members:\n" + b"  - {handle: a, name: A}\n" * 260_000,
        "not-utf8": "members:\n  - {handle: alice, name: Caf\u00e9}\n".encode("latin-1"),
    }
    paths = {}
    for name, data in texts.items():
        paths[name] = tmp_path / f"{name}.yaml"
        paths[name].write_bytes(data)
    paths["directory"] = tmp_path
    paths["missing"] = tmp_path / "missing.yaml"
    return paths


def test_org_apply_refuses_each_hostile_file_with_exit_2_and_changes_nothing(
    db: Database,
    db_url: str,
    org_yaml: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    from bot.cli import main

    in_clean_directory(tmp_path, monkeypatch, db_url)
    apply_text(db, org_yaml)
    before = snapshot(db)
    expected = {
        "alias-bomb": ":2: anchors and aliases",
        "duplicate-role": ":5: duplicate key 'role' (first on line 4)",
        "list-key": ":4: a key must be plain text",
        "deep": ":1: nested more than 24 levels deep",
        "octal-id": ':2: member \'alice\': \'slack_id\' must be text: quote it, e.g. slack_id: "0777"',
        "nul-raw": ":2: a NUL character",
        "nul-escape": ":2: a NUL character",
        "six-mb": ": the file is larger than 5 MB",
        "not-utf8": ":2: this line is not UTF-8",
        "directory": ": cannot read it: it is a directory",
        "missing": ": cannot read it: there is no such file",
    }
    for name, path in _hostile_files(tmp_path).items():
        for dry_run in ([], ["--dry-run"]):
            started = time.perf_counter()
            assert main(["org", "apply", str(path), *dry_run]) == 2, name
            assert time.perf_counter() - started < 2.0, name
            out, err = capsys.readouterr()
            assert out == "" and err.startswith(f"{path} was refused; nothing was changed."), (name, err[:300])
            assert f"  {path}{expected[name]}" in err, (name, err[:500])
            assert "Traceback" not in err and len(err) < 2_000, (name, err[:500])
    assert_no_traceback(caplog.records)
    assert snapshot(db) == before


def test_every_problem_is_one_line_even_when_the_file_has_line_breaks_in_values() -> None:
    text = 'teams:\n  - {key: "a\\nb", name: A, timezone: UTC}\nmembers:\n  - {handle: x, name: X, team: "a\\nc"}\n'
    problems = problems_of(text)  # asserts one line each
    # A line break is refused as what it is, wherever it is (store.name_characters), before any other check.
    assert problems == [
        "org.yaml:2: teams[0]: 'key' holds a line break (U+000A); names and ids are one line of visible text: remove it",
        "org.yaml:4: member 'x': 'team' holds a line break (U+000A); names and ids are one line of visible text: remove it",
    ]


@pytest.mark.parametrize(("written", "stored"), [("9:30", "09:30"), ("18:05", "18:05"), ('"07:00"', "07:00"), ("90", None), ("0777", None), ("25:00", None)])
def test_a_digest_time_is_read_as_written(org_yaml: str, written: str, stored: str | None) -> None:
    text = org_yaml.replace('digest: {time: "09:00", days: mon-fri}', f"digest: {{time: {written}, days: mon-fri}}", 1)
    assert text != org_yaml
    if stored is None:
        with pytest.raises(OrgFileError) as info:
            parse_org(text, METRIC_NAMES)
        assert "is not HH:MM" in "\n".join(info.value.problems)
    else:
        assert parse_org(text, METRIC_NAMES).teams[0].digest_time == stored
