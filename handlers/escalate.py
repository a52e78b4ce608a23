"""`/escalate TICKET [QUEUE] [sev1..sev4] REASON…`: hand a ticket to whoever is on call for the right queue.

Missing parts open a form (a Slack modal, a Teams card, questions in the
console), pre-filled with what was given; the message shortcut "Escalate
this message" opens the same form with the message's text, author, link
and any ticket reference in it. Routing: a queue named in the command
wins; else the org file's routes, first match (the ticket's priority and
team as csbot has them, keywords in the reason, the requester's team);
else the default queue.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from sqlalchemy import select

from escalation import engine
from escalation.policies import describe
from handlers.args import UsageError, form_submission
from handlers.context import Context, FieldErrors, Invalid, NotFound
from handlers.escalate_words import SEVERITY_HELP, read_leading, severity_at
from handlers.escalation_views import (
    active_queues,
    escalation_json,
    find_queue,
    page_reply,
    queue_named,
    state_line,
    ticket_url,
    ticket_url_template,
)
from handlers.escalation_views import SEVERITY_LABELS as SEVERITIES
from handlers.humanize import duration
from handlers.kpi_lookup import find_member
from handlers.kpi_request import DAMAGED_BUTTON
from handlers.reply import Actions, Form, FormField, Reply, Section
from handlers.reply import Context as Note
from handlers.router import Action, Router, closest
from kpi.tickets import Ticket
from store.engine import lock_for_write
from store.org import Member, Org
from store.queues import EscalationQueue

FORM_ACTION = "escalate.form"
# The Slack message shortcut's callback id (manifest.yml) and the Teams message action's command id.
SHORTCUT_ACTION = "escalate_message"
MAX_REASON = 2000
MAX_SHOWN = 200  # a ticket reference as shown (and stored)
_NUMBER = re.compile(r"^#?([0-9]{1,18})$")
_KEYED = re.compile(r"^([A-Za-z][A-Za-z0-9]{0,9})-([0-9]{1,18})$")
_URL = re.compile(r"^https?://[^\s<>\"]{1,990}$")
# A ticket reference somewhere in a message (the shortcut pre-fills the form with it).
_IN_TEXT = re.compile(r"(https?://[^\s<>|\"]+|(?<![\w/])#[0-9]{2,18}\b|\b[A-Z][A-Z0-9]{0,9}-[0-9]{1,18}\b)")
PRIORITY_SEVERITY = {"urgent": "sev1", "high": "sev2", "normal": "sev3", "low": "sev4"}


@dataclass(frozen=True)
class TicketRef:
    shown: str  # "#12345", "T-123", or the URL
    id: str | None  # what the helpdesk calls it, to look up and to link
    url: str | None


def parse_ticket(text: str) -> TicketRef | None:
    word = text.strip().strip("<>").split("|", 1)[0]
    if m := _NUMBER.match(word):
        ident = m.group(1)
        return TicketRef(f"#{ident}", ident, ticket_url(ident))
    if m := _KEYED.match(word):
        ident = word.upper()
        return TicketRef(ident, ident, ticket_url(ident))
    if _URL.match(word):
        template = ticket_url_template()
        ident = None
        if template:
            before, _, after = template.partition("{id}")
            if word.startswith(before) and (not after or word[len(before):].endswith(after)):
                ident = word[len(before): len(word) - len(after) if after else None].strip("/") or None
        if ident is None:
            tail = re.search(r"(\d{1,18})/?$", word)
            ident = tail.group(1) if tail else None
        shown = f"#{ident}" if ident and ident.isdigit() else (ident or word)
        if len(shown) > MAX_SHOWN:  # a long URL without an id: shown shortened, linked in full
            shown = shown[: MAX_SHOWN - 1] + "…"
        return TicketRef(shown, ident[:128] if ident else None, word)
    return None


def ticket_in(text: str) -> str | None:
    """The first ticket reference in a message's text, if any."""
    for found in _IN_TEXT.findall(text or ""):
        if parse_ticket(found) is not None:
            return found
    return None


