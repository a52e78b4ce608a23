"""`/coach`: coaching notes about an agent, their history, your own, edits, deletions and the audit trail.

Every answer is private (`--share` is refused): coaching is between an
agent and those who look after them. Who may write and read what is
`coaching.visibility`'s rule set, checked here in `authorize`; a refusal
never reveals whether a note exists.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.orm import Session

from coaching import notes, qa, qa_coaching, sessions
from coaching.models import CoachingNote, CoachingSession
from coaching.visibility import may_coach, may_see, oversees
from handlers.args import UsageError, button_id, number_word, parse_args
from handlers.coach_sessions import (
    DONE_ACTION,
    SESSION_FORM,
    SESSION_USAGE,
    SessionRequest,
    authorize_session,
    execute_session,
    parse_done_button,
    parse_session_form,
    parse_session_words,
    session_block,
    session_json,
)
from handlers.coach_summary import SUMMARY_USAGE, SummaryRequest, authorize_summary, execute_summary, listed_until, parse_summary
from handlers.context import Context, Forbidden, Invalid, NotFound
from handlers.escalate import parse_ticket
from handlers.escalation_views import local_full
from handlers.humanize import percent
from handlers.qa_views import dispute_of, proposal_text
from handlers.kpi_lookup import find_member
from handlers.reply import Actions, Button, Reply, Section
from handlers.reply import Context as Note
from handlers.router import Action, Router, closest
from kpi.windows import WindowError, is_window, looks_like_window, parse_window
from store.org import Member

ACK_ACTION = "coach.ack"
SUBCOMMANDS = ("history", "mine", "edit", "delete", "audit", "session", "actions", "done", "summary")
SHOWN_CHARS = 1500  # of a note's text in a listing; the rest is said to be there
PRIVATE_ONLY = "Coaching is between an agent and those who look after them: its answers are never shared in a channel, so --share is refused."


@dataclass(frozen=True)
class CoachRequest:
    verb: str  # note | history | mine | edit | delete | audit | ack
    agent: str | None = None
    text: str = ""
    tags: tuple[str, ...] = ()
    ticket: str | None = None
    private: bool = False
    window: str | None = None
    tag: str | None = None
    number: int | None = None
    meant: str | None = None  # the subcommand the first word is close to, should it name no member (`/coach histroy @a`)


USAGE = (
    "/coach @agent NOTE… [#tag …] [ticket T-123] [--private] — a note about an agent (shared with them unless --private)\n"
    "/coach history @agent [WINDOW] [#tag] — the notes you may see about an agent, newest first\n"
    "/coach mine [WINDOW] — the notes and sessions shared with you\n"
    "/coach edit N NOTE… [#tag …] · /coach delete N — your note, within 24 hours (both kept in the audit trail)\n"
    "/coach audit @agent — who wrote, changed and read notes about an agent (admins)\n"
    f"{SESSION_USAGE}\n"
    "/coach actions [@agent] — open action items and how many were done · /coach done N — tick one off\n"
    f"{SUMMARY_USAGE}"
)


def _number(word: str) -> int:
    return number_word(word, "a note number; /coach history shows them")


_TICKET_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9]{0,9}-[0-9]+$")  # T-123: a ticket's key, never a tag


def _is_reference(word: str) -> bool:
    """A ticket after `ticket`: #123, T-123 or a URL (a bare number is more likely part of the sentence)."""
    return parse_ticket(word) is not None and not word.isdigit()


def _as_typed(raw: str, request: CoachRequest) -> str:
    """The note's text as typed (quotes, backslashes, line breaks kept), without its tags, ticket and flags."""
    text = raw
    for tag in request.tags:
        text = re.sub(rf"(?<!\S)#{re.escape(tag)}(?!\S)", "", text, count=1, flags=re.IGNORECASE)
    if request.ticket:
        text = re.sub(rf"(?<!\S)ticket\s+{re.escape(request.ticket)}(?!\S)", "", text, count=1, flags=re.IGNORECASE)
    text = re.sub(r"(?<!\S)[-\u2013\u2014]{1,2}private(?!\S)", "", text, count=1, flags=re.IGNORECASE)
    return "\n".join(line.strip() for line in text.strip().splitlines()).strip()


