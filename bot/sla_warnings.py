"""The SLA warning job: each slot, tell each team which tickets are about to breach (or just did), once.

Per team and slot (kpi.sla_warnings.SLOT, 5 minutes), in one write
transaction: claim the slot, record the new warnings and breaches, and plan
one `sla_warning` message to the team's channel(s); the outbox sends it once
(two ticks at once, or two replicas, plan the same rows and claim one send).

- Where it goes: the team's channels on the configured platforms. A team with
  none there has its message sent to each of its leads by direct message
  instead (as KPI alerts reach leads); a team with neither is recorded as not
  reachable, like a scorecard.
- Assignees are not mentioned in the channel post (nobody is pinged by a
  list); each assignee of a ticket in it gets an `sla_assignee` direct
  message with their own lines of that slot instead, as an on-call page
  reaches its person (bot.notify). Tickets without an assignee are listed as
  unassigned.
- Tickets without a team are in nobody's queue and are not warned about.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.digests import Planning, Unplanned
from bot.notify import Address, MemberAddress, TeamAddress, member_addresses, team_addresses
from handlers.reply import Reply
from handlers.sla_warnings import warning_reply
from kpi.sla_warnings import announced, check_team, claim, parse_slot, slot_of, slot_stamp, teams_due, watching
from store.database import Database
from store.engine import write_transaction
from store.org import Member, Org, Team
from store.outbox import Claimed, Planned, plan

TEAM, ASSIGNEE = "sla_warning", "sla_assignee"
KINDS = (TEAM, ASSIGNEE)
NOWHERE = "nowhere to send it: no channel, and no lead with a chat identity, on a configured platform"


class Skip(Exception):
    """The message can no longer be sent (its team or assignee is gone, or has nothing in it any more)."""


def plan_sla(db: Database, now: datetime, *, platforms: set[str], catchup: timedelta) -> Planning:
    """Check every team not yet checked in the slot holding `now`; plan the messages of what it found."""
    at = slot_of(now)
    report = Planning()
    with db.sessions() as session:  # a read first: most minutes the slot is checked already, and SQLite's write lock is not taken
        if not watching(session) or not (due := teams_due(session, at)):
            return report
    with write_transaction(db.sessions) as session:
        for team_id in due:
            team = session.get(Team, team_id)
            if team is None or not team.active or not claim(session, team_id, at):
                continue
            lines = check_team(session, team, at, catchup=catchup, now=now)
            if lines:
                _plan_team(session, team, [a for a in dict.fromkeys(lines) if a is not None], at, now, platforms, catchup, report)
    return report


def _plan_team(session: Session, team: Team, agent_ids: list[int], at: datetime, now: datetime, platforms: set[str], catchup: timedelta, report: Planning) -> None:
    occurrence = slot_stamp(at)
    where = [a for a in team_addresses(TeamAddress(team.key, team.slack_channel, team.teams_channel)) if a.platform in platforms]
    if not where:
        leads = session.scalars(select(Member).where(Member.team_id == team.id, Member.role == "lead", Member.active.is_(True)).order_by(Member.handle))
        where = [a for lead in leads for a in _addresses(lead) if a.platform in platforms]
    if where:
        report.planned += plan(session, [Planned(TEAM, team.key, str(a), occurrence, at, at + catchup) for a in where], now)
    else:
        nobody = f"none:team:{team.key}"
        plan(session, [Planned(TEAM, team.key, nobody, occurrence, at, at + catchup)], now, skipped=NOWHERE)
        report.skip(f"{TEAM} {team.key} {occurrence}: not reachable ({NOWHERE})", Unplanned(TEAM, nobody, "not reachable: no channel or chat identity on a configured platform"))
    told = {str(a) for a in where}  # a lead who got the team's message by DM needs no second one
    people = session.scalars(select(Member).where(Member.id.in_(agent_ids), Member.active.is_(True)).order_by(Member.handle))
    rows = [
        Planned(ASSIGNEE, f"{team.key}:{person.handle}", str(a), occurrence, at, at + catchup)
        for person in people
        for a in _addresses(person)
        if a.platform in platforms and str(a) not in told
    ]
    report.planned += plan(session, rows, now)


def _addresses(member: Member) -> list[Address]:
    return member_addresses(MemberAddress(member.handle, member.slack_id, member.teams_id, member.email))


def compose(session: Session, row: Claimed, now: datetime) -> Reply:
    """The message of a claimed row, as of `now` (time left counted from the moment it is written)."""
    team_key, _, handle = row.subject.partition(":")
    team = session.scalar(select(Team).where(Team.key == team_key, Team.active.is_(True)))
    if team is None:
        raise Skip(f"team {team_key} is no longer in the organisation")
    try:
        at = parse_slot(row.occurrence)
    except ValueError:
        raise Skip(f"{row.occurrence!r} is not a slot") from None
    org = session.get(Org, 1)
    if row.kind == ASSIGNEE:
        person = session.scalar(select(Member).where(Member.handle == handle, Member.active.is_(True)))
        if person is None:
            raise Skip(f"{handle} is no longer an active member")
        items = announced(session, team, at, now, agent_id=person.id)
        if not items:
            raise Skip(f"{handle} is no longer assigned any of {team_key}'s tickets of {row.occurrence}")
        zone = person.effective_timezone(org.timezone if org else "UTC")
        note = f"Your own tickets of {team.name}'s list for this slot."
        return warning_reply(team.key, team.name, items, slot=at, now=now, zone=zone, yours=True, note=note)
    items = announced(session, team, at, now)
    if not items:
        raise Skip(f"nothing recorded for {team_key} at {row.occurrence}")
    note = None
    if row.recipient.split(":")[1:2] == ["user"]:
        note = f"Sent to you as a lead of {team.name}, which has no channel csbot can post to."
    return warning_reply(team.key, team.name, items, slot=at, now=now, zone=team.timezone, note=note)
