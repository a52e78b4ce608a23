"""How much history a team has, for `csbot org apply` to judge what deactivating it would hide."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kpi.tickets import Ticket


def tickets_per_team(session: Session, team_ids: Collection[int]) -> dict[int, int]:
    """{team id: its tickets} for the teams of `team_ids` that have any."""
    if not team_ids:
        return {}
    rows = session.execute(select(Ticket.team_id, func.count()).where(Ticket.team_id.in_(list(team_ids))).group_by(Ticket.team_id))
    return {team_id: n for team_id, n in rows}