def _note_parts(words: list[str]) -> tuple[str, tuple[str, ...], str | None]:
    """The note's text, its #tags and `ticket REF`, from the words after the agent (or the note number)."""
    text: list[str] = []
    tags: list[str] = []
    ticket = None
    i = 0
    while i < len(words):
        word = words[i]
        if word.lower() == "ticket" and i + 1 < len(words) and _is_reference(words[i + 1]) and ticket is None:
            ticket = words[i + 1]
            i += 2
            continue
        if word.startswith("#") and len(word) > 1 and not word[1:].isdigit() and not _TICKET_KEY.match(word[1:]):
            tags.append(word)
        else:
            text.append(word)
        i += 1
    try:
        checked = notes.check_tags(tags)
        body = notes.check_text(" ".join(text))
    except notes.NoteError as exc:
        raise UsageError(str(exc)) from None
    return body, tuple(checked), ticket


def _meant(word: str) -> str | None:
    """The subcommand a first word that is none (and no @mention) is close to: `histroy` → history."""
    if word.startswith(("@", "<@")) or word.lower() in SUBCOMMANDS:
        return None
    near = closest(word, SUBCOMMANDS, n=1)
    return near[0] if near else None


def not_a_subcommand(word: str, meant: str) -> UsageError:
    return UsageError(f"{word!r} is neither a /coach subcommand nor a member. Did you mean /coach {meant}?")


def parse_coach(words: list[str]) -> CoachRequest | SessionRequest | SummaryRequest:
    args = parse_args(words, switches=frozenset({"private", "share"}))
    if args.flag("share"):
        raise UsageError(PRIVATE_ONLY)
    rest = list(args.words)
    if not rest:
        raise UsageError("Say whom the note is about: /coach @agent what went well or what to work on.")
    meant = _meant(rest[0])
    try:
        request = _parse_words(rest, args.flag("private"))
    except UsageError:
        if meant is not None:  # `/coach sumary`: a subcommand mistyped, not a note about someone
            raise not_a_subcommand(rest[0], meant) from None
        raise
    return replace(request, meant=meant) if isinstance(request, CoachRequest) and request.verb == "note" else request


def _history_words(words: list[str]) -> tuple[str | None, str | None]:
    """The window and the #tag after `/coach history @agent`, in either order; a bare word that is no window but could be a tag is asked about."""
    tags = [w for w in words if w.startswith("#")]
    others = [w for w in words if not w.startswith("#")]
    # The words that are not the tag say one window, of one or more words (`since monday`).
    window = " ".join(others) or None
    if len(tags) > 1 or (len(others) > 1 and not is_window(window or "")):
        raise UsageError("/coach history @agent [WINDOW] [#tag]: one window and one tag at most.")
    if len(others) == 1 and not looks_like_window(others[0]) and notes.TAG.match(f"#{others[0].lower()}"):
        raise UsageError(f"{others[0]!r} is not a window. Did you mean the tag #{others[0].lower()}? /coach history @agent [WINDOW] [#tag]")
    try:
        tag = notes.check_tags(tags)[0] if tags else None
    except notes.NoteError as exc:
        raise UsageError(str(exc)) from None
    return window, tag


def _parse_words(rest: list[str], private: bool) -> CoachRequest | SessionRequest | SummaryRequest:
    verb = rest[0].lower()
    if verb in SUBCOMMANDS and private and verb != "edit":
        raise UsageError(f"--private is for writing a note, not for /coach {verb}." + (" A session is always shared with its agent." if verb == "session" else ""))
    if verb in ("session", "actions", "done"):
        return parse_session_words(verb, rest)
    if verb == "summary":
        return parse_summary(rest)
    if verb == "mine":
        if len(rest) > 5:
            raise UsageError("/coach mine [WINDOW]")
        return CoachRequest("mine", window=" ".join(rest[1:]) or None)  # a window of one or more words: `last week`
    if verb == "history":
        if len(rest) < 2:
            raise UsageError("/coach history @agent [WINDOW] [#tag]")
        window, tag = _history_words(rest[2:])
        return CoachRequest("history", agent=rest[1], window=window, tag=tag)
    if verb == "audit":
        if len(rest) != 2:
            raise UsageError("/coach audit @agent")
        return CoachRequest("audit", agent=rest[1])
    if verb == "delete":
        if len(rest) != 2:
            raise UsageError("/coach delete N")
        return CoachRequest("delete", number=_number(rest[1]))
    if verb == "edit":
        if len(rest) < 3:
            raise UsageError("/coach edit N NOTE… [#tag …]: the whole new text (and tags) of your note.")
        body, tags, ticket = _note_parts(rest[2:])
        if ticket is not None or private:
            raise UsageError("An edit changes a note's text and tags; its ticket and privacy stay as they were.")
        return CoachRequest("edit", number=_number(rest[1]), text=body, tags=tags)
    body, tags, ticket = _note_parts(rest[1:])
    return CoachRequest("note", agent=rest[0], text=body, tags=tags, ticket=ticket, private=private)


