"""`csbot demo`: options that cannot apply are said so, an unknown --as is one line, and --reset re-seeds a
stale demo ending now (but never wipes a database that holds anything besides the demo)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.cli import main
from bot.demo import demo_ends, not_demo_data, seed_demo
from kpi.tickets import Ticket
from store.database import Database
from store.org import Member, Org, Team
from tests.helpers import apply_fixture_org, assert_no_traceback, in_clean_directory, table_counts
from tests.test_cli import csbot
from tests.test_org_file import snapshot


@pytest.fixture
def run(db: Database, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    """`csbot ...` in-process against the test database; returns (exit code, stdout, stderr)."""
    in_clean_directory(tmp_path, monkeypatch, db_url)

    def call(*args: str) -> tuple[int, str, str]:
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse's usage errors
            code = exc.code  # type: ignore[assignment]
        out, err = capsys.readouterr()
        assert "Traceback" not in err
        return code, out, err

    return call


def ticket_span(db: Database) -> tuple[int, datetime | None, datetime | None]:
    with db.sessions() as s:
        count, first, last = s.execute(select(func.count(), func.min(Ticket.created_at), func.max(Ticket.created_at))).one()
    return count, first, last


def one_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, err
    return lines[0]


# ---------------------------------------------------------------- hostile first


def test_an_unknown_as_on_an_empty_database_is_one_line_and_seeds_nothing(db: Database, run, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run("demo", "--tickets", "100", "--as", "nobody")
    assert code == 2 and out == ""
    assert one_line(err) == (
        "csbot: --as: no active member has the handle 'nobody'; "
        "try admin (admin), sarah (manager), katrin (lead), lena (agent), or csbot org show for everyone"
    )
    assert db.is_empty() and set(table_counts(db).values()) == {0}
    assert_no_traceback(caplog.records)


def test_an_unknown_as_on_an_existing_demo_suggests_the_close_one(db: Database, run) -> None:  # type: ignore[no-untyped-def]
    seed_demo(db, now=datetime.now(timezone.utc), tickets=100, days=30)
    before = table_counts(db)
    code, _, err = run("demo", "--as", "adimn")
    assert code == 2
    assert one_line(err).startswith("csbot: --as: no active member has the handle 'adimn' (did you mean 'admin'?); try admin (admin),")
    # The handles named are the database's, not the demo's: a member deactivated since is not offered.
    with db.sessions() as s, s.begin():
        s.scalar(select(Member).where(Member.handle == "katrin")).active = False
    code, _, err = run("demo", "--as", "x")
    assert code == 2 and "katrin" not in err and "(lead)" in err
    assert table_counts(db) == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tickets", "-1"], "csbot: --tickets must be from 0 to 2,000,000, got -1"),
        (["--tickets", "2000001"], "csbot: --tickets must be from 0 to 2,000,000, got 2000001"),
        (["--days", "0"], "csbot: --days must be from 1 to 3650, got 0"),
        (["--days", "99999"], "csbot: --days must be from 1 to 3650, got 99999"),
        (["--seed-only", "--as", "admin"], "csbot: --as has no effect with --seed-only, which opens no console: leave one of them out"),
    ],
)
def test_options_out_of_range_are_one_line(db: Database, run, args: list[str], message: str) -> None:  # type: ignore[no-untyped-def]
    code, _, err = run("demo", *args)
    assert code == 2 and one_line(err) == message
    assert db.is_empty()


@pytest.mark.parametrize("option", ["--res", "--rese", "--reset=yes", "--tick"])
def test_an_abbreviated_or_misspelt_option_is_a_usage_error(db: Database, run, option: str) -> None:  # type: ignore[no-untyped-def]
    seed_demo(db, now=datetime.now(timezone.utc) - timedelta(days=5), tickets=50, days=10)
    before = ticket_span(db)
    code, _, err = run("demo", "--seed-only", option, *(["100"] if option == "--tick" else []))
    assert code == 2 and "error:" in err
    assert ticket_span(db) == before


def test_seed_options_on_an_existing_database_say_they_cannot_apply(db: Database, run) -> None:  # type: ignore[no-untyped-def]
    seed_demo(db, now=datetime.now(timezone.utc), tickets=100, days=30)
    before = snapshot(db), ticket_span(db)
    code, _, err = run("demo", "--seed-only", "--tickets", "500")
    assert code == 2
    assert one_line(err) == (
        "csbot: --tickets only applies when the demo is seeded, and this database already holds an organisation: "
        "add --reset to wipe it and seed again, or leave it out"
    )
    code, _, err = run("demo", "--seed-only", "--tickets", "20000", "--days", "90")  # the defaults, but given
    assert code == 2 and one_line(err).startswith("csbot: --tickets and --days only apply when the demo is seeded")
    assert (snapshot(db), ticket_span(db)) == before


def test_reset_refuses_a_database_that_is_not_the_demo_s(db: Database, run) -> None:  # type: ignore[no-untyped-def]
    apply_fixture_org(db)
    before = snapshot(db), table_counts(db)
    code, _, err = run("demo", "--reset", "--seed-only")
    assert code == 2
    # The fixture org shares the demo's name and team keys; its people give it away.
    assert one_line(err) == (
        "csbot: --reset wipes only a demo database, and this one is not: it has member 'alice', who is not in the demo. Nothing was changed"
    )
    assert (snapshot(db), table_counts(db)) == before


def test_reset_refuses_a_demo_with_imported_tickets(db: Database, run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    seed_demo(db, now=datetime.now(timezone.utc), tickets=100, days=30)
    csv = tmp_path / "real.csv"
    csv.write_text("external_id,created_at,team\nR-1,2026-01-05T10:00:00Z,billing\nR-2,2026-01-05T11:00:00Z,billing\n")
    code, _, err = run("import", "tickets", str(csv))
    assert code == 0, err
    before = table_counts(db)
    code, _, err = run("demo", "--reset", "--seed-only")
    assert code == 2
    assert one_line(err) == (
        "csbot: --reset wipes only a demo database, and this one is not: it has 2 tickets from source 'csv'. Nothing was changed"
    )
    assert table_counts(db) == before


def test_what_makes_a_database_not_the_demo_s(db: Database) -> None:
    assert not_demo_data(db) is None  # empty
    seed_demo(db, now=datetime.now(timezone.utc), tickets=20, days=10)
    assert not_demo_data(db) is None
    with db.sessions() as s, s.begin():
        s.add(Member(handle="zed", name="Zed", role="agent", active=False))
    assert not_demo_data(db) == "it has member 'zed', who is not in the demo"
    with db.sessions() as s, s.begin():
        s.add(Team(key="night-shift", name="Night", timezone="UTC"))
    assert not_demo_data(db) == "it has team 'night-shift', which the demo does not"
    with db.sessions() as s, s.begin():
        s.get(Org, 1).name = "Real Support Inc"
    assert not_demo_data(db) == "its organisation is 'Real Support Inc', not the demo's 'Acme Support'"


# ---------------------------------------------------------------- what works


def test_a_stale_demo_says_so_and_reset_seeds_it_again_ending_now(db: Database, run) -> None:  # type: ignore[no-untyped-def]
    long_ago = datetime.now(timezone.utc) - timedelta(days=12)
    seed_demo(db, now=long_ago, tickets=300, days=30)
    assert demo_ends(db) < long_ago
    code, _, err = run("demo", "--seed-only")
    assert code == 0
    assert "already holds an organisation" in err
    assert "Its demo tickets end " in err and "12 days ago: csbot demo --reset seeds fresh ones ending now." in err

    started = datetime.now(timezone.utc)
    code, _, err = run("demo", "--reset", "--seed-only", "--tickets", "400", "--days", "20")
    assert code == 0, err
    assert "Wiping the demo database and seeding a demo organisation and 400 tickets over the 20 days until now" in err
    assert "Seeded 5 teams, 48 members, 400 tickets." in err
    count, first, last = ticket_span(db)
    assert count == 400
    assert started - timedelta(days=20, seconds=1) <= first and started - timedelta(days=1) < last <= datetime.now(timezone.utc)
    with db.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Member)) == 48
    # A fresh demo gives no staleness note, and another reset starts from scratch again (nothing doubled).
    code, _, err = run("demo", "--seed-only")
    assert code == 0 and "Its demo tickets end" not in err
    code, _, err = run("demo", "--reset", "--seed-only", "--tickets", "50")
    assert code == 0 and ticket_span(db)[0] == 50


def test_reset_on_an_empty_database_just_seeds(db: Database, run) -> None:  # type: ignore[no-untyped-def]
    code, _, err = run("demo", "--reset", "--seed-only", "--tickets", "30")
    assert code == 0 and err.startswith("Seeding a demo organisation and 30 tickets over the 90 days until now")
    assert ticket_span(db)[0] == 30


def test_reset_keeps_the_demo_usable_from_the_console(db_url: str, tmp_path: Path) -> None:
    first = csbot(["demo", "--tickets", "200", "--as", "ADMIN"], db_url, tmp_path, stdin="/csbot whoami\n")
    assert first.returncode == 0, first.stderr
    assert "Jordan Lee" in first.stdout
    again = csbot(["demo", "--reset", "--tickets", "100", "--as", "@lena"], db_url, tmp_path, stdin="/kpi me 7d\n")
    assert again.returncode == 0, again.stderr
    assert "KPIs · " in again.stdout and "Traceback" not in again.stderr
    bad = csbot(["demo", "--as", "nobody"], db_url, tmp_path, stdin="/csbot whoami\n")
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.count("\n") == 1 and bad.stderr.startswith("csbot: --as: no active member has the handle 'nobody'")
