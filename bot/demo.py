"""`csbot demo`: a believable organisation and 90 days of history, from a fixed seed.

The history ends when it is seeded, so a demo database grows stale: `csbot
demo --reset` wipes it and seeds again, ending now. A wipe is refused for a
database holding anything the demo did not put there (see `not_demo_data`),
so a DATABASE_URL left pointing at a real organisation is never emptied.
"""

from __future__ import annotations

import random

import difflib
import itertools
from collections.abc import Callable, Sequence
from typing import Any
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import MetaData, delete, func, insert, select
from sqlalchemy.orm import Session

from coaching.assignments import ASSIGN_AT, assign_team, monday_of
from escalation import history as oncall_history
from escalation import routing_keys
from kpi.day_facts import refresh
from kpi.definitions import BY_NAME
from kpi.demo_org import ORG_NAME, demo_org_document, demo_team_profiles
from kpi.generator import SUBJECT_TAGS, TeamProfile, generate_tickets
from kpi.sla import PolicyBook, stamp_dicts
from kpi.tickets import Ticket
from store.database import Database
from store.local_time import at_local, local_date
from store.org import Member, Org, Team
from store.org_file import apply_org, dump_org, parse_org
from store.queues import EscalationQueue

DEMO_SEED = 20261122
DEMO_HISTORY = timedelta(days=28)
DEMO_SOURCE = "demo"  # the tickets' source, as generate_tickets writes it
BATCH = 5000
# Monitoring alerts go to the technical queue: the demo gives it an Events API key.
EVENTS_QUEUE = "tier2"


@dataclass(frozen=True)
class SeedSummary:
    teams: int
    members: int
    tickets: int
    routing_key: str | None = None  # the Events API key of the demo's EVENTS_QUEUE, shown once


def seed_demo(
    db: Database,
    *,
    now: datetime,
    tickets: int = 20_000,
    days: int = 90,
    seed: int = DEMO_SEED,
    progress: Callable[[int], None] | None = None,
    replace: bool = False,
) -> SeedSummary:
    """Apply the demo org and generate `tickets` tickets over the `days` before `now`.

    With `replace`, every row of every table is deleted first (check
    `not_demo_data` before asking for that). One transaction: an interrupted
    seed leaves the database as it was (empty, or the old demo), so the next
    `csbot demo` simply seeds again.
    """
    document = demo_org_document()
    spec = parse_org(dump_org(document), BY_NAME, source="demo org")
    with db.sessions() as session, session.begin():
        if replace:
            _delete_everything(session)
        apply_org(session, spec)
        team_ids = dict(session.execute(select(Team.key, Team.id)).all())
        member_ids = dict(session.execute(select(Member.handle, Member.id)).all())
        profiles = [p for p in demo_team_profiles(document, member_ids) if p.agent_ids]
        # Of the tickets asked for, a few are chats waiting right now (see _waiting_now).
        waiting = _waiting_now(profiles, team_ids, now)[:tickets]
        rows = generate_tickets(profiles, team_ids, count=tickets - len(waiting), days=days, end=now, seed=seed)
        book = PolicyBook(session)
        done = 0
        while batch := list(itertools.islice(rows, BATCH)):
            stamp_dicts(book, batch)
            session.execute(insert(Ticket), batch)
            done += len(batch)
            if progress:
                progress(done)
        for n, row in enumerate(waiting, start=done + 1):
            row["external_id"] = f"D-{n:06d}"  # after the history's, as the helpdesk numbers them
        stamp_dicts(book, waiting)
        if waiting:
            session.execute(insert(Ticket), waiting)
        done += len(waiting)
        refresh(session)  # the demo starts with every day counted (kpi.day_facts)
        _coaching(session, now)
        # The latest weekly QA sample, as the Monday tick drew it, so /qa queue has something to show
        # whenever the demo is seeded (before Monday 09:00 in a team's zone: last week's).
        for team in session.scalars(select(Team).where(Team.active.is_(True)).order_by(Team.id)):
            monday = monday_of(local_date(now, team.timezone))
            due = at_local(monday, ASSIGN_AT, team.timezone)
            assign_team(session, team, now if now >= due else at_local(monday - timedelta(days=7), ASSIGN_AT, team.timezone))
        # Four weeks of recorded on-call history, so /oncall history has something to show (escalation.history).
        oncall_history.record(session, now, begin=now - DEMO_HISTORY)
        members = len(spec.members)
        queue = session.scalar(select(EscalationQueue).where(EscalationQueue.key == EVENTS_QUEUE))
        key = routing_keys.issue(session, queue, None, now).key if queue is not None else None
    return SeedSummary(teams=len(spec.teams), members=members, tickets=done, routing_key=key)


