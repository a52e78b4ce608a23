"""`csbot org apply` stops before a file deactivates most of the organisation or leaves it without an
admin: refused (exit 2, nothing changed) unless --force, and a dry run says the same."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from bot.cli import main
from kpi.definitions import BY_NAME
from store.database import Database
from store.org import Member
from store.org_file import apply_org, dump_org, parse_org, sweeping_changes
from tests.helpers import FIXTURES, assert_no_traceback, in_clean_directory
from tests.test_org_file import snapshot

FORCE_HINT = "; add --force if that is what you mean"


def fixture_doc() -> dict[str, Any]:
    return yaml.safe_load((FIXTURES / "org.yaml").read_text())


def twenty_members_doc() -> dict[str, Any]:
    """The fixture's teams with 20 members: one admin, one lead, 18 agents."""
    doc = fixture_doc()
    members = [{"handle": "root", "name": "Riley Admin", "role": "admin"}, {"handle": "bob", "name": "Bob", "team": "support-emea", "role": "lead"}]
    members += [{"handle": f"agent{n:02d}", "name": f"Agent {n}", "team": "support-emea", "role": "agent"} for n in range(1, 19)]
    doc["members"] = members
    return doc


def apply_doc(db: Database, doc: dict[str, Any]) -> None:
    spec = parse_org(dump_org(doc), BY_NAME)
    with db.sessions() as s, s.begin():
        apply_org(s, spec)


def active_handles(db: Database) -> dict[str, str]:
    with db.sessions() as s:
        return dict(s.execute(select(Member.handle, Member.role).where(Member.active.is_(True))).all())


