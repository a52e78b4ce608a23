"""Names and ids are one line of visible text, whichever way they enter csbot.

One rule (`store.name_characters`): control characters, line and paragraph
separators, bidirectional and other invisible formatting characters, lone
surrogates. The org file refuses them at their line, however the file wrote
them (a YAML escape such as "\\r\\n" or "\\u202E" is decoded first); the webhook
and the ticket import clean names (a helpdesk's data is what it is) and refuse
ids (changed, an id would name another ticket).
"""

from __future__ import annotations

import json
import sys
import time
import unicodedata
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import func, select

from bot.config import load_settings
from bot.web import create_app
from bot.webhooks import sign
from kpi.definitions import BY_NAME
from kpi.importer import ImportRefused, import_tickets
from kpi.mapping import Mapping
from kpi.tickets import Ticket
from store.database import Database
from store.name_characters import UNWANTED_CATEGORIES, clean_name, unwanted_character
from store.org import Member, Team
from store.org_file import OrgFileError, parse_org
from tests.helpers import FIXTURES, apply_fixture_org, serve, table_counts
from tests.test_webhook import NOW, SECRET

# The issue's examples, as a YAML double-quoted string writes them, and the character each decodes to.
ESCAPES = [
    ("\\r\\n", "\r"),
    ("\\x1b", "\x1b"),
    ("\\N", "\x85"),  # YAML's escape for U+0085 NEXT LINE
    ("\\L", "\u2028"),  # and for U+2028 LINE SEPARATOR
    ("\\u202E", "\u202e"),
    ("\\u200B", "\u200b"),
    ("\\uFEFF", "\ufeff"),
    ("\\t", "\t"),
    ("\\u2066", "\u2066"),  # LEFT-TO-RIGHT ISOLATE
    ("\\x7f", "\x7f"),
]


# ---------------------------------------------------------------- the rule


@pytest.mark.parametrize(("_written", "char"), ESCAPES)
def test_each_character_of_the_issue_is_unwanted_and_named(_written: str, char: str) -> None:
    described = unwanted_character(f"Agent{char}One")
    assert described is not None and f"U+{ord(char):04X}" in described


@pytest.mark.parametrize("name", ["Alice Smith", "Chloé Martin", "Søren Østergaard", "李明", "محمد علي", "Ἀθηνᾶ", "Zoë O'Brien-Smith", "Ana 🚀", "José\u00a0Luis"])
def test_real_names_are_wanted_and_kept_as_they_are(name: str) -> None:
    assert unwanted_character(name) is None and clean_name(name) == name


def test_the_rule_is_exactly_the_unicode_categories_for_every_code_point() -> None:
    # The fast path (one regular expression for most names) must agree with the categories everywhere.
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        assert (unwanted_character(f"a{char}b") is not None) == (unicodedata.category(char) in UNWANTED_CATEGORIES), hex(code)


def test_cleaning_keeps_the_words_apart_and_drops_what_is_invisible() -> None:
    assert clean_name("Agent\r\nOne") == "Agent One"
    assert clean_name("\x1b[2JNora") == "[2JNora"
    assert clean_name("Ali\u200bce \u202eSmith\u202c") == "Alice Smith"
    assert clean_name("\ufeffNight\u2028Shift\x85") == "Night Shift"
    assert clean_name("\u200b\u200d") == ""


# ---------------------------------------------------------------- the org file refuses, by line


def fixture_text() -> str:
    return (FIXTURES / "org.yaml").read_text()