def _waiting_now(profiles: Sequence[TeamProfile], team_ids: dict[str, int], now: datetime) -> list[dict[str, Any]]:
    """Two live chats per team that nobody has answered yet, so `/kpi sla` has tickets at risk on a fresh demo.

    The live chat policy is on the wall clock (10 minutes to a first reply,
    warned 5 minutes before): one chat came in 7 minutes ago and is due in 3,
    the other 12 minutes ago and is 2 minutes late, whatever the offices' hours.
    """
    rows = []
    for n, profile in enumerate(profiles):
        for minutes, agent in ((7, profile.agent_ids[0]), (12, None)):
            subject, tags = SUBJECT_TAGS[(n * 2 + minutes) % len(SUBJECT_TAGS)]
            created = (now - timedelta(minutes=minutes)).replace(microsecond=0)
            rows.append({
                "source": DEMO_SOURCE, "external_id": "", "subject": subject, "team_id": team_ids[profile.key],
                "agent_id": agent, "status": "new", "priority": "normal", "channel": "chat", "created_at": created, "first_reply_at": None,
                "solved_at": None, "replies": 0, "reopens": 0, "csat": None, "sla_met": None, "tags": tags,
            })  # fmt: skip
    return rows


# A few coaching notes and QA reviews, so `/coach` and `/qa` have something to show.
_NOTES = (
    ("katrin", "lena", "Great save on the double-charge call: calm, clear, and the refund went out the same hour. #empathy #ownership", False),
    ("katrin", "lena", "Watch the hold times on long calls; offer a call-back instead. #efficiency", True),
    ("katrin", "jonas", "Your macro for password resets is now the team's; thank you. #knowledge", False),
    ("monica", "marcus", "Escalated the outage ticket at the right moment with everything tier 2 needed. #escalation", False),
)
_REVIEWS = (
    ("katrin", "lena", "D-000123", {"accuracy": "2", "tone": "5", "policy": "pass", "resolution": "4"}, "Textbook."),
    ("katrin", "jonas", "D-000456", {"accuracy": "1", "tone": "3", "policy": "pass", "resolution": "3"}, "Right answer, but check the refund policy link."),
    ("monica", "marcus", "D-000789", {"accuracy": "0", "tone": "4", "policy": "fail", "resolution": "2"}, "The workaround given was wrong; see the KB article."),
)


# Coaching sessions: (lead, agent, days ago, follow-up in days from now, strengths, opportunities, actions (text, due in days, done)).
_SESSIONS = (
    ("katrin", "lena", 14, 0, "Calm and clear with upset customers; the team copies her refund wording.", "Long holds on calls that need billing.",
     (("Shadow Rachel's billing desk for an hour", -7, True), ("Offer a call-back instead of holding past 5 minutes", 0, False))),
    ("monica", "marcus", 3, 11, "Escalates with everything tier 2 needs.", "First replies on chat run long in the afternoon.",
     (("Use the chat macros for the first reply", 4, False), ("Review the afternoon queue with Monica on Friday", 3, False))),
)

