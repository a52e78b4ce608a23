"""`csbot import tickets`: mappings, upserts, auto-created teams and agents, bad rows."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.dispatch import run_command
from handlers.registry import build_router
from kpi.importer import ImportRefused, import_tickets
from kpi.resolver import slugify
from kpi.mapping import Mapping, MappingError, load_mapping
from kpi.tickets import Ticket
from store.database import Database
from store.org import Member, Team
from tests.helpers import FIXTURES, apply_fixture_org
from tests.kpi_oracle import T, assert_same, oracle

ROOT = Path(__file__).parent.parent
EXAMPLES = ROOT / "examples"
HEADER = "external_id,subject,team,agent,status,priority,channel,created_at,first_reply_at,solved_at,replies,reopens,csat,sla_met\n"


def write(tmp_path: Path, body: str, name: str = "tickets.csv") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + body)
    return path


def count(db: Database) -> int:
    with db.sessions() as s:
        return s.scalar(select(func.count()).select_from(Ticket)) or 0


def test_slugify() -> None:
    assert slugify("Group 56") == "group-56"
    assert slugify("Resolver 89") == "resolver-89"
    assert slugify("  Ünïcode Tëam!! ") == "unicode-team"


def test_default_headers_and_value_rules(db: Database, tmp_path: Path) -> None:
    apply_fixture_org(db)
    path = write(
        tmp_path,
        "1,Refund,support-emea,alice,solved,high,email,2026-03-02T09:00:00Z,2026-03-02T09:10:00+00:00,2026-03-02T11:00:00Z,1,0,5,yes\n"
        "2,Login,Support EMEA,Alice Smith,hold,low,chat,2026-03-02 10:00:00,,,,,,\n"
        "3,Bill,support-amer,carol@example.com,open,urgent,web,2026-03-02T10:00:00-05:00,,,2,1,2,0\n",
    )
    result = import_tickets(db, path, Mapping.default(), source="csv")
    assert (result.inserted, result.updated, len(result.rejected)) == (3, 0, 0)
    with db.sessions() as s:
        tickets = {t.external_id: t for t in s.scalars(select(Ticket))}
        alice = s.scalar(select(Member).where(Member.handle == "alice"))
        carol = s.scalar(select(Member).where(Member.handle == "carol"))
    t1, t2, t3 = tickets["1"], tickets["2"], tickets["3"]
    assert t1.csat == "good" and t1.sla_met is True and t1.first_reply_at == datetime(2026, 3, 2, 9, 10, tzinfo=timezone.utc)
    assert t2.status == "on_hold" and t2.agent_id == alice.id and t2.team_id == t1.team_id  # matched by name
    assert t2.created_at == datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc)  # no offset: UTC
    assert t3.created_at == datetime(2026, 3, 2, 15, 0, tzinfo=timezone.utc)
    assert t3.agent_id == carol.id and t3.csat == "bad" and t3.sla_met is False  # matched by email
    assert result.teams_created == [] and result.agents_created == []


def test_timezone_option_for_naive_times(db: Database, tmp_path: Path) -> None:
    path = write(tmp_path, "1,,,,open,,,2026-03-02 10:00:00,,,,,,\n")
    import_tickets(db, path, Mapping.default("Europe/Berlin"), source="csv")
    with db.sessions() as s:
        assert s.scalar(select(Ticket.created_at)) == datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


def test_bad_rows_non_strict_writes_good_rows_and_saves_rejects(db: Database, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "1,ok,,,open,normal,,2026-03-02T09:00:00Z,,,,,,\n"
        "2,bad time,,,open,normal,,yesterday at noon,,,,,,\n"
        "3,solved early,,,solved,normal,,2026-03-02T09:00:00Z,,2026-03-01T09:00:00Z,,,,\n"
        "4,bad enum,,,escalated,critical,,2026-03-02T09:00:00Z,,,,,,\n"
        "5,ok too,,,pending,low,,2026-03-02T09:00:00Z,,,1,0,good,true\n"
        ",no id,,,open,,,2026-03-02T09:00:00Z,,,,,,\n",
    )
    result = import_tickets(db, path, Mapping.default(), source="csv")
    assert result.inserted == 2 and count(db) == 2
    reasons = {r.row: " ".join(r.reasons) for r in result.rejected}
    assert set(reasons) == {3, 4, 5, 7}
    assert "cannot read time 'yesterday at noon'" in reasons[3]
    assert "before created_at" in reasons[4]
    assert "status: unknown value 'escalated'" in reasons[5] and "priority: unknown value 'critical'" in reasons[5]
    assert "external_id: missing" in reasons[7]
    rejects = list(csv.reader(result.rejects_file.open()))
    assert rejects[0][:2] == ["row", "reason"] and [r[0] for r in rejects[1:]] == ["3", "4", "5", "7"]
    assert result.rejects_file.parent == path.parent


def test_strict_refuses_the_whole_file(db: Database, tmp_path: Path) -> None:
    path = write(tmp_path, "1,ok,,,open,,,2026-03-02T09:00:00Z,,,,,,\n2,bad,,,open,,,not a time,,,,,,\n")
    with pytest.raises(ImportRefused) as info:
        import_tickets(db, path, Mapping.default(), source="csv", strict=True)
    assert info.value.problems == ["row 3: created_at: cannot read time 'not a time' (expected ISO 8601, e.g. 2026-03-02T09:30:00Z)"]
    assert count(db) == 0


def test_missing_required_column_is_refused(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("id,subject\n1,hello\n")
    with pytest.raises(ImportRefused) as info:
        import_tickets(db, path, Mapping.default(), source="csv")
    assert any("'external_id'" in p for p in info.value.problems) and any("'created_at'" in p for p in info.value.problems)


def test_upserts_never_duplicate_and_last_row_wins(db: Database, tmp_path: Path) -> None:
    first = write(tmp_path, "1,a,,,open,,,2026-03-02T09:00:00Z,,,,,,\n2,b,,,open,,,2026-03-02T09:00:00Z,,,,,,\n", "v1.csv")
    r1 = import_tickets(db, first, Mapping.default(), source="zd")
    assert (r1.inserted, r1.updated) == (2, 0)
    # A newer export, with ticket 1 solved, and an event log with three rows for ticket 3.
    newer = write(
        tmp_path,
        "1,a,,,solved,,,2026-03-02T09:00:00Z,2026-03-02T09:05:00Z,2026-03-02T12:00:00Z,1,0,good,true\n"
        "3,c,,,new,,,2026-03-03T09:00:00Z,,,,,,\n"
        "3,c,,,open,,,2026-03-03T09:00:00Z,2026-03-03T09:30:00Z,,1,,,\n"
        "3,c,,,solved,,,2026-03-03T09:00:00Z,2026-03-03T09:30:00Z,2026-03-03T10:00:00Z,2,0,,\n",
        "v2.csv",
    )
    r2 = import_tickets(db, newer, Mapping.default(), source="zd", batch_rows=2)
    assert (r2.inserted, r2.updated, r2.unchanged) == (1, 1, 0)
    assert (r2.merged, r2.merged_tickets) == (3, 1)  # ticket 3's rows, across two batches
    assert count(db) == 3
    with db.sessions() as s:
        t = {x.external_id: x for x in s.scalars(select(Ticket))}
    assert t["1"].status == "solved" and t["1"].csat == "good"
    assert t["3"].status == "solved" and t["3"].replies == 2
    # Same ids from another source are other tickets.
    import_tickets(db, first, Mapping.default(), source="freshdesk")
    assert count(db) == 5
    # Re-running an import changes nothing and says so.
    r3 = import_tickets(db, newer, Mapping.default(), source="zd")
    assert (r3.inserted, r3.updated, r3.unchanged) == (0, 0, 2) and count(db) == 5


def test_a_rerun_after_a_crash_finishes_the_job(db: Database, tmp_path: Path) -> None:
    path = write(tmp_path, "".join(f"{i},s,,,open,,,2026-03-02T09:00:00Z,,,,,,\n" for i in range(11)))

    class Boom(Exception):
        pass

    calls = {"n": 0}

    def progress(done: int) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise Boom  # the process dies after the second batch committed

    with pytest.raises(Boom):
        import_tickets(db, path, Mapping.default(), source="csv", batch_rows=4, progress=progress)
    assert count(db) == 8  # two whole batches, nothing partial
    result = import_tickets(db, path, Mapping.default(), source="csv", batch_rows=4)
    assert count(db) == 11 and (result.inserted, result.updated, result.unchanged) == (3, 0, 8)


def test_unknown_teams_and_agents_are_created_and_reported(db: Database, tmp_path: Path) -> None:
    apply_fixture_org(db)
    path = write(
        tmp_path,
        "1,,Group 56,Resolver 89,open,,,2026-03-02T09:00:00Z,,,,,,\n"
        "2,,Group 24,Resolver 89,open,,,2026-03-02T09:00:00Z,,,,,,\n"
        "3,,group-56,resolver 7,open,,,2026-03-02T09:00:00Z,,,,,,\n",
    )
    result = import_tickets(db, path, Mapping.default(), source="csv")
    # Created in name order within a batch (so concurrent imports take their locks in one order).
    assert result.teams_created == ["group-24", "group-56"]
    assert result.agents_created == ["resolver-7", "resolver-89"]
    with db.sessions() as s:
        r89 = s.scalar(select(Member).where(Member.handle == "resolver-89"))
        g56 = s.scalar(select(Team).where(Team.key == "group-56"))
        assert r89.team_id == g56.id and r89.name == "Resolver 89" and r89.role == "agent"  # team of their first ticket
        assert g56.name == "Group 56" and g56.timezone == "UTC"
    again = import_tickets(db, path, Mapping.default(), source="csv")
    assert again.teams_created == [] and again.agents_created == []


def test_zendesk_example_mapping_imports_the_sample_export(db: Database, tmp_path: Path) -> None:
    apply_fixture_org(db)
    mapping = load_mapping(EXAMPLES / "zendesk-tickets.mapping.yaml")
    result = import_tickets(db, EXAMPLES / "zendesk-tickets.sample.csv", mapping, source=mapping.source or "zendesk")
    assert result.inserted == 5 and not result.rejected
    with db.sessions() as s:
        t = {x.external_id: x for x in s.scalars(select(Ticket))}
    assert t["1001"].first_reply_at == datetime(2026, 3, 2, 8, 50, tzinfo=timezone.utc)  # 09:15+01:00 plus 35 min
    assert t["1001"].csat == "good" and t["1002"].csat == "bad" and t["1003"].csat is None
    assert t["1003"].status == "pending" and t["1004"].status == "open" and t["1004"].agent_id is None
    assert t["1005"].reopens == 1 and t["1005"].priority == "normal"
    assert t["1001"].tags == "billing refund" and t["1004"].tags == "bug mobile vip"


def test_mapping_errors_are_listed(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text("columns: {ticket_no: number, status: 7}\ntimezone: Mars/Base\ncolour: blue\ndatetime_formats: [dd-mm-yyyy]\n")
    with pytest.raises(MappingError) as info:
        load_mapping(path)
    text = "\n".join(info.value.problems)
    for fragment in ("unknown field 'ticket_no'", "status must name a column", "unknown time zone", "unknown key 'colour'", "strptime"):
        assert fragment in text


def _servicenow_oracle(path: Path, group: str, start: datetime, end: datetime) -> dict:  # type: ignore[type-arg]
    """The file's last row per incident, read with nothing but the csv module."""
    last: dict[str, dict[str, str]] = {}
    with path.open() as fh:
        for row in csv.DictReader(fh):
            last[row["number"]] = row

    def when(text: str) -> datetime | None:
        return None if text == "?" else datetime.strptime(text, "%d-%m-%Y %H:%M").replace(tzinfo=timezone.utc)

    tickets = [
        T(when(r["opened_at"]), None, when(r["resolved_at"]), None, int(r["reopen_count"]), None, r["made_sla"] == "TRUE")
        for r in last.values()
        if r["assignment_group"] == group
    ]
    return oracle(tickets, start, end)


