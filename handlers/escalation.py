"""`/escalation`: an escalation's status and timeline, the open ones, and the text form of every page button.

`/escalation ack|resolve|cancel|snooze|reassign ESC-n …` does what the
page's buttons do, through the same functions, so a person without the
page in front of them (or on a surface without buttons) can act too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from escalation import engine
from escalation.models import Escalation
from handlers.args import UsageError, button_id
from handlers.context import Context, FieldErrors, Invalid, NotFound
from handlers.escalation_views import (
    ACK,
    REASSIGN,
    REASSIGN_FORM,
    RESOLVE,
    RESOLVE_FORM,
    SNOOZE,
    STATE_ICONS,
    active_queues,
    authorize_act,
    escalation_json,
    escalation_number,
    find_escalation,
    find_queue,
    page_reply,
    queue_named,
    queue_of,
    state_line,
    timeline_table_rows,
)
from handlers.escalation_report import report_reply
from handlers.humanize import duration
from handlers.kpi_lookup import NotAWindow, find_member
from handlers.reply import Actions, Form, FormField, Reply, Section, Table
from handlers.reply import Context as Note
from handlers.router import Action, Router, closest
from store.engine import lock_for_write
from store.org import Member

VERBS = ("ack", "acknowledge", "resolve", "cancel", "snooze", "reassign")
MAX_NOTE = 1000


@dataclass(frozen=True)
class EscalationRequest:
    verb: str  # show | list | report | ack | resolve | cancel | snooze | reassign
    target: str = ""  # ESC-n, or the list filter
    rest: tuple[str, ...] = ()
    replace: bool = False  # a button: the answer replaces the page it was on


USAGE = (
    "/escalation ESC-n — status and the full timeline\n"
    "/escalation report ESC-n [--md] — the timeline as a postmortem draft (--md: also as a Markdown file)\n"
    "/escalation list [open|mine|QUEUE] — open escalations (mine: yours to answer, or that you asked for)\n"
    "/escalation ack ESC-n — take it: paging stops, the requester is told\n"
    "/escalation resolve ESC-n [NOTE…] — done (cancel ESC-n [NOTE…]: no longer needed)\n"
    "/escalation snooze ESC-n 15m|1h — hold the paging, then page the same level again\n"
    "/escalation reassign ESC-n @member|QUEUE — hand it to a person or another queue"
)


def parse_escalation(words: list[str]) -> EscalationRequest:
    if not words:
        return EscalationRequest("list", "open")
    first = words[0].lower()
    if first == "list":
        if len(words) > 2:
            raise UsageError("/escalation list takes one filter: open, mine or a queue.")
        return EscalationRequest("list", words[1] if len(words) == 2 else "open")
    if first == "report":
        rest = words[1:]
        markdown = any(w.lower() == "--md" for w in rest)
        rest = [w for w in rest if w.lower() != "--md"]
        if len(rest) != 1 or escalation_number(rest[0]) is None:
            raise UsageError("/escalation report ESC-n [--md], e.g. /escalation report ESC-12 --md.")
        return EscalationRequest("report", rest[0], ("--md",) if markdown else ())
    if first in VERBS:
        if len(words) < 2:
            raise UsageError(f"/escalation {first} needs the escalation, e.g. /escalation {first} ESC-12.")
        if escalation_number(words[1]) is None:
            raise UsageError(f"{words[1]!r} is not an escalation id; write it as ESC-12.")
        verb = "ack" if first == "acknowledge" else first
        rest = tuple(words[2:])
        if verb == "ack" and rest:
            raise UsageError("/escalation ack takes only the escalation.")
        if verb == "snooze" and (len(rest) != 1 or rest[0].lower() not in engine.SNOOZES):
            guesses = closest(rest[0], engine.SNOOZES) if len(rest) == 1 else []
            raise UsageError("Snooze for 15m or 1h, e.g. /escalation snooze ESC-12 15m." + _did_you_mean(guesses))
        if verb == "reassign" and len(rest) != 1:
            raise UsageError("Reassign to one @member or one queue, e.g. /escalation reassign ESC-12 @dana.")
        if verb in ("resolve", "cancel") and len(" ".join(rest)) > MAX_NOTE:
            raise UsageError(f"The note is at most {MAX_NOTE:,} characters.")
        return EscalationRequest(verb, words[1], rest)
    if escalation_number(words[0]) is not None and len(words) == 1:
        return EscalationRequest("show", words[0])
    subcommands = ("list", "report", *VERBS)
    raise UsageError(f"Unknown /escalation subcommand {words[0]!r}.{_did_you_mean(closest(first, subcommands))} Subcommands: {', '.join(subcommands)}, or ESC-n alone.")


def _did_you_mean(guesses: list[str]) -> str:
    return f" Did you mean {', '.join(guesses)}?" if guesses else ""


def authorize_escalation(ctx: Context, request: EscalationRequest) -> None:
    if request.verb in ("show", "list", "report"):
        return None  # escalations are work the whole organisation shares
    authorize_act(ctx, find_escalation(ctx, request.target), "acknowledge" if request.verb == "ack" else request.verb)


def execute_escalation(ctx: Context, request: EscalationRequest) -> Reply:
    if request.verb == "list":
        return _list(ctx, request.target)
    esc = find_escalation(ctx, request.target)
    if request.verb == "show":
        return _show(ctx, esc)
    if request.verb == "report":
        return report_reply(ctx, esc, markdown=bool(request.rest))
    lock_for_write(ctx.session)
    ctx.session.refresh(esc)
    try:
        if request.verb == "ack":
            engine.acknowledge(ctx.session, esc, ctx.member, ctx.now)
            done = f"You own {esc.label} now; paging has stopped and {_requester(ctx, esc)} is told."
        elif request.verb in ("resolve", "cancel"):
            note = " ".join(request.rest).strip() or None
            engine.resolve(ctx.session, esc, ctx.member, ctx.now, note, cancel=request.verb == "cancel")
            done = f"{esc.label} is {esc.state}."
        elif request.verb == "snooze":
            engine.snooze(ctx.session, esc, ctx.member, ctx.now, request.rest[0].lower())
            done = f"{esc.label} is snoozed; the same level is paged again at the end."
        else:
            done = _reassign(ctx, esc, request.rest[0])
    except engine.Conflict as exc:
        raise Invalid(str(exc)) from None
    reply = page_reply(ctx.session, esc, ctx.timezone)
    reply.blocks.insert(0, Section(done))
    reply.replace_original = request.replace
    reply.data = {"escalation": escalation_json(ctx.session, esc)}
    return reply


def _requester(ctx: Context, esc: Escalation) -> str:
    requester = ctx.session.get(Member, esc.requester_id)
    return "you" if requester is None or requester.id == ctx.member.id else requester.name


def _reassign(ctx: Context, esc: Escalation, to: str) -> str:
    queue = None if to.startswith(("@", "<@")) else queue_named(ctx.session, to)
    if queue is not None:
        engine.reassign(ctx.session, esc, ctx.member, ctx.now, queue=queue)
        return f"{esc.label} is now {queue.name}'s: its policy starts from the first level."
    try:
        member = find_member(ctx, to)
    except (NotFound, NotAWindow):
        if not to.startswith(("@", "<@")):
            find_queue(ctx, to)  # says which queues there are
        raise NotFound(f"There is no member called {to!r}.") from None
    if not member.active:
        raise Invalid(f"{member.name} is no longer active; reassign to someone else.")
    engine.reassign(ctx.session, esc, ctx.member, ctx.now, member=member)
    return f"{esc.label} is reassigned to {member.name}, who is paged now."


def _show(ctx: Context, esc: Escalation) -> Reply:
    reply = page_reply(ctx.session, esc, ctx.timezone)
    rows = timeline_table_rows(ctx.session, esc, ctx.timezone)
    actions_at = next((i for i, b in enumerate(reply.blocks) if isinstance(b, Actions)), len(reply.blocks))
    reply.blocks.insert(actions_at, Table(("Timeline",), tuple((r,) for r in rows)))
    reply.blocks.append(Note(f"Times in {ctx.timezone}."))
    reply.data = {"escalation": escalation_json(ctx.session, esc, timeline=True)}
    return reply


def _list(ctx: Context, which: str) -> Reply:
    word = which.lower()
    if word == "open":
        found, label = engine.open_for(ctx.session), "Open escalations"
    elif word == "mine":
        me = ctx.member
        found = [e for e in engine.open_for(ctx.session) if me.id in (e.owner_id, e.requester_id) or (e.state == "open" and me.handle in e.paged)]
        label = "Your open escalations"
    else:
        queue = queue_named(ctx.session, which)
        if queue is None:
            keys = [q.key for q in active_queues(ctx.session)]
            raise NotFound(f"{which!r} is not a filter or a queue.{_did_you_mean(closest(which, ['open', 'mine', *keys]))} List open, mine or one of the queues: {', '.join(keys) or 'none set up'}.")
        found, label = engine.open_for(ctx.session, queue_ids=[queue.id]), f"Open escalations · {queue.name}"
    rows: list[tuple[str, ...]] = []
    for esc in found:
        rows.append(
            (f"{STATE_ICONS.get(esc.state, '')} {esc.label}", esc.ticket, esc.severity, queue_of(ctx.session, esc).key, _age(ctx, esc), state_line(ctx.session, esc, ctx.timezone))
        )
    blocks: list[Any] = [Table(("Escalation", "Ticket", "Sev", "Queue", "Age", "Now"), tuple(rows))] if rows else [Section("None open.")]
    return Reply(title=label, blocks=blocks, data={"escalations": [escalation_json(ctx.session, e) for e in found]})


def _age(ctx: Context, esc: Escalation) -> str:
    return duration((ctx.now - esc.created_at).total_seconds())


# ------------------------------------------------------------- page buttons


def _button(verb: str) -> Any:
    def parse(value: str) -> EscalationRequest:
        number, payload = button_id(value)
        if verb == "snooze":
            length = payload.get("for")
            if not isinstance(length, str) or length not in engine.SNOOZES:
                raise UsageError("That button is damaged; use /escalation snooze ESC-n 15m.")
            return EscalationRequest("snooze", f"ESC-{number}", (length,), replace=True)
        return EscalationRequest(verb, f"ESC-{number}", replace=True)

    return parse


def _ask(verb: str) -> Any:
    """Resolve and Reassign ask one more thing (an optional note; whom) before they act."""

    def execute(ctx: Context, request: EscalationRequest) -> Reply:
        esc = find_escalation(ctx, request.target)
        if esc.state not in ("open", "acknowledged"):
            raise Invalid(f"{esc.label} is {esc.state}; nothing to {verb}.")
        field = (
            FormField("note", "What was done? (optional)", multiline=True, optional=True)
            if verb == "resolve"
            else FormField("to", "Reassign to (@member or queue)")
        )
        return Reply(
            title=f"{verb.title()} {esc.label}",
            blocks=[Section(f"{verb.title()} {esc.label} ({esc.ticket}).")],
            form=Form(f"{verb.title()} {esc.label}", verb.title(), RESOLVE_FORM if verb == "resolve" else REASSIGN_FORM, (field,), context=str(esc.id)),
        )

    return execute


def _form(verb: str) -> Any:
    def parse(value: str) -> EscalationRequest:
        try:
            payload = json.loads(value)
            context, values = payload["context"], payload["values"]
            if not isinstance(context, str) or not (context.isascii() and context.isdigit()) or len(context) > 9 or not isinstance(values, dict):
                raise TypeError("values")
            number = int(context)
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
            raise UsageError("That form is damaged; use /escalation instead.") from None
        if verb == "resolve":
            note = str(values.get("note") or "").strip()
            if len(note) > MAX_NOTE:
                raise FieldErrors({"note": f"At most {MAX_NOTE:,} characters."})
            return EscalationRequest("resolve", f"ESC-{number}", tuple(note.split()))
        to = str(values.get("to") or "").strip()
        if not to or " " in to:
            raise FieldErrors({"to": "One @member or one queue."})
        return EscalationRequest("reassign", f"ESC-{number}", (to,))

    return parse


def _form_execute(ctx: Context, request: EscalationRequest) -> Reply:
    try:
        return execute_escalation(ctx, request)
    except (NotFound, Invalid) as exc:
        if request.verb == "reassign":
            raise FieldErrors({"to": str(exc)}) from None
        raise


class EscalationCommand:
    name = "escalation"
    summary = "An escalation's status and timeline, the open ones, and acknowledge, resolve, snooze or reassign"
    usage = USAGE
    examples = ("/escalation ESC-12", "/escalation list mine", "/escalation ack ESC-12", "/escalation reassign ESC-12 billing")

    def parse(self, words: list[str]) -> EscalationRequest:
        return parse_escalation(words)

    def authorize(self, ctx: Context, request: EscalationRequest) -> None:
        authorize_escalation(ctx, request)

    def execute(self, ctx: Context, request: EscalationRequest) -> Reply:
        return execute_escalation(ctx, request)


def register(router: Router) -> None:
    router.register(EscalationCommand())
    router.register_action(Action(ACK, _button("ack"), authorize_escalation, execute_escalation))
    router.register_action(Action(SNOOZE, _button("snooze"), authorize_escalation, execute_escalation))
    router.register_action(Action(RESOLVE, _button("resolve"), authorize_escalation, _ask("resolve"), once_per_click=False))
    router.register_action(Action(REASSIGN, _button("reassign"), authorize_escalation, _ask("reassign"), once_per_click=False))
    router.register_action(Action(RESOLVE_FORM, _form("resolve"), authorize_escalation, _form_execute))
    router.register_action(Action(REASSIGN_FORM, _form("reassign"), authorize_escalation, _form_execute))


__all__ = ["EscalationCommand", "register"]
