"""Free text up to its own limit goes through every surface: a 4,000-character note on Slack and Teams, the longest legal command through the router."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from sqlalchemy import select

from bot.dispatch import run_command
from coaching import notes, sessions
from coaching.models import CoachingAction, CoachingNote, CoachingSession
from handlers.args import MAX_COMMAND_CHARS
from handlers.registry import build_router
from store.database import Database
from tests.helpers import apply_fixture_org
from tests.slack_env import running_slack
from tests.teams_env import start_env

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc)


def note_of(length: int) -> str:
    """A note of exactly `length` characters, in several scripts, with quotes and line breaks as people type them."""
    sentence = "Great save on the refund call — «très bien», 顧客はとても満足しました, הלקוח מרוצה 👍. Don't rush the close.\n"
    text = (sentence * (length // len(sentence) + 1))[:length]
    return text[:-1] + "." if text[-1].isspace() else text


def stored_notes(db: Database) -> list[CoachingNote]:
    with db.sessions() as s:
        return list(s.scalars(select(CoachingNote)))


async def test_a_4000_character_note_through_slack(db: Database) -> None:
    note = note_of(notes.MAX_TEXT)
    text = f"@alice {note} #empathy #refunds ticket T-123 --private"
    assert len(text) > 4_000  # more than the old limit on the whole command
    async with running_slack(db) as env:
        status, _, _ = await env.command("/coach", text, user="U0123ABCE")  # bob, alice's lead
        assert status == 200
        await env.wait_for("response_url")
    (saved,) = stored_notes(db)
    assert saved.text == note.strip() and len(saved.text) == notes.MAX_TEXT
    assert saved.tags == ["empathy", "refunds"] and saved.ticket == "T-123" and saved.private


async def test_a_4000_character_note_through_teams(db: Database) -> None:
    apply_fixture_org(db)
    note = note_of(notes.MAX_TEXT)
    env, runners = await start_env(db)
    try:
        # dana (carol's manager) in her 1:1 chat with csbot; Teams sends line breaks as <br>.
        typed = note.replace("\n", "<br>")
        assert await env.post(env.activity(f"coach @carol {typed} #empathy", who="dana", where="personal")) in (200, 201)
        answer = env.card_texts(env.connector.messages()[-1])
        assert "Note 1 about Carol Diaz" in answer, answer[:500]
    finally:
        for r in runners:
            await r.cleanup()
    (saved,) = stored_notes(db)
    # Teams' HTML becomes text: line breaks as spaces, the words as written.
    assert " ".join(saved.text.split()) == " ".join(note.split()) and saved.tags == ["empathy"]


async def test_a_note_over_its_limit_is_refused_for_its_length_not_the_commands(db: Database) -> None:
    async with running_slack(db) as env:
        await env.command("/coach", f"@alice {note_of(notes.MAX_TEXT + 1)}", user="U0123ABCE")
        (answer,) = await env.wait_for("response_url")
    assert stored_notes(db) == []
    assert "4,001 characters long; at most 4,000" in str(answer.args)


def longest_session_command(today: date) -> str:
    """`/coach session` with every part at its own limit: the longest command csbot accepts."""
    due = (today + timedelta(days=30)).isoformat()
    item = ("x" * (sessions.MAX_ACTION - 1)) + "."
    actions = "; ".join(f"{item} by {due}" for _ in range(sessions.MAX_ACTIONS))
    return (
        "/coach session @alice strengths=" + "s" * sessions.MAX_TEXT
        + " opportunities=" + "o" * sessions.MAX_TEXT
        + f' actions="{actions}" follow_up={due}'
    )  # fmt: skip


def test_the_longest_legal_command_fits_the_command_limit_and_is_recorded(db: Database) -> None:
    apply_fixture_org(db)
    text = longest_session_command(NOW.date())
    assert 4_000 * 2 < len(text) <= MAX_COMMAND_CHARS
    reply = run_command(db, build_router(), "bob", text, now=NOW, platform="console")
    assert reply.ok, reply.error
    with db.sessions() as s:
        (record,) = s.scalars(select(CoachingSession))
        assert len(record.strengths) == len(record.opportunities) == sessions.MAX_TEXT
        assert len(list(s.scalars(select(CoachingAction)))) == sessions.MAX_ACTIONS


def test_the_whole_command_stays_bounded(db: Database) -> None:
    apply_fixture_org(db)
    reply = run_command(db, build_router(), "bob", "/coach @alice " + "y" * MAX_COMMAND_CHARS, now=NOW, platform="console")
    assert not reply.ok and reply.error is not None and f"the limit is {MAX_COMMAND_CHARS:,}" in reply.error.message
