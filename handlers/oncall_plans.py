"""`/oncall plan QUEUE[/SCHEDULE] FROM..TO @a [@b …] [1d]`: a temporary schedule (a holiday plan), `/oncall plans`, `/oncall unplan N`.

Over the window the listed people take turns, in shifts of a day by
default (or the length given: 12h, 2d, …) from the window's start on the
schedule's wall clock, instead of the schedule's layers; covers still
apply on top. Arranged by whoever arranges the queue's on-call (its leads,
managers and admins). Two plans of one schedule may not overlap.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from escalation.models import OncallPlan
from escalation.oncall import queue_timeline
from escalation.queue_people import may_arrange
from escalation.rotations import RotationError, Schedule, Shift
from handlers.args import UsageError
from handlers.context import Context, Forbidden, Invalid, NotFound
from handlers.escalation_views import find_queue, local_full
from handlers.kpi_lookup import find_member
from handlers.reply import Reply, Section, Table
from handlers.reply import Context as Note
from store.engine import lock_for_write
from store.org import Member
from store.queues import EscalationQueue

USAGE = (
    "/oncall plan QUEUE[/SCHEDULE] FROM..TO @member [@member …] [1d|12h] — a temporary schedule: they take turns instead of the layers\n"
    "/oncall plans [QUEUE] — temporary schedules now and to come;  /oncall unplan N — remove plan N"
)
MAX_PLAN = timedelta(days=90)
MAX_PEOPLE = 20
_SHIFT = re.compile(r"^\d{1,3}[hdw]$", re.IGNORECASE)


def parse_plan(rest: list[str]) -> tuple[str, str, list[str], str]:
    """(queue, window, people, shift) from the words after `plan`."""
    if len(rest) < 3:
        raise UsageError(USAGE.split("\n")[0] + ", e.g. /oncall plan billing/primary 2026-12-24..2026-12-26 @dana @eli.")
    queue, when, *people = rest
    shift = "1d"
    if people and _SHIFT.match(people[-1]):
        shift = people.pop().lower()
    if not people or len(people) > MAX_PEOPLE:
        raise UsageError(f"Name 1 to {MAX_PEOPLE} people to take turns, e.g. @dana @eli.")
    return queue, when, people, shift


def authorize_plan(ctx: Context, queue: EscalationQueue) -> None:
    if not may_arrange(ctx.session, ctx.member, queue):
        raise Forbidden(f"Temporary schedules of {queue.name} are arranged by its leads, managers and admins.")


def plan_reply(ctx: Context, queue: EscalationQueue, schedule: Schedule, window: tuple[datetime, datetime], people: list[str], shift: str) -> Reply:
    start, end = window
    try:
        Shift.parse(shift)
    except RotationError as exc:
        raise UsageError(str(exc)) from None
    if end <= start:
        raise Invalid("The plan ends before it starts.")
    if end <= ctx.now:
        raise Invalid("That window is over already.")
    if end - start > MAX_PLAN:
        raise Invalid(f"A temporary schedule is at most {MAX_PLAN.days} days; change the rotation in the organisation file for longer.")
    members = [find_member(ctx, p) for p in people]
    inactive = [m.name for m in members if not m.active]
    if inactive:
        raise Invalid(f"{', '.join(inactive)} {'is' if len(inactive) == 1 else 'are'} no longer active.")
    lock_for_write(ctx.session)
    clash = ctx.session.scalar(
        select(OncallPlan).where(
            OncallPlan.queue_id == queue.id, OncallPlan.schedule == schedule.key, OncallPlan.removed_at.is_(None),
            OncallPlan.start_at < end, OncallPlan.end_at > start,
        )
    )  # fmt: skip
    if clash is not None:
        raise Invalid(f"Plan {clash.id} of {queue.name} / {schedule.key} already covers {local_full(clash.start_at, ctx.timezone)} – {local_full(clash.end_at, ctx.timezone)}; remove it first (/oncall unplan {clash.id}).")
    row = OncallPlan(
        queue_id=queue.id, schedule=schedule.key, start_at=start, end_at=end, members=[m.handle for m in members],
        shift=shift, created_by=ctx.member.id, created_at=ctx.now,
    )  # fmt: skip
    ctx.session.add(row)
    ctx.session.flush()
    pieces = queue_timeline(ctx.session, queue, schedule, start, end)
    rows = tuple((local_full(p.start, ctx.timezone), local_full(p.end, ctx.timezone), ", ".join(f"@{h}" for h in p.handles) or "⚠️ nobody") for p in pieces)
    blocks: list[Any] = [
        Section(f"Plan {row.id}: from {local_full(start, ctx.timezone)} until {local_full(end, ctx.timezone)}, {', '.join(m.name for m in members)} take turns ({shift} each) instead of {schedule.key}'s layers."),
        Table(("From", "Until", "On call"), rows),
        Note(f"Times in {ctx.timezone}; covers still apply. Remove it with /oncall unplan {row.id}."),
    ]
    data = {"plan": plan_json(ctx, row, queue), "timeline": [p.to_json() for p in pieces]}
    return Reply(title="Temporary schedule added", blocks=blocks, data=data)


def plan_json(ctx: Context, row: OncallPlan, queue: EscalationQueue) -> dict[str, Any]:
    return {
        "id": row.id, "queue": queue.key, "schedule": row.schedule, "start": row.start_at.isoformat(), "end": row.end_at.isoformat(),
        "members": list(row.members), "shift": row.shift,
    }  # fmt: skip


def plans_reply(ctx: Context, queue_text: str | None) -> Reply:
    query = select(OncallPlan).where(OncallPlan.removed_at.is_(None), OncallPlan.end_at > ctx.now)
    if queue_text:
        query = query.where(OncallPlan.queue_id == find_queue(ctx, queue_text).id)
    found = list(ctx.session.scalars(query.order_by(OncallPlan.start_at, OncallPlan.id)))
    queues = {q.id: q for q in ctx.session.scalars(select(EscalationQueue))}
    rows = tuple(
        (str(p.id), f"{queues[p.queue_id].key}/{p.schedule}", local_full(p.start_at, ctx.timezone), local_full(p.end_at, ctx.timezone), " ".join(f"@{h}" for h in p.members), p.shift)
        for p in found
    )
    blocks: list[Any] = [Table(("Plan", "Queue/schedule", "From", "Until", "Turns", "Shift"), rows), Note(f"Times in {ctx.timezone}.")] if rows else [Section("No temporary schedules now or to come.")]
    return Reply(title="Temporary schedules", blocks=blocks, data={"plans": [plan_json(ctx, p, queues[p.queue_id]) for p in found]})


def find_plan(ctx: Context, number: int) -> tuple[OncallPlan, EscalationQueue]:
    row = ctx.session.get(OncallPlan, number)
    if row is None or row.removed_at is not None:
        raise NotFound(f"There is no plan {number} in force; /oncall plans lists them.")
    queue = ctx.session.get(EscalationQueue, row.queue_id)
    assert queue is not None
    return row, queue


def unplan_reply(ctx: Context, number: int) -> Reply:
    lock_for_write(ctx.session)
    row, queue = find_plan(ctx, number)
    row.removed_at, row.removed_by = ctx.now, ctx.member.id
    by = ctx.session.get(Member, row.created_by)
    text = f"Plan {row.id} of {queue.name} / {row.schedule} is removed: the schedule's layers apply again" + (f" (it was added by {by.name})." if by else ".")
    return Reply(title="Temporary schedule removed", blocks=[Section(text)], data={"plan": plan_json(ctx, row, queue), "removed": True})


__all__ = ["USAGE", "authorize_plan", "find_plan", "parse_plan", "plan_reply", "plans_reply", "unplan_reply"]
