"""Renaming a team's key in the org file (`renamed_from:`) keeps its history under the new key.

Before `renamed_from`, changing a key created a new, empty team and deactivated
the old one with all its tickets: `/kpi team OLD` said there was no such team,
`/kpi teams` no longer added up to `/kpi org`, and subscriptions still named
the old key. These tests walk a real rename through `csbot org apply` and the
chat commands, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select

from bot.cli import main
from bot.dispatch import run_action, run_command
from bot.render.text import render_text
from bot.tick import run_tick
from handlers.kpi_alerts import SNOOZE_ACTION
from handlers.registry import build_router
from handlers.reply import Reply
from kpi.definitions import BY_NAME
from kpi.importer import import_tickets
from kpi.mapping import Mapping
from kpi.tickets import Ticket
from store.database import Database
from store.org import Team
from store.org_file import OrgFileError, apply_org, dump_org, org_document, parse_org, sweeping_changes
from store.outbox import OutboxRow
from store.subscriptions import Subscription
from tests.helpers import FIXTURES, in_clean_directory

NOW = datetime(2026, 3, 9, 12, 0, tzinfo=timezone.utc)  # a Monday
ROUTER = build_router()

EXTRA = """\
escalation:
  default_queue: desk
  queues:
    - key: desk
      name: Help desk
      policy: {levels: [{notify: [member:bob], wait: 10m}]}
    - key: amer-desk
      name: Americas desk
      policy: {levels: [{notify: [member:dana], wait: 10m}]}
  routes:
    - match: {team: [support-amer]}
      queue: amer-desk
qa:
  pass: 0.8
  rubric:
    - {key: accuracy, name: Accuracy, weight: 3, scale: 0-2}
    - {key: tone, name: Tone, weight: 1, scale: 1-5}
