"""The weekly sample drawn by coaching.sampling: reproducible, fair, weighted, never a self-review."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

from coaching.sampling import Candidate, draw, seed
from store.qa_sampling_file import SamplingRule

WEEK = date(2026, 12, 7)  # a Monday, ISO 2026-W50


def pool(agents: int, per_agent: int, first_id: int = 1) -> list[Candidate]:
    out = []
    for a in range(1, agents + 1):
        for i in range(per_agent):
            n = first_id + a * 1000 + i
            # Every fourth ticket was rated bad.
            out.append(Candidate(n, a, replies=3, csat="bad" if i % 4 == 0 else "good", resolution_s=3600 * (1 + i)))
    return out


def test_the_seed_names_team_and_iso_week() -> None:
    assert seed("emea", WEEK) == "emea:2026-W50"
    assert seed("emea", date(2027, 1, 1)) == "emea:2026-W53"  # 1 January 2027 is in 2026's last ISO week


def test_the_same_team_and_week_draw_the_same_sample_and_another_week_another() -> None:
    rule = SamplingRule(per_agent=3, weights={"low_csat": "3"})
    tickets = pool(4, 12)
    first = draw(tickets, rule, [900, 901], "emea", WEEK)
    again = draw(list(reversed(tickets)), rule, [900, 901], "emea", WEEK)  # the pool's order does not matter
    assert first == again
    others = [draw(tickets, rule, [900, 901], "emea", WEEK + timedelta(weeks=k)).draws for k in range(1, 6)]
    assert any(o != first.draws for o in others)
    assert seed("amer", WEEK) != seed("emea", WEEK)


def test_each_agent_gets_their_share_or_all_they_have() -> None:
    rule = SamplingRule(per_agent=4)
    tickets = pool(5, 10) + [Candidate(99, 6, replies=3)]  # agent 6 solved one ticket
    for k in range(20):
        sample = draw(tickets, rule, [900], "emea", WEEK + timedelta(weeks=k))
        per_agent = Counter(d.agent_id for d in sample.draws)
        assert all(abs(per_agent[a] - 4) <= 1 for a in range(1, 6)), per_agent
        assert per_agent[6] == 1
        assert len({d.ticket_id for d in sample.draws}) == len(sample.draws)  # without replacement


def test_exclusions_leave_out_reviewed_tickets_and_short_conversations() -> None:
    tickets = [Candidate(1, 1, replies=1), Candidate(2, 1, replies=5, already_reviewed=True), Candidate(3, 1, replies=5)]
    sample = draw(tickets, SamplingRule(per_agent=3, min_replies=2), [900], "emea", WEEK)
    assert [d.ticket_id for d in sample.draws] == [3]
    sample = draw(tickets, SamplingRule(per_agent=3, already_reviewed=False, min_replies=0), [900], "emea", WEEK)
    assert sorted(d.ticket_id for d in sample.draws) == [1, 2, 3]


def test_per_agent_zero_samples_nothing() -> None:
    assert draw(pool(3, 5), SamplingRule(per_agent=0), [900], "emea", WEEK).draws == []


def test_weights_are_honoured_in_expectation_over_many_weeks() -> None:
    # Each agent has one bad-CSAT ticket and three plain ones, one drawn a week:
    # with low_csat: 3 the bad one is drawn with chance 3/6, each plain one 1/6.
    rule = SamplingRule(per_agent=1, weights={"low_csat": "3"})
    tickets = [Candidate(a * 10 + i, a, csat="bad" if i == 0 else None) for a in range(1, 6) for i in range(4)]
    heavy = light = 0
    weeks = 200
    for k in range(weeks):
        for d in draw(tickets, rule, [900], "emea", WEEK + timedelta(weeks=k)).draws:
            if d.ticket_id % 10 == 0:
                heavy += 1
            else:
                light += 1
    draws = weeks * 5
    assert heavy + light == draws
    # Expected 500 heavy (sd ≈ 16) and 500 light, i.e. 3 times each of the three light tickets' 167.
    assert abs(heavy - draws / 2) < 5 * (draws * 0.25) ** 0.5
    assert 2.4 < heavy / (light / 3) < 3.7


def test_tags_and_other_signals_weigh_in() -> None:
    rule = SamplingRule(per_agent=1, weights={"tag:refund": "5", "escalated": "5", "reopened": "5", "sla_breached": "5"})
    tickets = [
        Candidate(1, 1), Candidate(2, 1, tags=frozenset({"refund"})),
        Candidate(3, 2), Candidate(4, 2, escalated=True),
        Candidate(5, 3), Candidate(6, 3, reopens=2),
        Candidate(7, 4), Candidate(8, 4, sla_met=False),
    ]
    drawn = Counter(d.ticket_id % 2 == 0 for k in range(100) for d in draw(tickets, rule, [900], "emea", WEEK + timedelta(weeks=k)).draws)
    assert drawn[True] > 3 * drawn[False]  # 5 to 1 expected


def test_long_resolution_is_the_slowest_quarter_of_the_pool() -> None:
    rule = SamplingRule(per_agent=1, weights={"long_resolution": "9"})
    tickets = [Candidate(i, 1, resolution_s=i * 60) for i in range(1, 9)]  # 7 and 8 are the slowest quarter
    drawn = Counter(d.ticket_id for k in range(200) for d in draw(tickets, rule, [900], "emea", WEEK + timedelta(weeks=k)).draws)
    assert drawn[7] + drawn[8] > 0.6 * 200  # 18 / 24 expected


def test_no_one_reviews_their_own_ticket_and_reviewers_take_turns() -> None:
    # Agents 1-3 review each other in rotation.
    rule = SamplingRule(per_agent=2)
    tickets = pool(3, 6)
    for k in range(30):
        sample = draw(tickets, rule, [1, 2, 3], "emea", WEEK + timedelta(weeks=k))
        assert len(sample.draws) == 6 and not sample.unassigned
        assert all(d.reviewer_id != d.agent_id for d in sample.draws)
        load = Counter(d.reviewer_id for d in sample.draws)
        assert max(load.values()) - min(load.values()) <= 2, load


def test_a_ticket_only_its_own_agent_could_review_is_left_unassigned() -> None:
    sample = draw([Candidate(1, 7), Candidate(2, 8)], SamplingRule(per_agent=1), [7], "emea", WEEK)
    assert [(d.ticket_id, d.reviewer_id) for d in sample.draws] == [(2, 7)]
    assert [c.ticket_id for c in sample.unassigned] == [1]
