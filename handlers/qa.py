"""`/qa`: score a ticket against the rubric, show a review, dispute it, settle the dispute, list open disputes.

Reviews follow coaching's privacy rules (`coaching.visibility`): the agent
sees their own (without the reviewer's name when the rubric says
`hide_reviewer`), those who look after the agent see theirs, the reviewer
sees what they wrote. Every answer is private.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from coaching import qa
from coaching.models import QaDispute, QaReview
from coaching.rubric import RubricError, categories_text, rubric_of
from coaching.visibility import may_coach, may_see, oversees
from handlers.args import DAMAGED_BUTTON, UsageError, button_id, form_context, form_number, form_submission, number_word, parse_args
from handlers.context import Context, FieldErrors, Forbidden, Invalid, NotFound
from handlers.escalate import parse_ticket
from handlers.escalation_views import local_full
from handlers.humanize import percent
from handlers.kpi_lookup import find_member, find_team
from handlers.reply import Actions, Button, Field, Fields, Form, FormField, Reply, Section, Table
from handlers.reply import Context as Note
from handlers.qa_calibration import (
    CALIBRATE_USAGE,
    SCORE_BUTTON,
    SCORE_FORM,
    CalibrationRequest,
    authorize_calibration,
    execute_calibration,
    parse_calibration,
    parse_score_button,
    parse_score_form,
)
from handlers.router import Action, Router
from store.org import Member
from store.qa_rubrics import QaRubricVersion, current

DISPUTE_ACTION, DISPUTE_FORM, REVIEW_FORM = "qa.dispute", "qa.dispute_form", "qa.review_form"
PRIVATE_ONLY = "QA reviews are between an agent and those who look after them: answers are never shared in a channel, so --share is refused."
NOT_SET_UP = "QA is not set up: an admin adds a rubric under `qa:` in the organisation file."


@dataclass(frozen=True)
class QaRequest:
    verb: str  # review | show | dispute | resolve | disputes
    agent: str | None = None
    ticket: str | None = None
    scores: dict[str, str] = field(default_factory=dict)
    comment: str = ""
    number: int | None = None
    outcome: str | None = None
    team: str | None = None
    comments: dict[str, str] = field(default_factory=dict)


USAGE = (
    "/qa @agent TICKET [key=value …] [-- COMMENT…] — score a ticket against the rubric (no scores: a form asks)\n"
    "/qa show N — a review\n"
    "/qa dispute N COMMENT… [key=value …] — dispute your review (once), with the scores you propose if you like\n"
    "/qa resolve N accepted|partial|rejected [key=value …] [-- NOTE…] — settle a dispute (the reviewer or the agent's lead); the review is then locked\n"
    "/qa disputes [TEAM] — open disputes you can settle\n"
    f"{CALIBRATE_USAGE}"
)


def _number(word: str) -> int:
    return number_word(word, "a review number; /qa disputes and the review's message show them")


def _split(words: list[str]) -> tuple[dict[str, str], list[str], str]:
    """`key=value` pairs, the other words, and what follows `--` (a comment)."""
    if "--" in words:
        cut = words.index("--")
        words, comment = words[:cut], " ".join(words[cut + 1 :]).strip()
    else:
        comment = ""
    pairs: dict[str, str] = {}
    rest: list[str] = []
    for word in words:
        key, eq, value = word.partition("=")
        if eq and key and value:
            if key.lower() in pairs:
                raise UsageError(f"{key} is scored twice.")
            pairs[key.lower()] = value
        elif eq:
            raise UsageError(f"{word!r}: write a score as category=value, e.g. tone=4 or policy=na.")
        else:
            rest.append(word)
    return pairs, rest, comment


def parse_qa(words: list[str]) -> QaRequest | CalibrationRequest:
    # What follows `--` is a comment, flags and all ("asked to --share it").
    cut = words.index("--") if "--" in words else len(words)
    args = parse_args(words[:cut], switches=frozenset({"share"}), options=frozenset({"by"}))
    if args.flag("share"):
        raise UsageError(PRIVATE_ONLY)
    rest = list(args.words) + words[cut:]
    if not rest:
        raise UsageError("Say whose ticket you review: /qa @agent T-123 accuracy=2 tone=4 policy=pass")
    verb = rest[0].lower()
    by = args.option("by")
    if verb in ("calibrate", "calibration", "calibrations"):
        pairs, text, comment = _split(rest[1:]) if verb == "calibration" else ({}, rest[1:], "")
        number = _number(text[0]) if verb == "calibration" and text else None
        return parse_calibration(verb, [rest[0], *text], by, pairs, comment, number)
    if by:
        raise UsageError("--by sets a calibration's deadline: /qa calibrate TICKET @reviewer … --by YYYY-MM-DD")
    if verb == "show":
        if len(rest) != 2:
            raise UsageError("/qa show N")
        return QaRequest("show", number=_number(rest[1]))
    if verb == "disputes":
        if len(rest) > 2:
            raise UsageError("/qa disputes [TEAM]")
        return QaRequest("disputes", team=rest[1] if len(rest) == 2 else None)
    if verb == "dispute":
        if len(rest) < 3 and "--" not in rest:
            raise UsageError("/qa dispute N COMMENT… [key=value …]: a dispute needs a comment.")
        pairs, text, comment = _split(rest[2:])
        return QaRequest("dispute", number=_number(rest[1]), scores=pairs, comment=" ".join([*text, comment]).strip())
    if verb == "resolve":
        if len(rest) < 3 or rest[2].lower() not in qa.OUTCOMES:
            raise UsageError("/qa resolve N accepted|partial|rejected [key=value …] [-- NOTE…]")
        pairs, text, comment = _split(rest[3:])
        if text:
            raise UsageError(f"Unexpected {' '.join(text)!r}: scores are key=value, and a note goes after --.")
        return QaRequest("resolve", number=_number(rest[1]), outcome=rest[2].lower(), scores=pairs, comment=comment)
    if len(rest) < 2:
        raise UsageError("Name the ticket: /qa @agent T-123 [key=value …]")
    if parse_ticket(rest[1]) is None:
        raise UsageError(f"{rest[1]!r} is not a ticket reference: #12345, T-123 or the ticket's URL.")
    pairs, text, comment = _split(rest[2:])
    if text:
        raise UsageError(f"Unexpected {' '.join(text)!r}: scores are key=value (e.g. tone=4), and a comment goes after --.")
    return QaRequest("review", agent=rest[0], ticket=rest[1], scores=pairs, comment=comment)


def _rubric(ctx: Context) -> QaRubricVersion:
    version = current(ctx.session)
    if version is None:
        raise Invalid(NOT_SET_UP)
    return version


def _review(ctx: Context, number: int | None) -> QaReview:
    review = ctx.session.get(QaReview, number) if number else None
    agent = ctx.session.get(Member, review.agent_id) if review else None
    # The same answer whether the review does not exist or is not the caller's to see.
    if review is None or agent is None or not may_see(ctx.member, agent, author_id=review.reviewer_id):
        raise NotFound(f"There is no review {number} you can see.")
    return review


def authorize_qa(ctx: Context, request: QaRequest | CalibrationRequest) -> None:
    """The one place /qa decides who may do what."""
    if isinstance(request, CalibrationRequest):
        return authorize_calibration(ctx, request)
    me = ctx.member
    if request.verb == "review":
        agent = find_member(ctx, request.agent or "")
        if not may_coach(me, agent):
            raise Forbidden(f"You review the agents you look after: {agent.name} is not one of them (and never yourself).")
    elif request.verb == "dispute":
        review = _review(ctx, request.number)
        if review.agent_id != me.id:
            raise Forbidden("Only the agent a review is about may dispute it.")
    elif request.verb == "resolve":
        review = _review(ctx, request.number)
        agent = ctx.session.get(Member, review.agent_id)
        if me.id != review.reviewer_id and not (agent is not None and oversees(me, agent)):
            raise Forbidden("A dispute is settled by the reviewer or by whoever looks after the agent.")
    elif request.verb == "disputes":
        ctx.require_role("lead", "list open disputes")


def execute_qa(ctx: Context, request: QaRequest | CalibrationRequest) -> Reply:
    if isinstance(request, CalibrationRequest):
        return execute_calibration(ctx, request)
    if request.verb == "review":
        return _create(ctx, request)
    if request.verb == "disputes":
        return _disputes(ctx, request.team)
    review = _review(ctx, request.number)
    if request.verb == "show":
        return review_reply(ctx.session, review, ctx.member, ctx.timezone)
    try:
        if request.verb == "dispute":
            qa.dispute(ctx.session, review, ctx.member, request.comment, request.scores or None, ctx.now)
            done = "Disputed: the reviewer and your lead are told; the review is settled by one of them."
        else:
            qa.settle(ctx.session, review, ctx.member, request.outcome or "", request.scores or None, request.comment, ctx.now)
            done = f"Settled ({request.outcome}); the review is locked and the agent is told."
    except (qa.QaError, RubricError) as exc:
        raise Invalid(str(exc)) from None
    reply = review_reply(ctx.session, review, ctx.member, ctx.timezone)
    reply.blocks.insert(0, Section(done))
    return reply


def _create(ctx: Context, request: QaRequest) -> Reply:
    version = _rubric(ctx)
    agent = find_member(ctx, request.agent or "")
    ref = parse_ticket(request.ticket or "")
    assert ref is not None
    if not request.scores:
        return _review_form(version, agent, ref.shown)
    if len(request.comment) > qa.MAX_COMMENT:
        raise Invalid(f"The comment is {len(request.comment):,} characters long; at most {qa.MAX_COMMENT:,}.")
    comments = {**request.comments, **({"": request.comment} if request.comment else {})}
    try:
        review = qa.create(ctx.session, ctx.member, agent, version, request.scores, ticket=ref.shown, ticket_url=ref.url, comments=comments, now=ctx.now)
    except RubricError as exc:
        raise Invalid(f"{exc}\nScore each of: {categories_text(rubric_of(version).categories)}; na where it does not apply.") from None
    except qa.QaError as exc:
        raise Invalid(str(exc)) from None
    reply = review_reply(ctx.session, review, ctx.member, ctx.timezone)
    reply.blocks.insert(0, Section(f"Review {review.id} saved; {agent.name} is told, and may dispute it."))
    return reply


def _review_form(version: QaRubricVersion, agent: Member, ticket: str) -> Reply:
    rubric = rubric_of(version)
    fields = []
    for c in rubric.categories:
        fields.append(FormField(c.key, f"{c.name} ({c.scale.text}{', critical' if c.critical else ''}{', or na' if c.na_allowed else ''})"))
        fields.append(FormField(f"{c.key}_comment", f"{c.name}: comment", optional=True))
    fields.append(FormField("comment", "Comment on the review", multiline=True, optional=True))
    context = json.dumps({"agent": agent.handle, "ticket": ticket})
    return Reply(
        title=f"QA review · {agent.name} · {ticket}",
        blocks=[Section(f"Score {ticket} against rubric v{version.version}.")],
        form=Form(f"QA review of {ticket}", "Save review", REVIEW_FORM, tuple(fields), context=context),
    )


def parse_review_form(value: str) -> QaRequest:
    context, values = form_submission(value)
    agent, ticket = form_context(context, "agent", "ticket").values()
    scores = {k: v.strip() for k, v in values.items() if not k.endswith("_comment") and k != "comment"}
    empty = [k for k, v in scores.items() if not v]
    if empty:
        raise FieldErrors({k: "Score it, or write na where it does not apply." for k in empty})
    comments = {k.removesuffix("_comment"): v.strip() for k, v in values.items() if k.endswith("_comment") and v.strip()}
    if parse_ticket(ticket) is None:
        raise UsageError(DAMAGED_BUTTON)
    return QaRequest("review", agent=agent, ticket=ticket, scores=scores, comment=values.get("comment", "").strip(), comments=comments)


def execute_review_form(ctx: Context, request: QaRequest) -> Reply:
    try:
        return execute_qa(ctx, request)
    except Invalid as exc:
        lines = str(exc).splitlines()
        errors = {line.split(":", 1)[0].strip(): line for line in lines if ":" in line and line.split(":", 1)[0].strip() in request.scores}
        if errors:
            raise FieldErrors(errors) from None
        raise


def review_json(session: Session, review: QaReview, viewer: Member) -> dict[str, Any]:
    agent, reviewer = session.get(Member, review.agent_id), session.get(Member, review.reviewer_id)
    hidden = viewer.id == review.agent_id and qa.rubric_for(session, review).hide_reviewer
    return {
        "id": review.id,
        "agent": agent.handle if agent else None,
        "reviewer": None if hidden or reviewer is None else reviewer.handle,
        "ticket": review.ticket,
        "rubric_version": review.rubric_version,
        "scores": dict(review.scores),
        "score": review.score,
        "passed": review.passed,
        "state": review.state,
        "created_at": review.created_at.isoformat(),
    }


def review_reply(session: Session, review: QaReview, viewer: Member, zone: str, *, dispute_button: bool = False) -> Reply:
    data = review_json(session, review, viewer)
    rubric = qa.rubric_for(session, review)
    agent = session.get(Member, review.agent_id)
    rows = []
    for c in rubric.categories:
        value = review.scores.get(c.key, "na")
        shown = "na" if value == "na" else ("pass" if value else "fail") if c.scale.text == "pass-fail" else f"{value} of {c.scale.text}"
        rows.append((c.name, shown, review.comments.get(c.key, "")))
    result = "no score (every category na)" if review.score is None else f"{percent(review.score)} · {'passed' if review.passed else 'did not pass'} (pass {percent(float(rubric.pass_mark))})"
    fields = [Field("Agent", agent.name if agent else "?"), Field("Ticket", review.ticket), Field("Result", result), Field("State", review.state)]
    if data["reviewer"]:
        reviewer = session.get(Member, review.reviewer_id)
        fields.insert(1, Field("Reviewer", reviewer.name if reviewer else "?"))
    blocks: list[Any] = [Fields(tuple(fields)), Table(("Category", "Score", "Comment"), tuple(rows))]
    if review.comments.get(""):
        blocks.append(Section(review.comments[""]))
    record = session.scalar(select(QaDispute).where(QaDispute.review_id == review.id))
    if record is not None:
        line = f"Disputed {local_full(record.created_at, zone)}: {record.comment}"
        if record.outcome:
            line += f"\nSettled {record.outcome} {local_full(record.resolved_at, zone)}" + (f": {record.note}" if record.note else "")
        blocks.append(Section(line))
    if dispute_button and review.state == "open":
        blocks.append(Actions((Button("Dispute", DISPUTE_ACTION, json.dumps({"id": review.id})),)))
    blocks.append(Note(f"Rubric v{review.rubric_version}; times in {zone}."))
    return Reply(title=f"QA review {review.id} · {review.ticket}", blocks=blocks, data={"review": data})


def _disputes(ctx: Context, team_text: str | None) -> Reply:
    team = find_team(ctx, team_text, command="/qa disputes") if team_text else None
    rows = []
    data = []
    for record, review in ctx.session.execute(
        select(QaDispute, QaReview).join(QaReview, QaReview.id == QaDispute.review_id).where(QaDispute.resolved_at.is_(None)).order_by(QaDispute.created_at)
    ).all():
        agent = ctx.session.get(Member, review.agent_id)
        if agent is None or (team is not None and agent.team_id != team.id):
            continue
        if ctx.member.id != review.reviewer_id and not oversees(ctx.member, agent):
            continue
        rows.append((str(review.id), agent.name, review.ticket, local_full(record.created_at, ctx.timezone), record.comment[:200]))
        data.append({"review": review.id, "agent": agent.handle, "ticket": review.ticket, "comment": record.comment})
    blocks: list[Any] = [Table(("Review", "Agent", "Ticket", "Disputed", "Comment"), tuple(rows))] if rows else [Section("No open disputes you can settle.")]
    return Reply(title="Open QA disputes" + (f" · {team.name}" if team else ""), blocks=blocks, data={"disputes": data})


# ------------------------------------------------------------- the Dispute button and its form


def parse_dispute_button(value: str) -> QaRequest:
    return QaRequest("dispute", number=button_id(value)[0])


def execute_dispute_button(ctx: Context, request: QaRequest) -> Reply:
    review = _review(ctx, request.number)
    if review.state != "open":
        raise Invalid(f"Review {review.id} is {review.state}: it can be disputed once, while it is open.")
    rubric = qa.rubric_for(ctx.session, review)
    fields = [FormField("comment", "Why do you dispute it?", multiline=True)]
    fields += [FormField(c.key, f"{c.name}: the score you propose ({c.scale.text})", optional=True) for c in rubric.categories]
    return Reply(title=f"Dispute review {review.id}", form=Form(f"Dispute review {review.id}", "Dispute", DISPUTE_FORM, tuple(fields), context=str(review.id)))


def parse_dispute_form(value: str) -> QaRequest:
    context, values = form_submission(value)
    number = form_number(context)
    comment = values.get("comment", "").strip()
    if not comment:
        raise FieldErrors({"comment": "A dispute needs a comment: say what you think is wrong."})
    proposed = {k: v.strip() for k, v in values.items() if k != "comment" and v.strip()}
    return QaRequest("dispute", number=number, scores=proposed, comment=comment)


class QaCommand:
    name = "qa"
    summary = "QA reviews against the rubric, disputes, and blind calibration of reviewers"
    usage = USAGE
    examples = ("/qa @alice T-123 accuracy=2 tone=4 policy=pass -- clear and kind", "/qa @alice T-123", "/qa dispute 7 the refund policy allows this", "/qa resolve 7 partial tone=5")

    def parse(self, words: list[str]) -> QaRequest | CalibrationRequest:
        return parse_qa(words)

    def authorize(self, ctx: Context, request: QaRequest) -> None:
        authorize_qa(ctx, request)

    def execute(self, ctx: Context, request: QaRequest) -> Reply:
        return execute_qa(ctx, request)


def register(router: Router) -> None:
    router.register(QaCommand())
    router.register_action(Action(REVIEW_FORM, parse_review_form, authorize_qa, execute_review_form))
    router.register_action(Action(DISPUTE_ACTION, parse_dispute_button, authorize_qa, execute_dispute_button, once_per_click=False))
    router.register_action(Action(DISPUTE_FORM, parse_dispute_form, authorize_qa, execute_qa))
    router.register_action(Action(SCORE_BUTTON, parse_score_button, authorize_calibration, execute_calibration))
    router.register_action(Action(SCORE_FORM, parse_score_form, authorize_calibration, execute_calibration))


__all__ = ["QaCommand", "register", "review_reply"]
