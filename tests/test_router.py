"""The command router: parsing, help for every command, friendly failures, one auth point."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

import pytest

from bot.dispatch import UnknownMember, run_action, run_command
from bot.render.slack import render_slack
from bot.render.teams import render_adaptive_card
from bot.render.text import render_text
from handlers.args import UsageError
from handlers.context import Context, Forbidden
from handlers.registry import build_router
from handlers.reply import Reply, Section
from handlers.router import Action, Router
from store.database import Database
from store.org import Member, Team
from tests.helpers import apply_fixture_org, assert_no_traceback

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc)


@pytest.fixture
def org_db(db: Database) -> Database:
    apply_fixture_org(db)
    return db


def ask(db: Database, text: str, handle: str = "alice", router: Router | None = None) -> Reply:
    return run_command(db, router or build_router(), handle, text, now=NOW, platform="console")


def test_every_command_answers_help(org_db: Database) -> None:
    router = build_router()
    assert router.families, "no commands registered"
    for family in router.families:
        if family.name == "csbot":
            continue  # `/csbot help` is the command list (tested below)
        for form in (f"/{family.name} help", f"{family.name} help", f"/{family.name} --help"):
            reply = ask(org_db, form, router=router)
            assert reply.ok, form
            assert reply.data["command"] == family.name
            assert family.usage.strip().splitlines()[0] in reply.to_neutral()[1]["text"]


def test_command_list(org_db: Database) -> None:
    assert ask(org_db, "/csbot help kpi" if build_router().family("kpi") else "/csbot help csbot").ok
    reply = ask(org_db, "/csbot help")
    assert reply.ok
    names = [c["name"] for c in reply.data["commands"]]
    assert names[0] == "csbot"
    assert set(names) == {f.name for f in build_router().families}


def test_help_typed_in_chat_without_a_slash_is_the_command_list(org_db: Database) -> None:
    # Teams messages and Slack mentions carry no slash: `help` must not be "Unknown command".
    listing = ask(org_db, "help")
    assert listing.ok and listing.data["commands"] == ask(org_db, "/csbot help").data["commands"]
    assert ask(org_db, "HELP kpi").to_neutral() == ask(org_db, "/csbot help kpi").to_neutral()
    assert ask(org_db, "?").ok


def test_unknown_command_gets_usage_and_suggestion(org_db: Database) -> None:
    reply = ask(org_db, "/csbto help")
    assert not reply.ok and reply.error.code == "usage"
    assert "Did you mean /csbot?" in reply.error.message
    text = " ".join(b.text for b in reply.blocks if isinstance(b, Section))
    assert "/csbot help" in text
    assert ask(org_db, "/nonsense").error.code == "usage"
    assert ask(org_db, "   ").error.code == "usage"


def test_bad_arguments_get_usage_not_an_exception(org_db: Database) -> None:
    reply = ask(org_db, "/csbot whoami please")
    assert reply.error.code == "usage"
    assert "/csbot whoami" in reply.blocks[-1].text  # the usage follows the problem
    assert ask(org_db, '/csbot help "kpi').error.code == "usage"
    reply = ask(org_db, "/csbot help nosuch")
    assert reply.error.code == "not_found"


def test_whoami_and_teams(org_db: Database) -> None:
    me = ask(org_db, "/csbot whoami", "bob")
    assert me.data == {
        "handle": "bob",
        "name": "Bob Jones",
        "role": "lead",
        "team": "support-emea",
        "timezone": "Europe/Berlin",
        "email": "bob@example.com",
    }
    teams = ask(org_db, "csbot teams")
    assert [t["key"] for t in teams.data["teams"]] == ["support-amer", "support-emea"]
    assert {t["key"]: t["members"] for t in teams.data["teams"]} == {"support-amer": 2, "support-emea": 2}


def test_unknown_member_is_refused(org_db: Database) -> None:
    with pytest.raises(UnknownMember):
        ask(org_db, "/csbot help", "mallory")


@dataclass(frozen=True)
class RenameRequest:
    key: str
    name: str


class RenameCommand:
    """A writing command used to prove authorization runs in one place, before any effect."""

    name = "rename"
    summary = "Rename a team"
    usage = "/rename TEAM NAME"
    examples = ("/rename support-emea EMEA",)

    def __init__(self) -> None:
        self.executed = 0

    def parse(self, words: list[str]) -> RenameRequest:
        if len(words) != 2:
            raise UsageError("Give a team key and a new name.")
        return RenameRequest(*words)

    def authorize(self, ctx: Context, request: RenameRequest) -> None:
        ctx.require_role("manager", "rename teams")

    def execute(self, ctx: Context, request: RenameRequest) -> Reply:
        self.executed += 1
        team = ctx.session.query(Team).filter_by(key=request.key).one()
        team.name = request.name
        if request.name == "boom":
            raise RuntimeError("half-way failure")
        return Reply(title="Renamed")


def test_authorization_and_rollback(org_db: Database) -> None:
    router = build_router()
    cmd = RenameCommand()
    router.register(cmd)
    refused = ask(org_db, "/rename support-emea X", "alice", router)
    assert refused.error.code == "forbidden" and "manager" in refused.error.message
    assert cmd.executed == 0
    assert ask(org_db, "/rename support-emea EMEA", "dana", router).ok
    broken = ask(org_db, "/rename support-emea boom", "dana", router)
    assert broken.error.code == "internal" and "ref" in broken.error.message
    with org_db.sessions() as s:
        assert s.query(Team).filter_by(key="support-emea").one().name == "EMEA"  # the failed write rolled back


def test_actions_go_through_parse_authorize_execute(org_db: Database) -> None:
    router = build_router()
    seen: list[str] = []

    def authorize(ctx: Context, request: str) -> None:
        if ctx.member.role == "agent":
            raise Forbidden("Agents may not press this.")

    router.register_action(Action("test.echo", parse=str.upper, authorize=authorize, execute=lambda ctx, r: (seen.append(r), Reply(title=r))[1]))
    assert run_action(org_db, router, "alice", "test.echo", "x", now=NOW, platform="console").error.code == "forbidden"
    assert run_action(org_db, router, "bob", "test.echo", "x", now=NOW, platform="console").title == "X"
    assert seen == ["X"]
    assert run_action(org_db, router, "bob", "gone.action", "x", now=NOW, platform="console").error.code == "usage"


def test_deactivated_member_cannot_use_the_bot(org_db: Database) -> None:
    with org_db.sessions() as s, s.begin():
        s.query(Member).filter_by(handle="carol").one().active = False
    with pytest.raises(UnknownMember):
        ask(org_db, "/csbot whoami", "carol")


def test_text_that_cannot_be_stored_or_shown_is_a_usage_refusal(org_db: Database, caplog: pytest.LogCaptureFixture) -> None:
    # These used to end as "Something went wrong on our side" with a traceback:
    # NUL in a PostgreSQL query, a lone surrogate in any query or rendered reply.
    for text in ("/kpi agent a\x00b", "/kpi agent \ud800", "/kpi \ud800", "/csbot help \udc00", "\ud83d"):
        reply = ask(org_db, text, "root")
        assert reply.error is not None and reply.error.code == "usage", (text, reply.error)
        reply.error.message.encode("utf-8")
        render_text(reply).encode("utf-8")
        render_slack(reply)
        render_adaptive_card(reply)
    assert_no_traceback(caplog.records)