@dataclass(frozen=True)
class EscalateRequest:
    ticket: TicketRef | None
    words: tuple[str, ...]  # after the ticket: [QUEUE] [SEV] REASON…
    source_url: str | None = None
    queue: str | None = None  # the form's queue field (the command names it among the words)
    severity: str | None = None  # the form's severity field
    reason: str | None = None  # the form's reason, taken as written (never read as a queue or severity)


USAGE_TICKET = "Name the ticket first: #12345, T-123 or the ticket's URL, e.g. /escalate #12345 billing sev2 customer charged twice."


def parse_escalate(words: list[str]) -> EscalateRequest:
    if not words:
        return EscalateRequest(None, ())
    ticket = parse_ticket(words[0])
    if ticket is None:
        raise UsageError(f"{words[0]!r} is not a ticket reference. {USAGE_TICKET}")
    return EscalateRequest(ticket, tuple(words[1:]))


def _form(ctx: Context, request: EscalateRequest, *, reason: str = "", queue: str = "", severity: str = "", note: str = "") -> Reply:
    context = json.dumps({"source_url": request.source_url})
    keys = ", ".join(q.key for q in active_queues(ctx.session))
    return Reply(
        title="Escalate a ticket",
        blocks=[Section(note or "Which ticket, and what is wrong? The queue and severity are optional.")],
        form=Form(
            title="Escalate a ticket",
            submit_label="Escalate",
            action_id=FORM_ACTION,
            context=context,
            fields=(
                FormField("ticket", "Ticket (#12345, T-123 or its URL)", initial=request.ticket.shown if request.ticket else ""),
                FormField("queue", f"Queue ({keys or 'none set up'}); empty: routed", optional=True, initial=queue),
                FormField("severity", "Severity (sev1 critical … sev4 low); empty: from the ticket, else sev3", optional=True, initial=severity),
                FormField("reason", "What is wrong, and what have you tried?", multiline=True, initial=reason[:MAX_REASON]),
            ),
        ),
    )


def prefilled_form(ctx: Context, *, text: str, author: str | None, permalink: str | None) -> Reply:
    """The form the message shortcut opens: the message's text, its author and link, a ticket reference found in it."""
    found = ticket_in(text)
    request = EscalateRequest(parse_ticket(found) if found else None, (), source_url=permalink)
    quoted = (f"{author} wrote: " if author else "") + text.strip()
    return _form(ctx, request, reason=quoted[:MAX_REASON], note="Escalate this message: check the ticket and say what is needed.")


@dataclass(frozen=True)
class MessageRequest:
    text: str
    author: str | None  # a Slack mention (<@U…>) or a display name
    permalink: str | None


def parse_message(value: str) -> MessageRequest:
    """The message a shortcut was used on: {text, author, permalink} as the platform adapter passes it."""
    try:
        payload = json.loads(value)
        text, author, link = payload.get("text") or "", payload.get("author_ref") or payload.get("author"), payload.get("permalink")
        if not isinstance(text, str) or not all(v is None or isinstance(v, str) for v in (author, link)):
            raise TypeError("field")
    except (ValueError, TypeError, AttributeError, RecursionError):
        raise UsageError(DAMAGED_BUTTON) from None
    if link is not None and not _URL.match(link):
        link = None
    return MessageRequest(text[:MAX_REASON * 2], (author or "")[:200] or None, link)


def execute_message(ctx: Context, request: MessageRequest) -> Reply:
    author = None
    if request.author:
        try:
            author = find_member(ctx, request.author).name
        except (NotFound, Invalid, UsageError):
            author = None if request.author.startswith("<@") else request.author
    return prefilled_form(ctx, text=request.text, author=author, permalink=request.permalink)


