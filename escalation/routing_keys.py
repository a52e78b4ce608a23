"""Events API routing keys: one per queue, shown once, stored as a SHA-256, rotated or revoked by a lead.

A key is 32 lowercase hex characters, as PagerDuty's integration keys are, so
any tool that checks the format of a PagerDuty key accepts it. It carries 128
random bits: a hash without salt or stretching is enough to keep a stolen
database from yielding usable keys, and a lookup by digest is one index probe.
Issuing a new key revokes the queue's current one at once (rotation); there is
no grace period, so a rotation is done when the senders are ready to change.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from escalation.models import RoutingKey
from store.org import Member
from store.queues import EscalationQueue

KEY_SHAPE = re.compile(r"^[0-9a-f]{32}$")
HINT_LENGTH = 4


def digest_of(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class Issued:
    key: str  # shown once, never stored
    row: RoutingKey
    replaced: RoutingKey | None  # the key this one revoked


def current(session: Session, queue: EscalationQueue) -> RoutingKey | None:
    """The queue's key in force, if it has one."""
    return session.scalar(
        select(RoutingKey).where(RoutingKey.queue_id == queue.id, RoutingKey.revoked_at.is_(None)).order_by(RoutingKey.id.desc()).limit(1)
    )


def revoke(session: Session, queue: EscalationQueue, by: Member | None, now: datetime) -> RoutingKey | None:
    """Revoke the queue's key in force; the key revoked, or None when it had none."""
    found = current(session, queue)
    session.execute(
        update(RoutingKey)
        .where(RoutingKey.queue_id == queue.id, RoutingKey.revoked_at.is_(None))
        .values(revoked_at=now, revoked_by=by.id if by is not None else None)
        .execution_options(synchronize_session=False)
    )
    if found is not None:
        session.refresh(found)
    return found


def issue(session: Session, queue: EscalationQueue, by: Member | None, now: datetime) -> Issued:
    """A new key for the queue; the one in force (if any) is revoked in the same transaction."""
    replaced = revoke(session, queue, by, now)
    key = secrets.token_hex(16)
    row = RoutingKey(queue_id=queue.id, digest=digest_of(key), hint=key[-HINT_LENGTH:], created_at=now, created_by=by.id if by else None)
    session.add(row)
    session.flush()
    return Issued(key, row, replaced)


def live_digests(session: Session) -> dict[str, int]:
    """Every key in force, digest -> key id, for refusing unknown keys without a query per request."""
    return dict(session.execute(select(RoutingKey.digest, RoutingKey.id).where(RoutingKey.revoked_at.is_(None))).all())  # type: ignore[arg-type]


def find(session: Session, key: str) -> tuple[RoutingKey, EscalationQueue] | None:
    """The key in force and its active queue; None for an unknown, revoked or misshapen key, or a queue no longer in the org."""
    if not isinstance(key, str) or not KEY_SHAPE.match(key):
        return None
    row = session.scalar(select(RoutingKey).where(RoutingKey.digest == digest_of(key), RoutingKey.revoked_at.is_(None)))
    if row is None:
        return None
    queue = session.get(EscalationQueue, row.queue_id)
    if queue is None or not queue.active:
        return None
    return row, queue


__all__ = ["Issued", "KEY_SHAPE", "current", "digest_of", "find", "issue", "live_digests", "revoke"]
