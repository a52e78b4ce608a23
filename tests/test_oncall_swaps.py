"""Shift swaps: asked in chat, answered with the request's buttons, made as covers all at once, refused when the stretch has begun.

billing/primary (tests/test_escalations.py's org) is a weekly Berlin rotation
of dana, eli and fay handing over on Mondays at 09:00: dana has the week of
7 December, eli the week of 14 December, fay the week of 21 December.
"""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from bot.dispatch import run_action
from bot.slack.notifier import SlackNotifier
from bot.tick import run_tick
from escalation.models import OncallOverride, OncallSwap
from handlers.oncall_swaps import ACCEPT, DECLINE
from store.database import Database
from tests.fake_slack import FakeSlack
from tests.test_escalations import ORG, ROUTER, T0, ask, posts, setup

UTC = timezone.utc
BERLIN = ZoneInfo("Europe/Berlin")


def berlin(day: int, hour: int = 0) -> str:
    return datetime(2026, 12, day, hour, tzinfo=BERLIN).astimezone(UTC).isoformat()


def click(db: Database, who: str, action: str, number: int, now: datetime):  # type: ignore[no-untyped-def]
    return run_action(db, ROUTER, who, action, json.dumps({"id": number}), now=now, platform="slack")


def covers(db: Database) -> list[tuple[str, str, int, int | None]]:
    with db.sessions() as s:
        rows = s.scalars(select(OncallOverride).where(OncallOverride.removed_at.is_(None)).order_by(OncallOverride.start_at))
        return [(c.start_at.isoformat(), c.end_at.isoformat(), c.member_id, c.swap_id) for c in rows]


def who(db: Database, handle: str) -> int:
    from store.org import Member

    with db.sessions() as s:
        return s.scalar(select(Member.id).where(Member.handle == handle))


async def test_a_swap_asked_accepted_and_told(db: Database, slack: tuple[FakeSlack, SlackNotifier]) -> None:
    fake, notifier = slack
    setup(db, ORG.replace("      channels: {slack: CBILL}\n", "      channels: {slack: CBILL}\n      leads: [lena]\n", 1))
    out = ask(db, "dana", "/oncall swap billing @eli 2026-12-10..2026-12-17 -- my sister's wedding", T0)
    assert out["ok"], out
    # Dana's Thursday to Monday 09:00 goes to eli, eli's Monday 09:00 to Friday 00:00 comes to dana.
    assert out["data"]["pieces"] == [
        {"start": berlin(10), "end": berlin(14, 9), "to": "eli"},
        {"start": berlin(14, 9), "end": berlin(18), "to": "dana"},
    ]
    assert out["data"]["swap"]["state"] == "pending" and covers(db) == []

    await run_tick(db, [notifier], T0)
    request = next(p for p in posts(fake) if p["channel"] == "DELI" and "Swap request" in p["text"])
    shown = json.dumps(request["blocks"])
    assert "Dana Specialist asks you to swap" in shown and "my sister" in shown and ACCEPT in shown and DECLINE in shown

    reply = click(db, "eli", ACCEPT, 1, T0 + timedelta(hours=1))
    assert reply.ok and reply.replace_original and "accepted" in reply.title
    assert covers(db) == [(berlin(10), berlin(14, 9), who(db, "eli"), 1), (berlin(14, 9), berlin(18), who(db, "dana"), 1)]
    schedule = ask(db, "lena", "/oncall schedule billing/primary 14d", T0 + timedelta(hours=1))["data"]["timeline"]
    assert [(p["start"], p["handles"]) for p in schedule if p["start"] >= berlin(10)][:3] == [
        (berlin(10), ["eli"]),
        (berlin(14, 9), ["dana"]),
        (berlin(18), ["eli"]),
    ]
    before = len(fake.calls)
    await run_tick(db, [notifier], T0 + timedelta(hours=1))
    for reader in ("DDANA", "DLENA"):  # the requester and the queue's lead
        told = [c.args for c in fake.calls[before:] if c.method == "chat.postMessage" and c.args["channel"] == reader]
        assert told and "Eli Specialist accepted the swap with Dana Specialist" in told[-1]["text"], reader
    assert not [c for c in fake.calls[before:] if c.method == "chat.postMessage" and c.args["channel"] == "DELI" and "accepted the swap" in c.args["text"]]
    # A second click (or a retried one) changes nothing more.
    again = click(db, "eli", ACCEPT, 1, T0 + timedelta(hours=2))
    assert not again.ok and "accepted already" in again.error.message
    assert len(covers(db)) == 2


async def test_a_declined_swap_changes_nothing_and_the_requester_hears(db: Database, slack: tuple[FakeSlack, SlackNotifier]) -> None:
    fake, notifier = slack
    setup(db)
    assert ask(db, "dana", "/oncall swap billing @fay 2026-12-10..2026-12-11", T0)["ok"]
    reply = click(db, "fay", DECLINE, 1, T0 + timedelta(minutes=5))
    assert reply.ok and "declined" in reply.title
    assert covers(db) == []
    await run_tick(db, [notifier], T0 + timedelta(minutes=5))
    assert any("declined the swap" in p["text"] for p in posts(fake) if p["channel"] == "DDANA")
    # Declined before it went out: the request is not sent at all.
    assert not [p for p in posts(fake) if p["channel"] == "DFAY" and "Swap request" in p["text"]]


