"""SLA policy versions: each change of what a policy measures is a new version.

A ticket keeps the version it matched when csbot first recorded it (as a QA
review keeps its rubric version), so changing a policy's targets, match or
time changes only the tickets that come after. Its name, its warning time and
its place in the list are not what a ticket is measured against: they change
the current version in place. A policy the file no longer lists is retired
(new tickets stop getting it; tickets that have it keep it), and comes back
as it was when it is listed again unchanged.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from store.base import Base, UTCSeconds
from store.sla_file import TARGETS, SlaPolicySpec, SlaTarget


class SlaPolicy(Base):
    __tablename__ = "sla_policies"
    __table_args__ = (UniqueConstraint("key", "version", name="uq_sla_policies_key_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer)  # in the file's list: the first match wins
    match: Mapped[dict[str, list[str]]] = mapped_column(JSON)  # {} takes every ticket
    # Targets as the file writes them (`1h`, `3d`); None: the policy has none.
    first_reply: Mapped[str | None] = mapped_column(String(16))
    next_reply: Mapped[str | None] = mapped_column(String(16))
    resolution: Mapped[str | None] = mapped_column(String(16))
    time: Mapped[str] = mapped_column(String(8))  # business | calendar
    warn_before_s: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCSeconds)
    retired_at: Mapped[datetime | None] = mapped_column(UTCSeconds)

    @property
    def business(self) -> bool:
        return self.time == "business"

    def target(self, name: str) -> SlaTarget | None:
        """The policy's `first_reply`, `next_reply` or `resolution` target, if it has one."""
        text = getattr(self, name)
        return SlaTarget.parse(text) if text else None

    def matches(self, priority: str | None, channel: str | None, tags: Collection[str], team: str | None) -> bool:
        """Whether a ticket with these fields meets every key of the policy's match."""
        match = self.match
        return (
            ("priority" not in match or priority in match["priority"])
            and ("channel" not in match or (channel or "").strip().lower() in match["channel"])
            and ("team" not in match or team in match["team"])
            and ("tag" not in match or any(tag in match["tag"] for tag in tags))
        )

    def spec(self) -> SlaPolicySpec:
        """The policy as the org file writes it."""
        targets = {t: target for t in TARGETS if (target := self.target(t)) is not None}
        return SlaPolicySpec(self.key, self.name, {k: list(v) for k, v in self.match.items()}, targets, self.business, self.warn_before_s)

    @property
    def label(self) -> str:
        """How a card names the policy: its name, and its version once it has several."""
        return self.name if self.version == 1 else f"{self.name} (v{self.version})"


def current(session: Session) -> list[SlaPolicy]:
    """The policies new tickets are matched against, in the file's order."""
    return list(session.scalars(select(SlaPolicy).where(SlaPolicy.retired_at.is_(None)).order_by(SlaPolicy.position, SlaPolicy.id)))


def _measured(spec: SlaPolicySpec) -> dict[str, Any]:
    """What a ticket is measured against: a change of any of it is a new version."""
    return {
        "match": {k: list(v) for k, v in spec.match.items()},
        **{t: spec.targets[t].text() if t in spec.targets else None for t in TARGETS},
        "time": "business" if spec.business else "calendar",
    }


def _same(row: SlaPolicy, spec: SlaPolicySpec) -> bool:
    return _measured(row.spec()) == _measured(spec)


def apply_sla(session: Session, specs: Iterable[SlaPolicySpec], now: datetime) -> tuple[list[str], list[str], list[str], list[str]]:
    """Make the current policies those of `specs` (in order); (created, updated, reactivated, retired) as `sla policy KEY vN`."""
    latest: dict[str, SlaPolicy] = {}
    newest = select(SlaPolicy.key, func.max(SlaPolicy.version)).group_by(SlaPolicy.key).subquery()
    joined = select(SlaPolicy).join(newest, (SlaPolicy.key == newest.c.key) & (SlaPolicy.version == newest.c[1]))
    for row in session.scalars(joined.order_by(SlaPolicy.position, SlaPolicy.key)):
        latest[row.key] = row
    created: list[str] = []
    updated: list[str] = []
    reactivated: list[str] = []
    retired: list[str] = []
    listed = set()
    for position, spec in enumerate(specs):
        listed.add(spec.key)
        row = latest.get(spec.key)
        if row is not None and _same(row, spec):
            if row.retired_at is not None:
                row.retired_at = None
                reactivated.append(f"sla policy {spec.key} v{row.version}")
            if (row.name, row.warn_before_s, row.position) != (spec.name, spec.warn_before_s, position):
                row.name, row.warn_before_s, row.position = spec.name, spec.warn_before_s, position
                updated.append(f"sla policy {spec.key} v{row.version}")
            continue
        if row is not None and row.retired_at is None:
            row.retired_at = now
        measured = _measured(spec)
        version = row.version + 1 if row is not None else 1
        session.add(SlaPolicy(key=spec.key, version=version, name=spec.name, position=position, warn_before_s=spec.warn_before_s, created_at=now, **measured))
        created.append(f"sla policy {spec.key} v{version}")
    for key, row in latest.items():
        if key not in listed and row.retired_at is None:
            row.retired_at = now
            retired.append(f"sla policy {key} v{row.version}")
    session.flush()
    return created, updated, reactivated, retired
