"""Scheduled scorecards: which are due as of a moment, and what each one says.

Due, for a team with `digest: {time, days}`: the latest of its digest times
at or before now, on one of its days, in its own time zone (so 09:00 is
09:00 local on both sides of a daylight-saving change). The digest's days are
the team's working days: the morning's post is the last working day's
scorecard, with the volume of the days off since summed up (a `mon-fri`
Monday: Friday's, with the weekend; a `daily` team: always yesterday's); with
`weekly: mon`, Monday's also brings last week's. `org.digest` sends the org
roll-up to every manager and admin by direct message, and each personal
subscription its scorecard to its member on working days (Monday to Friday)
at their time in their own zone; both follow the working week the same way.
A holiday of the team's calendar (the org's for the roll-up, the member's
team's for a subscription; `store.calendars`) is no working day: nothing is
posted on it, and the next post sums it up with the days off.

Each occurrence becomes outbox rows (store.outbox), one per destination, so
planning the same moment twice, or from two processes, plans nothing twice.
An occurrence found more than DIGEST_CATCHUP_HOURS after its time is
recorded as skipped instead, and one with nowhere to go is recorded with
who could not be reached.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from bot.notify import Address, MemberAddress, TeamAddress, member_addresses, team_addresses
from coaching.visibility import sees_pooled_qa
from handlers.context import Context
from handlers.kpi import execute_card, resolve
from handlers.kpi_request import KpiRequest
from handlers.reply import Context as Note
from handlers.reply import Reply
from handlers.reply import Section
from handlers.scorecard import days_off_line, last_working_day_note, org_card, team_card, week_card
from kpi.engine import Scope
from kpi.scorecard import days_off
from store.calendars import calendar_named, closed_days, team_calendar
from store.database import Database
from store.engine import write_transaction
from store.local_time import latest_occurrence
from store.org import Member, Org, Team
from store.org_file import DAY_NAMES, weekdays
from store.outbox import LATE_AFTER, Claimed, OutboxRow, Planned, plan
from store.subscriptions import ME, ORG, Subscription
from store.working_days import Coverage, coverage

KINDS = ("scorecard", "scorecard_week", "scorecard_org", "subscription")
WORKING_DAYS = "mon-fri"


@dataclass(frozen=True)
class Unplanned:
    """One message recorded as skipped when planned: what, to whom, and the reason in general words."""

    kind: str
    recipient: str  # the address, or the team or person with none
    reason: str  # the same words for every message skipped for it, so they can be counted together


@dataclass
class Planning:
    """What one planning pass did."""

    planned: int = 0
    skipped: list[str] = field(default_factory=list)  # one line per occurrence recorded as skipped
    unplanned: list[Unplanned] = field(default_factory=list)  # the same, to be summed up

    def skip(self, line: str, what: Unplanned) -> None:
        self.skipped.append(line)
        self.unplanned.append(what)


@dataclass(frozen=True)
class _Occurrence:
    kind: str
    subject: str
    day: date
    due: datetime
    addresses: list[Address]
    nobody: str  # the recipient and reason when there are no addresses


def _team_occurrences(team: Team, org: Org | None, now: datetime, platforms: set[str]) -> Iterable[_Occurrence]:
    if not team.digest_time:
        return
    closed = closed_days(team_calendar(org, team))
    found = latest_occurrence(now, team.digest_time, weekdays(team.digest_days or WORKING_DAYS), team.timezone, closed)
    if found is None:
        return
    day, due = found
    where = [a for a in team_addresses(TeamAddress(team.key, team.slack_channel, team.teams_channel)) if a.platform in platforms]
    nobody = f"none:team:{team.key}"
    yield _Occurrence("scorecard", team.key, day, due, where, nobody)
    if team.digest_weekly and DAY_NAMES.index(team.digest_weekly) == day.weekday():
        yield _Occurrence("scorecard_week", team.key, day, due, where, nobody)


def _member_addresses(member: Member, platforms: set[str]) -> list[Address]:
    address = MemberAddress(member.handle, member.slack_id, member.teams_id, member.email)
    return [a for a in member_addresses(address) if a.platform in platforms]


def _org_occurrences(session: Session, org: Org | None, now: datetime, platforms: set[str]) -> Iterable[_Occurrence]:
    if org is None or not org.digest_time:
        return
    closed = closed_days(calendar_named(org, org.calendar))
    found = latest_occurrence(now, org.digest_time, weekdays(org.digest_days or WORKING_DAYS), org.timezone, closed)
    if found is None:
        return
    day, due = found
    people = session.scalars(select(Member).where(Member.active.is_(True), Member.role.in_(("manager", "admin"))).order_by(Member.handle))
    for person in people:
        yield _Occurrence("scorecard_org", person.handle, day, due, _member_addresses(person, platforms), f"none:user:{person.handle}")


def _subscription_occurrences(session: Session, org: Org | None, now: datetime, platforms: set[str]) -> Iterable[_Occurrence]:
    org_zone = org.timezone if org else "UTC"
    rows = session.execute(select(Subscription, Member).join(Member, Subscription.member_id == Member.id).where(Member.active.is_(True))).all()
    for subscription, member in rows:
        zone = member.effective_timezone(org_zone)
        found = latest_occurrence(now, subscription.time, weekdays(WORKING_DAYS), zone, closed_days(team_calendar(org, member.team)))
        if found is None:
            continue
        day, due = found
        subject = f"{member.handle}:{subscription.subject}"
        yield _Occurrence("subscription", subject, day, due, _member_addresses(member, platforms), f"none:user:{member.handle}")


def plan_digests(db: Database, now: datetime, *, platforms: set[str], catchup: timedelta) -> Planning:
    """Plan every scorecard due as of `now` that is not planned yet.

    Most minutes everything due is planned already: one read finds that, and
    nothing is written (on SQLite, no write lock is taken).
    """
    with db.sessions() as session:
        org = session.get(Org, 1)
        teams = session.scalars(select(Team).where(Team.active.is_(True), Team.digest_time.is_not(None)).order_by(Team.key)).all()
        occurrences = [o for team in teams for o in _team_occurrences(team, org, now, platforms)]
        occurrences += list(_org_occurrences(session, org, now, platforms))
        occurrences += list(_subscription_occurrences(session, org, now, platforms))
        existing = _existing(session, occurrences)
    report = Planning()
    missing = [o for o in occurrences if any((o.kind, o.subject, r, o.day.isoformat()) not in existing for r in _recipients(o))]
    if missing:
        with write_transaction(db.sessions) as session:
            _plan(session, missing, existing, now, catchup, report)
    return report


def _recipients(o: _Occurrence) -> list[str]:
    return [str(a) for a in o.addresses] or [o.nobody]


def _existing(session: Session, occurrences: list[_Occurrence]) -> set[tuple[str, str, str, str]]:
    if not occurrences:
        return set()
    keys = {(o.kind, o.subject, o.day.isoformat()) for o in occurrences}
    return {
        (k, s, r, d)
        for k, s, r, d in session.execute(
            select(OutboxRow.kind, OutboxRow.subject, OutboxRow.recipient, OutboxRow.occurrence).where(
                tuple_(OutboxRow.kind, OutboxRow.subject, OutboxRow.occurrence).in_(list(keys))
            )
        )
    }


def _plan(
    session: Session, occurrences: list[_Occurrence], existing: set[tuple[str, str, str, str]], now: datetime, catchup: timedelta, report: Planning
) -> None:
    fresh: list[Planned] = []
    for o in occurrences:
        for recipient in _recipients(o):
            if (o.kind, o.subject, recipient, o.day.isoformat()) in existing:
                continue
            row = Planned(o.kind, o.subject, recipient, o.day.isoformat(), o.due, o.due + catchup)
            if not o.addresses:
                plan(session, [row], now, skipped="nowhere to send it: no channel or chat identity on a configured platform")
                who = o.nobody.split(":", 2)[2]
                report.skip(
                    f"{o.kind} {o.subject} {o.day}: not reachable ({who} has no channel or chat identity on a configured platform)",
                    Unplanned(o.kind, o.nobody, "not reachable: no channel or chat identity on a configured platform"),
                )
            elif now - o.due > catchup:
                hours = int(catchup.total_seconds() // 3600)
                plan(session, [row], now, skipped=f"missed: due at {o.due.isoformat()}, more than {hours} h (DIGEST_CATCHUP_HOURS) before csbot ran")
                report.skip(
                    f"{o.kind} {o.subject} {o.day} to {recipient}: missed by more than {hours} h",
                    Unplanned(o.kind, recipient, f"missed by more than {hours} h (DIGEST_CATCHUP_HOURS)"),
                )
            else:
                fresh.append(row)
    report.planned = plan(session, fresh, now)


# ---------------------------------------------------------------- what each says


class Skip(Exception):
    """This row cannot be composed any more (its team is gone, its reader may no longer see it)."""


def compose(session: Session, row: Claimed, now: datetime) -> Reply:
    """The message for a claimed digest row, as of `now`.

    The row's occurrence is the day it is posted; which day it shows, and
    which days off it sums up, is store.working_days' answer for the digest's
    days (a `mon-fri` Monday: Friday, with the weekend).
    """
    posted = date.fromisoformat(row.occurrence)
    org = session.get(Org, 1)
    if row.kind in ("scorecard", "scorecard_week"):
        team = session.scalar(select(Team).where(Team.key == row.subject, Team.active.is_(True)))
        if team is None:
            raise Skip(f"team {row.subject} is no longer in the organisation")
        if row.kind == "scorecard":
            covers = coverage(posted, weekdays(team.digest_days or WORKING_DAYS), closed_days(team_calendar(org, team)))
            reply = team_card(session, team, covers.day, now=now, share=True, summarised=covers.summarised)
        else:
            reply = week_card(session, team, now=row.due_at, share=True)
        return _late(reply, row, now, team.timezone)
    if row.kind == "scorecard_org":
        member = _member(session, row.subject)
        if not member.at_least("manager"):
            raise Skip(f"{member.handle} is no longer a manager or admin")
        closed = closed_days(calendar_named(org, org.calendar)) if org else frozenset()
        covers = coverage(posted, weekdays((org.digest_days if org else None) or WORKING_DAYS), closed)
        return _late(_org(session, org, member, covers, now), row, now, org.timezone if org else "UTC")
    if row.kind == "subscription":
        handle, _, what = row.subject.partition(":")
        member = _member(session, handle)
        zone = member.effective_timezone(org.timezone if org else "UTC")
        covers = coverage(posted, weekdays(WORKING_DAYS), closed_days(team_calendar(org, member.team)))
        return _late(_subscribed(session, org, member, what, covers, now), row, now, zone)
    raise Skip(f"not a digest: {row.kind}")


def _member(session: Session, handle: str) -> Member:
    member = session.scalar(select(Member).where(Member.handle == handle, Member.active.is_(True)))
    if member is None:
        raise Skip(f"{handle} is no longer an active member")
    return member


def _org(session: Session, org: Org | None, reader: Member, covers: Coverage, now: datetime) -> Reply:
    # A direct message to one reader: the QA figures they may see, team by team, as /scorecard org shows them.
    name = org.name if org else "Organisation"
    return org_card(session, covers.day, now=now, org_name=name, viewer=reader, summarised=covers.summarised)


def _subscribed(session: Session, org: Org | None, member: Member, what: str, covers: Coverage, now: datetime) -> Reply:
    if what == ORG:
        if not member.at_least("manager"):
            raise Skip(f"{member.handle} is no longer a manager or admin, and the org scorecard is for them")
        return _org(session, org, member, covers, now)
    if what == ME:
        # The member's own figures for their day: /kpi me for that date, for their eyes only.
        ctx = Context(session=session, member=member, now=now, org=org, platform="digest")
        request = KpiRequest("me", None, covers.day.isoformat())
        target = resolve(ctx, request)
        assert target is not None
        reply = execute_card(ctx, request, target)
        reply.title = f"Your day · {member.name} · {covers.day:%a %d %b %Y}"
        if covers.summarised:
            off = days_off(session, Scope(agent_id=member.id), covers.summarised, target.timezone, now=now)
            reply.blocks.insert(0, Note(last_working_day_note(covers.day, covers.summarised)))
            reply.blocks.append(Section(days_off_line(off)))
            reply.data["days_off"] = off.to_json()
        return reply
    team = session.scalar(select(Team).where(Team.key == what, Team.active.is_(True)))
    if team is None:
        raise Skip(f"team {what} is no longer in the organisation")
    return team_card(session, team, covers.day, now=now, qa=sees_pooled_qa(member, team.id), viewer=member, summarised=covers.summarised)


def _late(reply: Reply, row: Claimed, now: datetime, zone: str) -> Reply:
    if now - row.due_at > LATE_AFTER:
        due = row.due_at.astimezone(ZoneInfo(zone))
        reply.blocks.insert(0, Note(f"Sent late: this was due at {due:%H:%M} ({zone}) on {due:%a %d %b}, when csbot was not running."))
    return reply


def describe(row: Any) -> str:
    """`scorecard support-emea 2026-12-01`, for logs and tick output."""
    return f"{row.kind} {row.subject} {row.occurrence}"