def test_only_the_person_asked_may_answer_and_only_specialists_swap(db: Database) -> None:
    setup(db)
    assert ask(db, "dana", "/oncall swap billing @eli 2026-12-10..2026-12-11", T0)["ok"]
    for someone in ("fay", "dana", "lena"):
        refused = click(db, someone, ACCEPT, 1, T0)
        assert not refused.ok and "Only the person a swap was asked of" in refused.error.message
    out = ask(db, "alice", "/oncall swap billing @eli 2026-12-10..2026-12-11", T0)
    assert not out["ok"] and "specialists swap shifts" in out["error"]
    out = ask(db, "dana", "/oncall swap billing @alice 2026-12-10..2026-12-11", T0)
    assert not out["ok"] and "not one of Billing specialists's specialists" in out["error"]
    out = ask(db, "dana", "/oncall swap billing @eli 2026-12-15..2026-12-16", T0)
    assert not out["ok"] and "You are not on call" in out["error"]
    assert not ask(db, "dana", "/oncall swap billing @eli", T0)["ok"]
    assert not ask(db, "dana", "/oncall swap billing @eli 2026-12-10..2026-12-11 -- " + "x" * 501, T0)["ok"]
    assert not click(db, "eli", ACCEPT, 99, T0).ok


def test_a_stretch_that_has_begun_cannot_be_swapped(db: Database) -> None:
    setup(db)
    out = ask(db, "dana", "/oncall swap billing @eli 2026-12-07..2026-12-08", T0)  # dana's Monday, already under way
    assert not out["ok"] and "has begun" in out["error"]
    assert ask(db, "dana", "/oncall swap billing @eli 2026-12-10..2026-12-11", T0)["ok"]
    late = click(db, "eli", ACCEPT, 1, datetime(2026, 12, 10, 1, tzinfo=UTC))
    assert not late.ok and "can no longer be accepted" in late.error.message
    assert covers(db) == []


def test_two_swaps_of_one_stretch_accepted_at_once_make_one(db: Database) -> None:
    setup(db)
    assert ask(db, "dana", "/oncall swap billing @eli 2026-12-10..2026-12-11", T0)["ok"]
    assert ask(db, "dana", "/oncall swap billing @fay 2026-12-10..2026-12-11", T0)["ok"]
    start = threading.Barrier(2)
    results: dict[str, object] = {}

    def answer(person: str, number: int) -> None:
        start.wait()
        results[person] = click(db, person, ACCEPT, number, T0 + timedelta(minutes=1))

    threads = [threading.Thread(target=answer, args=("eli", 1)), threading.Thread(target=answer, args=("fay", 2))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    oks = sorted(p for p, r in results.items() if r.ok)  # type: ignore[attr-defined]
    assert len(oks) == 1, {p: (r.ok, r.error) for p, r in results.items()}  # type: ignore[attr-defined]
    loser = next(p for p in results if p not in oks)
    assert "no longer on call" in results[loser].error.message  # type: ignore[attr-defined]
    assert [(c[2]) for c in covers(db)] == [who(db, oks[0])]
    with db.sessions() as s:
        assert s.scalar(select(func.count()).select_from(OncallSwap).where(OncallSwap.state == "accepted")) == 1


async def test_the_handoff_says_a_swap_put_them_on_call(db: Database, slack: tuple[FakeSlack, SlackNotifier]) -> None:
    fake, notifier = slack
    setup(db)
    assert ask(db, "dana", "/oncall swap billing @eli 2026-12-10..2026-12-17", T0)["ok"]
    assert click(db, "eli", ACCEPT, 1, T0).ok
    # Thursday 00:00 in Berlin: eli comes on call in dana's place; Monday 09:00: dana in eli's.
    for at, reader, text in ((berlin(10), "DELI", "which you accepted"), (berlin(14, 9), "DDANA", "which Eli Specialist accepted")):
        before = len(fake.calls)
        await run_tick(db, [notifier], datetime.fromisoformat(at), only="oncall")
        handoff = [c.args for c in fake.calls[before:] if c.method == "chat.postMessage" and c.args["channel"] == reader]
        assert handoff and f"You are on call because of swap 1, {text}" in json.dumps(handoff[-1]["blocks"]), reader


def test_a_swap_is_answered_in_words_too(db: Database) -> None:
    setup(db)
    assert ask(db, "dana", "/oncall swap billing @eli 2026-12-10..2026-12-11", T0)["ok"]
    assert not ask(db, "fay", "/oncall swap accept 1", T0)["ok"]
    out = ask(db, "eli", "/oncall swap accept 1", T0)
    assert out["ok"] and out["data"]["covers"] and covers(db)[0][2] == who(db, "eli")
    assert not ask(db, "eli", "/oncall swap decline 1", T0)["ok"]
    assert not ask(db, "eli", "/oncall swap accept", T0)["ok"]
