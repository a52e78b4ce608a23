"""`csbot demo`: a believable organisation and 90 days of history, from a fixed seed."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select

from kpi.definitions import METRIC_NAMES
from kpi.demo_org import demo_org_document, demo_team_profiles
from kpi.generator import generate_tickets
from kpi.tickets import Ticket
from store.database import Database
from store.org import Member, Team
from store.org_file import apply_org, dump_org, parse_org

DEMO_SEED = 20261122
BATCH = 5000


@dataclass(frozen=True)
class SeedSummary:
    teams: int
    members: int
    tickets: int


def seed_demo(
    db: Database,
    *,
    now: datetime,
    tickets: int = 20_000,
    days: int = 90,
    seed: int = DEMO_SEED,
    progress: Callable[[int], None] | None = None,
) -> SeedSummary:
    """Apply the demo org and generate `tickets` tickets over the `days` before `now`.

    One transaction: an interrupted seed leaves an empty database, so the next
    `csbot demo` simply seeds again.
    """
    document = demo_org_document()
    spec = parse_org(dump_org(document), METRIC_NAMES, source="demo org")
    with db.sessions() as session, session.begin():
        apply_org(session, spec)
        team_ids = dict(session.execute(select(Team.key, Team.id)).all())
        member_ids = dict(session.execute(select(Member.handle, Member.id)).all())
        profiles = [p for p in demo_team_profiles(document, member_ids) if p.agent_ids]
        rows = generate_tickets(profiles, team_ids, count=tickets, days=days, end=now, seed=seed)
        done = 0
        while batch := list(itertools.islice(rows, BATCH)):
            session.execute(insert(Ticket), batch)
            done += len(batch)
            if progress:
                progress(done)
        members = len(spec.members)
    return SeedSummary(teams=len(spec.teams), members=members, tickets=done)


def default_console_handle(db: Database) -> str:
    """Whom the demo console speaks as: the first team's lead, so /kpi team has a team."""
    with db.sessions() as session:
        lead = session.scalar(
            select(Member).where(Member.role == "lead", Member.active.is_(True)).order_by(Member.id).limit(1)
        )
        if lead is None:
            lead = session.scalar(select(Member).where(Member.active.is_(True)).order_by(Member.id).limit(1))
        if lead is None:
            raise LookupError("the database has no members; run csbot org apply first")
        return lead.handle
