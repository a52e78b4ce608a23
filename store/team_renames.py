"""Team keys that changed: a team renamed in the org file (`renamed_from:`) keeps its history.

Tickets, day facts, QA reviews, alert states and members point at a team by
its row id, so giving the same row a new key carries them all. What names a
team by its key as text is carried here, in the same transaction: scorecard
subscriptions, and the outbox rows of the team's own messages, so a scorecard
already posted today under the old key is not posted again under the new one
and a message waiting to be sent is still sent. The old key is remembered:
a person who types it is told the new one, and a helpdesk that still sends
it reaches the same team instead of creating a new one.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from store.base import Base, UTCSeconds
from store.org import Team
from store.outbox import OutboxRow
from store.subscriptions import Subscription

# Outbox kinds whose subject is a team key, and how (bot.digests, bot.kpi_alerts write them).
_TEAM_SUBJECTS = ("scorecard", "scorecard_week")  # subject: KEY; recipient none:team:KEY when unreachable
_SUBSCRIPTION = "subscription"  # subject: HANDLE:KEY
_ALERTS = ("alert", "alert_recovered")  # subject: KEY:METRIC


class TeamRename(Base):
    """One change of a team's key, oldest first; a key may be renamed away more than once."""

    __tablename__ = "team_renames"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), index=True)
    old_key: Mapped[str] = mapped_column(String(64), index=True)
    new_key: Mapped[str] = mapped_column(String(64))
    renamed_at: Mapped[datetime] = mapped_column(UTCSeconds)


def rename_team(session: Session, team: Team, new_key: str, now: datetime) -> None:
    """Give `team` the key `new_key` (free: the caller checked), carrying what names it by key."""
    old_key = team.key
    team.key = new_key
    session.add(TeamRename(team_id=team.id, old_key=old_key, new_key=new_key, renamed_at=now))
    for subscription in session.scalars(select(Subscription).where(Subscription.subject == old_key)):
        subscription.subject = new_key
    _carry_outbox(session, old_key, new_key)
    session.flush()


def _carry_outbox(session: Session, old_key: str, new_key: str) -> None:
    rows = session.scalars(
        select(OutboxRow).where(
            or_(
                OutboxRow.kind.in_(_TEAM_SUBJECTS) & (OutboxRow.subject == old_key),
                # Keys are slugs (letters, digits, hyphens): nothing in them is a LIKE wildcard.
                (OutboxRow.kind == _SUBSCRIPTION) & OutboxRow.subject.like(f"%:{old_key}"),
                OutboxRow.kind.in_(_ALERTS) & OutboxRow.subject.like(f"{old_key}:%"),
            )
        )
    ).all()
    for row in rows:
        if row.kind in _TEAM_SUBJECTS:
            row.subject = new_key
            if row.recipient == f"none:team:{old_key}":
                row.recipient = f"none:team:{new_key}"
        elif row.kind == _SUBSCRIPTION:
            row.subject = row.subject[: -len(old_key)] + new_key
        else:
            row.subject = new_key + row.subject[len(old_key) :]


def renamed_team(session: Session, key: str) -> Team | None:
    """The team once called `key` and renamed since (its latest rename), or None.

    None too when a team is called `key` now: the current key wins, so a key
    given up by one team can be taken by another.
    """
    key = key.strip().lower()
    if session.scalar(select(Team.id).where(Team.key == key)) is not None:
        return None
    team_id = session.scalar(select(TeamRename.team_id).where(TeamRename.old_key == key).order_by(TeamRename.id.desc()).limit(1))
    return session.get(Team, team_id) if team_id is not None else None


def former_keys(session: Session) -> list[tuple[str, int]]:
    """Every (old key, team id), the latest rename of a key first."""
    return [(k, t) for k, t in session.execute(select(TeamRename.old_key, TeamRename.team_id).order_by(TeamRename.id.desc()))]
