"""`/coach session`, `/coach actions`, `/coach done`: structured one-on-ones, their action items, and the follow-up.

A session is recorded inline (`strengths=… opportunities=… actions="…;…"
follow_up=DATE`) or through a form; it is shared with the agent, who gets it
by direct message with a Done button per open action item. Who may record,
read and tick off what is `coaching.visibility`'s rule set, checked in
`authorize_session`; a refusal never reveals whether a session or item exists.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from coaching import qa_coaching, sessions
from coaching.models import CoachingAction, CoachingSession
from coaching.visibility import may_coach, oversees
from handlers.args import DAMAGED_BUTTON, UsageError, button_id, form_context, form_submission, number_word
from handlers.context import Context, FieldErrors, Forbidden, Invalid, NotFound
from handlers.escalation_views import local_full
from handlers.humanize import change, percent, with_sample
from handlers.kpi_lookup import find_member
from handlers.reply import Actions, Button, Form, FormField, Reply, Section, Table
from handlers.reply import Context as Note
from handlers.router import closest
from kpi import business_hours
from kpi.business_hours import Clock, label, on_clock, team_clock
from kpi.definitions import BY_NAME
from kpi.engine import Metrics
from store.local_time import local_date
from store.org import Member

DONE_ACTION, SESSION_FORM = "coach.done", "coach.session_form"
KEYS = {"strengths": "strengths", "opportunities": "opportunities", "actions": "actions", "follow_up": "follow_up", "follow-up": "follow_up", "followup": "follow_up"}
SESSION_USAGE = '/coach session @agent [strengths=… opportunities=… actions="item by YYYY-MM-DD; item" follow_up=YYYY-MM-DD|14d] (no fields: a form asks)'
# What "did it work?" compares: the figures a lead coaches on.
COMPARED = ("tickets_solved", "first_reply_median_s", "resolution_median_s", "csat", "reopen_rate", "sla_attainment", "qa_score")
_NAME = re.compile(r"[A-Za-z][A-Za-z_-]{2,}")  # a word that could be a part's name, before its =
MOST_BUTTONS = 5
MOST_LISTED = 5  # open items per agent when listing several agents


@dataclass(frozen=True)
class SessionRequest:
    verb: str  # session | actions | done
    agent: str | None = None
    fields: dict[str, str] = field(default_factory=dict)
    number: int | None = None
    form: bool = False  # from the form: problems go back to its fields
    button: bool = False
    keep: bool = False  # a Done button on a follow-up: answer beside it, keep the figures it shows


def _fields(words: list[str]) -> dict[str, str]:
    """key=value pairs; words without `=` continue the value before them (`strengths=clear writing`)."""
    found: dict[str, str] = {}
    key = None
    for word in words:
        name, eq, value = word.partition("=")
        if eq and name.lower() in KEYS:
            key = KEYS[name.lower()]
            if key in found:
                raise UsageError(f"{key} is given twice. {SESSION_USAGE}")
            found[key] = value
            continue
        # `stregths=…` is a part's name mistyped, never words of the part before it.
        near = closest(name, KEYS, n=1) if eq and _NAME.fullmatch(name) else []
        if near:
            raise UsageError(f"{name}= is not a part of a session. Did you mean {KEYS[near[0]]}=?\n{SESSION_USAGE}")
        if key is None:
            raise UsageError(f"Give the session's parts as key=value ({', '.join(sorted(set(KEYS.values())))}), got {word[:60]!r}.\n{SESSION_USAGE}")
        found[key] = f"{found[key]} {word}".strip()
    return found


def parse_session_words(verb: str, rest: list[str]) -> SessionRequest:
    """The words after `/coach` for `session`, `actions` and `done`."""
    if verb == "session":
        if len(rest) < 2:
            raise UsageError(SESSION_USAGE)
        return SessionRequest("session", agent=rest[1], fields=_fields(rest[2:]))
    if verb == "actions":
        if len(rest) > 2:
            raise UsageError("/coach actions [@agent]")
        return SessionRequest("actions", agent=rest[1] if len(rest) == 2 else None)
    if len(rest) != 2:
        raise UsageError("/coach done N — an action item's number (/coach actions shows them)")
    return SessionRequest("done", number=number_word(rest[1], "an action item's number; /coach actions shows them"))


# ---------------------------------------------------------------- who may do what


def _item(ctx: Context, number: int | None) -> tuple[CoachingAction, CoachingSession, Member]:
    """The action item, when the caller may tick it off (its agent, the session's author, whoever looks after the agent)."""
    item = ctx.session.get(CoachingAction, number) if number else None
    record = ctx.session.get(CoachingSession, item.session_id) if item else None
    agent = ctx.session.get(Member, item.agent_id) if item else None
    if item is None or record is None or agent is None or not sessions.may_see_session(ctx.member, agent, record):
        raise NotFound("There is no action item with that number that you can see: /coach actions lists yours.")
    return item, record, agent


def authorize_session(ctx: Context, request: SessionRequest) -> None:
    """The one place sessions and action items decide who may do what."""
    me = ctx.member
    if request.verb == "session":
        agent = find_member(ctx, request.agent or "")
        if not may_coach(me, agent):
            raise Forbidden(f"You hold coaching sessions with the agents you look after: {agent.name} is not one of them.")
    elif request.verb == "actions" and request.agent:
        agent = find_member(ctx, request.agent)
        wrote = ctx.session.scalar(select(CoachingSession.id).where(CoachingSession.author_id == me.id, CoachingSession.agent_id == agent.id).limit(1))
        if me.id != agent.id and not oversees(me, agent) and wrote is None:
            raise Forbidden(f"Action items agreed with {agent.name} are for {agent.name} and those who look after them.")
    elif request.verb == "done":
        _item(ctx, request.number)


# ---------------------------------------------------------------- recording a session


def session_form(agent: Member, tomorrow: str, *, opportunities: str = "", intro: str | None = None) -> Reply:
    """The session form; `opportunities` pre-fills what to work on (a QA review's shortfall, citing it)."""
    fields = (
        FormField("strengths", "Strengths: what went well", multiline=True, optional=True),
        FormField("opportunities", "Opportunities: what to work on", multiline=True, optional=True, initial=opportunities),
        FormField("actions", "Action items, one per line; end one with 'by YYYY-MM-DD' to give it its own due date", multiline=True, optional=True),
        FormField("follow_up", "Follow-up date (YYYY-MM-DD or 14d; tomorrow or later)", initial="14d", placeholder=tomorrow),
    )
    return Reply(
        title=f"Coaching session · {agent.name}",
        blocks=[Section(intro or f"Record the one-on-one with {agent.name}: it is shared with them, and on the follow-up date you both get a reminder with their KPIs since.")],
        form=Form("Coaching session", "Save session", SESSION_FORM, fields, context=json.dumps({"agent": agent.handle})),
    )


def parse_session_form(value: str) -> SessionRequest:
    context, values = form_submission(value)
    agent = form_context(context, "agent")["agent"]
    unknown = set(values) - set(KEYS.values())
    if unknown:
        raise UsageError(DAMAGED_BUTTON)
    if not values.get("follow_up", "").strip():
        raise FieldErrors({"follow_up": "Give a follow-up date: YYYY-MM-DD or a span like 14d."})
    return SessionRequest("session", agent=agent, fields={k: v for k, v in values.items()}, form=True)


def _record(ctx: Context, request: SessionRequest) -> Reply:
    agent = find_member(ctx, request.agent or "")
    today = local_date(ctx.now, ctx.timezone)
    if not request.fields:
        return session_form(agent, (today + timedelta(days=1)).isoformat())
    if not agent.active:
        raise Invalid(f"{agent.name} is no longer active.")
    got = request.fields
    problems: dict[str, str] = {}
    follow_up = None
    if "follow_up" not in got:
        problems["follow_up"] = "Give follow_up=YYYY-MM-DD (or a span like 14d): the day you both look again."
    else:
        try:
            follow_up = sessions.read_date(got["follow_up"], today, "The follow-up date")
        except sessions.SessionError as exc:
            problems["follow_up"] = str(exc)
        if follow_up is not None and follow_up <= today:
            problems["follow_up"] = "The follow-up reminder comes at 09:00 on that day, with the figures since today: give tomorrow or a later date."
            follow_up = None
    items: list[sessions.ActionItem] = []
    if follow_up is not None:
        try:
            items = sessions.read_actions(got.get("actions", ""), follow_up, today)
        except sessions.SessionError as exc:
            problems["actions"] = str(exc)
    if not problems:
        try:
            assert follow_up is not None
            record = sessions.create(
                ctx.session, ctx.member, agent, strengths=got.get("strengths", ""), opportunities=got.get("opportunities", ""), actions=items, follow_up=follow_up, now=ctx.now
            )
        except sessions.SessionError as exc:
            problems[exc.field] = str(exc)
    if problems:
        if request.form:
            raise FieldErrors(problems)
        raise UsageError("\n".join(problems.values()) + f"\n{SESSION_USAGE}")
    reply = session_reply(ctx.session, record, ctx.member, ctx.timezone)
    where = f"Shared with {agent.name}" + (", who gets it by direct message." if agent.slack_id or agent.teams_id else ", who has no Slack or Teams id: they see it with /coach mine.")
    reply.blocks.append(Note(f"{where} On {follow_up.isoformat()} at 09:00 (each in your own zone) you both get a reminder with {agent.name}'s KPIs since today."))
    return reply


# ---------------------------------------------------------------- showing one


def session_json(session: Session, record: CoachingSession) -> dict[str, Any]:
    author, agent = session.get(Member, record.author_id), session.get(Member, record.agent_id)
    return {
        "id": record.id,
        "author": author.handle if author else None,
        "agent": agent.handle if agent else None,
        "strengths": record.strengths,
        "opportunities": record.opportunities,
        "follow_up": record.follow_up.isoformat(),
        "created_at": record.created_at.isoformat(),
        "actions": [item_json(i) for i in sessions.items_of(session, record)],
    }


def item_json(item: CoachingAction | sessions.ItemRow) -> dict[str, Any]:
    return {"id": item.id, "session": item.session_id, "text": item.text, "due": item.due.isoformat(), "done_at": item.done_at.isoformat() if item.done_at else None}


def _clip(text: str, most: int = 1500) -> str:
    return text if len(text) <= most else f"{text[:most]}… ({len(text) - most:,} more characters)"


def _item_line(item: CoachingAction | sessions.ItemRow, zone: str, today: Any) -> str:
    if item.done_at:
        return f"✓ [{item.id}] {item.text} · done {local_full(item.done_at, zone)}"
    late = " · ⚠️ overdue" if item.due < today else ""
    return f"☐ [{item.id}] {item.text} · due {item.due.isoformat()}{late}"


def session_block(session: Session, record: CoachingSession, zone: str, now: datetime | None = None) -> Section:
    author = session.get(Member, record.author_id)
    today = local_date(now or record.created_at, zone)
    lines = [f"Session {record.id} · {local_full(record.created_at, zone)} · by {author.name if author else '?'} · follow-up {record.follow_up.isoformat()}"]
    if record.strengths:
        lines.append(f"Strengths: {_clip(record.strengths)}")
    if record.opportunities:
        lines.append(f"Opportunities: {_clip(record.opportunities)}")
    items = sessions.items_of(session, record)
    if items:
        lines.append("Action items:")
        lines += [_item_line(i, zone, today) for i in items]
    return Section("\n".join(lines))


def done_buttons(session: Session, record: CoachingSession, *, keep: bool = False) -> list[Actions]:
    open_items = [i for i in sessions.items_of(session, record) if i.done_at is None][:MOST_BUTTONS]
    if not open_items:
        return []
    value = (lambda i: json.dumps({"id": i.id, "keep": 1})) if keep else (lambda i: json.dumps({"id": i.id}))
    return [Actions(tuple(Button(f"Done: [{i.id}]", DONE_ACTION, value(i)) for i in open_items))]


def session_reply(session: Session, record: CoachingSession, viewer: Member, zone: str, now: datetime | None = None, *, keep: bool = False) -> Reply:
    agent = session.get(Member, record.agent_id)
    return Reply(
        title=f"Coaching session {record.id} · {agent.name if agent else '?'}",
        blocks=[session_block(session, record, zone, now), *done_buttons(session, record, keep=keep)],
        data={"session": session_json(session, record)},
    )


# ---------------------------------------------------------------- action items


def _actions(ctx: Context, request: SessionRequest) -> Reply:
    me = ctx.member
    listing = not request.agent and me.role != "agent"  # everyone the caller looks after: only those with items
    if request.agent:
        agents = [find_member(ctx, request.agent)]
    elif me.role == "agent":
        agents = [me]
    else:
        agents = [a for a in ctx.session.scalars(select(Member).where(Member.role == "agent", Member.active.is_(True)).order_by(Member.name)) if oversees(me, a)]
        wrote = select(CoachingSession.agent_id).where(CoachingSession.author_id == me.id)
        agents += [a for a in ctx.session.scalars(select(Member).where(Member.id.in_(wrote))) if a not in agents]
    # Only items of sessions the caller may see: an author who no longer looks
    # after the agent sees their own sessions' items, not the others'.
    done = sessions.visible_completion(ctx.session, me, agents)
    by_agent: dict[int, list[sessions.ItemRow]] = {}
    for item in sessions.visible_open_items(ctx.session, me, agents):
        by_agent.setdefault(item.agent_id, []).append(item)
    today = local_date(ctx.now, ctx.timezone)
    blocks: list[Any] = []
    data = []
    for agent in agents:
        mine = by_agent.get(agent.id, [])
        c = done[agent.id]
        if listing and not c.total:
            continue
        rate = f"{c.done} of {c.total} done ({c.rate:.0%})" if c.rate is not None else "no action items agreed yet"
        shown = mine if len(agents) == 1 else mine[:MOST_LISTED]  # the most urgent first
        lines = [f"{agent.name} · completion: {rate}"] + ([_item_line(i, ctx.timezone, today) for i in shown] or ["No open action items."])
        if len(shown) < len(mine):
            lines.append(f"… and {len(mine) - len(shown)} more: /coach actions @{agent.handle}")
        blocks.append(Section("\n".join(lines)))
        data.append({"agent": agent.handle, "open": [{**item_json(i), "overdue": i.due < today} for i in mine], "done": c.done, "total": c.total, "completion_rate": c.rate})
    if not blocks:
        blocks.append(Section("No action items agreed with anyone you look after."))
    blocks.append(Note("Tick one off: /coach done N (or its Done button). Completion: items done of all agreed with the agent."))
    return Reply(title="Open action items", blocks=blocks, data={"agents": data})


def _done(ctx: Context, request: SessionRequest) -> Reply:
    item, record, agent = _item(ctx, request.number)
    first = sessions.mark_done(ctx.session, item, ctx.member, ctx.now)
    reply = session_reply(ctx.session, record, ctx.member, ctx.timezone, ctx.now)
    if request.button and not request.keep:
        reply.replace_original = True
    else:
        reply.blocks.insert(0, Section(f"Action item {item.id} is done." if first else f"Action item {item.id} was already done."))
    reply.data["done"] = item.id
    return reply


def parse_done_button(value: str) -> SessionRequest:
    number, payload = button_id(value)
    return SessionRequest("done", number=number, button=True, keep=payload.get("keep") == 1)


def execute_session(ctx: Context, request: SessionRequest) -> Reply:
    if request.verb == "session":
        return _record(ctx, request)
    if request.verb == "actions":
        return _actions(ctx, request)
    return _done(ctx, request)


# ---------------------------------------------------------------- the follow-up reminder


def before_after_table(before: Metrics, after: Metrics, clock: Clock = "wall") -> Table:
    """The agent's figures before and since, first reply and resolution on `clock` (their team's, as on their card)."""
    before, after = on_clock(before, clock), on_clock(after, clock)
    rows = tuple(
        (
            label(name, clock),
            with_sample(name, before[name], before[BY_NAME[name].sample] if BY_NAME[name].sample else None, clock),  # type: ignore[arg-type]
            with_sample(name, after[name], after[BY_NAME[name].sample] if BY_NAME[name].sample else None, clock),  # type: ignore[arg-type]
            change(name, after[name], before[name], clock=clock),
        )
        for name in COMPARED
    )
    return Table(("Metric", "Before", "Since the session", "Change"), rows)


def followup_reply(session: Session, record: CoachingSession, reader: Member, zone: str, due: datetime) -> Reply:
    """The reminder on the follow-up date: the session, its action items, and the agent's KPIs since against before."""
    agent = session.get(Member, record.agent_id)
    reply = session_reply(session, record, reader, zone, due, keep=True)
    reply.title = f"Follow-up · coaching session {record.id} · {agent.name if agent else '?'}"
    intro = f"Today is the follow-up of your session of {local_full(record.created_at, zone)}."
    # The figures follow /kpi agent's rule: the agent, and whoever looks after them
    # now (an author who has since moved team gets the session, not the figures).
    if agent is None or not (reader.id == agent.id or oversees(reader, agent)):
        reply.blocks.insert(0, Section(intro))
        return reply
    start, until, before, after = sessions.before_after(session, record, due)
    whose = "your" if reader.id == agent.id else f"{agent.name}'s"
    reply.blocks.insert(0, Section(f"{intro} Did it work? Here are {whose} figures since, against the same span before it."))
    reply.blocks.insert(2, before_after_table(before, after, team_clock(business_hours.load(session), agent.team_id)))
    reply.blocks.insert(3, Note(f"Before: {local_full(start, zone)} – {local_full(record.created_at, zone)} · since: {local_full(record.created_at, zone)} – {local_full(until, zone)}"))
    reply.data["before"], reply.data["after"] = before, after
    _qa_since(session, record, start, until, zone, reply)
    return reply


def _qa_since(session: Session, record: CoachingSession, start: datetime, until: datetime, zone: str, reply: Reply) -> None:
    """For a session citing QA reviews: the agent's QA score since the session against the same span before, each with its n."""
    texts = [record.strengths, record.opportunities, *(i.text for i in sessions.items_of(session, record))]
    cited = qa_coaching.cited_reviews(session, record.agent_id, texts)
    if not cited:
        return
    before = qa_coaching.qa_between(session, record.agent_id, start, record.created_at)
    since = qa_coaching.qa_between(session, record.agent_id, record.created_at, until)

    def shown(span: qa_coaching.QaSpan) -> str:
        return f"{percent(span.mean)} (n={span.n})" if span.mean is not None else "no scored reviews (n=0)"

    moved = f", {(since.mean - before.mean) * 100:+.1f} points" if since.mean is not None and before.mean is not None else ""
    reviews = ", ".join(f"review {r.id} ({r.ticket})" for r in cited)
    reply.blocks.insert(4, Section(f"QA since the session: {shown(since)}, against {shown(before)} before{moved}. The session cites {reviews}."))
    reply.data["qa"] = {"cited": [r.id for r in cited], "before": {"score": before.mean, "n": before.n}, "since": {"score": since.mean, "n": since.n}}
