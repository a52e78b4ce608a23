"""The team and agent a ticket names, found in the org or created on first sight.

Helpdesk exports and webhook events name teams and agents in their own words
("Group 56", "Resolver 89", an email). A name matching a team's key or name,
or a member's handle, name or email (case-insensitive), maps to it; anything
else becomes a new team or agent (`group-56`, `resolver-89`), reported so an
admin can add it to the org file.

Creating is race-safe on both backends: two imports, or two webhook events,
that meet the same new name at once end with one team or agent. The insert
skips a row whose key another transaction has just written
(`ON CONFLICT DO NOTHING`), and the id is then read back by key.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from store.org import Member, Org, Team
from store.team_renames import former_keys

HANDLE_MAX = Member.__table__.c.handle.type.length
TEAM_KEY_MAX = Team.__table__.c.key.type.length
NAME_MAX = Team.__table__.c.name.type.length


def slugify(name: str) -> str:
    """`Group 56` -> `group-56`; accents folded, anything else becomes a hyphen."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-")
    return slug[:63].strip("-") or "unnamed"


def unique_slug(base: str, taken: set[str], max_len: int) -> str:
    """`base`, or `base-2`, `base-3`, … whichever is free, never longer than `max_len`."""
    if base not in taken and len(base) <= max_len:
        return base
    n = 2
    while True:
        suffix = f"-{n}"
        candidate = base[: max_len - len(suffix)].rstrip("-") + suffix
        if candidate not in taken:
            return candidate
        n += 1


def insert_once(session: Session, table: Table, key: str, values: dict[str, Any]) -> tuple[int, bool]:
    """Insert `values` unless a row with the same unique `key` exists: (the row's id, whether this inserted it).

    On PostgreSQL the insert waits for a concurrent transaction writing the
    same key and then skips (READ COMMITTED lets the next statement see that
    row); on SQLite writers are serialised, so the row is there or not.
    """
    dialect = session.connection().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(table).values(**values).on_conflict_do_nothing(index_elements=[key]).returning(table.c.id)
    created = session.scalar(statement)
    if created is not None:
        return created, True
    found = session.scalar(select(table.c.id).where(table.c[key] == values[key]))
    assert found is not None, f"{table.name}.{key} = {values[key]!r} neither inserted nor found"
    return found, False


class OrgResolver:
    """Finds (or creates) the team and agent a file names, remembering answers for the run."""

    def __init__(self, session: Session) -> None:
        org = session.get(Org, 1)
        self.timezone = org.timezone if org else "UTC"
        self.teams: dict[str, int] = {}
        self.members: dict[str, int] = {}
        self.handles: set[str] = set()
        self.team_keys: set[str] = set()
        self.teams_created: list[str] = []
        self.agents_created: list[str] = []
        for t in session.scalars(select(Team)):
            self.teams.setdefault(t.key.lower(), t.id)
            self.teams.setdefault(t.name.lower(), t.id)
            self.team_keys.add(t.key)
        # A key the org file renamed still reaches its team (a helpdesk keeps sending it), after any team's own key or name.
        for old_key, team_id in former_keys(session):
            self.teams.setdefault(old_key, team_id)
        for m in session.scalars(select(Member)):
            for name in (m.handle, m.name, m.email):
                if name:
                    self.members.setdefault(name.lower(), m.id)
            self.handles.add(m.handle)

    def knows_team(self, name: str) -> bool:
        """True when `team(name)` needs no database."""
        return (self.teams.get(name.strip().lower()) or self.teams.get(slugify(name))) is not None

    def knows_agent(self, name: str) -> bool:
        """True when `agent(name)` needs no database."""
        key = name.strip().lower()
        return key in self.members or ("@" not in key and slugify(name) in self.members)

    def team(self, session: Session, name: str | None) -> int | None:
        if not name:
            return None
        key = name.strip().lower()
        found = self.teams.get(key) or self.teams.get(slugify(name))
        if found is not None:
            return found
        slug = unique_slug(slugify(name), self.team_keys, TEAM_KEY_MAX)
        values = {"key": slug, "name": name.strip()[:NAME_MAX], "timezone": self.timezone, "targets": {}, "active": True}
        team_id, created = insert_once(session, Team.__table__, "key", values)
        self.teams[key] = self.teams[slug] = team_id
        self.team_keys.add(slug)
        if created:  # not when a concurrent import or event created it a moment ago
            self.teams_created.append(slug)
        return team_id

    def agent(self, session: Session, name: str | None, team_id: int | None) -> int | None:
        if not name:
            return None
        key = name.strip().lower()
        found = self.members.get(key)
        if found is None and "@" not in key:
            found = self.members.get(slugify(name))
        if found is not None:
            return found
        email = key if "@" in key else None
        base = slugify(key.split("@")[0] if email else name)
        handle = unique_slug(base, self.handles, HANDLE_MAX)
        values = {
            "handle": handle,
            "name": name.strip()[:NAME_MAX],
            "email": email,
            "team_id": team_id,
            "role": "agent",
            "active": True,
        }
        member_id, created = insert_once(session, Member.__table__, "handle", values)
        self.members[key] = self.members[handle] = member_id
        self.handles.add(handle)
        if created:
            self.agents_created.append(handle)
        return member_id

    def snapshot(self) -> tuple[Any, ...]:
        """What `restore` needs to forget everything learnt since (a rolled-back batch)."""
        return (
            dict(self.teams),
            dict(self.members),
            set(self.handles),
            set(self.team_keys),
            len(self.teams_created),
            len(self.agents_created),
        )

    def restore(self, saved: tuple[Any, ...]) -> None:
        teams, members, handles, team_keys, n_teams, n_agents = saved
        self.teams, self.members, self.handles, self.team_keys = teams, members, handles, team_keys
        del self.teams_created[n_teams:]
        del self.agents_created[n_agents:]