@pytest.mark.parametrize(("written", "char"), ESCAPES)
@pytest.mark.parametrize(
    ("find", "field", "what"),
    [
        ("name: Support EMEA", "name", "team 'support-emea'"),
        ("name: Alice Smith", "name", "member 'alice'"),
        ("org: {name: Acme Support, timezone: UTC}", "name", "org"),
        ("slack_id: U0123ABCD", "slack_id", "member 'alice'"),
        ("email: bob@example.com", "email", "member 'bob'"),
    ],
)
def test_the_org_file_refuses_an_escaped_unwanted_character_in_any_name_or_id_by_line(written: str, char: str, find: str, field: str, what: str) -> None:
    text = fixture_text()
    line = next(i for i, row in enumerate(text.splitlines(), 1) if find in row)
    if find.startswith("org:"):
        changed = text.replace(find, f'org: {{name: "Acme{written}Support", timezone: UTC}}')
    else:
        value = find.split(": ", 1)[1]
        changed = text.replace(find, f'{field}: "{value[:3]}{written}{value[3:]}"', 1)
    with pytest.raises(OrgFileError) as refused:
        parse_org(changed, BY_NAME, "org.yaml")
    (problem,) = refused.value.problems
    assert problem.startswith(f"org.yaml:{line}: {what}: '{field}' holds ") and f"U+{ord(char):04X}" in problem, problem
    assert problem.endswith("names and ids are one line of visible text: remove it")


@pytest.mark.parametrize("char", ["\u202e", "\u200b", "\ufeff", "\u2066", "\u00ad"])
def test_the_org_file_refuses_an_invisible_character_written_as_itself(char: str) -> None:
    # YAML lets these stand in a file unescaped; they are refused all the same.
    text = fixture_text().replace("name: Carol Diaz", f"name: Carol{char}Diaz")
    with pytest.raises(OrgFileError) as refused:
        parse_org(text, BY_NAME, "org.yaml")
    assert [p.split(": ", 2)[1] for p in refused.value.problems] == ["member 'carol'"]


def test_queue_and_rubric_names_follow_the_same_rule() -> None:
    text = fixture_text() + (
        "escalation:\n  queues:\n    - key: desk\n      name: \"Help\\u202Edesk\"\n      policy: {levels: [{notify: [member:bob], wait: 10m}]}\n"
        "qa:\n  rubric:\n    - {key: tone, name: \"Tone\\r\\nand manner\", scale: 1-5}\n"
    )
    with pytest.raises(OrgFileError) as refused:
        parse_org(text, BY_NAME, "org.yaml")
    assert [p.split(": ")[1] for p in refused.value.problems] == ["queue 'desk'", "qa"]
    assert "RIGHT-TO-LEFT OVERRIDE, U+202E" in refused.value.problems[0] and "a line break (carriage return, U+000D)" in refused.value.problems[1]


# ---------------------------------------------------------------- the webhook cleans names and refuses ids


@pytest.fixture
async def webhook(db: Database) -> AsyncIterator[str]:
    apply_fixture_org(db)
    runner, base = await serve(create_app(db, load_settings({"CSBOT_WEBHOOK_SECRET": SECRET}), clock=lambda: NOW))
    yield f"{base}/webhooks/tickets"
    await runner.cleanup()


async def post(url: str, event: dict) -> tuple[int, dict]:  # type: ignore[type-arg]
    body = json.dumps(event).encode()
    stamp = str(int(time.time()))
    headers = {"Content-Type": "application/json", "X-Csbot-Timestamp": stamp, "X-Csbot-Signature": sign(SECRET, stamp, body)}
    async with aiohttp.ClientSession() as http, http.post(url, data=body, headers=headers) as resp:
        return resp.status, await resp.json()


def event(event_id: str = "e1", external_id: str = "T-1", **ticket: str) -> dict:  # type: ignore[type-arg]
    return {"id": event_id, "type": "created", "source": "helpdesk", "at": "2026-03-02T09:00:00Z", "ticket": {"external_id": external_id, **ticket}}


@pytest.mark.parametrize(("_written", "char"), ESCAPES)
async def test_the_webhook_cleans_the_names_it_creates(webhook: str, db: Database, _written: str, char: str) -> None:
    status, body = await post(webhook, event(team=f"Night{char}Shift", agent=f"{char}Nora{char}Newcomer"))
    assert (status, body["ok"]) == (200, True), body
    with db.sessions() as s:
        ticket = s.scalar(select(Ticket).where(Ticket.external_id == "T-1"))
        team, agent = s.get(Team, ticket.team_id), s.get(Member, ticket.agent_id)
    assert unwanted_character(team.name) is None and unwanted_character(agent.name) is None
    assert team.name in ("Night Shift", "NightShift") and agent.name in ("Nora Newcomer", "NoraNewcomer")


