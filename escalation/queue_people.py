"""Who answers a queue (its specialists) and who looks after it (its leads).

A queue's leads decide who is on call for it (`/oncall cover` for anyone,
`/oncall uncover`). The org file may name them (`leads:` on the queue);
otherwise they are the leads of the teams whose members are on the queue's
schedules, so a lead of one team cannot rearrange another team's on-call.
Managers and admins look after every queue.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from escalation.policies import every_level
from store.org import Member, Org
from store.queues import EscalationQueue


def specialists(queue: EscalationQueue) -> set[str]:
    """Everyone the queue's schedules or policy name: the people who answer its escalations."""
    found = scheduled(queue)
    return found | {t.split(":", 1)[1] for level in every_level(queue.policy) for t in level["notify"] if t.startswith("member:")}


def scheduled(queue: EscalationQueue) -> set[str]:
    """Everyone on one of the queue's schedules."""
    return {h for s in queue.schedules for layer in s["layers"] for h in layer["members"]}


def named_leads(session: Session, queue: EscalationQueue) -> list[str] | None:
    """The leads the org file names for the queue (`leads:`), or None when it names none."""
    org = session.get(Org, 1)
    named = ((org.escalation if org else None) or {}).get("leads") or {}
    found = named.get(queue.key)
    return list(found) if isinstance(found, list) else None


def queue_leads(session: Session, queue: EscalationQueue) -> list[str]:
    """The handles of the queue's leads (active members only), as the org file names them or by default."""
    named = named_leads(session, queue)
    if named is not None:
        query = select(Member.handle).where(Member.handle.in_(named), Member.active.is_(True))
    else:
        teams = select(Member.team_id).where(Member.handle.in_(sorted(scheduled(queue))), Member.team_id.is_not(None))
        query = select(Member.handle).where(Member.team_id.in_(teams), Member.role == "lead", Member.active.is_(True))
    return sorted(session.scalars(query))


def may_arrange(session: Session, member: Member, queue: EscalationQueue) -> bool:
    """Whether `member` may put anyone on call for the queue: its leads, managers and admins."""
    return member.at_least("manager") or member.handle in queue_leads(session, queue)


__all__ = ["may_arrange", "named_leads", "queue_leads", "scheduled", "specialists"]
