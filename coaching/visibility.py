"""Who may see coaching notes, sessions and QA reviews about whom: one rule set for every command.

- An agent: their own shared notes, their own sessions and reviews.
- A lead: those of their own team's agents.
- A manager: those of their team's agents, or of every team's when they have no team.
- An admin: everything.
- The author of a note always sees it; a private note is never shown to the agent it is about.

The same oversight decides who sees an agent's KPIs (`/kpi agent`), so the two
never drift apart.
"""

from __future__ import annotations

from store.org import Member


def oversees(viewer: Member, agent: Member) -> bool:
    """Whether `viewer` looks after `agent`'s records (their figures, notes and reviews) by role."""
    if viewer.role == "admin":
        return True
    if agent.role != "agent" or viewer.id == agent.id:
        return False
    if viewer.role == "manager":
        return viewer.team_id is None or viewer.team_id == agent.team_id
    if viewer.role == "lead":
        return viewer.team_id is not None and viewer.team_id == agent.team_id
    return False


def may_see(viewer: Member, subject: Member, *, author_id: int | None = None, private: bool = False) -> bool:
    """Whether `viewer` may see a record about `subject` (a note by `author_id`, `private` or shared; a session; a review)."""
    if author_id is not None and viewer.id == author_id:
        return True
    if viewer.id == subject.id:
        return not private
    return oversees(viewer, subject)


def may_coach(viewer: Member, agent: Member) -> bool:
    """Whether `viewer` may write a note, hold a session or review a ticket about `agent`.

    Coaching and QA are about agents (their reviews make the QA figures): not
    about a lead, a manager or an admin, and never about yourself.
    """
    return agent.role == "agent" and viewer.id != agent.id and oversees(viewer, agent)


def may_see_queue(viewer: Member, reviewer: Member) -> bool:
    """Whether `viewer` may see the QA review queue of `reviewer` (whose tickets are sampled, and for whom).

    Your own; an agent's for those who look after them; a lead's or a
    manager's own queue for admins and the managers over their team.
    """
    if viewer.id == reviewer.id or viewer.role == "admin":
        return True
    if reviewer.role == "agent":
        return oversees(viewer, reviewer)
    return viewer.role == "manager" and reviewer.role == "lead" and (viewer.team_id is None or viewer.team_id == reviewer.team_id)


def sees_pooled_qa(viewer: Member | None, team_id: int | None) -> bool:
    """Whether `viewer` may see QA figures pooled over a team (`team_id`) or the organisation (None).

    A team's QA score over a day with one review is that review, so pooled QA
    figures are for those who look after every agent in them, never for a
    channel (`viewer` None) or a fellow agent.
    """
    if viewer is None:
        return False
    if viewer.role == "admin" or (viewer.role == "manager" and viewer.team_id is None):
        return True
    return team_id is not None and viewer.role in ("lead", "manager") and viewer.team_id == team_id