class Cli:
    """`csbot org apply` run in-process against one database, its output captured."""

    def __init__(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.tmp_path, self.capsys, self.files = tmp_path, capsys, 0

    def apply(self, doc: dict[str, Any] | str, *options: str) -> tuple[int, str, str]:
        self.files += 1
        path = self.tmp_path / f"org{self.files}.yaml"
        path.write_text(doc if isinstance(doc, str) else dump_org(doc))
        code = main(["org", "apply", str(path), *options])
        out, err = self.capsys.readouterr()
        assert "Traceback" not in err
        return code, out, err


@pytest.fixture
def cli(db: Database, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Cli:
    in_clean_directory(tmp_path, monkeypatch, db_url)
    return Cli(tmp_path, capsys)


# ---------------------------------------------------------------- hostile first


@pytest.mark.parametrize("option", ["--froce", "--f", "--for", "--force=yes", "-f", "--FORCE"])
def test_a_misspelt_or_abbreviated_force_is_a_usage_error_and_changes_nothing(
    db: Database, cli: Cli, option: str, capsys: pytest.CaptureFixture[str]
) -> None:
    apply_doc(db, fixture_doc())
    before = snapshot(db)
    doc = fixture_doc()
    doc["members"] = []
    path = cli.tmp_path / "empty-members.yaml"
    path.write_text(dump_org(doc))
    with pytest.raises(SystemExit) as exit_info:
        main(["org", "apply", str(path), option])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.splitlines()[-1].startswith(("csbot: error: unrecognized arguments: ", "csbot org apply: error: argument --force")), err
    assert option.split("=")[0] in err and "Traceback" not in err
    assert snapshot(db) == before


def test_a_file_that_removes_every_member_is_refused_and_changes_nothing(db: Database, cli: Cli, caplog: pytest.LogCaptureFixture) -> None:
    apply_doc(db, fixture_doc())
    before = snapshot(db)
    doc = fixture_doc()
    doc["members"] = []
    code, out, err = cli.apply(doc)
    assert code == 2 and out == ""
    lines = err.splitlines()
    assert lines[0].endswith("was refused; nothing was changed:")
    assert lines[1:] == [
        "  this would deactivate 5 of 5 active members" + FORCE_HINT,
        "  this would leave no active admin: root (deactivated)" + FORCE_HINT,
        "  it would deactivate: alice, bob, carol, dana, root",
    ]
    assert snapshot(db) == before
    assert_no_traceback(caplog.records)


def test_a_file_that_drops_members_key_entirely_is_refused_too(db: Database, cli: Cli) -> None:
    # No `members:` at all (not a misspelling of it): the file is valid, and would empty the org.
    apply_doc(db, fixture_doc())
    before = snapshot(db)
    doc = fixture_doc()
    del doc["members"]
    code, _, err = cli.apply(doc)
    assert code == 2 and "this would deactivate 5 of 5 active members" + FORCE_HINT in err
    assert snapshot(db) == before


def test_deactivating_12_of_20_is_refused_with_the_counts(db: Database, cli: Cli) -> None:
    apply_doc(db, twenty_members_doc())
    before = snapshot(db)
    doc = twenty_members_doc()
    doc["members"] = doc["members"][:8]  # root, bob and six agents stay
    code, out, err = cli.apply(doc)
    assert code == 2 and out == ""
    assert "  this would deactivate 12 of 20 active members; add --force if that is what you mean\n" in err
    assert "  it would deactivate: agent07, agent08, agent09, agent10, agent11, agent12, agent13, agent14, agent15, agent16 and 2 more\n" in err
    assert "admin" not in err  # root stays
    assert snapshot(db) == before


def test_half_of_the_members_is_not_more_than_half(db: Database, cli: Cli) -> None:
    apply_doc(db, twenty_members_doc())
    doc = twenty_members_doc()
    doc["members"] = doc["members"][:10]  # 10 of 20 go: half, not more
    code, out, err = cli.apply(doc)
    assert code == 0, err
    assert "deactivated 10:" in out and err == ""
    assert len(active_handles(db)) == 10


def test_demoting_the_only_admin_is_refused(db: Database, cli: Cli) -> None:
    apply_doc(db, fixture_doc())
    before = snapshot(db)
    doc = fixture_doc()
    doc["members"][-1]["role"] = "agent"  # root
    code, out, err = cli.apply(doc)
    assert code == 2 and out == ""
    assert "  this would leave no active admin: root (now agent)" + FORCE_HINT in err
    assert snapshot(db) == before


def test_deactivating_the_only_admin_is_refused(db: Database, cli: Cli) -> None:
    apply_doc(db, fixture_doc())
    before = snapshot(db)
    doc = fixture_doc()
    doc["members"] = doc["members"][:-1]  # 1 of 5 goes, but it is root
    code, _, err = cli.apply(doc)
    assert code == 2 and "  this would leave no active admin: root (deactivated)" + FORCE_HINT in err
    assert "deactivate 1 of 5" not in err
    assert snapshot(db) == before


def test_replacing_the_admin_or_keeping_another_is_fine(db: Database, cli: Cli) -> None:
    apply_doc(db, fixture_doc())
    doc = fixture_doc()
    doc["members"][-1]["role"] = "agent"
    doc["members"][0]["role"] = "admin"  # alice takes over from root in the same file
    code, out, err = cli.apply(doc)
    assert code == 0 and err == "" and "updated 2: member alice, member root" in out
    assert active_handles(db)["alice"] == "admin"


def test_an_org_that_had_no_active_admin_is_not_stopped_for_having_none(db: Database, cli: Cli) -> None:
    doc = fixture_doc()
    doc["members"][-1]["role"] = "manager"
    apply_doc(db, doc)
    doc["members"][-2]["role"] = "agent"
    code, _, err = cli.apply(doc)
    assert code == 0 and err == ""


def test_force_applies_what_was_refused(db: Database, cli: Cli) -> None:
    apply_doc(db, twenty_members_doc())
    doc = twenty_members_doc()
    doc["members"] = doc["members"][1:8]  # root goes too
    code, out, err = cli.apply(doc, "--force")
    assert code == 0
    assert "deactivated 13:" in out
    assert err.splitlines() == [
        "Applied with --force, which was needed to deactivate 13 of 20 active members.",
        "Applied with --force, which was needed to leave no active admin: root (deactivated).",
    ]
    assert set(active_handles(db)) == {m["handle"] for m in doc["members"]}
    # Once applied, the same file is an ordinary, idempotent apply.
    code, out, err = cli.apply(doc)
    assert code == 0 and err == "" and "No changes" in out


def test_a_dry_run_reports_the_same_refusal_and_writes_nothing(db: Database, cli: Cli) -> None:
    apply_doc(db, fixture_doc())
    before = snapshot(db)
    doc = fixture_doc()
    doc["members"] = doc["members"][:1]
    code, out, err = cli.apply(doc, "--dry-run")
    assert code == 2
    assert out == "Dry run, nothing written. Would have: deactivated 4: member bob, member carol, member dana, member root\n"
    assert err.splitlines() == [
        "Applying it would be refused: this would deactivate 4 of 5 active members" + FORCE_HINT,
        "Applying it would be refused: this would leave no active admin: root (deactivated)" + FORCE_HINT,
    ]
    code, out, err = cli.apply(doc, "--dry-run", "--force")
    assert code == 0 and out.startswith("Dry run, nothing written.")
    assert err.splitlines() == [
        "With --force, applying it will deactivate 4 of 5 active members.",
        "With --force, applying it will leave no active admin: root (deactivated).",
    ]
    assert snapshot(db) == before


def test_the_prediction_is_what_applying_does(db: Database) -> None:
    apply_doc(db, twenty_members_doc())
    doc = twenty_members_doc()
    doc["members"] = doc["members"][1:5] + [{"handle": "newbie", "name": "New", "role": "agent"}]
    spec = parse_org(dump_org(doc), BY_NAME)
    with db.sessions() as s, s.begin():
        sweeping = sweeping_changes(s, spec)
        result = apply_org(s, spec)
    assert sweeping.active == 20 and sweeping.admins_lost == ["root (deactivated)"]
    assert [f"member {h}" for h in sweeping.deactivated] == sorted(result.deactivated)
    assert sweeping.reasons() == ["deactivate 16 of 20 active members", "leave no active admin: root (deactivated)"]


def test_a_first_apply_into_an_empty_database_needs_no_force(db: Database, cli: Cli, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    code, out, err = cli.apply(fixture_doc())
    assert code == 0 and err == "" and "created" in out
