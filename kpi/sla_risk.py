"""Open tickets at risk of breaching their SLA now: a target due within its policy's `warn_before`, or already past due.

A ticket waits for its first reply while it has neither a reply nor a solve,
and for its resolution while it is not solved; only a target it waits for is
at risk. `warn_before` is wall-clock time before the due instant (a warning
on Friday evening about a ticket due on Monday morning in business time
would come too early to act on). A ticket at risk on both targets is listed
once, for the one due first (`at_risk`, for `/kpi sla`); `targets_at_risk`
gives each target apart (the breach warnings, kpi.sla_warnings, warn about
each). Each target is read through its partial index (kpi.tickets): only
tickets still waiting for it are in there.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kpi.tickets import Ticket
from store.sla_policies import SlaPolicy

TARGET_NAMES = {"first_reply": "first reply", "resolution": "resolution"}


@dataclass(frozen=True)
class AtRisk:
    ticket: Ticket
    policy: SlaPolicy
    target: str  # first_reply | resolution
    due_at: datetime
    left_s: int  # negative: breached that long ago

    @property
    def breached(self) -> bool:
        return self.left_s < 0


def targets_at_risk(session: Session, now: datetime, team_ids: Collection[int] | None = None, *, since: datetime | None = None) -> list[AtRisk]:
    """Each target at risk at `now`, a ticket's two apart (due after `since`, when given: the breaches worth announcing)."""
    # The widest warning bounds the index range; each policy's own is applied after.
    widest = session.scalar(select(func.max(SlaPolicy.warn_before_s))) or 0
    horizon = now + timedelta(seconds=widest)
    on_team = [Ticket.team_id.in_(list(team_ids))] if team_ids is not None else []
    waiting = {
        # The partial indexes' conditions, written out so the planner uses them.
        "first_reply": (Ticket.first_reply_due_at, [Ticket.first_reply_due_at.is_not(None), Ticket.first_reply_at.is_(None), Ticket.solved_at.is_(None)]),
        "resolution": (Ticket.resolution_due_at, [Ticket.resolution_due_at.is_not(None), Ticket.solved_at.is_(None)]),
    }
    found: list[AtRisk] = []
    for target, (due, conditions) in waiting.items():
        after = [due > since] if since is not None else []
        query = select(Ticket, SlaPolicy).join(SlaPolicy, Ticket.sla_policy_id == SlaPolicy.id).where(*conditions, *on_team, *after, due <= horizon)
        for ticket, policy in session.execute(query):
            due_at = getattr(ticket, f"{target}_due_at")
            left = int((due_at - now).total_seconds())
            if left <= policy.warn_before_s:
                found.append(AtRisk(ticket, policy, target, due_at, left))
    return found


def at_risk(session: Session, now: datetime, team_ids: Collection[int] | None = None) -> list[AtRisk]:
    """The open tickets of `team_ids` (None: every team, and tickets without one) at risk at `now`, by time left (least first)."""
    found: dict[int, AtRisk] = {}
    for risk in targets_at_risk(session, now, team_ids):
        earlier = found.get(risk.ticket.id)
        if earlier is None or risk.due_at < earlier.due_at:
            found[risk.ticket.id] = risk
    return sorted(found.values(), key=lambda r: (r.left_s, r.ticket.external_id))