# Revealed calibrations: (days ago, ticket, (reviewer, "accuracy tone policy resolution") …); rachel scores hardest.
_CALIBRATIONS = (
    (12, "D-004300", (("katrin", "2 5 pass 5"), ("monica", "2 4 pass 4"), ("rachel", "1 4 pass 4"))),
    (9, "D-004301", (("katrin", "1 3 fail 3"), ("monica", "1 3 pass 3"), ("rachel", "0 3 fail 2"))),
    (5, "D-004302", (("katrin", "2 4 pass 4"), ("monica", "2 4 pass 5"))),
)


def _coaching(session: Session, now: datetime) -> None:
    from coaching import calibration, notes, qa, sessions
    from store.local_time import local_date
    from store.qa_rubrics import current

    people = {m.handle: m for m in session.scalars(select(Member))}
    for n, (author, agent, text, private) in enumerate(_NOTES):
        words = text.split()
        body = " ".join(w for w in words if not w.startswith("#"))
        tags = notes.check_tags([w for w in words if w.startswith("#")])
        note = notes.add(session, people[author], people[agent], body, tags=tags, private=private, now=now - timedelta(days=6 - n))
        note.acknowledged_at = None if private or n % 2 else note.created_at + timedelta(hours=2)
    for lead, agent, ago, follow, strengths, opportunities, actions in _SESSIONS:
        held = now - timedelta(days=ago)
        today = local_date(now, people[agent].effective_timezone("UTC"))
        items = [sessions.ActionItem(text, today + timedelta(days=due)) for text, due, _ in actions]
        record = sessions.create(
            session, people[lead], people[agent], strengths=strengths, opportunities=opportunities, actions=items, follow_up=today + timedelta(days=follow), now=held
        )
        for item, (_, _, done) in zip(sessions.items_of(session, record), actions, strict=True):
            if done:
                sessions.mark_done(session, item, people[agent], held + timedelta(days=3))
    rubric = current(session)
    if rubric is None:
        return
    for n, (reviewer, agent, ticket, scores, comment) in enumerate(_REVIEWS):
        review = qa.create(session, people[reviewer], people[agent], rubric, scores, ticket=ticket, ticket_url=None, comments={"": comment}, now=now - timedelta(days=3 - n))
        if agent == "jonas":  # an open dispute for /qa disputes
            qa.dispute(session, review, people[agent], "The policy link was in my macro; I checked it.", {"accuracy": "2"}, now - timedelta(days=1))
    # A calibration the three leads have scored, so its spread can be seen (/qa calibration 1).
    blind = calibration.start(
        session, people["katrin"], [people["katrin"], people["monica"], people["rachel"]], rubric, ticket="D-004242", ticket_url=None, deadline=now + timedelta(days=2), now=now - timedelta(days=2)
    )
    for n, (lead, scores) in enumerate((("katrin", "2 4 pass 4"), ("monica", "1 4 pass 3"), ("rachel", "2 5 fail 4"))):
        values = dict(zip(("accuracy", "tone", "policy", "resolution"), scores.split(), strict=True))
        calibration.submit(session, blind, people[lead], values, {}, now - timedelta(days=1, hours=n))
    # A month of reviews, two a week per agent of the two support teams, so the QA figures have something to say.
    rng = random.Random(42)
    leads = {m.team_id: m for m in people.values() if m.role == "lead" and m.team is not None and m.team.key in ("support-emea", "support-amer")}
    agents = sorted((m for m in people.values() if m.role == "agent" and m.team_id in leads), key=lambda m: m.handle)
    for week in range(4):
        for agent in agents:
            for k in range(2):
                scores = {"accuracy": rng.choice("1222"), "tone": rng.choice("345"), "policy": rng.choice(["pass"] * 9 + ["fail"]), "resolution": rng.choice("345")}
                at = now - timedelta(days=7 * week + 2 + 3 * k, hours=rng.randrange(8))
                qa.create(session, leads[agent.team_id], agent, rubric, scores, ticket=f"D-{rng.randrange(10**6):06d}", ticket_url=None, comments={}, now=at)
    # Three more calibrations, scored by all and so revealed, so /qa calibration report has agreement to measure
    # (after the reviews, whose random draws stay as they were).
    for days, ticket, scored in _CALIBRATIONS:
        started = now - timedelta(days=days)
        record = calibration.start(
            session, people["katrin"], [people[h] for h, _ in scored], rubric, ticket=ticket, ticket_url=None, deadline=started + timedelta(days=7), now=started
        )
        for n, (lead, scores) in enumerate(scored):
            values = dict(zip(("accuracy", "tone", "policy", "resolution"), scores.split(), strict=True))
            calibration.submit(session, record, people[lead], values, {}, started + timedelta(hours=2 + n))


