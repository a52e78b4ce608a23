"""`/oncall`: who is on call now and next, a schedule's effective timeline and gaps, and covers (overrides).

Times are shown in the caller's zone; covers given as dates or times
without an offset are read in the schedule's own zone, where its shifts
are defined. Anyone may look; a queue's leads (escalation.queue_people),
managers and admins may put anyone on call for it, a queue's specialist
themselves; two specialists swap shifts with /oncall swap (handlers.oncall_swaps).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from escalation.engine import member_recipients
from escalation.ics import subscription_key
from escalation.models import OncallOverride
from escalation.oncall import now_and_next, queue_timeline, schedules_of
from escalation.personal import Cover
from escalation.queue_people import may_arrange, queue_leads, specialists
from escalation.rotations import Schedule
from handlers.args import UsageError, number_word
from handlers.context import Context, Forbidden, Invalid, NotFound
from handlers.escalation_views import active_queues, find_queue, local_full, state_line
from handlers.humanize import duration
from handlers.kpi_lookup import find_member
from handlers.oncall_history import DEFAULT_HISTORY_SPAN, HISTORY_USAGE, history_reply
from handlers.oncall_keys import USAGE as KEY_USAGE
from handlers.oncall_keys import authorize_key, key_reply, parse_key_action
from handlers.oncall_plans import USAGE as PLAN_USAGE
from handlers.oncall_plans import authorize_plan, find_plan, parse_plan, plan_reply, plans_reply, unplan_reply
from handlers.oncall_me import EXPORT_USAGE, ME_USAGE, authorize_me, export_reply, me_reply, parse_export
from handlers.oncall_swaps import ACTIONS as SWAP_ACTIONS
from handlers.oncall_swaps import USAGE as SWAP_USAGE
from handlers.oncall_swaps import SwapAsk, answer_swap, authorize_answer, authorize_swap, parse_swap, swap_request
from handlers.reply import Reply, Section, Table
from handlers.reply import Context as Note
from handlers.router import Action, Router, closest
from store.engine import lock_for_write
from store.org import Member
from store.queues import EscalationQueue

_SPAN = re.compile(r"^(\d{1,3})([dw])$", re.IGNORECASE)
_LENGTH = re.compile(r"^(\d{1,4})([mhd])$", re.IGNORECASE)
DEFAULT_SPAN, MAX_SPAN = timedelta(days=14), timedelta(days=366)
MAX_COVER = timedelta(days=90)
MAX_AHEAD = timedelta(days=366)  # covers are for the year ahead
MAX_DATE = "2099-12-31"
SUBCOMMANDS = ("me", "schedule", "gaps", "history", "cover", "covers", "uncover", "swap", "plan", "plans", "unplan", "key", "export")


@dataclass(frozen=True)
class OncallRequest:
    verb: str  # now | me | export | schedule | gaps | history | cover | covers | uncover | swap | plan | plans | unplan | key
    queue: str | None = None  # QUEUE or QUEUE/SCHEDULE
    span: timedelta = DEFAULT_SPAN
    member: str | None = None
    when: str | None = None  # a cover's length or range
    number: int | None = None
    action: str | None = None  # key: show | new | revoke; export: show | new
    reason: str | None = None  # swap: why, for the other person
    people: tuple[str, ...] = ()  # plan: who take turns


USAGE = (
    "/oncall [QUEUE] — who is on call now, until when, and who is next (every queue when none is named)\n"
    f"{ME_USAGE}\n"
    "/oncall schedule QUEUE[/SCHEDULE] [14d] — the effective timeline from now (after layers, hours and covers)\n"
    "/oncall gaps QUEUE [14d] — periods with nobody on call\n"
    f"{HISTORY_USAGE}\n"
    "/oncall cover @member QUEUE[/SCHEDULE] 2h | 2026-12-24..2026-12-26 | 2026-12-24T18:00..2026-12-25T08:00 — put someone on call\n"
    "  (+@member: on call beside whoever is; -@member: off call, nobody replacing them)\n"
    "/oncall covers [QUEUE] — current and coming covers;  /oncall uncover N — remove cover N\n"
    f"{SWAP_USAGE}\n"
    f"{PLAN_USAGE}\n"
    f"{KEY_USAGE}\n"
    f"{EXPORT_USAGE}"
)


def _span(word: str) -> timedelta:
    m = _SPAN.match(word)
    if m is None:
        raise UsageError(f"{word!r} is not a span: write days or weeks, e.g. 14d or 2w.")
    span = timedelta(days=int(m.group(1)) * (7 if m.group(2).lower() == "w" else 1))
    if not timedelta(0) < span <= MAX_SPAN:
        raise UsageError(f"A span from 1d to {MAX_SPAN.days}d, please (got {word}).")
    return span


def parse_oncall(words: list[str]) -> OncallRequest:
    if not words:
        return OncallRequest("now")
    verb = words[0].lower()
    rest = words[1:]
    if verb in ("schedule", "gaps"):
        if not rest or len(rest) > 2:
            raise UsageError(f"/oncall {verb} QUEUE [14d], e.g. /oncall {verb} billing 30d.")
        return OncallRequest(verb, rest[0], _span(rest[1]) if len(rest) == 2 else DEFAULT_SPAN)
    if verb == "history":
        if not rest or len(rest) > 2:
            raise UsageError(f"{HISTORY_USAGE}, e.g. /oncall history billing 30d.")
        return OncallRequest(verb, rest[0], _span(rest[1]) if len(rest) == 2 else DEFAULT_HISTORY_SPAN)
    if verb == "cover":
        if len(rest) != 3:
            raise UsageError("/oncall cover @member QUEUE[/SCHEDULE] WHEN, e.g. /oncall cover @dana billing 2h or … 2026-12-24..2026-12-26.")
        return OncallRequest("cover", rest[1], member=rest[0], when=rest[2])
    if verb == "covers":
        if len(rest) > 1:
            raise UsageError("/oncall covers [QUEUE]")
        return OncallRequest("covers", rest[0] if rest else None)
    if verb == "uncover":
        if len(rest) != 1:
            raise UsageError("/oncall uncover N, with N from /oncall covers.")
        return OncallRequest("uncover", number=number_word(rest[0], "a cover number; /oncall covers lists them"))
    if verb == "plan":
        queue, when, people, shift = parse_plan(rest)
        return OncallRequest("plan", queue, when=when, people=tuple(people), action=shift)
    if verb == "plans":
        if len(rest) > 1:
            raise UsageError("/oncall plans [QUEUE]")
        return OncallRequest("plans", rest[0] if rest else None)
    if verb == "unplan":
        if len(rest) != 1:
            raise UsageError("/oncall unplan N, with N from /oncall plans.")
        return OncallRequest("unplan", number=number_word(rest[0], "a plan number; /oncall plans lists them"))
    if verb == "swap" and rest and rest[0].lower() in ("accept", "decline"):
        # The text form of the request's buttons, for the console and anyone without the message at hand.
        if len(rest) != 2:
            raise UsageError(f"/oncall swap {rest[0].lower()} N, with N from the request.")
        return OncallRequest("swap-answer", number=number_word(rest[1], "a swap number, from the request"), action=rest[0].lower())
    if verb == "swap":
        ask = parse_swap(rest)
        return OncallRequest("swap", ask.queue, member=ask.member, when=ask.when, reason=ask.reason)
    if verb == "key":
        queue, action = parse_key_action(rest)
        return OncallRequest("key", queue, action=action)
    if verb == "me":
        return _parse_me(rest)
    if verb == "export":
        return OncallRequest("export", action=parse_export(rest))
    if len(words) == 1:
        return OncallRequest("now", words[0])
    guesses = closest(verb, SUBCOMMANDS)
    hint = f" Did you mean {', '.join(guesses)}?" if guesses else ""
    raise UsageError(f"Unknown /oncall subcommand {words[0]!r}.{hint} Subcommands: {', '.join(SUBCOMMANDS)}, or a queue alone.")


def _parse_me(rest: list[str]) -> OncallRequest:
    """`/oncall me [@member] [14d]`, the two in either order."""
    if len(rest) > 2:
        raise UsageError(ME_USAGE)
    # A word starting with a digit is meant as a span (2weeks): say how to write one rather than look for a person.
    spans = [w for w in rest if w[:1].isdigit()]
    people = [w for w in rest if not w[:1].isdigit()]
    if len(spans) > 1 or len(people) > 1:
        raise UsageError(f"One person and one span at most: {ME_USAGE}")
    return OncallRequest("me", member=people[0] if people else None, span=_span(spans[0]) if spans else DEFAULT_SPAN)


def _queue_and_schedule(ctx: Context, text: str) -> tuple[EscalationQueue, Schedule]:
    name, _, key = text.partition("/")
    queue = find_queue(ctx, name)
    schedules = schedules_of(queue)
    if not schedules:
        raise Invalid(f"{queue.name} has no on-call schedules; its policy pages people or its channel directly.")
    if not key:
        return queue, schedules[0]
    found = next((s for s in schedules if s.key == key.lower()), None)
    if found is None:
        guesses = closest(key, [s.key for s in schedules])
        hint = f" Did you mean {', '.join(guesses)}?" if guesses else ""
        raise NotFound(f"{queue.name} has no schedule {key!r}.{hint} Its schedules: {', '.join(s.key for s in schedules)}.")
    return queue, found


def _cover_kind(text: str) -> tuple[str, str]:
    """`+@x` adds x beside whoever is on call, `-@x` takes x off; plain `@x` puts x on call instead."""
    if text[:1] in "+-" and len(text) > 1:
        return ("add" if text[0] == "+" else "remove"), text[1:]
    return "replace", text


def authorize_oncall(ctx: Context, request: OncallRequest) -> None:
    if request.verb == "key":
        authorize_key(ctx, request.queue or "")
        return
    if request.verb == "swap":
        queue, _ = _queue_and_schedule(ctx, request.queue or "")
        authorize_swap(ctx, _swap_ask(request), queue)
        return
    if request.verb == "swap-answer":
        authorize_answer(ctx, request.number or 0)
        return
    if request.verb == "plan":
        authorize_plan(ctx, find_queue(ctx, (request.queue or "").partition("/")[0]))
        return
    if request.verb == "unplan":
        authorize_plan(ctx, find_plan(ctx, request.number or 0)[1])
        return
    if request.verb == "me":
        authorize_me(ctx, request.member)
        return
    if request.verb == "cover":
        queue = find_queue(ctx, (request.queue or "").partition("/")[0])
        kind, who = _cover_kind(request.member or "")
        member = find_member(ctx, who)
        if may_arrange(ctx.session, ctx.member, queue):
            return
        # A specialist may put themselves on call (instead, or beside); taking someone off is a lead's call.
        if kind != "remove" and member.id == ctx.member.id and ctx.member.handle in specialists(queue):
            return
        raise Forbidden(f"{_who_arranges(ctx, queue)}; its specialists may cover for themselves, not take anyone off call.")
    if request.verb == "uncover":
        cover = ctx.session.get(OncallOverride, request.number)
        if cover is None or cover.removed_at is not None:
            raise NotFound(f"There is no cover {request.number} in force; /oncall covers lists them.")
        queue = ctx.session.get(EscalationQueue, cover.queue_id)
        assert queue is not None
        if ctx.member.id in (cover.created_by, cover.member_id) or may_arrange(ctx.session, ctx.member, queue):
            return
        raise Forbidden(f"{_who_arranges(ctx, queue)}; besides them only the person covering and whoever added the cover may remove it.")


def _swap_ask(request: OncallRequest) -> SwapAsk:
    return SwapAsk(request.queue or "", request.member or "", request.when or "", request.reason)


def _who_arranges(ctx: Context, queue: EscalationQueue) -> str:
    """Who may put anyone on call for the queue, by name, so the caller knows whom to ask."""
    leads = queue_leads(ctx.session, queue)
    who = f"its leads ({', '.join('@' + h for h in leads)}), managers and admins" if leads else "managers and admins (it has no leads)"
    return f"Who is on call for {queue.name} is arranged by {who}"


def execute_oncall(ctx: Context, request: OncallRequest) -> Reply:
    if request.verb == "now":
        return _now(ctx, request.queue)
    if request.verb == "me":
        return me_reply(ctx, request.member, request.span)
    if request.verb == "export":
        return export_reply(ctx, request.action or "show")
    if request.verb in ("schedule", "gaps"):
        return _timeline(ctx, request)
    if request.verb == "history":
        return history_reply(ctx, request.queue or "", request.span)
    if request.verb == "cover":
        return _cover(ctx, request)
    if request.verb == "covers":
        return _covers(ctx, request.queue)
    if request.verb == "key":
        return key_reply(ctx, request.queue or "", request.action or "show")
    if request.verb == "plan":
        queue, schedule = _queue_and_schedule(ctx, request.queue or "")
        window = _cover_span(ctx, request.when or "", schedule.timezone)
        return plan_reply(ctx, queue, schedule, window, list(request.people), request.action or "1d")
    if request.verb == "plans":
        return plans_reply(ctx, request.queue)
    if request.verb == "unplan":
        return unplan_reply(ctx, request.number or 0)
    if request.verb == "swap-answer":
        return answer_swap(ctx, request.number or 0, accepting=request.action == "accept")
    if request.verb == "swap":
        queue, schedule = _queue_and_schedule(ctx, request.queue or "")
        return swap_request(ctx, _swap_ask(request), queue, schedule.key, _cover_span(ctx, request.when or "", schedule.timezone))
    return _uncover(ctx, request.number or 0)


def _when(ctx: Context, moment: datetime | None) -> str:
    return local_full(moment, ctx.timezone) if moment else "—"


def _now(ctx: Context, queue_text: str | None) -> Reply:
    queues = [find_queue(ctx, queue_text)] if queue_text else active_queues(ctx.session)
    if not queues:
        return Reply(title="On call", blocks=[Section("No escalation queues are set up yet: an admin adds them under `escalation:` in the organisation file.")], data={"at": ctx.now.isoformat(), "queues": []})
    rows: list[tuple[str, ...]] = []
    out: list[dict[str, Any]] = []
    for queue in queues:
        schedules = []
        for schedule in schedules_of(queue):
            now = now_and_next(ctx.session, queue, schedule, ctx.now)
            rows.append(
                (
                    queue.key,
                    schedule.key,
                    ", ".join(f"@{h}" for h in now.handles) or "nobody",
                    _when(ctx, now.until) if now.until else "—",
                    f"{', '.join(f'@{h}' for h in now.next_handles)} from {_when(ctx, now.next_from)}" if now.next_handles else "—",
                )
            )
            until = now.until.isoformat() if now.until else None
            schedules.append(
                {
                    "key": schedule.key,
                    "on_call": [{"handle": h, "until": until} for h in now.handles],
                    "next": [{"handle": h, "from": now.next_from.isoformat() if now.next_from else None} for h in now.next_handles],
                }
            )
        if not schedules:
            rows.append((queue.key, "—", "no schedules", "—", "—"))
        out.append({"queue": queue.key, "at": ctx.now.isoformat(), "schedules": schedules})
    title = f"On call · {queues[0].name}" if queue_text else "On call"
    blocks = [Table(("Queue", "Schedule", "On call", "Until", "Next"), tuple(rows)), Note(f"Times in {ctx.timezone}.")]
    data = out[0] if queue_text else {"at": ctx.now.isoformat(), "queues": out}
    return Reply(title=title, blocks=blocks, data=data)


def _timeline(ctx: Context, request: OncallRequest) -> Reply:
    queue, schedule = _queue_and_schedule(ctx, request.queue or "")
    start, end = ctx.now, ctx.now + request.span
    pieces = queue_timeline(ctx.session, queue, schedule, start, end)
    data = {"queue": queue.key, "schedule": schedule.key, "start": start.isoformat(), "end": end.isoformat(), "timeline": [p.to_json() for p in pieces]}
    label = f"{queue.name} / {schedule.key}"
    if request.verb == "gaps":
        gaps = [p for p in pieces if not p.handles]
        data["gaps"] = [p.to_json() for p in gaps]
        rows = tuple((_when(ctx, p.start), _when(ctx, p.end), duration((p.end - p.start).total_seconds())) for p in gaps)
        blocks: list[Any] = [Table(("From", "Until", "For"), rows)] if rows else [Section(f"Someone is on call all the time over the next {request.span.days} days.")]
        blocks.append(Note(f"Times in {ctx.timezone}. Cover a gap: /oncall cover @member {queue.key}/{schedule.key} FROM..TO"))
        return Reply(title=f"Gaps · {label} · next {request.span.days} days", blocks=blocks, data=data)
    rows = tuple(
        (_when(ctx, p.start), _when(ctx, p.end), ", ".join(f"@{h}" for h in p.handles) or "⚠️ nobody") for p in pieces
    )
    blocks: list[Any] = [Table(("From", "Until", "On call"), rows), Note(f"Times in {ctx.timezone}; the schedule's own zone is {schedule.timezone}.")]
    public = os.environ.get("CSBOT_PUBLIC_URL", "").strip().rstrip("/")
    if public.startswith("https://"):
        link = f"{public}/oncall/{queue.key}.ics?key={subscription_key(ctx.session, queue.key)}"
        blocks.append(Note(f"Subscribe in your calendar (every schedule of {queue.name}): {link}"))
        data["calendar_url"] = link
    return Reply(title=f"On-call schedule · {label} · next {request.span.days} days", blocks=blocks, data=data)


def _cover_span(ctx: Context, when: str, zone: str) -> tuple[datetime, datetime]:
    if m := _LENGTH.match(when):
        length = timedelta(**{{"m": "minutes", "h": "hours", "d": "days"}[m.group(2).lower()]: int(m.group(1))})
        return ctx.now, ctx.now + length
    first, sep, last = when.partition("..")
    if not sep:
        raise UsageError(f"{when!r} is not a length or a range: write 2h, 2026-12-24..2026-12-26 or 2026-12-24T18:00..2026-12-25T08:00.")
    tz = ZoneInfo(zone)
    try:
        if len(first) == 10 and len(last) == 10:
            if max(first, last) > MAX_DATE:
                raise UsageError(f"{when!r}: covers are for the year ahead, not {max(first, last)[:4]}.")
            start_day, end_day = date.fromisoformat(first), date.fromisoformat(last)
            # Dates are whole local days, the last one included.
            return datetime.combine(start_day, datetime.min.time(), tz), datetime.combine(end_day + timedelta(days=1), datetime.min.time(), tz)
        start, end = datetime.fromisoformat(first), datetime.fromisoformat(last)
    except (ValueError, OverflowError):
        raise UsageError(f"{when!r}: the range's ends are not dates (2026-12-24) or times (2026-12-24T18:00).") from None
    start, end = (start if start.tzinfo else start.replace(tzinfo=tz)), (end if end.tzinfo else end.replace(tzinfo=tz))
    return start.astimezone(timezone.utc), end.astimezone(timezone.utc)


def _cover(ctx: Context, request: OncallRequest) -> Reply:
    queue, schedule = _queue_and_schedule(ctx, request.queue or "")
    kind, who = _cover_kind(request.member or "")
    member = find_member(ctx, who)
    if not member.active and kind != "remove":
        raise Invalid(f"{member.name} is no longer active and cannot be on call.")
    start, end = _cover_span(ctx, request.when or "", schedule.timezone)
    if end <= start:
        raise Invalid("The cover ends before it starts.")
    if end - start > MAX_COVER:
        raise Invalid(f"A cover is at most {MAX_COVER.days} days; change the rotation in the organisation file for longer.")
    if end <= ctx.now:
        raise Invalid("That cover is over already.")
    if start > ctx.now + MAX_AHEAD:
        raise Invalid(f"A cover may start at most {MAX_AHEAD.days} days from now.")
    lock_for_write(ctx.session)
    cover = OncallOverride(
        queue_id=queue.id, schedule=schedule.key, member_id=member.id, start_at=start, end_at=end, created_by=ctx.member.id, created_at=ctx.now, kind=kind
    )
    ctx.session.add(cover)
    ctx.session.flush()
    how = {"replace": "is on call", "add": "is on call too (beside whoever else is)", "remove": "is off call (nobody replaces them)"}[kind]
    text = f"Cover {cover.id}: {member.name} {how} for {queue.name} / {schedule.key} from {_when(ctx, start)} until {_when(ctx, end)}."
    blocks: list[Any] = [Section(text)]
    data: dict[str, Any] = {"cover": _cover_json(ctx, cover, queue, member)}
    if kind != "remove" and not member_recipients(member) and not member.email:  # with an address, pages go by e-mail
        warning = f"{member.name} has no Slack or Teams id: csbot cannot page them, so escalations during this cover go straight to the policy's next level."
        blocks.append(Section(f"⚠️ {warning}"))
        data["warnings"] = [warning]
    blocks.append(Note(f"Times in {ctx.timezone}. Remove it with /oncall uncover {cover.id}."))
    return Reply(title="Cover added", blocks=blocks, data=data)


def _cover_json(ctx: Context, cover: OncallOverride, queue: EscalationQueue, member: Member) -> dict[str, Any]:
    by = ctx.session.get(Member, cover.created_by)
    return {
        "id": cover.id,
        "queue": queue.key,
        "schedule": cover.schedule,
        "handle": member.handle,
        "start": cover.start_at.isoformat(),
        "end": cover.end_at.isoformat(),
        "by": by.handle if by else None,
        "kind": cover.kind,
    }


def _covers(ctx: Context, queue_text: str | None) -> Reply:
    query = select(OncallOverride).where(OncallOverride.removed_at.is_(None), OncallOverride.end_at > ctx.now)
    if queue_text:
        query = query.where(OncallOverride.queue_id == find_queue(ctx, queue_text).id)
    covers = list(ctx.session.scalars(query.order_by(OncallOverride.start_at, OncallOverride.id)))
    queues = {q.id: q for q in ctx.session.scalars(select(EscalationQueue))}
    rows = []
    data = []
    for cover in covers:
        member = ctx.session.get(Member, cover.member_id)
        assert member is not None
        sign = {"add": "+", "remove": "-"}.get(cover.kind, "")
        rows.append((str(cover.id), f"{sign}@{member.handle}", f"{queues[cover.queue_id].key}/{cover.schedule}", _when(ctx, cover.start_at), _when(ctx, cover.end_at)))
        data.append(_cover_json(ctx, cover, queues[cover.queue_id], member))
    blocks: list[Any] = [Table(("Cover", "Who", "Queue/schedule", "From", "Until"), tuple(rows)), Note(f"Times in {ctx.timezone}. +@x: on call beside whoever is; -@x: off call.")] if rows else [Section("No covers now or to come.")]
    return Reply(title="Covers", blocks=blocks, data={"covers": data})


def _uncover(ctx: Context, number: int) -> Reply:
    lock_for_write(ctx.session)
    cover = ctx.session.get(OncallOverride, number)
    if cover is None or cover.removed_at is not None:
        raise NotFound(f"There is no cover {number} in force; /oncall covers lists them.")
    cover.removed_at, cover.removed_by = ctx.now, ctx.member.id
    member = ctx.session.get(Member, cover.member_id)
    return Reply(
        title="Cover removed",
        blocks=[Section(f"Cover {number} ({member.name if member else '?'}, {_when(ctx, cover.start_at)} – {_when(ctx, cover.end_at)}) is removed; the rotation applies again.")],
        data={"removed": number},
    )


def handoff_reply(
    session: Any, queue: EscalationQueue, schedule: str, until: datetime | None, open_escalations: list[Any], zone: str, *, cover: Cover | None = None, reader: str | None = None
) -> Reply:
    """The DM someone gets when their stretch on call starts: until when, why (a cover), and what is open."""
    ends = f" until {local_full(until, zone)}" if until else ""
    blocks: list[Any] = [Section(f"You are on call for {queue.name} ({schedule}){ends}.")]
    if cover is not None:
        # Not their turn in the rotation: say who arranged it, so a surprise has someone to ask.
        span = f"{local_full(cover.start, zone)} – {local_full(cover.end, zone)}"
        if cover.swap_id is not None:
            by = "you accepted" if cover.by_handle == reader else f"{cover.by_name} accepted"
            blocks.append(Section(f"You are on call because of swap {cover.swap_id}, which {by} ({span})."))
        else:
            by = "you added" if cover.by_handle == reader else f"added by {cover.by_name}"
            blocks.append(Section(f"You are on call because of cover {cover.id} {by} ({span})."))
    if open_escalations:
        rows = tuple((e.label, e.ticket, e.severity, state_line(session, e, zone)) for e in open_escalations)
        blocks.append(Table(("Escalation", "Ticket", "Sev", "Now"), rows, title=f"{len(rows)} open escalation{'' if len(rows) == 1 else 's'}"))
    else:
        blocks.append(Section("No escalations are open in this queue."))
    blocks.append(Note(f"Times in {zone}. /oncall {queue.key} shows who else is on call; /escalation list {queue.key} what is open."))
    return Reply(
        title=f"On call: {queue.name}",
        blocks=blocks,
        data={"queue": queue.key, "schedule": schedule, "open": [e.label for e in open_escalations], "cover": cover.to_json() if cover else None},
    )


def gaps_reply(queue: EscalationQueue, gaps: list[tuple[str, Any]], zone: str) -> Reply:
    """The daily warning in a queue's channel: when its schedules have nobody on call in the next 7 days."""
    rows = tuple((schedule, local_full(p.start, zone), local_full(p.end, zone), duration((p.end - p.start).total_seconds())) for schedule, p in gaps)
    return Reply(
        title=f"⚠️ Nobody on call: {queue.name}, next 7 days",
        blocks=[
            Table(("Schedule", "From", "Until", "For"), rows) if rows else Section("No gaps any more."),
            Note(f"Times in {zone}. Escalations in a gap go straight to the policy's next level. Cover one: /oncall cover @member {queue.key}/SCHEDULE FROM..TO"),
        ],
        visibility="channel",
        data={"queue": queue.key, "gaps": [{"schedule": s, **p.to_json()} for s, p in gaps]},
    )


class OncallCommand:
    name = "oncall"
    summary = "Who is on call for each escalation queue, the schedule ahead, its gaps, and covers"
    usage = USAGE
    examples = ("/oncall", "/oncall me", "/oncall billing", "/oncall schedule billing/primary 14d", "/oncall gaps billing 30d", "/oncall history billing 30d", "/oncall cover @dana billing 2h")

    def parse(self, words: list[str]) -> OncallRequest:
        return parse_oncall(words)

    def authorize(self, ctx: Context, request: OncallRequest) -> None:
        authorize_oncall(ctx, request)

    def execute(self, ctx: Context, request: OncallRequest) -> Reply:
        return execute_oncall(ctx, request)


def register(router: Router) -> None:
    router.register(OncallCommand())
    for action_id, parse, authorize, execute in SWAP_ACTIONS:
        router.register_action(Action(action_id, parse, authorize, execute))


__all__ = ["OncallCommand", "register"]