def test_servicenow_log_imports_and_kpis_match_the_file(db: Database, tmp_path: Path) -> None:
    mapping = load_mapping(EXAMPLES / "servicenow-incidents.mapping.yaml")
    source = FIXTURES / "servicenow_group70.csv"
    result = import_tickets(db, source, mapping, source="servicenow")
    assert not result.rejected and result.inserted == 414
    assert "group-70" in result.teams_created
    some_agent = result.agents_created[0]
    # An admin to ask as: the org has only imported agents, so add one.
    with db.sessions() as s, s.begin():
        s.add(Member(handle="ops", name="Ops Admin", role="admin", active=True))
    reply = run_command(db, build_router(), "ops", "/kpi team group-70 2016-02-29..2016-12-31", now=datetime(2026, 1, 1, tzinfo=timezone.utc), platform="console")
    assert reply.ok, reply.error
    start = datetime(2016, 2, 29, tzinfo=timezone.utc)
    end = datetime(2017, 1, 1, tzinfo=timezone.utc)
    expected = _servicenow_oracle(source, "Group 70", start, end)
    assert expected["tickets_created"] > 100  # the check is about real volume, not an empty window
    assert_same(reply.data["metrics"], expected)
    assert some_agent.startswith("resolver-")


def test_cli_import_summary_and_exit_codes(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CSBOT_") and k != "DATABASE_URL"}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'cli.db'}"
    good = write(tmp_path, "1,a,Team A,Agent A,open,,,2026-03-02T09:00:00Z,,,,,,\n", "good.csv")
    r = subprocess.run([sys.executable, "-m", "bot.cli", "import", "tickets", str(good), "--source", "x"], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "1 rows: 1 inserted, 0 updated, 0 unchanged, 0 rejected, 1 teams created" in r.stdout
    bad = write(tmp_path, "2,a,,,open,,,nope,,,,,,\n", "bad.csv")
    r = subprocess.run([sys.executable, "-m", "bot.cli", "import", "tickets", str(bad), "--strict"], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "row 2: created_at" in r.stderr and "nothing was written" in r.stderr
    r = subprocess.run([sys.executable, "-m", "bot.cli", "import", "tickets", str(tmp_path / "missing.csv")], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "no such file" in r.stderr


def test_foreign_keys_stay_enforced_after_an_import(db: Database, tmp_path: Path) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    path = write(tmp_path, "1,a,Team A,Agent A,open,,,2026-03-02T09:00:00Z,,,,,,\n")
    import_tickets(db, path, Mapping.default(), source="csv")
    for _ in range(3):  # every pooled connection, not just the first
        with pytest.raises(IntegrityError), db.engine.begin() as conn:
            conn.execute(text("INSERT INTO tickets (source, external_id, status, created_at, team_id) VALUES ('x', 'y', 'open', 0, 99999)"))


def test_a_file_that_is_not_utf8_is_refused_before_anything_is_written(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    rows = "".join(f"{i},Caf{'é' if i == 4 else 'e'},,,open,,,2026-03-02T09:00:00Z,,,,,,\n" for i in range(6))
    path.write_bytes((HEADER + rows).encode("latin-1"))
    with pytest.raises(ImportRefused) as info:
        import_tickets(db, path, Mapping.default(), source="csv", batch_rows=2)
    assert "line 6 is not UTF-8" in info.value.problems[0]
    assert count(db) == 0


def test_absurd_numbers_are_rejected_rows_not_crashes(db: Database, tmp_path: Path) -> None:
    path = write(tmp_path, "1,,,,solved,,,2026-03-02T09:00:00Z,,2026-03-02T10:00:00Z,inf,1e400,,\n2,,,,open,,,0001-01-01T00:30:00+01:00,,,,,,\n")
    result = import_tickets(db, path, Mapping.default(), source="csv")
    reasons = {r.row: " ".join(r.reasons) for r in result.rejected}
    assert "replies: 'inf' is not a whole number" in reasons[2] and "reopens: '1e400'" in reasons[2]
    assert "outside the supported range" in reasons[3]


def test_imports_with_different_columns_in_one_process(db: Database, tmp_path: Path) -> None:
    first = tmp_path / "few.csv"
    first.write_text("external_id,created_at\nA,2026-03-02T09:00:00Z\n")
    import_tickets(db, first, Mapping.default(), source="csv")
    import_tickets(db, write(tmp_path, "B,s,,,open,low,chat,2026-03-02T09:00:00Z,,,1,0,good,true\n"), Mapping.default(), source="csv")
    assert count(db) == 2