def authorize_coach(ctx: Context, request: CoachRequest | SessionRequest | SummaryRequest) -> None:
    """The one place /coach decides who may do what (the rules: coaching.visibility)."""
    if isinstance(request, SessionRequest):
        return authorize_session(ctx, request)
    if isinstance(request, SummaryRequest):
        return authorize_summary(ctx, request)
    me = ctx.member
    if request.verb == "note":
        try:
            agent = find_member(ctx, request.agent or "")
        except NotFound:
            if request.meant is not None:
                raise not_a_subcommand(request.agent or "", request.meant) from None
            raise
        if not may_coach(me, agent):
            raise Forbidden(f"You write coaching notes about the agents you look after: {agent.name} is not one of them (leads: their team's agents; managers: their team's, or every team's without one; admins: every agent; never yourself).")
    elif request.verb == "history":
        agent = find_member(ctx, request.agent or "")
        if me.id != agent.id and not oversees(me, agent) and not notes.wrote_about(ctx.session, me, agent):
            raise Forbidden(f"Coaching notes about {agent.name} are for {agent.name} and those who look after them.")
    elif request.verb == "audit":
        ctx.require_role("admin", "read the coaching audit trail")


def execute_coach(ctx: Context, request: CoachRequest | SessionRequest | SummaryRequest) -> Reply:
    if isinstance(request, SessionRequest):
        return execute_session(ctx, request)
    if isinstance(request, SummaryRequest):
        return execute_summary(ctx, request)
    if request.verb == "note":
        return _write(ctx, request)
    if request.verb in ("history", "mine"):
        agent = ctx.member if request.verb == "mine" else find_member(ctx, request.agent or "")
        return _history(ctx, agent, request)
    if request.verb == "audit":
        return _audit(ctx, find_member(ctx, request.agent or ""))
    note = ctx.session.get(CoachingNote, request.number)
    try:
        if request.verb == "delete":
            notes.delete(ctx.session, notes.changeable(note, ctx.member, ctx.now), ctx.member, ctx.now)
            return Reply(title=f"Note {request.number} deleted", blocks=[Section("It no longer shows anywhere; the audit trail keeps it.")], data={"deleted": request.number})
        changed = notes.edit(ctx.session, notes.changeable(note, ctx.member, ctx.now), ctx.member, request.text, request.tags, ctx.now)
    except notes.NoteError as exc:
        raise NotFound(str(exc)) from None
    return Reply(title=f"Note {changed.id} edited", blocks=[_note_block(ctx.session, changed, ctx.timezone)], data={"note": note_json(ctx.session, changed)})


def _write(ctx: Context, request: CoachRequest) -> Reply:
    agent = find_member(ctx, request.agent or "")
    if not agent.active:
        raise Invalid(f"{agent.name} is no longer active.")
    ref = parse_ticket(request.ticket) if request.ticket else None
    note = notes.add(
        ctx.session, ctx.member, agent, request.text, tags=request.tags,
        ticket=ref.shown if ref else None, ticket_url=ref.url if ref else None, private=request.private, now=ctx.now,
    )  # fmt: skip
    sent = notes.deliver(ctx.session, note, agent, ctx.now)
    if request.private:
        where = f"Private: only you and those who look after {agent.name} see it; {agent.name} does not."
    elif sent:
        where = f"Shared with {agent.name}, who gets it by direct message with an Acknowledge button."
    else:
        where = f"Shared with {agent.name}, who has no Slack or Teams id: they see it with /coach mine."
    return Reply(title=f"Note {note.id} about {agent.name}", blocks=[_note_block(ctx.session, note, ctx.timezone), Note(where)], data={"note": note_json(ctx.session, note)})


def _history(ctx: Context, agent: Member, request: CoachRequest) -> Reply:
    since = until = None
    if request.window:
        try:
            window = parse_window(request.window, ctx.now, ctx.timezone)
        except WindowError as exc:
            raise UsageError(str(exc)) from None
        since, until = window.start, listed_until(window, ctx.now)
    found = notes.visible(ctx.session, ctx.member, agent, since=since, until=until, tag=request.tag)
    notes.record_reads(ctx.session, ctx.member, found, ctx.now)
    # Sessions have no tags: a history filtered by tag is of notes only.
    held = [] if request.tag else sessions.visible_sessions(ctx.session, ctx.member, agent, since=since, until=until)
    label = "Shared with you" if agent.id == ctx.member.id else f"Coaching · {agent.name}"
    dated: list[tuple[Any, Any]] = [(n.created_at, _note_block(ctx.session, n, ctx.timezone)) for n in found]
    dated += [(h.created_at, session_block(ctx.session, h, ctx.timezone, ctx.now)) for h in held]
    blocks: list[Any] = [b for _, b in sorted(dated, key=lambda pair: pair[0], reverse=True)]
    if not blocks:
        blocks = [Section("No notes" + (f" tagged #{request.tag}" if request.tag else " or sessions") + (" in this window." if request.window else " yet."))]
    cited_block, cited = cited_section(ctx, agent, found, held)
    if cited_block is not None:
        blocks.append(cited_block)
    blocks.append(Note(f"Times in {ctx.timezone}. Private notes are marked 🔒; reading someone else's private note is recorded."))
    data = {"notes": [note_json(ctx.session, n) for n in found], "sessions": [session_json(ctx.session, h) for h in held], "cited_reviews": cited}
    return Reply(title=label, blocks=blocks, data=data)


