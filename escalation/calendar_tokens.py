"""The token in a member's personal calendar link (`GET /oncall/me/<token>.ics`): derived, rotatable, checked in memory.

A token is `<member id>-<generation>-<mac>`, the mac being 160 bits of an
HMAC-SHA256 of the member and the generation under a secret csbot makes for
itself (an app key, like the queue calendars' key). csbot stores no token,
only each member's generation counter, so:

- the link can be shown again whenever its owner asks (`/oncall export me`),
  which a stored hash would not allow;
- a made-up or altered token fails the HMAC, refused without the database;
- rotating (`/oncall export me new`) adds one to the generation: every link
  of a lower generation stops working at once, and, as generations never go
  back, a link seen to be stale stays stale (the route remembers it);
- a member without a generation (never asked for a link) has no working link.

Whoever holds a copy of the database holds the secret too and could make
links, exactly as for the queue calendars; a personal calendar shows only
shifts, which anyone in the organisation may see with `/oncall schedule`.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from escalation.models import PersonalCalendar
from store.chart_images import app_key
from store.org import Member

KEY_NAME = "oncall_personal"
MAC_HEX = 40
_TOKEN = re.compile(rf"^([1-9][0-9]{{0,9}})-([1-9][0-9]{{0,9}})-([0-9a-f]{{{MAC_HEX}}})$")


@dataclass(frozen=True)
class Token:
    member_id: int
    generation: int
    mac: str


def mac_for(secret: str, member_id: int, generation: int) -> str:
    return hmac.new(secret.encode(), f"oncall-me:{member_id}:{generation}".encode(), hashlib.sha256).hexdigest()[:MAC_HEX]


def token_for(secret: str, member_id: int, generation: int) -> str:
    return f"{member_id}-{generation}-{mac_for(secret, member_id, generation)}"


def parse_token(text: str) -> Token | None:
    """The parts of a well-formed token; None for anything else (no database, no secret needed)."""
    m = _TOKEN.match(text) if len(text) <= 64 else None
    return Token(int(m.group(1)), int(m.group(2)), m.group(3)) if m else None


def signed(secret: str, token: Token) -> bool:
    """True when csbot made this token (for some generation, current or not)."""
    return hmac.compare_digest(mac_for(secret, token.member_id, token.generation), token.mac)


def current_generation(session: Session, member_id: int) -> int | None:
    """The generation of the member's link in force; None when they have none or are no longer active (a read only)."""
    return session.scalar(
        select(PersonalCalendar.generation)
        .join(Member, Member.id == PersonalCalendar.member_id)
        .where(PersonalCalendar.member_id == member_id, Member.active.is_(True))
    )


def _ensure(session: Session, member: Member, now: datetime) -> None:
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(
        insert(PersonalCalendar).values(member_id=member.id, generation=1, created_at=now).on_conflict_do_nothing(index_elements=["member_id"])
    )


def link_token(session: Session, member: Member, now: datetime) -> str:
    """The member's token in force, their first one made if they have none."""
    _ensure(session, member, now)
    generation = session.scalar(select(PersonalCalendar.generation).where(PersonalCalendar.member_id == member.id))
    assert generation is not None
    return token_for(app_key(session, KEY_NAME), member.id, generation)


def rotate(session: Session, member: Member, now: datetime) -> str:
    """A new token for the member; every earlier one stops working (the counter is raised in SQL, so two rotations never meet)."""
    _ensure(session, member, now)
    session.execute(
        update(PersonalCalendar)
        .where(PersonalCalendar.member_id == member.id)
        .values(generation=PersonalCalendar.generation + 1, rotated_at=now)
        .execution_options(synchronize_session=False)
    )
    return link_token(session, member, now)


def rotated_at(session: Session, member: Member) -> datetime | None:
    return session.scalar(select(PersonalCalendar.rotated_at).where(PersonalCalendar.member_id == member.id))


__all__ = ["KEY_NAME", "Token", "current_generation", "link_token", "mac_for", "parse_token", "rotate", "rotated_at", "signed", "token_for"]
