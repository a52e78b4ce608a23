"""Coaching notes through the router and the outbox: write, deliver, acknowledge, see (or not), edit, delete, audit."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from bot.dispatch import run_action, run_command
from bot.render.slack import render_slack
from bot.slack.notifier import SlackNotifier
from bot.tick import run_tick
from coaching.notes import NoteError, check_text
from handlers.registry import build_router
from store.database import Database
from tests.fake_slack import FakeSlack
from tests.helpers import apply_fixture_org

ROUTER = build_router()
T0 = datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)


def ask(db: Database, handle: str, text: str, at: datetime = T0) -> dict:  # type: ignore[type-arg]
    reply = run_command(db, ROUTER, handle, text, now=at, platform="console")
    return {"ok": reply.ok, "data": reply.data, "code": reply.error.code if reply.error else None, "error": reply.error.message if reply.error else None, "reply": reply}


async def test_a_shared_note_reaches_the_agent_who_acknowledges_it(db: Database, slack: tuple[FakeSlack, SlackNotifier]) -> None:
    fake, notifier = slack
    apply_fixture_org(db)
    out = ask(db, "bob", "/coach @alice great save on the refund call <!channel> #empathy #Ownership ticket T-123")
    assert out["ok"], out["error"]
    note = out["data"]["note"]
    assert (note["agent"], note["author"], note["tags"], note["ticket"], note["private"]) == ("alice", "bob", ["empathy", "ownership"], "T-123", False)
    assert note["text"] == "great save on the refund call <!channel>"  # stored intact
    report = await run_tick(db, [notifier], T0 + timedelta(seconds=30), only="coaching")
    # alice also has a Teams id; this process runs Slack only, so that copy is recorded as not reachable.
    assert sorted((o.recipient, o.status) for o in report.outcomes if o.kind == "coach_note") == [
        ("slack:user:U0123ABCD", "sent"), ("teams:user:8f0c2a1e-0000-4000-8000-000000000001", "skipped")
    ]
    dm = next(c.args for c in fake.of("chat.postMessage") if c.args["channel"] == "D0123ABCD")
    assert "&lt;!channel&gt;" in json.dumps(dm["blocks"]) and "<!channel>" not in json.dumps(dm["blocks"])
    button = next(e for b in dm["blocks"] if b["type"] == "actions" for e in b["elements"])
    assert button["action_id"] == "coach.ack"
    # Only alice acknowledges it; a forged or foreign click finds nothing.
    assert run_action(db, ROUTER, "bob", "coach.ack", button["value"], now=T0, platform="slack").error.code == "not_found"  # type: ignore[union-attr]
    reply = run_action(db, ROUTER, "alice", "coach.ack", button["value"], now=T0 + timedelta(minutes=5), platform="slack")
    assert reply.ok and reply.replace_original and reply.data["note"]["acknowledged_at"] == (T0 + timedelta(minutes=5)).isoformat()
    assert not any(b["type"] == "actions" for m in render_slack(reply) for b in m["blocks"])
    assert ask(db, "alice", "/coach mine")["data"]["notes"][0]["acknowledged_at"] is not None


def test_who_sees_what(db: Database) -> None:
    apply_fixture_org(db)
    shared = ask(db, "bob", "/coach @alice clear and kind with an angry customer")["data"]["note"]["id"]
    private = ask(db, "bob", "/coach @alice watch the hold times --private")["data"]["note"]["id"]
    ids = lambda out: [n["id"] for n in out["data"]["notes"]]  # noqa: E731
    assert ids(ask(db, "alice", "/coach mine")) == [shared]  # the agent never sees a private note
    assert ids(ask(db, "alice", "/coach history @alice")) == [shared]
    assert ids(ask(db, "bob", "/coach history @alice")) == [private, shared]  # the author and lead
    assert ids(ask(db, "root", "/coach history @alice")) == [private, shared]  # an admin
    # Another team's manager and an agent of another team: refused, saying why, revealing nothing.
    for handle in ("dana", "carol"):
        refused = ask(db, handle, "/coach history @alice")
        assert refused["code"] == "forbidden" and "Alice Smith" in refused["error"] and "note" in refused["error"]
    assert ask(db, "carol", "/coach @alice nice one")["code"] == "forbidden"  # an agent writes no notes
    assert ask(db, "bob", "/coach @carol nice one")["code"] == "forbidden"  # not bob's team
    # Reading someone else's private note is on the record; the audit is for admins.
    trail = ask(db, "root", "/coach audit @alice")["data"]["audit"]
    assert [(a["note"], a["action"], a["by"]) for a in trail] == [(shared, "created", "bob"), (private, "created", "bob"), (private, "read", "root")]
    assert ask(db, "bob", "/coach audit @alice")["code"] == "forbidden"


def test_the_author_may_edit_or_delete_for_a_day_and_history_is_kept(db: Database) -> None:
    apply_fixture_org(db)
    number = ask(db, "bob", "/coach @alice first draft #tone")["data"]["note"]["id"]
    edited = ask(db, "bob", f"/coach edit {number} the real note #empathy", T0 + timedelta(hours=2))
    assert edited["ok"] and edited["data"]["note"]["text"] == "the real note" and edited["data"]["note"]["tags"] == ["empathy"]
    late = ask(db, "bob", f"/coach edit {number} again", T0 + timedelta(hours=25))
    stranger = ask(db, "root", f"/coach delete {number}", T0 + timedelta(hours=1))
    missing = ask(db, "bob", "/coach delete 999", T0)
    # The same answer whether the note is too old, someone else's or does not exist.
    assert late["code"] == stranger["code"] == missing["code"] == "not_found"
    assert late["error"] == stranger["error"] == missing["error"]
    assert ask(db, "bob", f"/coach delete {number}", T0 + timedelta(hours=3))["ok"]
    assert ask(db, "bob", "/coach history @alice")["data"]["notes"] == []
    trail = ask(db, "root", "/coach audit @alice")["data"]["audit"]
    assert [a["action"] for a in trail] == ["created", "edited", "deleted"]
    assert json.loads(trail[1]["before"]) == {"text": "first draft", "tags": ["tone"]}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("/coach @alice", "Write the note itself"),
        ("/coach @alice nice #Bad!tag", "is not a tag"),
        ("/coach @alice nice --share", "never shared in a channel"),
        ("/coach @nobody nice one", "no member called"),
        ("/coach history @alice last_week", "not a window"),
        ("/coach delete x", "not a note number"),
        ("/coach mine --private", "--private is for writing a note"),
    ],
)
def test_bad_input_says_what_was_wrong(db: Database, text: str, problem: str) -> None:
    apply_fixture_org(db)
    out = ask(db, "bob", text)
    assert not out["ok"] and out["code"] != "internal" and problem in out["error"], out["error"]


def test_a_note_longer_than_the_limit_is_refused_with_the_limit() -> None:
    with pytest.raises(NoteError) as refused:
        check_text("x" * 10_000)
    assert "10,000 characters long; at most 4,000" in str(refused.value)


def test_the_demo_has_notes_a_rubric_and_reviews(db: Database) -> None:
    from bot.demo import seed_demo

    seed_demo(db, now=T0, tickets=200, days=14)
    assert [n["private"] for n in ask(db, "katrin", "/coach history @lena")["data"]["notes"]] == [True, False]
    assert [n["private"] for n in ask(db, "lena", "/coach mine")["data"]["notes"]] == [False]
    review = ask(db, "lena", "/qa show 1")["data"]["review"]
    assert (review["agent"], review["reviewer"], review["passed"]) == ("lena", "katrin", True)
    assert ask(db, "lena", "/qa show 3")["code"] == "not_found"  # marcus's review, another team


def test_what_a_review_of_coach_found_stays_fixed(db: Database) -> None:
    apply_fixture_org(db)
    # The note is kept as typed: quotes, backslashes, line breaks; a number after "ticket" in a sentence is text.
    typed = ask(db, "bob", '/coach @alice said "we can refund" at C:\\\\path\nthen fixed it #empathy ticket T-5 --private')
    assert typed["data"]["note"]["text"] == 'said "we can refund" at C:\\\\path\nthen fixed it'
    assert (typed["data"]["note"]["tags"], typed["data"]["note"]["ticket"], typed["data"]["note"]["private"]) == (["empathy"], "T-5", True)
    sentence = ask(db, "bob", "/coach @alice closed the ticket 123 fast, see #T-77")["data"]["note"]
    assert (sentence["text"], sentence["ticket"], sentence["tags"]) == ("closed the ticket 123 fast, see #T-77", None, [])
    assert ask(db, "bob", "/coach history @alice 7d 30d")["code"] == "usage"
    # An edit clears the acknowledgement and goes to the agent again.
    shared = ask(db, "bob", "/coach @alice first version")["data"]["note"]["id"]
    run_action(db, ROUTER, "alice", "coach.ack", json.dumps({"id": shared}), now=T0, platform="slack")
    edited = ask(db, "bob", f"/coach edit {shared} second version", T0 + timedelta(hours=1))["data"]["note"]
    assert edited["acknowledged_at"] is None
    # The author still sees their notes after the agent has moved to a team they do not lead.
    from store.org import Member

    with db.sessions() as s, s.begin():
        s.query(Member).filter(Member.handle == "alice").update({"team_id": None})
    assert [n["id"] for n in ask(db, "bob", "/coach history @alice")["data"]["notes"]] == [shared, sentence["id"], typed["data"]["note"]["id"]]
    # An admin's audit trail of themselves hides the private notes about them.
    with db.sessions() as s, s.begin():
        s.query(Member).filter(Member.handle == "alice").update({"role": "admin"})
    trail = ask(db, "alice", "/coach audit @alice")["data"]["audit"]
    assert typed["data"]["note"]["id"] not in [a["note"] for a in trail]


def test_the_coaching_export_holds_what_the_caller_may_see_and_is_safe_to_open(db: Database, db_url: str, tmp_path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    import csv

    from bot.cli import main
    from tests.helpers import in_clean_directory

    apply_fixture_org(db)
    ask(db, "bob", "/coach @alice =HYPERLINK(\"http://evil.example\") great call #empathy")
    ask(db, "bob", "/coach @alice hold times --private")
    in_clean_directory(tmp_path, monkeypatch, db_url)
    out = tmp_path / "coaching.csv"
    today = T0.date().isoformat()
    assert main(["export", "coaching", "--as", "root", "--csv", str(out), "--from", today, "--to", today]) == 0
    rows = list(csv.reader(out.open(encoding="utf-8")))
    assert rows[0][:4] == ["type", "id", "created_at", "agent"] and len(rows) == 3
    assert rows[1][9].startswith("'=HYPERLINK")  # a formula is shown, never run
    assert [r[6] for r in rows[1:]] == ["no", "yes"]
    # The private note's text went into the file: a read by root, on the record (the shared one is not).
    assert [(a["note"], a["action"], a["by"]) for a in ask(db, "root", "/coach audit @alice")["data"]["audit"] if a["action"] == "read"] == [(int(rows[2][1]), "read", "root")]
    # Another team's manager gets nothing of alice's; an agent gets no export at all.
    assert main(["export", "coaching", "--as", "dana", "--csv", str(out), "--from", today, "--to", today]) == 0
    assert len(list(csv.reader(out.open(encoding="utf-8")))) == 1
    assert main(["export", "coaching", "--as", "alice", "--csv", str(out)]) == 2
    assert "managers and admins" in capsys.readouterr().err
    assert main(["export", "coaching", "--as", "root", "--csv", str(out), "--from", "2026-13-01"]) == 2
    assert main(["export", "coaching", "--as", "root", "--csv", str(out), "--from", "0001-01-01", "--to", "9999-12-31"]) == 2
    assert "1970-01-02 to 2099-12-30" in capsys.readouterr().err


def test_an_audit_records_only_the_reads_that_showed_a_note(db: Database) -> None:
    apply_fixture_org(db)
    private = ask(db, "bob", "/coach @alice first words --private")["data"]["note"]["id"]
    actions = lambda: [(a["action"], a["by"]) for a in ask(db, "root", "/coach audit @alice", T0 + timedelta(hours=3))["data"]["audit"]]  # noqa: E731
    # Auditing shows who did what, not the note: however often, no read is recorded.
    assert actions() == [("created", "bob")]
    assert actions() == [("created", "bob")]
    # Reading it is.
    assert ask(db, "root", "/coach history @alice", T0 + timedelta(hours=1))["ok"]
    assert actions() == [("created", "bob"), ("read", "root")]
    # An edit keeps the replaced text, which the audit shows: that is a read of the note, and on the record.
    assert ask(db, "bob", f"/coach edit {private} better words", T0 + timedelta(hours=2))["ok"]
    shown = ask(db, "root", "/coach audit @alice", T0 + timedelta(hours=3))
    assert "it read: first words" in shown["reply"].blocks[0].text
    assert [(a["action"], a["by"]) for a in shown["data"]["audit"]] == [("created", "bob"), ("read", "root"), ("edited", "bob")]
    assert actions() == [("created", "bob"), ("read", "root"), ("edited", "bob"), ("read", "root")]


def test_a_note_written_and_listed_in_the_same_second_is_listed(db: Database) -> None:
    apply_fixture_org(db)
    for at in (T0, T0 + timedelta(microseconds=400_000)):
        written = ask(db, "bob", "/coach @alice just now #fresh", at)["data"]["note"]["id"]
        for handle, text in (("bob", "/coach history @alice 7d #fresh"), ("bob", "/coach history @alice today"), ("alice", "/coach mine 1d")):
            listed = [n["id"] for n in ask(db, handle, text, at + timedelta(microseconds=100_000))["data"]["notes"]]
            assert written in listed, (at, text)
        summary = ask(db, "bob", "/coach summary 7d", at + timedelta(microseconds=100_000))["data"]
        assert summary["tags"]["fresh"] == (1 if at == T0 else 2)
    # A moment before it was written, it is not there yet.
    assert ask(db, "bob", "/coach history @alice 7d #fresh", T0 - timedelta(seconds=1))["data"]["notes"] == []
