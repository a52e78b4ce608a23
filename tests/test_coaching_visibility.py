"""The coaching and QA privacy rules as a matrix: every role, own team / other team / no team, shared and private."""

from __future__ import annotations

import itertools

import pytest

from coaching.visibility import may_see, oversees
from handlers.kpi_lookup import may_see_agent
from store.org import Member, Team

EMEA, AMER = Team(id=1, key="emea", name="EMEA", timezone="UTC"), Team(id=2, key="amer", name="AMER", timezone="UTC")


def member(n: int, role: str, team: Team | None) -> Member:
    m = Member(id=n, handle=f"m{n}", name=f"M{n}", role=role, team_id=team.id if team else None)
    m.team = team
    return m


AGENT = member(1, "agent", EMEA)  # the subject of every record below
VIEWERS = {
    (role, where): member(10 + i, role, {"own": EMEA, "other": AMER, "none": None}[where])
    for i, (role, where) in enumerate(itertools.product(("agent", "lead", "manager", "admin"), ("own", "other", "none")))
}
# Who oversees an agent of EMEA, written out by hand from the rules.
EXPECTED = {
    ("agent", "own"): False, ("agent", "other"): False, ("agent", "none"): False,
    ("lead", "own"): True, ("lead", "other"): False, ("lead", "none"): False,
    ("manager", "own"): True, ("manager", "other"): False, ("manager", "none"): True,
    ("admin", "own"): True, ("admin", "other"): True, ("admin", "none"): True,
}  # fmt: skip


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_who_oversees_whom(key: tuple[str, str]) -> None:
    viewer = VIEWERS[key]
    assert oversees(viewer, AGENT) is EXPECTED[key]
    # Shared and private records about the agent: overseers see both, nobody else sees either.
    assert may_see(viewer, AGENT, author_id=99) is EXPECTED[key]
    assert may_see(viewer, AGENT, author_id=99, private=True) is EXPECTED[key]
    # The author always sees their note, private or not.
    assert may_see(viewer, AGENT, author_id=viewer.id, private=True) is True
    # The same rule as /kpi agent, so the two never drift apart.
    assert may_see_agent(viewer, AGENT) is EXPECTED[key]


def test_the_agent_sees_their_shared_records_but_never_a_private_note() -> None:
    assert may_see(AGENT, AGENT, author_id=99) is True
    assert may_see(AGENT, AGENT, author_id=99, private=True) is False
    assert may_see(AGENT, AGENT) is True  # a session or a review about them


def test_leads_and_managers_oversee_agents_not_each_other() -> None:
    lead = member(20, "lead", EMEA)
    manager = member(21, "manager", EMEA)
    assert not oversees(manager, lead) and not oversees(lead, manager) and not oversees(lead, member(22, "lead", EMEA))
    assert oversees(member(23, "admin", None), lead)
    assert not oversees(member(24, "lead", None), member(25, "agent", None))  # neither on a team
    assert oversees(member(26, "manager", None), member(27, "agent", None))
