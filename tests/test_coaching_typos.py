"""Did you mean…? Every closed vocabulary of /coach and /qa answers a typo with the word most likely meant,
never with a note about someone called `histroy`, a session whose strengths run on into `stregths=…`, or a
silent guess."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from coaching.models import CoachingNote, CoachingSession, QaReview
from store.database import Database
from tests.test_qa import ask, setup

TYPOS = [
    # /qa subcommands, outcomes, rubric keys, pass/fail words, options
    ("bob", "/qa shwo 1", "usage", "'shwo' is neither a /qa subcommand nor a member. Did you mean /qa show?"),
    ("bob", "/qa disputs", "usage", "Did you mean /qa disputes?"),
    ("bob", "/qa resolv 1 accepted", "usage", "Did you mean /qa resolve?"),
    ("bob", "/qa calibrat T-1 @bob @root", "usage", "Did you mean /qa calibrate?"),
    ("bob", "/qa calibratoins", "usage", "Did you mean /qa calibrations?"),
    ("bob", "/qa resolve 1 acepted", "usage", "'acepted' is not how a dispute is settled: accepted, partial or rejected. Did you mean accepted?"),
    ("bob", "/qa resolve 1 rejcted", "usage", "Did you mean rejected?"),
    ("bob", "/qa @alice T-2 acuracy=2 tone=4 policy=pass", "invalid", "unknown category 'acuracy' (the rubric has accuracy, tone, policy) — did you mean accuracy?"),
    ("bob", "/qa @alice T-2 accuracy=2 tone=4 policy=pas", "invalid", "policy: 'pas' is not pass or fail — did you mean pass?"),
    ("alice", "/qa dispute 1 it was right tnoe=5", "invalid", "unknown category 'tnoe' (the rubric has accuracy, tone, policy) — did you mean tone?"),
    ("bob", "/qa @alice T-2 accuracy=2 tone=4 policy=pass --agian", "usage", "Unknown option '--agian'. Did you mean --again?"),
    # /coach subcommands, options, session parts, tags where a team or window goes
    ("bob", "/coach histroy @alice", "usage", "'histroy' is neither a /coach subcommand nor a member. Did you mean /coach history?"),
    ("bob", "/coach sumary", "usage", "Did you mean /coach summary?"),
    ("bob", "/coach delte 1", "usage", "Did you mean /coach delete?"),
    ("root", "/coach audti @alice", "usage", "Did you mean /coach audit?"),
    ("bob", "/coach actoins", "usage", "Did you mean /coach actions?"),
    ("bob", "/coach sesion @alice", "usage", "Did you mean /coach session?"),
    ("alice", "/coach mien", "usage", "Did you mean /coach mine?"),
    ("bob", "/coach @alice kind words --privat", "usage", "Unknown option '--privat'. Did you mean --private?"),
    ("bob", "/coach session @alice stregths=calm follow_up=14d", "usage", "stregths= is not a part of a session. Did you mean strengths=?"),
    ("bob", "/coach session @alice strengths=calm oportunities=holds follow_up=14d", "usage", "oportunities= is not a part of a session. Did you mean opportunities=?"),
    ("bob", "/coach session @alice strengths=calm follwup=14d", "usage", "follwup= is not a part of a session. Did you mean follow_up=?"),
    ("bob", "/coach summary 90d #empathy", "usage", "'#empathy' is a tag, not a team: the summary counts every tag"),
    ("bob", "/coach summary #empathy", "usage", "/coach history @agent #empathy"),
    ("bob", "/coach history @alice empathy", "usage", "'empathy' is not a window. Did you mean the tag #empathy?"),
]


@pytest.mark.parametrize(("handle", "text", "code", "said"), TYPOS, ids=[t[1] for t in TYPOS])
def test_a_typo_is_answered_with_what_was_meant_and_changes_nothing(db: Database, handle: str, text: str, code: str, said: str) -> None:
    setup(db)
    review = ask(db, "bob", "/qa @alice T-1 accuracy=1 tone=4 policy=pass")["data"]["review"]["id"]
    assert review == 1
    counted = lambda: [ask(db, "root", "/coach history @alice")["data"]["notes"], count(db, CoachingSession), count(db, QaReview)]  # noqa: E731
    before = counted()
    out = ask(db, handle, text)
    assert out["code"] == code and said in out["error"], out["error"]
    assert counted() == before
    assert count(db, CoachingNote) == 0


def count(db: Database, model: type) -> int:
    with db.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_a_member_whose_handle_is_close_to_a_subcommand_is_still_that_member(db: Database) -> None:
    setup(db)
    # dana is close to `done`: she is a member, so this is a note about her (refused: a manager, not an agent).
    out = ask(db, "root", "/coach dana well chaired")
    assert out["code"] == "forbidden" and "Dana Lee" in out["error"]
    assert ask(db, "root", "/qa dana T-1 accuracy=1 tone=4 policy=pass")["code"] == "forbidden"
    # Exact words and the plain verbs people type are understood as they are.
    assert ask(db, "bob", "/qa @alice T-1 accuracy=1 tone=4 policy=pass")["ok"]
    assert ask(db, "alice", "/qa dispute 1 the link was there accuracy=2")["ok"]
    assert ask(db, "bob", "/qa resolve 1 accept")["data"]["review"]["dispute"]["outcome"] == "accepted"
    # Words with = that are no part's name stay words of the part before them.
    held = ask(db, "bob", "/coach session @alice strengths=ratio=3 held all day follow_up=14d")
    assert held["ok"] and held["data"]["session"]["strengths"] == "ratio=3 held all day"
