"""`/oncall swap QUEUE[/SCHEDULE] @other START..END [-- reason]`, and the Accept / Decline buttons of the request.

A queue's specialist asks another of its specialists; the other person
answers from the message csbot sends them (or with the buttons in the
console). Only they may answer it. Times without an offset are read in
the schedule's zone, as covers' are.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timezone
from typing import Any

from escalation import swaps
from escalation.models import OncallSwap
from escalation.oncall import schedule_of
from escalation.queue_people import specialists
from handlers.args import UsageError, button_id
from handlers.context import Context, Forbidden, Invalid, NotFound
from handlers.escalation_views import local_full
from handlers.kpi_lookup import find_member
from handlers.reply import Actions, Button, Reply, Section, Table
from handlers.reply import Context as Note
from store.org import Member
from store.queues import EscalationQueue

ACCEPT, DECLINE = "oncall.swap.accept", "oncall.swap.decline"
USAGE = (
    "/oncall swap QUEUE[/SCHEDULE] @member START..END [-- reason] — ask a fellow specialist to swap who is on call over a stretch\n"
    "/oncall swap accept N | decline N — answer swap request N (as its buttons do)"
)


@dataclass(frozen=True)
class SwapAsk:
    queue: str
    member: str
    when: str
    reason: str | None


def parse_swap(rest: list[str]) -> SwapAsk:
    words, reason = rest, None
    if "--" in rest:
        cut = rest.index("--")
        words, reason = rest[:cut], " ".join(rest[cut + 1 :]).strip() or None
    if len(words) != 3:
        raise UsageError(f"{USAGE.splitlines()[0]}, e.g. /oncall swap billing @eli 2026-12-24..2026-12-27 -- family visit.")
    queue, member, when = words
    if not member.startswith(("@", "<@")):
        queue, member = member, queue  # "@eli billing …" reads the same
    if reason is not None and len(reason) > swaps.MAX_REASON:
        raise UsageError(f"The reason is at most {swaps.MAX_REASON} characters.")
    return SwapAsk(queue, member, when, reason)


def authorize_swap(ctx: Context, ask: SwapAsk, queue: EscalationQueue) -> Member:
    """Specialists swap among themselves; leads arrange anything else with covers. The other person, found."""
    people = specialists(queue)
    if ctx.member.handle not in people:
        raise Forbidden(f"Only {queue.name}'s specialists swap shifts; leads put people on call with /oncall cover.")
    other = find_member(ctx, ask.member)
    if other.handle not in people:
        raise Invalid(f"{other.name} is not one of {queue.name}'s specialists; a swap is between two of them.")
    return other


def _pieces_table(ctx: Context, found: list[swaps.Piece], requester: Member, other: Member) -> Table:
    rows = tuple((local_full(p.start, ctx.timezone), local_full(p.end, ctx.timezone), f"@{p.to}") for p in found)
    return Table(("From", "Until", "On call then"), rows)


def swap_request(ctx: Context, ask: SwapAsk, queue: EscalationQueue, key: str, span: tuple[Any, Any]) -> Reply:
    schedule = schedule_of(queue, key)
    assert schedule is not None
    other = authorize_swap(ctx, ask, queue)
    start, end = (moment.astimezone(timezone.utc) for moment in span)
    try:
        swap, found = swaps.ask(ctx.session, queue, schedule, ctx.member, other, start, end, ask.reason, ctx.now)
    except swaps.SwapError as exc:
        raise Invalid(str(exc)) from None
    blocks: list[Any] = [
        Section(f"Asked {other.name} to swap {queue.name} / {schedule.key} from {local_full(start, ctx.timezone)} until {local_full(end, ctx.timezone)}. Nothing changes unless they accept."),
        _pieces_table(ctx, found, ctx.member, other),
        Note(f"Times in {ctx.timezone}. As things stand now; if the schedule changes first, the swap follows it when accepted. It can be accepted until the stretch begins."),
    ]
    return Reply(title=f"Swap {swap.id} asked", blocks=blocks, data={"swap": swap_json(swap, ctx.session), "pieces": [_piece_json(p) for p in found]})


def _piece_json(p: swaps.Piece) -> dict[str, str]:
    return {"start": p.start.isoformat(), "end": p.end.isoformat(), "to": p.to}


def swap_json(swap: OncallSwap, session: Any) -> dict[str, Any]:
    handles = {m.id: m.handle for m in (session.get(Member, swap.requester_id), session.get(Member, swap.other_id)) if m is not None}
    queue = session.get(EscalationQueue, swap.queue_id)
    return {
        "id": swap.id,
        "queue": queue.key if queue else None,
        "schedule": swap.schedule,
        "requester": handles.get(swap.requester_id),
        "other": handles.get(swap.other_id),
        "start": swap.start_at.isoformat(),
        "end": swap.end_at.isoformat(),
        "reason": swap.reason,
        "state": swap.state,
    }


def ask_reply(session: Any, swap: OncallSwap, reader: Member, zone: str) -> Reply:
    """The request as its addressee sees it: who asks, the stretches as they stand now, Accept and Decline."""
    requester = session.get(Member, swap.requester_id)
    queue = session.get(EscalationQueue, swap.queue_id)
    schedule = schedule_of(queue, swap.schedule) if queue is not None else None
    name = requester.name if requester else "someone"
    blocks: list[Any] = [Section(f"{name} asks you to swap {queue.name if queue else '?'} / {swap.schedule} from {local_full(swap.start_at, zone)} until {local_full(swap.end_at, zone)}.")]
    if swap.reason:
        blocks.append(Section(f"Why: {swap.reason}"))
    if queue is not None and schedule is not None and requester is not None:
        found = swaps.pieces(session, queue, schedule, requester.handle, reader.handle, swap.start_at, swap.end_at)
        rows = tuple((local_full(p.start, zone), local_full(p.end, zone), "you" if p.to == reader.handle else name) for p in found)
        blocks.append(Table(("From", "Until", "On call then"), rows))
    value = json.dumps({"id": swap.id})
    blocks.append(Actions((Button("Accept", ACCEPT, value, "primary"), Button("Decline", DECLINE, value))))
    blocks.append(Note(f"Times in {zone}. Nothing changes unless you accept; you can accept until the stretch begins (or: /oncall swap accept {swap.id})."))
    return Reply(title=f"Swap request from {name}", blocks=blocks, data={"swap": swap_json(swap, session)})


def told_reply(session: Any, swap: OncallSwap, zone: str) -> Reply:
    other = session.get(Member, swap.other_id)
    requester = session.get(Member, swap.requester_id)
    queue = session.get(EscalationQueue, swap.queue_id)
    what = f"{queue.name if queue else '?'} / {swap.schedule} from {local_full(swap.start_at, zone)} until {local_full(swap.end_at, zone)}"
    text = {
        "accepted": f"{other.name if other else '?'} accepted the swap with {requester.name if requester else '?'}: {what}. The covers are in /oncall covers.",
        "declined": f"{other.name if other else '?'} declined the swap with {requester.name if requester else '?'}: {what}. Nothing changed.",
    }.get(swap.state, f"Swap {swap.id} is {swap.state}.")
    return Reply(title=f"Swap {swap.id} {swap.state}", blocks=[Section(text)], data={"swap": swap_json(swap, session)})


# ------------------------------------------------------------------ buttons


def _parse_button(value: str) -> int:
    number, _ = button_id(value)
    return number


def _swap(ctx: Context, number: int) -> OncallSwap:
    swap = ctx.session.get(OncallSwap, number)
    if swap is None:
        raise NotFound(f"There is no swap {number}.")
    return swap


def authorize_answer(ctx: Context, number: int) -> None:
    swap = _swap(ctx, number)
    if swap.other_id != ctx.member.id:
        raise Forbidden("Only the person a swap was asked of may accept or decline it.")


def answer_swap(ctx: Context, number: int, *, accepting: bool) -> Reply:
    """Accept or decline swap `number` (the buttons, or `/oncall swap accept|decline N`)."""
    return _answer(accepting)(ctx, number)


def _answer(accepting: bool):  # type: ignore[no-untyped-def]
    def execute(ctx: Context, number: int) -> Reply:
        swap = _swap(ctx, number)
        queue = ctx.session.get(EscalationQueue, swap.queue_id)
        schedule = schedule_of(queue, swap.schedule) if queue is not None and queue.active else None
        if queue is None or schedule is None:
            raise Invalid("That schedule is no longer in the organisation file; nothing to swap.")
        try:
            if accepting:
                covers = swaps.accept(ctx.session, swap, queue, schedule, ctx.member, ctx.now)
            else:
                swaps.decline(ctx.session, swap, queue, ctx.now)
                covers = []
        except swaps.SwapError as exc:
            raise Invalid(str(exc)) from None
        reply = told_reply(ctx.session, swap, ctx.timezone)
        if covers:
            rows = tuple((str(c.id), local_full(c.start_at, ctx.timezone), local_full(c.end_at, ctx.timezone), f"@{ctx.session.get(Member, c.member_id).handle}") for c in covers)  # type: ignore[union-attr]
            reply.blocks.append(Table(("Cover", "From", "Until", "On call"), rows))
        reply.replace_original = True
        reply.data["covers"] = [c.id for c in covers]
        return reply

    return execute


ACTIONS = (
    (ACCEPT, _parse_button, authorize_answer, _answer(True)),
    (DECLINE, _parse_button, authorize_answer, _answer(False)),
)

__all__ = ["ACCEPT", "ACTIONS", "DECLINE", "USAGE", "answer_swap", "ask_reply", "authorize_answer", "parse_swap", "swap_request", "told_reply"]