def _route(ctx: Context, ticket: Ticket | None, reason: str) -> tuple[EscalationQueue | None, str]:
    org = ctx.session.get(Org, 1)
    routing = (org.escalation if org else None) or {}
    team = ticket.team.key if ticket is not None and ticket.team is not None else ctx.member.team.key if ctx.member.team else None
    priority = (ticket.priority or "").lower() if ticket is not None else ""
    words = reason.lower()
    for index, route in enumerate(routing.get("routes", [])):
        match = route["match"]
        if "priority" in match and priority not in match["priority"]:
            continue
        if "keywords" in match and not any(re.search(rf"(?<!\w){re.escape(k)}", words) for k in match["keywords"]):
            continue
        if "team" in match and team not in match["team"]:
            continue
        queue = queue_named(ctx.session, route["queue"])
        if queue is not None:
            said = "; ".join(f"{k}: {', '.join(v)}" for k, v in match.items())
            return queue, f"route {index + 1} ({said})"
    default = routing.get("default_queue")
    return (queue_named(ctx.session, default) if default else None), "the default queue"


def _ticket_row(ctx: Context, ref: TicketRef) -> Ticket | None:
    if ref.id is None:
        return None
    ids = {ref.id, ref.id.split("-")[-1]} if "-" in ref.id else {ref.id}
    return ctx.session.scalar(select(Ticket).where(Ticket.external_id.in_(ids)).order_by(Ticket.created_at.desc()).limit(1))


def execute_escalate(ctx: Context, request: EscalateRequest) -> Reply:
    words = list(request.words)
    if request.ticket is None:
        return _form(ctx, request)
    queue: EscalationQueue | None = None
    if request.queue:
        try:
            queue = find_queue(ctx, request.queue)
        except NotFound as exc:
            raise FieldErrors({"queue": str(exc)}) from None
    severity: str | None = request.severity
    unsure: tuple[str, list[str]] | None = None
    if request.reason is None:
        leading = read_leading(words, request.ticket.shown, active_queues(ctx.session), lambda word: queue_named(ctx.session, word))
        queue, severity, words, unsure = leading.queue, leading.severity, leading.reason, leading.unsure_queue
    reason = " ".join(words).strip() if request.reason is None else request.reason
    if not reason:
        return _form(ctx, request, queue=queue.key if queue else "", severity=severity or "")
    if unsure is not None:
        # "biling refund stuck": a misspelt queue, or the reason's first word? Asked, not guessed: the
        # form holds everything as typed, with the likeliest queue filled in.
        word, guesses = unsure
        note = (
            f"{word!r} is not a queue: did you mean {', '.join(guesses)}? Check the queue (empty: csbot routes the ticket) "
            "and escalate; nothing is opened until you do."
        )
        return _form(ctx, request, reason=reason, queue=guesses[0] if len(guesses) == 1 else "", severity=severity or "", note=note)
    if len(reason) > MAX_REASON:
        raise Invalid(f"The reason is {len(reason):,} characters long; at most {MAX_REASON:,}. Put the details in the ticket.")
    ticket = _ticket_row(ctx, request.ticket)
    why = "named in the command"
    if queue is None:
        queue, why = _route(ctx, ticket, reason)
    if queue is None:
        raise NotFound("No escalation queues are set up yet: an admin adds them under `escalation:` in the organisation file.")
    if severity is None:
        severity = PRIORITY_SEVERITY.get((ticket.priority or "").lower(), "sev3") if ticket is not None else "sev3"
    lock_for_write(ctx.session)
    opened = engine.open_escalation(
        ctx.session, queue,
        ticket=request.ticket.shown, ticket_id=ticket.id if ticket else None, ticket_url=request.ticket.url,
        severity=severity, reason=reason, requester=ctx.member, now=ctx.now, source_url=request.source_url,
    )  # fmt: skip
    esc = opened.escalation
    zone = ctx.timezone
    reply = page_reply(ctx.session, esc, zone)
    now_line = state_line(ctx.session, esc, zone)
    # The answer leads with what is happening now; the requester does not get the page's buttons.
    reply.blocks = [b for b in reply.blocks if not isinstance(b, Actions) and b != Section(now_line)]
    if opened.created:
        reply.title = f"{esc.label} opened in {queue.name}"
        reply.blocks.insert(0, Section(now_line))
        reply.blocks.append(Note(f"Routed to {queue.name}: {why}. Paged by {describe(esc.policy)}." + (f" Ticket in csbot: {_ticket_facts(ticket, ctx)}." if ticket else "")))
    else:
        reply.title = f"{request.ticket.shown} already has an open escalation: {esc.label}"
        reply.blocks.insert(0, Section(f"Nothing new was opened. {now_line}"))
    reply.data = {"escalation": escalation_json(ctx.session, esc), "created": opened.created}
    return reply