async def test_a_cleaned_name_finds_the_member_it_names(webhook: str, db: Database) -> None:
    status, _ = await post(webhook, event(team="Support\u2028EMEA", agent="Alice\r\nSmith"))
    assert status == 200
    with db.sessions() as s:
        ticket = s.scalar(select(Ticket))
        assert (s.get(Team, ticket.team_id).key, s.get(Member, ticket.agent_id).handle) == ("support-emea", "alice")
        assert s.scalar(select(func.count()).select_from(Team)) == 2  # nothing new created


@pytest.mark.parametrize(("_written", "char"), ESCAPES)
@pytest.mark.parametrize("field", ["id", "source", "ticket.external_id"])
async def test_the_webhook_refuses_an_id_holding_an_unwanted_character_naming_the_field(
    webhook: str, db: Database, _written: str, char: str, field: str
) -> None:
    sent = event()
    if field == "ticket.external_id":
        sent["ticket"]["external_id"] = f"T-{char}1"
    else:
        sent[field] = f"x{char}y"
    before = table_counts(db)
    status, body = await post(webhook, sent)
    assert status == 400 and body["error"] == "invalid event"
    (problem,) = body["problems"]
    assert problem.startswith(f"{field}: holds ") and f"U+{ord(char):04X}" in problem and "an id must be one line of visible text" in problem
    assert table_counts(db) == before


async def test_a_name_of_nothing_visible_is_refused(webhook: str, db: Database) -> None:
    status, body = await post(webhook, event(team="\u200b\u200d"))
    assert status == 400 and body["problems"] == ["ticket.team: has no visible characters"]


# ---------------------------------------------------------------- the import cleans names and refuses ids


def test_the_import_cleans_names_and_rejects_rows_whose_id_holds_one(db: Database, tmp_path: Path) -> None:
    apply_fixture_org(db)
    path = tmp_path / "tickets.csv"
    path.write_text(
        "external_id,team,agent,channel,created_at\n"
        '1,"Night\r\nShift",Nora\u202eNewcomer,chat\u200b,2026-03-02T09:00:00Z\n'
        "2\x1b[2J,support-emea,alice,email,2026-03-02T09:00:00Z\n"
        "3,\u2066Support EMEA\u2069,\ufeffAlice Smith,email,2026-03-02T09:00:00Z\n",
        newline="",
    )
    result = import_tickets(db, path, Mapping.default(), source="csv")
    assert (result.inserted, len(result.rejected)) == (2, 1)
    (reject,) = result.rejected
    assert reject.row == 4 and reject.reasons == ["external_id: holds an escape character (U+001B); an id must be one line of visible text"]
    with db.sessions() as s:
        tickets = {t.external_id: t for t in s.scalars(select(Ticket))}
        night, nora = s.get(Team, tickets["1"].team_id), s.get(Member, tickets["1"].agent_id)
        emea, alice = s.get(Team, tickets["3"].team_id), s.get(Member, tickets["3"].agent_id)
    assert (night.key, night.name, nora.name, tickets["1"].channel) == ("night-shift", "Night Shift", "NoraNewcomer", "chat")
    assert (emea.key, alice.handle) == ("support-emea", "alice")


def test_an_import_source_holding_one_is_refused(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "tickets.csv"
    path.write_text("external_id,created_at\n1,2026-03-02T09:00:00Z\n")
    with pytest.raises(ImportRefused) as refused:
        import_tickets(db, path, Mapping.default(), source="help\u202edesk")
    assert refused.value.problems == ["source: 'help\\u202edesk' holds an invisible formatting character (RIGHT-TO-LEFT OVERRIDE, U+202E); an id must be one line of visible text"]