def cited_section(ctx: Context, agent: Member, found: list[CoachingNote], held: list[CoachingSession]) -> tuple[Section | None, list[dict[str, Any]]]:
    """The QA reviews the listed notes and sessions cite (`review 123`), each with its result and who cites it.

    A review shows only to those who may see it (a lead who wrote a note
    sees the reviews they may see, never more than `/qa show` would).
    """
    citing: dict[int, list[str]] = {}
    for n in found:
        for number in qa_coaching.cited_numbers([n.text]):
            citing.setdefault(number, []).append(f"note {n.id}")
    for h in held:
        items = [i.text for i in sessions.items_of(ctx.session, h)]
        for number in qa_coaching.cited_numbers([h.strengths, h.opportunities, *items]):
            citing.setdefault(number, []).append(f"session {h.id}")
    reviews = [r for r in qa_coaching.cited_reviews(ctx.session, agent.id, [f"review {k}" for k in citing]) if may_see(ctx.member, agent, author_id=r.reviewer_id)]
    if not reviews:
        return None, []
    lines, data = ["Reviews cited:"], []
    for r in reviews:
        result = "no score" if r.score is None else f"{percent(r.score)} {'passed' if r.passed else 'did not pass'}"
        record = dispute_of(ctx.session, r)
        # A dispute's proposal goes wherever the review is shown.
        disputed = f" · disputed, proposing {proposal_text(qa.rubric_for(ctx.session, r), r, record)}" if record is not None else ""
        lines.append(f"Review {r.id} · {r.ticket} · {local_full(r.created_at, ctx.timezone)} · {result}{disputed} · cited by {', '.join(citing[r.id])}")
        proposed = dict(record.proposed) if record is not None and record.proposed else None
        data.append({"id": r.id, "ticket": r.ticket, "score": r.score, "passed": r.passed, "state": r.state, "proposed": proposed, "cited_by": citing[r.id]})
    return Section("\n".join(lines)), data


def _replaced(before: str | None) -> str | None:
    """The text an edit replaced, from its audit line (`{"text": …, "tags": […]}`)."""
    try:
        found = json.loads(before) if before else None
    except ValueError:
        return None
    return found.get("text") if isinstance(found, dict) and isinstance(found.get("text"), str) else None


def _audit(ctx: Context, agent: Member) -> Reply:
    lines = []
    data = []
    # Only what shows a note's text is a read: the replaced text of an edit.
    # The other lines (who wrote, changed, read, when) show none.
    read: list[CoachingNote] = []
    for entry, note in notes.trail(ctx.session, agent):
        if not may_see(ctx.member, agent, author_id=note.author_id, private=note.private):
            continue  # an admin's own private notes stay hidden from them, here too
        by = ctx.session.get(Member, entry.by_id)
        line = f"{local_full(entry.at, ctx.timezone)} · note {note.id} · {entry.action} by {by.name if by else '?'}"
        replaced = _replaced(entry.before) if entry.action == "edited" else None
        if replaced is not None:
            line += f" · it read: {_shown(replaced)}"
            if note not in read:
                read.append(note)
        lines.append(line)
        data.append({"at": entry.at.isoformat(), "note": note.id, "action": entry.action, "by": by.handle if by else None, "before": entry.before})
    notes.record_reads(ctx.session, ctx.member, read, ctx.now)
    text = "\n".join(lines) if lines else "Nothing on record."
    return Reply(title=f"Coaching audit trail · {agent.name}", blocks=[Section(text), Note(f"Times in {ctx.timezone}.")], data={"audit": data})


