"""The demo ticket generator and the demo organisation.

Checks that the data is deterministic, internally consistent, shaped like a
real helpdesk (business hours in each team's zone, channel and priority mix,
one-touch, reopen and CSAT shares), and loads into a real migrated database.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path
from statistics import mean, median
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from kpi.demo_org import demo_org_document, demo_team_profiles, demo_team_weights
from kpi.generator import FIRST_REPLY_SLA_S, TeamProfile, generate_tickets
from kpi.tickets import CSAT_VALUES, PRIORITIES, STATUSES, Ticket
from store.engine import make_engine
from store.migrate import upgrade
from store.org import Member, Org, Team

UTC = timezone.utc
END = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
DAYS = 90
BERLIN = TeamProfile("support-emea", "Europe/Berlin", 0.5, (11, 12, 13, 14, 15, 16))
NEW_YORK = TeamProfile("support-amer", "America/New_York", 0.3, (21, 22, 23, 24))
SINGAPORE = TeamProfile("support-apac", "Asia/Singapore", 0.2, (31, 32, 33))
TEAMS = (BERLIN, NEW_YORK, SINGAPORE)
TEAM_IDS = {"support-emea": 1, "support-amer": 2, "support-apac": 3}
ZONE_OF = {TEAM_IDS[t.key]: ZoneInfo(t.timezone) for t in TEAMS}
AGENTS_OF = {TEAM_IDS[t.key]: set(t.agent_ids) for t in TEAMS}


def generate(count: int, *, seed: int = 42, teams: tuple[TeamProfile, ...] = TEAMS, **kw: Any) -> list[dict[str, Any]]:
    kw.setdefault("days", DAYS)
    kw.setdefault("end", END)
    return list(generate_tickets(teams, TEAM_IDS, count=count, seed=seed, **kw))


@pytest.fixture(scope="module")
def sample() -> list[dict[str, Any]]:
    return generate(20_000)


@pytest.fixture(scope="module")
def solved(sample: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [t for t in sample if t["solved_at"] is not None]


# ------------------------------------------------------------ determinism


def test_same_seed_same_tickets() -> None:
    assert generate(3000, seed=7) == generate(3000, seed=7)


def test_other_seed_other_tickets() -> None:
    a, b = generate(3000, seed=7), generate(3000, seed=8)
    assert a != b
    assert sum(x["created_at"] == y["created_at"] for x, y in zip(a, b)) < 30


def test_rows_have_exactly_the_ticket_columns() -> None:
    # csbot stamps the SLA policy and its due times when it records a ticket (kpi.sla); a source never sends them.
    columns = {c.name for c in Ticket.__table__.columns} - {"id", "sla_policy_id", "first_reply_due_at", "resolution_due_at"}
    for row in generate(50):
        assert set(row) == columns


def test_count_zero_and_bad_input() -> None:
    assert generate(0) == []
    with pytest.raises(ValueError):
        generate(10, end=datetime(2026, 11, 20, 12))  # naive
    with pytest.raises(ValueError):
        list(generate_tickets(TEAMS, {"support-emea": 1}, count=10, days=5, end=END, seed=1))
    with pytest.raises(ValueError):
        generate(10, days=0)


# ------------------------------------------------------------- invariants


def test_ids_order_and_window(sample: list[dict[str, Any]]) -> None:
    start = END - timedelta(days=DAYS)
    assert [t["external_id"] for t in sample[:3]] == ["D-000001", "D-000002", "D-000003"]
    assert [t["external_id"] for t in sample] == [f"D-{n:06d}" for n in range(1, len(sample) + 1)]
    created = [t["created_at"] for t in sample]
    assert created == sorted(created)
    assert start <= created[0] and created[-1] < END
    # Spread over the whole window, not bunched at one end.
    assert created[0] < start + timedelta(days=2) and created[-1] > END - timedelta(days=2)
    assert {t["source"] for t in sample} == {"demo"}


def test_times_are_whole_utc_seconds_and_ordered(sample: list[dict[str, Any]]) -> None:
    for t in sample:
        for col in ("created_at", "first_reply_at", "solved_at"):
            value = t[col]
            if value is not None:
                assert value.tzinfo is not None and value.utcoffset() == timedelta(0)
                assert value.microsecond == 0
                assert value < END
        if t["first_reply_at"] is not None:
            assert t["first_reply_at"] >= t["created_at"]
        if t["solved_at"] is not None:
            assert t["solved_at"] >= t["created_at"]
            assert t["first_reply_at"] is not None and t["solved_at"] >= t["first_reply_at"]


def test_enums_and_counts_valid(sample: list[dict[str, Any]]) -> None:
    for t in sample:
        assert t["status"] in STATUSES
        assert t["priority"] in PRIORITIES
        assert t["channel"] in ("email", "chat", "web", "phone")
        assert t["csat"] in (None, *CSAT_VALUES)
        assert t["subject"]
        assert t["replies"] >= 0 and t["reopens"] >= 0
        assert t["team_id"] in AGENTS_OF
        assert t["agent_id"] is None or t["agent_id"] in AGENTS_OF[t["team_id"]]


def test_status_matches_solve_time(sample: list[dict[str, Any]]) -> None:
    closed_before = END - timedelta(days=4)
    for t in sample:
        if t["solved_at"] is None:
            assert t["status"] in ("new", "open", "pending", "on_hold")
            assert t["csat"] is None
            # Only unanswered tickets are new, and unanswered ones are new.
            assert (t["status"] == "new") == (t["first_reply_at"] is None)
        else:
            assert t["status"] == ("closed" if t["solved_at"] < closed_before else "solved")
            assert t["agent_id"] is not None
        assert (t["replies"] == 0) == (t["first_reply_at"] is None)
        assert t["replies"] >= 1 + t["reopens"] or t["first_reply_at"] is None
    statuses = Counter(t["status"] for t in sample)
    assert {"closed", "solved", "open", "pending", "new"} <= set(statuses)


def test_sla_met(sample: list[dict[str, Any]]) -> None:
    for t in sample:
        limit = timedelta(seconds=FIRST_REPLY_SLA_S[t["priority"]])
        if t["first_reply_at"] is not None:
            assert t["sla_met"] == (t["first_reply_at"] - t["created_at"] <= limit)
        elif END - t["created_at"] > limit:
            assert t["sla_met"] is False
        else:
            assert t["sla_met"] is None
    assert 0.85 < mean(t["sla_met"] for t in sample if t["sla_met"] is not None) < 0.98


def test_unassigned_only_while_unsolved(sample: list[dict[str, Any]]) -> None:
    unassigned = [t for t in sample if t["agent_id"] is None]
    assert all(t["solved_at"] is None and t["status"] == "new" for t in unassigned)


def test_end_with_microseconds_and_other_zone() -> None:
    end = datetime(2026, 3, 1, 9, 30, 15, 500_000, tzinfo=ZoneInfo("America/New_York"))
    rows = generate(2000, days=3, end=end)
    assert all(end - timedelta(days=3) <= t["created_at"] < end for t in rows)
    assert all(t["solved_at"] is None or t["solved_at"] < end for t in rows)


# ---------------------------------------------------------- distributions


def _local(t: dict[str, Any]) -> datetime:
    return t["created_at"].astimezone(ZONE_OF[t["team_id"]])


def test_weekend_share(sample: list[dict[str, Any]]) -> None:
    weekend = mean(_local(t).weekday() >= 5 for t in sample)
    # A weekend day is ~1/4 of a weekday: 2 * 0.25 / 5.5 ≈ 9%.
    assert 0.06 < weekend < 0.13
    by_day = Counter(_local(t).weekday() for t in sample)
    assert min(by_day[d] for d in range(5)) > 3 * max(by_day[5], by_day[6])


@pytest.mark.parametrize("team", [BERLIN, NEW_YORK])
def test_business_hours_in_team_local_time(sample: list[dict[str, Any]], team: TeamProfile) -> None:
    rows = [t for t in sample if t["team_id"] == TEAM_IDS[team.key]]
    hours = Counter(_local(t).hour for t in rows)
    peak = hours.most_common(1)[0][0]
    assert 9 <= peak <= 15
    night = sum(hours[h] for h in range(0, 6)) / len(rows)
    business = sum(hours[h] for h in range(9, 17)) / len(rows)
    assert night < 0.06
    assert business > 0.55
    # The lunch dip between the two peaks.
    assert hours[12] < hours[10] and hours[12] < hours[14]


def test_local_peaks_differ_in_utc(sample: list[dict[str, Any]]) -> None:
    def utc_business_share(team: TeamProfile, lo: int, hi: int) -> float:
        rows = [t for t in sample if t["team_id"] == TEAM_IDS[team.key]]
        return mean(lo <= t["created_at"].hour < hi for t in rows)

    # Berlin's working day is 07-16 UTC, New York's 13-22 UTC.
    assert utc_business_share(BERLIN, 7, 12) > 0.35 > utc_business_share(NEW_YORK, 7, 12)
    assert utc_business_share(NEW_YORK, 17, 22) > 0.3 > utc_business_share(BERLIN, 17, 22)


def test_business_hours_follow_dst() -> None:
    # US clocks went forward on 2026-03-08: the local profile must not shift.
    end = datetime(2026, 3, 22, tzinfo=UTC)
    rows = generate(20_000, teams=(NEW_YORK,), days=28, end=end)
    switch = datetime(2026, 3, 8, 7, tzinfo=UTC)
    zone = ZoneInfo(NEW_YORK.timezone)

    def mean_local_hour(part: list[dict[str, Any]]) -> float:
        return mean(t["created_at"].astimezone(zone).hour for t in part)

    before = [t for t in rows if t["created_at"] < switch]
    after = [t for t in rows if t["created_at"] >= switch]
    assert abs(mean_local_hour(before) - mean_local_hour(after)) < 0.3


def test_team_channel_priority_mix(sample: list[dict[str, Any]]) -> None:
    n = len(sample)
    teams = Counter(t["team_id"] for t in sample)
    for team in TEAMS:
        assert abs(teams[TEAM_IDS[team.key]] / n - team.weight) < 0.02
    channels = Counter(t["channel"] for t in sample)
    for channel, share in {"email": 0.45, "chat": 0.25, "web": 0.20, "phone": 0.10}.items():
        assert abs(channels[channel] / n - share) < 0.02
    priorities = Counter(t["priority"] for t in sample)
    for priority, share in {"low": 0.20, "normal": 0.60, "high": 0.15, "urgent": 0.05}.items():
        assert abs(priorities[priority] / n - share) < 0.02


def test_first_reply_and_resolution_times(sample: list[dict[str, Any]], solved: list[dict[str, Any]]) -> None:
    def first_reply_median(**match: str) -> float:
        return median(
            (t["first_reply_at"] - t["created_at"]).total_seconds()
            for t in sample
            if t["first_reply_at"] is not None and all(t[k] == v for k, v in match.items())
        )

    assert first_reply_median(channel="phone") < 5 * 60
    assert first_reply_median(channel="chat") < 10 * 60
    assert 3600 < first_reply_median(channel="email") < 4 * 3600
    assert first_reply_median(channel="email", priority="urgent") < first_reply_median(channel="email", priority="normal")
    resolution = sorted((t["solved_at"] - t["created_at"]).total_seconds() for t in solved)
    assert 12 * 3600 < median(resolution) < 26 * 3600
    assert resolution[int(len(resolution) * 0.95)] > 5 * 86400  # heavy tail


def test_one_touch_reopen_and_csat_shares(solved: list[dict[str, Any]]) -> None:
    assert 0.25 <= mean(t["replies"] == 1 for t in solved) <= 0.45
    assert 0.04 <= mean(t["reopens"] > 0 for t in solved) <= 0.10
    assert 0.005 <= mean(t["reopens"] == 2 for t in solved) <= 0.02
    rated = [t for t in solved if t["csat"] is not None]
    assert 0.20 <= len(rated) / len(solved) <= 0.40
    assert 0.75 <= mean(t["csat"] == "good" for t in rated) <= 0.97


def test_agents_differ_in_load_and_csat(sample: list[dict[str, Any]]) -> None:
    load = Counter(t["agent_id"] for t in sample if t["team_id"] == TEAM_IDS[BERLIN.key])
    del load[None]
    assert set(load) == set(BERLIN.agent_ids)
    assert max(load.values()) > 1.3 * min(load.values())
    good: dict[int, list[bool]] = {}
    for t in sample:
        if t["csat"] is not None:
            good.setdefault(t["agent_id"], []).append(t["csat"] == "good")
    rates = [mean(v) for v in good.values() if len(v) > 100]
    assert max(rates) - min(rates) > 0.05
    assert all(0.65 < r <= 1.0 for r in rates)


def test_reopened_tickets_solved_later(solved: list[dict[str, Any]]) -> None:
    def median_resolution(reopened: bool) -> float:
        return median(
            (t["solved_at"] - t["created_at"]).total_seconds() for t in solved if (t["reopens"] > 0) == reopened
        )

    assert median_resolution(True) > median_resolution(False)


# ------------------------------------------------------------- demo org


SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def test_demo_org_document_shape() -> None:
    doc = demo_org_document()
    assert set(doc) == {"org", "calendars", "teams", "members", "escalation", "qa", "sla"}
    assert [q["key"] for q in doc["escalation"]["queues"]] == ["billing", "tier2"]
    assert doc["org"] == {"name": "Acme Support", "timezone": "UTC", "digest": {"time": "07:30", "days": "mon-fri"}}
    assert 4 <= len(doc["teams"]) <= 5
    keys = [t["key"] for t in doc["teams"]]
    assert len(set(keys)) == len(keys) and all(SLUG.match(k) for k in keys)
    assert len({t["timezone"] for t in doc["teams"]}) == len(keys)
    for team in doc["teams"]:
        assert set(team) == {"key", "name", "timezone", "calendar", "channels", "digest", "targets", "alerts"}
        # Offices keep their hours and holidays; one team works around the clock.
        assert team["calendar"] in {c["key"] for c in doc["calendars"]} | {"none"}
        assert set(team["alerts"]) == {"backlog", "first_reply_median_s", "csat"}
        ZoneInfo(team["timezone"])
        assert set(team["channels"]) == {"slack", "teams"}
        assert re.fullmatch(r"\d\d:\d\d", team["digest"]["time"]) and team["digest"]["days"]
        targets = team["targets"]
        assert targets["first_reply_median_s"] > 0
        assert 0.85 <= targets["csat"] <= 0.92
        assert 0.05 <= targets["reopen_rate"] <= 0.08
        assert targets["sla_attainment"] == 0.9
    assert sum(t["calendar"] == "none" for t in doc["teams"]) == 1
    assert all(c["holidays"]["country"] for c in doc["calendars"])
    assert set(demo_team_weights()) == set(keys)
    assert all(w > 0 for w in demo_team_weights().values())


def test_demo_org_members() -> None:
    doc = demo_org_document()
    members = doc["members"]
    team_keys = {t["key"] for t in doc["teams"]}
    roles = Counter(m["role"] for m in members)
    assert 35 <= roles["agent"] <= 45
    assert roles["lead"] == len(team_keys) and roles["manager"] == 2 and roles["admin"] == 1
    assert Counter(m["team"] for m in members if m["role"] == "lead") == Counter(team_keys)
    assert [m for m in members if m["role"] == "admin"][0]["handle"] == "admin"
    for field in ("handle", "name", "email", "slack_id", "teams_id"):
        values = [m[field] for m in members]
        assert len(set(values)) == len(values), field
    for m in members:
        assert set(m) - {"timezone"} == {"handle", "name", "email", "team", "role", "slack_id", "teams_id"}
        assert SLUG.match(m["handle"]), m["handle"]
        assert m["email"] == f"{m['handle']}@acme.example"
        assert m["team"] in team_keys
        assert re.fullmatch(r"U[0-9A-Z]{6,}", m["slack_id"])
        assert UUID.match(m["teams_id"])
        if "timezone" in m:
            ZoneInfo(m["timezone"])


# ------------------------------------------------------------- database


def test_tickets_insert_into_migrated_sqlite(tmp_path: Path) -> None:
    engine = make_engine("sqlite:///" + str(tmp_path / "t.db"))
    upgrade(engine)
    doc = demo_org_document()
    with Session(engine) as session, session.begin():
        session.add(Org(id=1, name=doc["org"]["name"], timezone=doc["org"]["timezone"]))
        teams = {}
        for t in doc["teams"]:
            teams[t["key"]] = Team(
                key=t["key"],
                name=t["name"],
                timezone=t["timezone"],
                slack_channel=t["channels"]["slack"],
                teams_channel=t["channels"]["teams"],
                digest_time=t["digest"]["time"],
                digest_days=t["digest"]["days"],
                targets=t["targets"],
            )
        session.add_all(teams.values())
        members = {}
        for m in doc["members"]:
            members[m["handle"]] = Member(
                handle=m["handle"],
                name=m["name"],
                email=m["email"],
                team=teams[m["team"]],
                role=m["role"],
                slack_id=m["slack_id"],
                teams_id=m["teams_id"],
                timezone=m.get("timezone"),
            )
        session.add_all(members.values())
        session.flush()
        team_ids = {key: team.id for key, team in teams.items()}
        member_ids = {handle: member.id for handle, member in members.items()}

    profiles = demo_team_profiles(doc, member_ids)
    agent_ids = {member_ids[m["handle"]] for m in doc["members"] if m["role"] == "agent"}
    assert {a for p in profiles for a in p.agent_ids} == agent_ids
    rows = list(generate_tickets(profiles, team_ids, count=2000, days=30, end=END, seed=3))
    with engine.begin() as conn:
        conn.execute(insert(Ticket.__table__), rows)

    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Ticket)) == 2000
        first = session.scalars(select(Ticket).where(Ticket.external_id == "D-000001")).one()
        assert first.created_at == rows[0]["created_at"]
        assert first.team is not None and first.team.key in team_ids
        assert first.agent is None or first.agent.role == "agent"
        last = session.scalars(select(Ticket).where(Ticket.external_id == "D-002000")).one()
        assert last.solved_at == rows[-1]["solved_at"] and last.sla_met == rows[-1]["sla_met"]
        stored_targets = session.scalars(select(Team.targets).where(Team.key == "support-emea")).one()
        assert stored_targets == doc["teams"][0]["targets"]
    engine.dispose()
