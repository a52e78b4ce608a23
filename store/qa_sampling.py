"""The stored `qa: sampling:` rules, one row per team the org file names and one for the default.

Replaced whole on every `csbot org apply`: a rule applies from the next
weekly sample, and samples already drawn keep what they were drawn with.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import JSON, Integer, String, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from store.base import Base
from store.qa_sampling_file import DEFAULT, SamplingRule


class QaSamplingRule(Base):
    __tablename__ = "qa_sampling_rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team: Mapped[str] = mapped_column(String(64), unique=True)  # a team key, or "default"
    rule: Mapped[dict[str, Any]] = mapped_column(JSON)


def rules(session: Session) -> dict[str, SamplingRule]:
    """Every stored rule by team key (DEFAULT for the default); {} when sampling is not set up."""
    return {row.team: SamplingRule.from_dict(row.rule) for row in session.scalars(select(QaSamplingRule))}


def rule_for(session: Session, team: str) -> SamplingRule | None:
    """The team's rule (the default's when the file did not name it), or None when sampling is not set up."""
    stored = rules(session)
    return stored.get(team) or stored.get(DEFAULT)


def replace(session: Session, wanted: Mapping[str, SamplingRule]) -> bool:
    """Store `wanted` in place of the rules there were; True when that changed anything."""
    before = {k: r.as_dict() for k, r in rules(session).items()}
    after = {k: r.as_dict() for k, r in wanted.items()}
    if before == after:
        return False
    session.execute(delete(QaSamplingRule))
    for team, rule in sorted(after.items()):
        session.add(QaSamplingRule(team=team, rule=rule))
    session.flush()
    return True