def note_json(session: Session, note: CoachingNote) -> dict[str, Any]:
    author, agent = session.get(Member, note.author_id), session.get(Member, note.agent_id)
    return {
        "id": note.id,
        "author": author.handle if author else None,
        "agent": agent.handle if agent else None,
        "text": note.text,
        "tags": list(note.tags),
        "ticket": note.ticket,
        "private": note.private,
        "created_at": note.created_at.isoformat(),
        "acknowledged_at": note.acknowledged_at.isoformat() if note.acknowledged_at else None,
    }


def _shown(text: str) -> str:
    return text if len(text) <= SHOWN_CHARS else f"{text[:SHOWN_CHARS]}… ({len(text) - SHOWN_CHARS:,} more characters)"


def _note_block(session: Session, note: CoachingNote, zone: str) -> Section:
    author = session.get(Member, note.author_id)
    head = [f"Note {note.id}", local_full(note.created_at, zone), f"by {author.name if author else '?'}"]
    if note.private:
        head.append("🔒 private")
    if note.tags:
        head.append(" ".join(f"#{t}" for t in note.tags))
    if note.ticket:
        head.append(f"ticket {note.ticket}")
    if note.edited_at:
        head.append("edited")
    if note.acknowledged_at:
        head.append(f"✓ acknowledged {local_full(note.acknowledged_at, zone)}")
    return Section(" · ".join(head) + "\n" + _shown(note.text))


def delivery_reply(session: Session, note: CoachingNote, zone: str) -> Reply:
    """What the agent gets: the note, with Acknowledge until they have."""
    author = session.get(Member, note.author_id)
    blocks: list[Any] = [_note_block(session, note, zone)]
    if note.acknowledged_at is None and note.deleted_at is None:
        blocks.append(Actions((Button("Acknowledge", ACK_ACTION, json.dumps({"id": note.id}), "primary"),)))
    return Reply(title=f"A coaching note from {author.name if author else 'your lead'}", blocks=blocks, data={"note": note_json(session, note)})


# ------------------------------------------------------------- the Acknowledge button


def parse_ack(value: str) -> CoachRequest:
    return CoachRequest("ack", number=button_id(value)[0])


def _ackable(ctx: Context, number: int | None) -> CoachingNote:
    note = ctx.session.get(CoachingNote, number)
    if note is None or note.agent_id != ctx.member.id or note.private or note.deleted_at is not None:
        raise NotFound("There is no note to you with that number.")
    return note


def authorize_ack(ctx: Context, request: CoachRequest) -> None:
    _ackable(ctx, request.number)  # only the agent a note was shared with acknowledges it


def execute_ack(ctx: Context, request: CoachRequest) -> Reply:
    note = _ackable(ctx, request.number)
    notes.acknowledge(ctx.session, note, ctx.member, ctx.now)
    reply = delivery_reply(ctx.session, note, ctx.timezone)
    reply.replace_original = True
    return reply


def parse_text(words: list[str], raw: str) -> CoachRequest | SessionRequest | SummaryRequest:
    """As parse_coach, with the note's own text taken as typed where the raw text allows."""
    request = parse_coach(words)
    if not isinstance(request, CoachRequest) or request.verb not in ("note", "edit"):
        return request
    head, rest = (2, 2) if request.verb == "edit" else (1, 1)
    parts = raw.split(None, rest)
    if len(parts) <= head or [p.lower() for p in parts[:head]] != [w.lower() for w in words[:head]]:
        return request  # a quoted agent name: the words are what we have
    try:
        text = notes.check_text(_as_typed(parts[head], request))
    except notes.NoteError:
        return request
    return replace(request, text=text)


class CoachCommand:
    name = "coach"
    summary = "Coaching notes (shared or private), one-on-one sessions with action items, follow-ups, summaries"
    usage = USAGE
    examples = ("/coach @alice great save on the refund call #empathy ticket T-123", "/coach @alice missed the follow-up --private", "/coach history @alice 30d", "/coach mine")

    def parse(self, words: list[str]) -> CoachRequest:
        return parse_coach(words)

    def parse_text(self, words: list[str], raw: str) -> CoachRequest:
        return parse_text(words, raw)

    def authorize(self, ctx: Context, request: CoachRequest) -> None:
        authorize_coach(ctx, request)

    def execute(self, ctx: Context, request: CoachRequest) -> Reply:
        return execute_coach(ctx, request)


def register(router: Router) -> None:
    router.register(CoachCommand())
    router.register_action(Action(ACK_ACTION, parse_ack, authorize_ack, execute_ack))
    router.register_action(Action(DONE_ACTION, parse_done_button, authorize_session, execute_session))
    router.register_action(Action(SESSION_FORM, parse_session_form, authorize_session, execute_session))


__all__ = ["CoachCommand", "delivery_reply", "register"]