"""


def org_doc() -> dict[str, Any]:
    doc = yaml.safe_load((FIXTURES / "org.yaml").read_text() + EXTRA)
    for member in doc["members"]:
        if member["handle"] == "dana":
            member["slack_id"] = "U0DANA"  # so her subscription can be delivered
    return doc


def renamed(doc: dict[str, Any], old: str, new: str, *, note: bool = True) -> dict[str, Any]:
    """`doc` with team `old` called `new` everywhere the file names it, with `renamed_from: old` when `note`."""
    text = dump_org(doc)
    out = yaml.safe_load(text.replace(f"key: {old}\n", f"key: {new}\n").replace(f"team: {old}\n", f"team: {new}\n").replace(f"- {old}\n", f"- {new}\n"))
    if note:
        team = next(t for t in out["teams"] if t["key"] == new)
        team["renamed_from"] = old
    return out


def apply_doc(db: Database, doc: dict[str, Any], *, now: datetime = NOW):  # type: ignore[no-untyped-def]
    spec = parse_org(dump_org(doc), BY_NAME)
    with db.sessions() as s, s.begin():
        return apply_org(s, spec, now=now)


class Answer:
    """A reply as the person sees it (`text`, rendered as the console shows it) and its data."""

    def __init__(self, reply: Reply) -> None:
        self.ok, self.data, self.text = reply.ok, reply.data, render_text(reply)


def ask(db: Database, handle: str, text: str, now: datetime = NOW) -> Answer:
    return Answer(run_command(db, ROUTER, handle, text, now=now, platform="console"))


def import_history(db: Database, tmp_path: Path) -> None:
    """A few weeks of tickets for both teams, through the real importer."""
    lines = ["external_id,team,agent,status,created_at,first_reply_at,solved_at,csat"]
    for n in range(40):
        team, agent = ("support-amer", "carol") if n % 3 else ("support-emea", "alice")
        created = NOW - timedelta(days=2 + n, hours=n % 5)
        solved = f"{(created + timedelta(hours=5)).isoformat()}" if n % 4 else ""
        status = "solved" if solved else "open"
        lines.append(f"A-{n},{team},{agent},{status},{created.isoformat()},{(created + timedelta(minutes=20 + n)).isoformat()},{solved},{'good' if n % 5 else 'bad'}")
    path = tmp_path / "tickets.csv"
    path.write_text("\n".join(lines) + "\n")
    result = import_tickets(db, path, Mapping.default(), source="csv")
    assert result.inserted == 40 and not result.rejected and not result.teams_created


@pytest.fixture
def history(db: Database, tmp_path: Path) -> Database:
    """The org with tickets, a QA review, a coaching note and a subscription on support-amer."""
    apply_doc(db, org_doc(), now=NOW - timedelta(days=60))
    import_history(db, tmp_path)
    review = ask(db, "dana", "/qa @carol A-1 accuracy=2 tone=4 -- clear and kind", NOW - timedelta(days=3))
    assert review.ok, review.text
    note = ask(db, "dana", "/coach @carol great save on the refund call #empathy", NOW - timedelta(days=3))
    assert note.ok, note.text
    sub = ask(db, "dana", "/scorecard subscribe support-amer 10:00", NOW - timedelta(days=3))
    assert sub.ok, sub.text
    return db


def figures(db: Database, text: str, handle: str = "dana") -> dict[str, Any]:
    reply = ask(db, handle, text)
    assert reply.ok, reply.text
    return reply.data


# ---------------------------------------------------------------- the rename itself


def test_renamed_from_keeps_every_part_of_the_history_under_the_new_key(history: Database) -> None:
    db = history
    before = figures(db, "/kpi team support-amer 90d")
    coach_before = figures(db, "/coach summary support-amer 90d")
    with db.sessions() as s:
        old_id = s.scalar(select(Team.id).where(Team.key == "support-amer"))
    result = apply_doc(db, renamed(org_doc(), "support-amer", "support-na"))
    assert result.renamed == ["team support-amer → support-na"]
    assert "team support-na" not in result.created and "team support-amer" not in result.deactivated
    assert not any(item.startswith("member ") for item in result.updated)  # members follow without changing

    after = figures(db, "/kpi team support-na 90d")
    assert after["metrics"] == before["metrics"] and after["metrics"]["tickets_created"] > 0
    assert after["metrics"]["qa_reviews"] == before["metrics"]["qa_reviews"] == 1
    coach_after = figures(db, "/coach summary support-na 90d")
    assert coach_after["agents"] == coach_before["agents"] and coach_after["tags"] == {"empathy": 1}
    with db.sessions() as s:
        team = s.scalar(select(Team).where(Team.key == "support-na"))
        assert team.id == old_id and team.active and team.name == "Support Americas"
        assert sorted(m.handle for m in team.members) == ["carol", "dana"]
        assert s.scalar(select(func.count()).select_from(Team)) == 2  # no new team, none deactivated
        assert s.scalar(select(func.count()).select_from(Ticket).where(Ticket.team_id == old_id)) == 26
        assert [sub.subject for sub in s.scalars(select(Subscription))] == ["support-na"]

    subs = ask(db, "dana", "/scorecard subscriptions")
    assert "support-na" in subs.text and "support-amer" not in subs.text
    # The file's escalation route names the new key, and a member of the team is routed by it.
    opened = ask(db, "carol", "/escalate T-77 the customer is locked out")
    assert opened.ok and opened.data["escalation"]["queue"] == "amer-desk", opened.text


def test_the_old_key_says_what_the_team_is_called_now(history: Database) -> None:
    db = history
    apply_doc(db, renamed(org_doc(), "support-amer", "support-na"))
    for command in ("/kpi team support-amer 90d", "/kpi team SUPPORT-AMER", "/scorecard support-amer", "/coach summary support-amer"):
        reply = ask(db, "dana", command)
        assert not reply.ok
        assert "support-amer" in reply.text.lower() and "now called support-na" in reply.text, reply.text
        assert "no team called" not in reply.text.lower()
    # A name still finds it, and the new key of course.
    assert ask(db, "dana", "/kpi team Support Americas 7d").ok


def test_team_rows_add_up_to_the_org_after_a_rename(history: Database) -> None:
    db = history
    apply_doc(db, renamed(org_doc(), "support-amer", "support-na"))
    teams = figures(db, "/kpi teams 90d")
    org = figures(db, "/kpi org 90d")
    keys = [row["team"] for row in teams["rows"]]
    assert keys == ["support-emea", "support-na"]
    for metric in ("tickets_created", "tickets_solved", "backlog"):
        assert sum(row["metrics"][metric] for row in teams["rows"]) == org["metrics"][metric] > 0, metric


def test_show_round_trips_and_the_same_rename_twice_is_a_no_op(history: Database) -> None:
    db = history
    doc = renamed(org_doc(), "support-amer", "support-na")
    apply_doc(db, doc)
    again = apply_doc(db, doc)
    assert not again.changed, again.summary()
    with db.sessions() as s:
        shown = dump_org(org_document(s))
    assert "support-amer" not in shown and "renamed_from" not in shown
    assert "key: support-na" in shown and "- support-na" in shown  # the team, and the route's match
    assert not apply_doc(db, yaml.safe_load(shown)).changed
    with db.sessions() as s:
        assert dump_org(org_document(s)) == shown


def test_a_chain_of_renames_keeps_the_history_and_every_old_key_points_to_the_latest(history: Database) -> None:
    db = history
    before = figures(db, "/kpi team support-amer 90d")["metrics"]
    first = renamed(org_doc(), "support-amer", "support-na")
    apply_doc(db, first)
    second = renamed({**first, "teams": [{k: v for k, v in t.items() if k != "renamed_from"} for t in first["teams"]]}, "support-na", "americas")
    result = apply_doc(db, second)
    assert result.renamed == ["team support-na → americas"]
    assert figures(db, "/kpi team americas 90d")["metrics"] == before
    for old in ("support-amer", "support-na"):
        reply = ask(db, "dana", f"/kpi team {old}")
        assert not reply.ok and "now called americas" in reply.text, reply.text
    with db.sessions() as s:
        assert [sub.subject for sub in s.scalars(select(Subscription))] == ["americas"]
    assert not apply_doc(db, second).changed


def test_a_key_given_up_may_be_taken_by_a_new_team_which_then_answers_to_it(history: Database) -> None:
    db = history
    doc = renamed(org_doc(), "support-amer", "support-na")
    apply_doc(db, doc)
    del next(t for t in doc["teams"] if t["key"] == "support-na")["renamed_from"]
    doc["teams"].append({"key": "support-amer", "name": "Support Americas (new)", "timezone": "UTC"})
    result = apply_doc(db, doc)
    assert result.created == ["team support-amer"]
    reply = ask(db, "dana", "/kpi team support-amer 90d")
    assert reply.ok and reply.data["team"] == "support-amer" and reply.data["metrics"]["tickets_created"] == 0


def test_renaming_onto_a_key_that_exists_is_refused_by_line_and_changes_nothing(history: Database) -> None:
    db = history
    doc = org_doc()
    # support-emea says it was support-amer, while support-amer exists with its own history.
    doc["teams"] = [t for t in doc["teams"] if t["key"] != "support-amer"]
    doc["teams"][0]["renamed_from"] = "support-amer"
    for member in doc["members"]:
        if member.get("team") == "support-amer":
            member["team"] = "support-emea"
    doc["escalation"]["routes"][0]["match"]["team"] = ["support-emea"]
    text = dump_org(doc)
    spec = parse_org(text, BY_NAME, "org.yaml")
    line = text.splitlines().index("  renamed_from: support-amer") + 1
    with db.sessions() as s, s.begin():
        before = [(t.key, t.active) for t in s.scalars(select(Team).order_by(Team.id))]
        with pytest.raises(OrgFileError) as refused:
            apply_org(s, spec, now=NOW)
    assert refused.value.problems == [
        f"org.yaml:{line}: team 'support-emea': renamed_from 'support-amer', but both teams exist and csbot does not merge "
        "two teams' history; give the team another key, or remove renamed_from to keep them apart"
    ]
    with db.sessions() as s:
        assert [(t.key, t.active) for t in s.scalars(select(Team).order_by(Team.id))] == before


# ---------------------------------------------------------------- what the file itself must say


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda d: d["teams"][1].update(renamed_from="support-amer"), "team 'support-amer': renamed_from is the team's own key"),
        (lambda d: d["teams"][1].update(renamed_from="support-emea"), "team 'support-amer': renamed_from 'support-emea' is a team this file lists (line 5); a team is either renamed or listed"),
        (lambda d: d["teams"][1].update(renamed_from="Support EMEA!"), "team 'support-amer': renamed_from must be a team key (a lowercase slug), not 'Support EMEA!'"),
        (lambda d: d["teams"][1].update(renamed_from=7), 'team \'support-amer\': \'renamed_from\' must be text: quote it, e.g. renamed_from: "7"'),
        (
            lambda d: (d["teams"][0].update(renamed_from="old"), d["teams"][1].update(renamed_from="old")),
            "team 'support-amer': renamed_from 'old' is already claimed by team 'support-emea' (line 18)",
        ),
    ],
)
def test_renamed_from_is_checked_by_line(change: Any, problem: str) -> None:
    doc = yaml.safe_load((FIXTURES / "org.yaml").read_text())
    change(doc)
    with pytest.raises(OrgFileError) as refused:
        parse_org(dump_org(doc), BY_NAME, "org.yaml")
    assert [p.split(": ", 1)[1] for p in refused.value.problems] == [problem]


def test_a_member_still_on_the_old_key_is_told_the_new_one() -> None:
    doc = renamed(yaml.safe_load((FIXTURES / "org.yaml").read_text()), "support-amer", "support-na")
    doc["members"][2]["team"] = "support-amer"  # carol, forgotten
    with pytest.raises(OrgFileError) as refused:
        parse_org(dump_org(doc), BY_NAME, "org.yaml")
    (problem,) = refused.value.problems
    assert problem.endswith("member 'carol': team 'support-amer' is now called 'support-na' (renamed_from on line 29); write team: support-na")


# ---------------------------------------------------------------- tickets that still name the old key


def test_an_import_or_event_naming_the_old_key_reaches_the_renamed_team(history: Database, tmp_path: Path) -> None:
    db = history
    apply_doc(db, renamed(org_doc(), "support-amer", "support-na"))
    path = tmp_path / "late.csv"
    path.write_text(f"external_id,team,status,created_at\nL-1,support-amer,open,{(NOW - timedelta(days=1)).isoformat()}\n")
    result = import_tickets(db, path, Mapping.default(), source="csv")
    assert result.inserted == 1 and result.teams_created == []
    with db.sessions() as s:
        team_id = s.scalar(select(Ticket.team_id).where(Ticket.external_id == "L-1"))
        assert s.get(Team, team_id).key == "support-na"


# ---------------------------------------------------------------- messages already sent or on their way


async def test_a_scorecard_posted_before_a_rename_is_not_posted_again_after_it(history: Database, slack: Any) -> None:
    db, (fake, notifier) = history, slack
    morning = datetime(2026, 3, 9, 15, 5, tzinfo=timezone.utc)  # 11:05 in New York: the 08:30 card and dana's 10:00 copy are due
    await run_tick(db, [notifier], morning)
    with db.sessions() as s:
        sent = sorted((r.kind, r.subject) for r in s.scalars(select(OutboxRow).where(OutboxRow.status == "sent")))
    assert ("scorecard", "support-amer") in sent and ("subscription", "dana:support-amer") in sent
    posted = len(fake.of("chat.postMessage"))
    apply_doc(db, renamed(org_doc(), "support-amer", "support-na"), now=morning + timedelta(minutes=5))
    await run_tick(db, [notifier], morning + timedelta(minutes=10))
    assert len(fake.of("chat.postMessage")) == posted
    with db.sessions() as s:
        subjects = sorted((r.kind, r.subject, r.status) for r in s.scalars(select(OutboxRow).where(OutboxRow.kind.in_(("scorecard", "subscription")))))
    assert ("scorecard", "support-na", "sent") in subjects and ("subscription", "dana:support-na", "sent") in subjects
    assert not any("support-amer" in subject for _, subject, _ in subjects)


async def test_an_alert_posted_before_a_rename_is_still_snoozed_from_its_button(history: Database, slack: Any) -> None:
    db, (fake, notifier) = history, slack
    doc = org_doc()
    doc["teams"][1]["alerts"] = {"backlog": {"above": 1}}
    apply_doc(db, doc)
    at = datetime(2026, 3, 9, 14, 0, tzinfo=timezone.utc)  # 10:00 in New York; support-amer has 6 open tickets
    await run_tick(db, [notifier], at, only="alerts")
    (alert,) = [c.args for c in fake.of("chat.postMessage") if c.args.get("channel") == "C0456EFGH" and "KPI alert" in c.args["text"]]
    button = next(e for b in alert["blocks"] if b["type"] == "actions" for e in b["elements"])
    doc = renamed(doc, "support-amer", "support-na")
    apply_doc(db, doc, now=at + timedelta(minutes=1))
    done = run_action(db, ROUTER, "dana", SNOOZE_ACTION, button["value"], now=at + timedelta(minutes=2), platform="slack")
    assert done.ok and done.data["team"] == "support-na" and done.data["snoozed_by"] == "dana"


# ---------------------------------------------------------------- a key changed without renamed_from


class Cli:
    def __init__(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.tmp_path, self.capsys, self.files = tmp_path, capsys, 0

    def apply(self, doc: dict[str, Any], *options: str) -> tuple[int, str, str]:
        self.files += 1
        path = self.tmp_path / f"org{self.files}.yaml"
        path.write_text(dump_org(doc))
        code = main(["org", "apply", str(path), *options])
        out, err = self.capsys.readouterr()
        assert "Traceback" not in err
        return code, out, err.replace(str(path), "org.yaml")


@pytest.fixture
def cli(db: Database, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Cli:
    in_clean_directory(tmp_path, monkeypatch, db_url)
    return Cli(tmp_path, capsys)


GUARD = (
    "this would deactivate team support-amer (26 tickets) while creating team support-na: if support-na is support-amer "
    "under a new key, add `renamed_from: support-amer` to team support-na to keep its history; add --force if that is what you mean"
)


def test_a_team_with_tickets_replaced_by_a_new_key_is_refused_pointing_at_renamed_from(history: Database, cli: Cli) -> None:
    db = history
    doc = renamed(org_doc(), "support-amer", "support-na", note=False)
    code, out, err = cli.apply(doc, "--dry-run")
    assert code == 2 and out.startswith("Dry run, nothing written. Would have: created 1: team support-na")
    assert err.splitlines() == [f"Applying it would be refused: {GUARD}"]
    code, out, err = cli.apply(doc)
    assert (code, out) == (2, "")
    assert err.splitlines() == ["org.yaml was refused; nothing was changed:", f"  {GUARD}"]
    with db.sessions() as s:
        assert s.scalar(select(Team.active).where(Team.key == "support-amer")) is True
        assert s.scalar(select(Team.id).where(Team.key == "support-na")) is None
    # With renamed_from it goes through; --force would have said "yes, deactivate it" instead.
    code, out, err = cli.apply(renamed(org_doc(), "support-amer", "support-na"))
    assert code == 0 and err == "" and out.splitlines()[0] == "renamed 1: team support-amer → support-na"


def test_force_deactivates_the_old_team_when_that_is_what_is_meant(history: Database, cli: Cli) -> None:
    code, out, err = cli.apply(renamed(org_doc(), "support-amer", "support-na", note=False), "--force")
    assert code == 0 and "deactivated 1: team support-amer" in out
    assert err.splitlines() == [f"Applied with --force, which was needed to {GUARD.removeprefix('this would ').removesuffix('; add --force if that is what you mean')}."]


def test_a_team_without_tickets_may_be_replaced_without_force(db: Database, cli: Cli) -> None:
    apply_doc(db, org_doc())  # no history to lose
    code, out, err = cli.apply(renamed(org_doc(), "support-amer", "support-na", note=False))
    assert code == 0 and err == "" and "deactivated 1: team support-amer" in out


def test_the_guard_is_what_applying_does(history: Database) -> None:
    from kpi.team_history import tickets_per_team

    spec = parse_org(dump_org(renamed(org_doc(), "support-amer", "support-na", note=False)), BY_NAME)
    with history.sessions() as s, s.begin():
        sweeping = sweeping_changes(s, spec, tickets=tickets_per_team)
        result = apply_org(s, spec, now=NOW)
        s.rollback()
    assert sweeping.teams_replaced == [("support-amer", 26)] and sweeping.teams_created == ["support-na"]
    assert result.created == ["team support-na"] and "team support-amer" in result.deactivated


def test_a_rename_into_an_empty_database_creates_the_team(db: Database) -> None:
    # A file kept with renamed_from in it, applied to a fresh deployment: nothing to rename, nothing refused.
    result = apply_doc(db, renamed(org_doc(), "support-amer", "support-na"))
    assert "team support-na" in result.created and result.renamed == []


def test_the_cli_names_the_new_key_for_an_old_one(history: Database, cli: Cli, tmp_path: Path) -> None:
    cli.apply(renamed(org_doc(), "support-amer", "support-na"))
    code = main(["export", "coaching", "--as", "root", "--csv", str(tmp_path / "out.csv"), "--team", "support-amer"])
    err = cli.capsys.readouterr().err
    assert code == 2 and "team 'support-amer' is now called 'support-na'" in err, err