def _ticket_facts(ticket: Ticket, ctx: Context) -> str:
    agent = ctx.session.get(Member, ticket.agent_id) if ticket.agent_id else None
    parts = [f"priority {ticket.priority or '—'}", f"team {ticket.team.key if ticket.team else '—'}", f"agent {agent.handle if agent else '—'}"]
    parts.append(f"age {duration((ctx.now - ticket.created_at).total_seconds())}")
    return ", ".join(parts)


def parse_form(value: str) -> EscalateRequest:
    text, values = form_submission(value)
    try:
        context = json.loads(text or "{}")
        if not isinstance(context, dict):
            raise TypeError("context")
    except (ValueError, TypeError, RecursionError):
        raise UsageError(DAMAGED_BUTTON) from None
    errors: dict[str, str] = {}
    ticket = parse_ticket(values.get("ticket", ""))
    if ticket is None:
        errors["ticket"] = "Write the ticket as #12345, T-123 or its URL."
    queue, severity, reason = (values.get(k, "").strip() for k in ("queue", "severity", "reason"))
    if severity:
        found = severity_at(severity.split())
        if found is not None and found.severity is not None and found.width == len(severity.split()):
            severity = found.severity  # "SEV-2" is sev2
        else:
            guess = found.suggestion if found is not None else next(iter(closest(severity, SEVERITIES)), None)
            errors["severity"] = f"One of {SEVERITY_HELP}, or leave it empty." + (f" Did you mean {guess}?" if guess else "")
    if not reason:
        errors["reason"] = "Say what is wrong, so the specialist can start."
    elif len(reason) > MAX_REASON:
        errors["reason"] = f"At most {MAX_REASON:,} characters; put the details in the ticket."
    if errors:
        raise FieldErrors(errors)
    source = context.get("source_url")
    source = source if isinstance(source, str) and _URL.match(source) else None  # only a link csbot itself put there
    assert ticket is not None
    return EscalateRequest(ticket, (), source, queue or None, severity.lower() or None, reason)


class EscalateCommand:
    name = "escalate"
    summary = "Hand a ticket to whoever is on call for the right queue, and keep paging until someone owns it"
    usage = (
        "/escalate TICKET [QUEUE] [sev1|sev2|sev3|sev4] REASON… — page the on-call specialist now\n"
        "  TICKET: #12345, T-123 or the ticket's URL; QUEUE: one of /oncall's queues (else routed);\n"
        "  severity from the ticket's priority when not given, else sev3 (also SEV-2, sev 2);\n"
        "  a reason that starts with a word like a queue or a severity: put the reason in \"quotes\"\n"
        "/escalate — a form asks for each part"
    )
    examples = ("/escalate #12345 customer charged twice", "/escalate T-123 billing sev2 refund stuck for 3 days", "/escalate")

    def parse(self, words: list[str]) -> EscalateRequest:
        return parse_escalate(words)

    def authorize(self, ctx: Context, request: EscalateRequest) -> None:
        # Anyone in the organisation may ask for help, whether or not they are on a schedule.
        return None

    def execute(self, ctx: Context, request: EscalateRequest) -> Reply:
        return execute_escalate(ctx, request)


def register(router: Router) -> None:
    router.register(EscalateCommand())
    router.register_action(Action(FORM_ACTION, parse_form, lambda ctx, request: None, execute_escalate))
    # Opening the form changes nothing: the shortcut may be used on a message again.
    router.register_action(Action(SHORTCUT_ACTION, parse_message, lambda ctx, request: None, execute_message, once_per_click=False))


__all__ = ["EscalateCommand", "TicketRef", "parse_ticket", "prefilled_form", "register", "ticket_in"]
