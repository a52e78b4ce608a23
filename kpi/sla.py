"""A ticket's SLA policy and due times, set when csbot first records it.

The first current policy (`store.sla_policies`) whose match the ticket meets
is the ticket's, version and all, for good: a later change of the policy, or
of the ticket's priority or tags, does not move it (the issue's "the ticket
keeps the policy it matched at creation"). The due instant of each target it
has (first reply, resolution) is computed then (`kpi.sla_due`) on the team's
calendar (`store.calendars.team_calendar`; a ticket without a team uses the
org's), and again, with the same policy version, if the ticket's creation time
moves. `next_reply` is kept as a target of the policy: no import or webhook
event says when a customer wrote, so no next reply can be timed.

Where tickets come from, they are stamped here: an import batch
(`stamp_rows`, new tickets only: an existing ticket keeps what it has), the
demo (`stamp_dicts`) and a webhook event (`settle_ticket`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from kpi.sla_due import due_at, dues
from kpi.tickets import Ticket
from store.business_time import BusinessCalendar, CalendarError
from store.calendars import team_calendar
from store.org import Org, Team
from store.sla_file import MATCH_KEYS
from store.sla_policies import SlaPolicy, current
from store.ticket_fields import stored_tags

# The ticket columns a stamp fills, and the targets whose due times they hold.
COLUMNS = ("sla_policy_id", "first_reply_due_at", "resolution_due_at")
DUE_TARGETS = ("first_reply", "resolution")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_NO_TEAM = object()

Stamp = tuple[int | None, int | None, int | None]  # policy id, first reply due, resolution due (epoch seconds)


class PolicyBook:
    """The current policies, and what matching a ticket against them needs: team keys and calendars."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self.policies = current(session)
        self._org: Org | None = None
        self._teams: dict[int, Team] | None = None  # read when first needed
        self._calendars: dict[Any, BusinessCalendar | None] = {}
        self._matched: dict[tuple[Any, ...], SlaPolicy | None] = {}
        self._decided: dict[tuple[Any, ...], SlaPolicy | None] = {}
        self._deciding: dict[tuple[Any, str], Any] = {}  # a team's, channel's or tags' part of what decides
        # Policy ids by the fields' values, for stamps: an ORM attribute read per row costs more than the rest.
        self._ids: dict[tuple[Any, ...], int | None] = {}
        # Per match key, every value some policy names.
        self._named: dict[str, set[str]] = {key: set() for key in MATCH_KEYS}
        for policy in self.policies:
            for key, values in policy.match.items():
                self._named[key].update(values)

    def __bool__(self) -> bool:
        return bool(self.policies)

    def _team(self, team_id: int | None) -> Team | None:
        if self._teams is None:
            self._org = self._session.get(Org, 1)
            self._teams = {t.id: t for t in self._session.scalars(select(Team))}
        return self._teams.get(team_id) if team_id is not None else None

    def calendar(self, team_id: int | None) -> BusinessCalendar | None:
        """The calendar a team's tickets are timed by (None: around the clock)."""
        key = _NO_TEAM if team_id is None else team_id
        if key not in self._calendars:
            team = self._team(team_id)
            self._calendars[key] = team_calendar(self._org, team)
        return self._calendars[key]

    def match(self, team_id: int | None, priority: str | None, channel: str | None, tags: str | None) -> SlaPolicy | None:
        """The first policy a ticket with these fields meets, or None."""
        key = (team_id, priority, channel, tags)
        if key not in self._matched:
            # What no policy names cannot decide a match: the answer is kept for the
            # fields that can, so a million tickets ask the policies a few dozen times.
            named, seen = self._named, self._deciding
            if (team_id, "team") not in seen:
                team = self._team(team_id)
                seen[(team_id, "team")] = team.key if team is not None and team.key in named["team"] else None
            if (channel, "channel") not in seen:
                word = (channel or "").strip().lower()
                seen[(channel, "channel")] = word if word in named["channel"] else None
            if (tags, "tag") not in seen:
                seen[(tags, "tag")] = tuple(t for t in stored_tags(tags) if t in named["tag"])
            deciding = (seen[(team_id, "team")], priority if priority in named["priority"] else None, seen[(channel, "channel")], seen[(tags, "tag")])
            if deciding not in self._decided:
                self._decided[deciding] = next((p for p in self.policies if p.matches(deciding[1], deciding[2], deciding[3], deciding[0])), None)
            self._matched[key] = self._decided[deciding]
        return self._matched[key]

    def stamps(self, team_ids: Sequence[int | None], priorities: Sequence[str | None], channels: Sequence[str | None], tags: Sequence[str | None], created: Sequence[int]) -> list[Stamp]:
        """The stamp of each ticket (columns as equal-length sequences; `created` in epoch seconds).

        This runs for every row of an import: policies are matched once per
        distinct (team, priority, channel, tags), and due times are worked out
        per policy and calendar for all their tickets at once.
        """
        n = len(created)
        # One dictionary step per row: the rows of each distinct (team, priority, channel, tags).
        alike: dict[tuple[Any, ...], list[int]] = {}
        for i, key in enumerate(zip(team_ids, priorities, channels, tags)):
            alike.setdefault(key, []).append(i)
        policy_ids: list[int | None] = [None] * n
        groups: dict[tuple[int, int | None], list[int]] = {}
        ids = self._ids
        for key, rows in alike.items():
            if key not in ids:
                policy = self.match(*key)
                ids[key] = policy.id if policy is not None else None
            policy_id = ids[key]
            if policy_id is not None:
                groups.setdefault((policy_id, key[0]), []).extend(rows)
                for i in rows:
                    policy_ids[i] = policy_id
        by_calendar: dict[tuple[int, BusinessCalendar | None], list[int]] = {}
        for (policy_id, team_id), rows in groups.items():
            by_calendar.setdefault((policy_id, self.calendar(team_id)), []).extend(rows)
        when = np.asarray(created, dtype=np.int64)
        due = {name: np.full(n, -1, dtype=np.int64) for name in DUE_TARGETS}
        by_id = {p.id: p for p in self.policies}
        for (policy_id, cal), rows in by_calendar.items():
            policy, at = by_id[policy_id], np.array(rows, dtype=np.int64)
            for name in DUE_TARGETS:
                target = policy.target(name)
                if target is not None:
                    try:
                        due[name][at] = dues(cal, policy.business, target, when[at])
                    except CalendarError:
                        pass  # a calendar closed for over a year: no due time rather than a wrong one
        first, resolution = (due[name].tolist() for name in DUE_TARGETS)
        return [(p, f if f >= 0 else None, r if r >= 0 else None) for p, f, r in zip(policy_ids, first, resolution)]


