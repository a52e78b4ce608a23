"""`/qa calibrate`, `/qa calibration`, `/qa calibrations`: blind calibration of reviewers on one ticket.

Leads and above start one; each reviewer scores blind (typed, or through the
rubric form from the Score button); until all have scored or the deadline
passes nobody sees another's scores, not even whoever started it. Then
everyone sees the per-category spread. A calibration is seen only by its
reviewers, whoever started it, and admins; a refusal does not reveal
whether it exists.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from coaching import calibration
from coaching.models import QaCalibration, QaCalibrationScore
from coaching.qa import QaError
from coaching.rubric import RubricError, categories_text, shown
from coaching.sessions import SessionError, read_date
from handlers.args import UsageError, button_id, form_number, form_submission
from handlers.context import Context, FieldErrors, Invalid, NotFound
from handlers.escalate import parse_ticket
from handlers.escalation_views import local_full
from handlers.humanize import percent
from handlers.kpi_lookup import find_member
from handlers.qa_scores import problems_text
from handlers.reply import Actions, Button, Form, FormField, Reply, Section, Table
from handlers.reply import Context as Note
from store.local_time import at_local, local_date
from store.org import Member
from store.qa_rubrics import current

SCORE_BUTTON, SCORE_FORM = "qa.calibration", "qa.calibration_form"
CALIBRATE_USAGE = (
    "/qa calibrate TICKET @reviewer @reviewer … [--by YYYY-MM-DD] — several reviewers score one ticket blind (leads and above; default deadline 7 days)\n"
    "/qa calibration N [key=value …] [-- COMMENT…] — see a calibration, or give your blind score · /qa calibrations — yours"
)


@dataclass(frozen=True)
class CalibrationRequest:
    verb: str  # calibrate | calibration | calibrations
    ticket: str | None = None
    reviewers: tuple[str, ...] = ()
    by: str | None = None
    number: int | None = None
    scores: dict[str, str] = field(default_factory=dict)
    comment: str = ""
    comments: dict[str, str] = field(default_factory=dict)
    form: bool = False
    ask_form: bool = False


def parse_calibration(verb: str, rest: list[str], by: str | None, pairs: dict[str, str], comment: str, number: int | None) -> CalibrationRequest:
    if verb == "calibrate":
        if len(rest) < 2 or parse_ticket(rest[1]) is None:
            raise UsageError(CALIBRATE_USAGE)
        if len(rest) < 4:
            raise UsageError(f"Name at least {calibration.MIN_REVIEWERS} reviewers.\n{CALIBRATE_USAGE}")
        return CalibrationRequest("calibrate", ticket=rest[1], reviewers=tuple(rest[2:]), by=by)
    if by is not None:
        raise UsageError("--by sets a calibration's deadline: /qa calibrate TICKET @reviewer … --by YYYY-MM-DD")
    if verb == "calibrations":
        if len(rest) != 1:
            raise UsageError("/qa calibrations")
        return CalibrationRequest("calibrations")
    if number is None or len(rest) != 2:
        raise UsageError(CALIBRATE_USAGE)
    if comment and not pairs:
        raise UsageError("A comment comes with your scores: /qa calibration N accuracy=2 tone=4 -- COMMENT")
    return CalibrationRequest("calibration", number=number, scores=pairs, comment=comment)


def _visible(ctx: Context, number: int | None) -> QaCalibration:
    record = ctx.session.get(QaCalibration, number) if number else None
    if record is None or not (ctx.member.role == "admin" or record.created_by == ctx.member.id or calibration.entry_of(ctx.session, record, ctx.member) is not None):
        raise NotFound(f"There is no calibration {number} you take part in.")
    return record


def authorize_calibration(ctx: Context, request: CalibrationRequest) -> None:
    """The one place calibrations decide who may do what."""
    if request.verb == "calibrate":
        ctx.require_role("lead", "start a calibration")
        for handle in request.reviewers:
            find_member(ctx, handle)
    elif request.verb == "calibration":
        record = _visible(ctx, request.number)
        if (request.scores or request.form or request.ask_form) and calibration.entry_of(ctx.session, record, ctx.member) is None:
            raise NotFound(f"There is no calibration {request.number} for you to score.")


def execute_calibration(ctx: Context, request: CalibrationRequest) -> Reply:
    if request.verb == "calibrate":
        return _start(ctx, request)
    if request.verb == "calibrations":
        return _list(ctx)
    record = _visible(ctx, request.number)
    if record.revealed_at is None and ctx.now >= record.deadline:
        calibration.reveal(ctx.session, record, ctx.now)  # the deadline passed before the sweep came by
    if request.ask_form:
        if record.revealed_at is not None:
            raise Invalid(f"Calibration {record.id} is closed: its scores were revealed.")
        return _form(ctx.session, record)
    if request.scores:
        return _score(ctx, record, request)
    return calibration_reply(ctx.session, record, ctx.member, ctx.timezone, ctx.now)


def _start(ctx: Context, request: CalibrationRequest) -> Reply:
    version = current(ctx.session)
    if version is None:
        raise Invalid("QA is not set up: an admin adds a rubric under `qa:` in the organisation file.")
    ref = parse_ticket(request.ticket or "")
    assert ref is not None
    reviewers = [find_member(ctx, h) for h in request.reviewers]
    inactive = [r.name for r in reviewers if not r.active]
    if inactive:
        raise Invalid(f"No longer active: {', '.join(inactive)}.")
    if request.by:
        try:
            day = read_date(request.by, local_date(ctx.now, ctx.timezone), "The deadline")
        except SessionError as exc:
            raise UsageError(str(exc)) from None
        deadline = at_local(day + timedelta(days=1), "00:00", ctx.timezone)  # the end of that day, in the caller's zone
    else:
        deadline = ctx.now + calibration.DEFAULT_SPAN
    try:
        record = calibration.start(ctx.session, ctx.member, reviewers, version, ticket=ref.shown, ticket_url=ref.url, deadline=deadline, now=ctx.now)
    except calibration.CalibrationError as exc:
        raise UsageError(f"{exc}\n{CALIBRATE_USAGE}") from None
    reply = calibration_reply(ctx.session, record, ctx.member, ctx.timezone, ctx.now)
    reply.blocks.insert(0, Section(f"Calibration {record.id} started: each reviewer is asked to score {record.ticket} blind by {local_full(deadline, ctx.timezone)}."))
    return reply


def _score(ctx: Context, record: QaCalibration, request: CalibrationRequest) -> Reply:
    comments = {**request.comments, **({"": request.comment} if request.comment else {})}
    try:
        revealed = calibration.submit(ctx.session, record, ctx.member, request.scores, comments, ctx.now)
    except RubricError as exc:
        told = problems_text(exc)
        if request.form:
            raise FieldErrors({line.split(":", 1)[0].strip(): line for line in told.splitlines() if ":" in line} or {"": told}) from None
        raise Invalid(f"{told}\nScore each of: {categories_text(calibration.rubric_for(ctx.session, record).categories)}; na where it does not apply.") from None
    except (calibration.CalibrationError, QaError) as exc:
        raise Invalid(str(exc)) from None
    reply = calibration_reply(ctx.session, record, ctx.member, ctx.timezone, ctx.now)
    reply.blocks.insert(0, Section("Scored. Everyone has now scored: here is the spread." if revealed else "Scored blind. You see the others' scores once all have scored or the deadline passes."))
    return reply


def _list(ctx: Context) -> Reply:
    mine = select(QaCalibrationScore.calibration_id).where(QaCalibrationScore.reviewer_id == ctx.member.id)
    found = ctx.session.scalars(select(QaCalibration).where(or_(QaCalibration.id.in_(mine), QaCalibration.created_by == ctx.member.id)).order_by(QaCalibration.id.desc()).limit(50)).all()
    lines = [_status_line(ctx.session, c, ctx.member, ctx.timezone) for c in found]
    return Reply(title="Your calibrations", blocks=[Section("\n".join(lines) if lines else "You take part in no calibration.")], data={"calibrations": [c.id for c in found]})


def _status_line(session: Session, record: QaCalibration, viewer: Member, zone: str) -> str:
    done = calibration.entries(session, record)
    scored = sum(1 for e in done if e.scored_at)
    state = "revealed" if record.revealed_at else f"{scored} of {len(done)} scored · closes {local_full(record.deadline, zone)}"
    mine = next((e for e in done if e.reviewer_id == viewer.id), None)
    todo = " · ⏳ your score is awaited" if mine is not None and mine.scored_at is None and record.revealed_at is None else ""
    return f"Calibration {record.id} · {record.ticket} · {state}{todo}"


def clip(text: str, most: int) -> str:
    return text if len(text) <= most else f"{text[:most]}…"


def calibration_json(session: Session, record: QaCalibration, viewer: Member) -> dict[str, Any]:
    found = calibration.entries(session, record)
    people = {e.reviewer_id: session.get(Member, e.reviewer_id) for e in found}
    mine = next((e for e in found if e.reviewer_id == viewer.id), None)
    return {
        "id": record.id,
        "ticket": record.ticket,
        "rubric_version": record.rubric_version,
        "deadline": record.deadline.isoformat(),
        "revealed": record.revealed_at is not None,
        "reviewers": [{"reviewer": people[e.reviewer_id].handle if people[e.reviewer_id] else None, "scored": e.scored_at is not None} for e in found],
        "mine": dict(mine.scores) if mine is not None and mine.scores is not None else None,
        # Blind until revealed: nobody's scores but your own.
        "scores": {
            people[e.reviewer_id].handle: {"scores": dict(e.scores), "score": e.score, "comment": e.comments.get("", "")}
            for e in found
            if e.scores is not None and people[e.reviewer_id]
        }
        if record.revealed_at
        else None,
        "spread": [{"key": s.key, "values": s.values, "spread": s.spread} for s in calibration.spreads(session, record)] if record.revealed_at else None,
    }


def calibration_reply(session: Session, record: QaCalibration, viewer: Member, zone: str, now: datetime | None = None) -> Reply:
    data = calibration_json(session, record, viewer)
    blocks: list[Any] = [Section(_status_line(session, record, viewer, zone))]
    entry = calibration.entry_of(session, record, viewer)
    if record.revealed_at is None:
        who = ", ".join(f"{r['reviewer']} {'✓' if r['scored'] else '…'}" for r in data["reviewers"])
        blocks.append(Section(f"Reviewers: {who}"))
        if data["mine"] is not None:
            rubric = calibration.rubric_for(session, record)
            blocks.append(Section("Your scores: " + " · ".join(f"{c.key}={shown(c, data['mine'][c.key])}" for c in rubric.categories if c.key in data["mine"])))
        elif entry is not None and record.deadline > (now or record.created_at):
            blocks.append(Actions((Button("Score it", SCORE_BUTTON, json.dumps({"id": record.id}), "primary"),)))
        blocks.append(Note("Blind: nobody sees another's scores until all have scored or the deadline passes."))
    else:
        handles = list(data["scores"] or {})
        rubric = calibration.rubric_for(session, record)
        rows = [
            (c.name, *(shown(c, s.values[h]) if h in s.values else "—" for h in handles), percent(s.spread) if s.spread is not None else "—")
            for c, s in zip(rubric.categories, calibration.spreads(session, record), strict=True)
        ]
        rows.append(("Score", *(percent(data["scores"][h]["score"]) if data["scores"][h]["score"] is not None else "—" for h in handles), ""))
        blocks.append(Table(("Category", *handles, "Spread"), tuple(rows)))
        said = [f"{h}: {clip(data['scores'][h]['comment'], 300)}" for h in handles if data["scores"][h]["comment"]]
        if said:
            blocks.append(Section("Comments\n" + "\n".join(said)))
        missing = [r["reviewer"] for r in data["reviewers"] if not r["scored"]]
        if missing:
            blocks.append(Note(f"Did not score before the deadline: {', '.join(m or '?' for m in missing)}."))
        blocks.append(Note("Spread: the range of the scores given, as a share of the category's scale. Calibration scores never count in KPIs."))
    return Reply(title=f"QA calibration {record.id} · {record.ticket}", blocks=blocks, data={"calibration": data})


# ---------------------------------------------------------------- the Score button and its form


def _form(session: Session, record: QaCalibration) -> Reply:
    rubric = calibration.rubric_for(session, record)
    fields = []
    for c in rubric.categories:
        fields.append(FormField(c.key, f"{c.name} ({c.scale.text}{', critical' if c.critical else ''}{', or na' if c.na_allowed else ''})"))
    fields.append(FormField("comment", "Comment", multiline=True, optional=True))
    return Reply(title=f"Calibration {record.id} · {record.ticket}", form=Form(f"Calibrate {record.ticket}"[:24], "Score blind", SCORE_FORM, tuple(fields), context=str(record.id)))


def parse_score_button(value: str) -> CalibrationRequest:
    return CalibrationRequest("calibration", number=button_id(value)[0], ask_form=True)


def parse_score_form(value: str) -> CalibrationRequest:
    context, values = form_submission(value)
    number = form_number(context)
    scores = {k: v.strip() for k, v in values.items() if k != "comment"}
    empty = [k for k, v in scores.items() if not v]
    if empty or not scores:
        raise FieldErrors({k: "Score it, or write na where it does not apply." for k in empty} or {"comment": "Score the categories."})
    return CalibrationRequest("calibration", number=number, scores=scores, comment=values.get("comment", "").strip(), form=True)
