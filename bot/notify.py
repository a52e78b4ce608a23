"""Delivering a Reply to a team's channel or to a member directly, on every platform.

Digests, pages and reminders use only this: each platform implements
Notifier, and `deliver_to_team` / `deliver_to_member` fan out to every
platform the team or member is configured for, reporting each outcome (a
member nobody can reach is reported, never silently dropped).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from handlers.reply import Reply

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TeamAddress:
    key: str
    slack_channel: str | None
    teams_channel: str | None


@dataclass(frozen=True)
class MemberAddress:
    handle: str
    slack_id: str | None
    teams_id: str | None
    email: str | None


@dataclass(frozen=True)
class Address:
    """One place on one platform: a channel, or a person (their DM / 1:1 chat)."""

    platform: str  # slack | teams | email | webhook
    kind: str  # channel | user (e-mail: user only, its id the address) | queue (a queue's webhook)
    id: str

    def __str__(self) -> str:
        return f"{self.platform}:{self.kind}:{self.id}"

    @classmethod
    def parse(cls, text: str) -> Address | None:
        platform, _, rest = text.partition(":")
        kind, _, ident = rest.partition(":")
        if (platform, kind) == ("webhook", "queue") and ident:
            return cls(platform, kind, ident)
        if platform not in ("slack", "teams", "email") or kind not in ("channel", "user") or not ident:
            return None
        if platform == "email" and kind != "user":
            return None
        return cls(platform, kind, ident)


def team_addresses(team: TeamAddress) -> list[Address]:
    """Every channel the team has, on every platform."""
    found = [Address("slack", "channel", team.slack_channel)] if team.slack_channel else []
    return found + ([Address("teams", "channel", team.teams_channel)] if team.teams_channel else [])


def member_addresses(member: MemberAddress) -> list[Address]:
    """Every platform on which the member can get a direct message."""
    found = [Address("slack", "user", member.slack_id)] if member.slack_id else []
    return found + ([Address("teams", "user", member.teams_id)] if member.teams_id else [])


@dataclass(frozen=True)
class Sent:
    """What one send did: the platform's ids for the messages posted, or why it failed."""

    message_ids: tuple[str, ...] = ()
    error: str | None = None  # nothing was posted (or, with message_ids, only those were)
    note: str | None = None  # posted, with something missing (a chart that did not upload)
    final: bool = False  # with error: retrying cannot help (no such user, an address refused for good)


@dataclass(frozen=True)
class Delivery:
    platform: str
    target: str
    error: str | None = None  # None when delivered

    @property
    def ok(self) -> bool:
        return self.error is None


class Notifier(Protocol):
    platform: str

    async def to_team(self, team: TeamAddress, reply: Reply) -> Delivery | None:
        """Post to the team's channel; None when the team has no channel on this platform."""

    async def to_member(self, member: MemberAddress, reply: Reply) -> Delivery | None:
        """Message the member directly; None when they have no identity on this platform."""

    async def send(self, to: Address, reply: Reply, *, key: str, thread: str | None = None) -> Sent:
        """Post `reply` at `to` for the outbox row `key` (in the thread of message `thread`, where the platform has threads)."""

    async def find_sent(self, to: Address, key: str) -> tuple[str, ...] | None:
        """The ids of recent messages for `key` already at `to`: () when there are none, None when the platform cannot tell."""

    async def update(self, to: Address, message_id: str, reply: Reply) -> Sent:
        """Replace the message `message_id` csbot posted at `to` with `reply` (a page that becomes "Acknowledged by Dana")."""


async def deliver_to_team(notifiers: list[Notifier], team: TeamAddress, reply: Reply) -> list[Delivery]:
    results = [d for n in notifiers if (d := await n.to_team(team, reply)) is not None]
    if not results:
        results = [Delivery("none", team.key, "the team has no channel on any configured platform")]
    for d in results:
        if not d.ok:
            log.error("delivery to team %s on %s failed: %s", team.key, d.platform, d.error)
    return results


async def deliver_to_member(notifiers: list[Notifier], member: MemberAddress, reply: Reply) -> list[Delivery]:
    results = [d for n in notifiers if (d := await n.to_member(member, reply)) is not None]
    if not results:
        results = [Delivery("none", member.handle, "the member cannot be reached on any configured platform")]
    for d in results:
        if not d.ok:
            log.error("delivery to %s on %s failed: %s", member.handle, d.platform, d.error)
    return results