def stamp_rows(session: Session, columns: list[str], rows: list[tuple[Any, ...]]) -> tuple[list[str], list[tuple[Any, ...]]]:
    """An import batch's rows (database-level values in `columns` order) with their stamps added as COLUMNS.

    The importer writes these columns for new tickets only (they are not the
    file's), so a ticket already stored keeps its policy. Without current
    policies the rows are returned as they are.
    """
    book = PolicyBook(session)
    if not book or not rows:
        return columns, rows
    at = {c: i for i, c in enumerate(columns)}

    def column(name: str) -> list[Any]:
        return [row[at[name]] for row in rows] if name in at else [None] * len(rows)

    stamps = book.stamps(column("team_id"), column("priority"), column("channel"), column("tags"), column("created_at"))
    return [*columns, *COLUMNS], [(*row, *stamp) for row, stamp in zip(rows, stamps, strict=True)]


def stamp_dicts(book: PolicyBook, rows: list[dict[str, Any]]) -> None:
    """Add the stamp columns to ticket rows of aware datetimes (the demo's), in place."""
    if not book or not rows:
        return
    created = [int(r["created_at"].timestamp()) for r in rows]
    stamps = book.stamps([r.get("team_id") for r in rows], [r.get("priority") for r in rows], [r.get("channel") for r in rows], [r.get("tags") for r in rows], created)
    for row, (policy_id, first_reply, resolution) in zip(rows, stamps, strict=True):
        row["sla_policy_id"] = policy_id
        row["first_reply_due_at"] = _datetime(first_reply)
        row["resolution_due_at"] = _datetime(resolution)


def _datetime(epoch: int | None) -> datetime | None:
    return datetime.fromtimestamp(epoch, timezone.utc) if epoch is not None else None


def settle_ticket(session: Session, ticket: Ticket, *, rematch: bool, moved: bool) -> None:
    """Stamp a ticket an event just recorded (`rematch`), or time its kept policy again when its creation `moved`."""
    if not rematch and not (moved and ticket.sla_policy_id is not None):
        return
    book = PolicyBook(session)
    if rematch:
        policy = book.match(ticket.team_id, ticket.priority, ticket.channel, ticket.tags)
        ticket.sla_policy_id = policy.id if policy is not None else None
    else:
        policy = session.get(SlaPolicy, ticket.sla_policy_id)
    dues_of: dict[str, datetime | None] = dict.fromkeys(DUE_TARGETS)
    if policy is not None:
        cal = book.calendar(ticket.team_id)
        for name in DUE_TARGETS:
            target = policy.target(name)
            if target is not None:
                try:
                    dues_of[name] = due_at(cal, policy.business, target, ticket.created_at)
                except CalendarError:
                    pass  # as in stamps: no due time rather than a wrong one
    ticket.first_reply_due_at = dues_of["first_reply"]
    ticket.resolution_due_at = dues_of["resolution"]
