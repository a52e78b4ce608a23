"""The KPI export, `csbot export kpi` and `/kpi … --csv`, on SQLite and PostgreSQL.

Each row must say exactly what the card says for its days (`--json` of `/kpi
team TEAM A..B`), the rows of a range must add up to it, cells that a
spreadsheet would run as a formula are neutralised, and the file holds only
what the asker may see.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from bot.cli import main
from bot.dispatch import run_command
from bot.render.text import render_text
from handlers.registry import build_router
from handlers.reply import File, Reply
from kpi.definitions import METRICS
from kpi.tickets import Ticket
from store.database import Database
from store.org import Member, Team
from tests.helpers import apply_fixture_org
from tests.test_kpi_command import DEMO, seed_the_demo
from tests.test_kpi_command import NOW as DEMO_NOW

UTC = timezone.utc
NOW = datetime(2026, 3, 9, 12, 0, tzinfo=UTC)
AT = NOW.isoformat()


def ask(db: Database, text: str, handle: str) -> Reply:
    return run_command(db, build_router(), handle, text, now=NOW, platform="console")


def parse(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def number(cell: str) -> int | float | None:
    """A cell as the number --json gives: empty is None, an integer an int, else the float it spells exactly."""
    if cell == "":
        return None
    return int(cell) if cell.lstrip("-").isdigit() else float(cell)


def metrics_of(row: dict[str, str]) -> dict[str, int | float | None]:
    return {k: number(v) for k, v in row.items() if k not in ("scope", "name", "team", "agent", "from", "to", "until", "timezone", "channel")}


@pytest.fixture
def demo_db(
    db: Database, db_url: str, monkeypatch: pytest.MonkeyPatch, seeded: Callable[[Database, str, Callable[[Database], object]], None]
) -> Database:
    assert NOW == DEMO_NOW
    seeded(db, DEMO, seed_the_demo)  # the same demo as test_kpi_command's, seeded once per test process
    monkeypatch.setenv("DATABASE_URL", db_url)  # for the command line, run in this process
    return db


def export(tmp_path: Path, *args: str) -> list[dict[str, str]]:
    out = tmp_path / "kpi.csv"
    assert main(["export", "kpi", *args, "--csv", str(out), "--at", AT]) == 0
    return parse(out.read_text(encoding="utf-8"))


def test_the_export_equals_the_cards(demo_db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with demo_db.sessions() as s:
        team = s.scalars(select(Team).order_by(Team.key)).first()
        admin = s.scalar(select(Member.handle).where(Member.role == "admin"))
    assert team is not None and admin is not None
    # The whole range: one row, the card's --json to the last digit (QA columns too: the operator's export).
    (row,) = export(tmp_path, "--team", team.key, "--from", "2026-02-01", "--to", "2026-02-28")
    card = ask(demo_db, f"/kpi team {team.key} 2026-02-01..2026-02-28", admin)
    assert metrics_of(row) == card.data["metrics"]
    assert (row["scope"], row["name"], row["from"], row["to"], row["until"], row["timezone"]) == ("team", team.key, "2026-02-01", "2026-02-28", "", team.timezone)
    assert "Wrote" in capsys.readouterr().out
    # By week: the first and last week cut to the range, every row the card for its days, the rows adding up.
    weeks = export(tmp_path, "--team", team.key, "--from", "2026-02-01", "--to", "2026-02-28", "--by", "week")
    assert [(w["from"], w["to"]) for w in weeks] == [
        ("2026-02-01", "2026-02-01"), ("2026-02-02", "2026-02-08"), ("2026-02-09", "2026-02-15"),
        ("2026-02-16", "2026-02-22"), ("2026-02-23", "2026-02-28"),
    ]  # fmt: skip
    for week in weeks:
        assert metrics_of(week) == ask(demo_db, f"/kpi team {team.key} {week['from']}..{week['to']}", admin).data["metrics"]
    for count in ("tickets_created", "tickets_solved", "qa_reviews", "n_csat", "n_first_reply"):
        assert sum(number(w[count]) for w in weeks) == card.data["metrics"][count]  # type: ignore[misc]
    assert number(weeks[-1]["backlog"]) == card.data["metrics"]["backlog"]  # the backlog at the range's end
    # By day, into today: the last row is today so far, and says where its figures stop.
    days = export(tmp_path, "--org", "--from", "2026-03-07", "--to", "2026-03-09", "--by", "day")
    assert [d["from"] for d in days] == ["2026-03-07", "2026-03-08", "2026-03-09"] and days[-1]["until"] == "2026-03-09 12:00"
    for day in days:
        assert metrics_of(day) == ask(demo_db, f"/kpi org {day['from']}", admin).data["metrics"]
    # Every metric the card lists is a column, and each sample size.
    header = list(weeks[0])
    assert [m.name for m in METRICS if m.name in header] == [m.name for m in METRICS]
    assert {"n_first_reply", "n_resolution", "n_one_touch", "n_reopen", "n_csat", "n_sla"} <= set(header)


def test_to_standard_output_and_days_still_to_come(demo_db: Database, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "kpi", "--org", "--from", "2026-03-08", "--to", "2026-03-20", "--by", "day", "--csv", "-", "--at", AT]) == 0
    rows = parse(capsys.readouterr().out)
    assert [r["from"] for r in rows] == ["2026-03-08", "2026-03-09"]  # no rows for days that have not come yet


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--team", "nope"], "there is no team 'nope'"),
        (["--team", "=HYPERLINK(1)"], "there is no team"),
        (["--team", "support", "--org"], "not allowed with argument"),
        ([], "one of the arguments --team --org is required"),
        (["--org", "--from", "2026-02-30"], "--from/--to"),
        (["--org", "--from", "2026-03-05", "--to", "2026-03-01"], "--to is before --from"),
        (["--org", "--from", "0001-01-01"], "give dates from 1970-01-02"),
        (["--org", "--from", "2026-04-01", "--to", "2026-04-02"], "has not started yet"),
        (["--org", "--by", "month"], "invalid choice: 'month'"),
        (["--org", "--at", "yesterday"], "not an ISO 8601 time"),
    ],
)
def test_bad_arguments_are_refused_with_the_reason(demo_db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], said: str) -> None:
    out = tmp_path / "x.csv"
    assert exit_code(["export", "kpi", *args, "--csv", str(out), *([] if "--at" in args else ["--at", AT])]) == 2
    assert said in capsys.readouterr().err
    assert not out.exists()


def exit_code(args: list[str]) -> int | str | None:
    """What `csbot ARGS` exits with: argparse refuses its own usage errors by exiting 2."""
    try:
        return main(args)
    except SystemExit as exc:
        return exc.code


def test_an_unwritable_file_is_refused(demo_db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "kpi", "--org", "--csv", str(tmp_path), "--at", AT]) == 2  # a folder
    assert "cannot write" in capsys.readouterr().err


def test_chat_csv_holds_what_the_answer_shows(demo_db: Database) -> None:
    with demo_db.sessions() as s:
        lead = s.scalars(select(Member).where(Member.role == "lead").order_by(Member.id)).first()
        agent = s.scalars(select(Member).where(Member.role == "agent", Member.team_id == lead.team_id).order_by(Member.id)).first()  # type: ignore[union-attr]
        team = s.get(Team, lead.team_id)  # type: ignore[union-attr]
    assert lead is not None and agent is not None and team is not None
    cases = [
        (lead.handle, f"/kpi team {team.key} last week --csv", 1),
        (lead.handle, f"/kpi agents {team.key} 30d --csv", None),
        (lead.handle, f"/kpi team {team.key} 30d by channel --csv", None),
        (lead.handle, "/kpi teams 7d --csv", None),
        (lead.handle, "/kpi trend csat 28d by week --csv", None),
        (agent.handle, "/kpi me month --csv", 1),
        (agent.handle, f"/kpi agent @{agent.handle} 2026-02-01..2026-02-14 --csv", 1),
    ]
    for handle, question, count in cases:
        reply = ask(demo_db, question, handle)
        assert reply.ok, (question, reply.error)
        (file,) = [b for b in reply.blocks if isinstance(b, File)]
        assert file.media_type == "text/csv" and file.filename.endswith(".csv") and "/" not in file.filename
        rows = parse(file.content.decode("utf-8"))
        assert reply.data["csv"] == {"filename": file.filename, "rows": len(rows), "columns": list(rows[0])}
        if count is not None:
            assert len(rows) == count and metrics_of(rows[0]) == {k: v for k, v in reply.data["metrics"].items() if k in rows[0]}
        data = reply.data
        shown = (
            [p["metrics"] for p in data["series"]] if "series" in data
            else [r["metrics"] for r in data["rows"]] + ([data["unassigned"]["metrics"]] if "unassigned" in data else [])
            if "rows" in data else [data["metrics"]]
        )  # fmt: skip
        assert [metrics_of(r) for r in rows] == [{k: v for k, v in m.items() if k in rows[0]} for m in shown]
        assert "[file: " + file.filename in render_text(reply)
    # Pooled QA figures are in the file only for whoever sees them on the card.
    assert "qa_score" in parse(next(b for b in ask(demo_db, "/kpi team --csv", lead.handle).blocks if isinstance(b, File)).content.decode())[0]
    for handle, question in ((agent.handle, "/kpi team --csv"), (lead.handle, "/kpi team --csv --share")):
        (file,) = [b for b in ask(demo_db, question, handle).blocks if isinstance(b, File)]
        assert "qa_score" not in file.content.decode().splitlines()[0], question
    # What the asker may not see has no file either: the answer is refused as it would be without --csv.
    for question in (f"/kpi agents {team.key} --csv", f"/kpi agent @{lead.handle} --csv"):
        refused = ask(demo_db, question, agent.handle)
        assert refused.error is not None and refused.error.code == "forbidden" and not any(isinstance(b, File) for b in refused.blocks)
    assert ask(demo_db, "/kpi alerts --csv", lead.handle).error.code == "usage"  # type: ignore[union-attr]
    # A window before any data: the answer says so, with no file of zeros.
    early = ask(demo_db, "/kpi team 2020-01-01..2020-01-31 --csv", lead.handle)
    assert early.ok and early.data["no_data"] and not any(isinstance(b, File) for b in early.blocks)
    assert "No CSV file: there are no figures in this window." in render_text(early)


def test_cells_a_spreadsheet_would_run_are_neutralised(db: Database) -> None:
    apply_fixture_org(db)
    hostile = ["=HYPERLINK(\"http://e.x\",\"x\")", "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "=cmd|' /C calc'!A0", "safe"]
    with db.sessions() as s, s.begin():
        team_id = s.scalar(select(Team.id).where(Team.key == "support-emea"))
        s.execute(insert(Ticket), [
            {"source": "test", "external_id": f"H{i}", "team_id": team_id, "status": "open", "channel": channel,
             "created_at": NOW - timedelta(days=1, minutes=i)}
            for i, channel in enumerate(hostile)
        ])  # fmt: skip
    reply = ask(db, "/kpi team support-emea 7d by channel --csv", "bob")
    (file,) = [b for b in reply.blocks if isinstance(b, File)]
    text = file.content.decode("utf-8")
    cells = [r["channel"] for r in parse(text)]
    assert sorted(cells) == sorted("'" + c if c[0] in "=+-@\t" else c for c in hostile)
    for line in text.splitlines()[1:]:
        assert not line.startswith(("=", "+", "-", "@", "\t")) and ",=" not in line and ",+" not in line and ",@" not in line