def _delete_everything(session: Session) -> None:
    """Empty every table but the schema version, children before parents.

    The tables are read from the database itself, so tables added by later
    features are emptied too without being listed here.
    """
    tables = MetaData()
    tables.reflect(bind=session.connection())
    for table in reversed(tables.sorted_tables):
        if table.name != "alembic_version":
            session.execute(delete(table))


def not_demo_data(db: Database) -> str | None:
    """Why this database holds more than the demo put there, or None when it holds only demo data.

    The demo's organisation name, team keys and handles, and tickets whose
    source is the demo's: anything else (an applied org file, an import) is
    someone's data, which `--reset` must not wipe.
    """
    document = demo_org_document()
    with db.sessions() as s:
        org = s.get(Org, 1)
        if org is not None and org.name != ORG_NAME:
            return f"its organisation is {org.name!r}, not the demo's {ORG_NAME!r}"
        demo_teams = {t["key"] for t in document["teams"]}
        team = s.scalar(select(Team.key).where(Team.key.not_in(demo_teams)).order_by(Team.id).limit(1))
        if team is not None:
            return f"it has team {team!r}, which the demo does not"
        demo_handles = {m["handle"] for m in document["members"]}
        member = s.scalar(select(Member.handle).where(Member.handle.not_in(demo_handles)).order_by(Member.id).limit(1))
        if member is not None:
            return f"it has member {member!r}, who is not in the demo"
        others = s.execute(
            select(Ticket.source, func.count()).where(Ticket.source != DEMO_SOURCE).group_by(Ticket.source).order_by(Ticket.source)
        ).first()
        if others is not None:
            return f"it has {others[1]:,} ticket{'s' if others[1] != 1 else ''} from source {others[0]!r}"
    return None


def demo_ends(db: Database) -> datetime | None:
    """When the demo's ticket history ends (its newest ticket), or None without demo tickets."""
    with db.sessions() as s:
        return s.scalar(select(func.max(Ticket.created_at)).where(Ticket.source == DEMO_SOURCE))


def demo_members() -> list[tuple[str, str]]:
    """(handle, role) of everyone in the demo organisation, in the order they are created."""
    return [(m["handle"], m["role"]) for m in demo_org_document()["members"]]


def active_members(db: Database) -> list[tuple[str, str]]:
    """(handle, role) of every active member, oldest first."""
    with db.sessions() as s:
        return [(h, r) for h, r in s.execute(select(Member.handle, Member.role).where(Member.active.is_(True)).order_by(Member.id))]


def unknown_handle_message(handle: str, members: Sequence[tuple[str, str]]) -> str:
    """One line for a handle none of `members` has: a close match, a few handles to try, and where to find all.

    The examples are the first member of each role (admin, manager, lead,
    agent), since what the console shows depends on the role.
    """
    handles = [h for h, _ in members]
    close = difflib.get_close_matches(handle.strip().lstrip("@").lower(), handles, n=1, cutoff=0.7)
    message = f"no active member has the handle {handle!r}" + (f" (did you mean {close[0]!r}?)" if close else "")
    examples = [
        f"{first} ({role})"
        for role in ("admin", "manager", "lead", "agent")
        if (first := next((h for h, r in members if r == role), None)) is not None
    ]
    if examples:
        message += f"; try {', '.join(examples)}"
    return message + ", or csbot org show for everyone"


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
