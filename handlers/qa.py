"""`/qa`: score a ticket against the rubric, show a review, dispute it, settle the dispute, list open disputes.

Reviews follow coaching's privacy rules (`coaching.visibility`): the agent
sees their own (without the reviewer's name when the rubric says
`hide_reviewer`), those who look after the agent see theirs, the reviewer
sees what they wrote. Every answer is private.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from coaching import qa
from coaching.models import QaDispute, QaReview
from coaching.rubric import Rubric, RubricError, categories_text, rubric_of, shown
from coaching.visibility import may_coach, may_see, oversees
from handlers.args import DAMAGED_BUTTON, UsageError, button_id, form_context, form_number, form_submission, number_word, parse_args
from handlers.context import Context, FieldErrors, Forbidden, Invalid, NotFound
from handlers.escalate import parse_ticket
from handlers.escalation_views import local_full
from handlers.humanize import percent
from handlers.kpi_lookup import find_member, find_team
from handlers.qa_coaching import COACH_ACTION, authorize_coach_button, coaching_offer, execute_coach_button, parse_coach_button
from handlers.qa_scores import change_text, problems_text
from handlers.qa_trend import TREND_USAGE, TrendRequest, authorize_trend, execute_trend, parse_trend
from handlers.qa_views import DISPUTE_ACTION, DISPUTE_COLUMNS, dispute_row, proposal_text, review_reply, settlement
from handlers.reply import Form, FormField, Reply, Section, Table
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
from handlers.qa_consistency import REPORT_USAGE, ReportRequest, authorize_report, execute_report, parse_report
from handlers.qa_queue import (
    QUEUE_USAGE,
    REVIEW_ACTION,
    QueueRequest,
    assigned_to,
    authorize_queue,
    authorize_review_button,
    execute_queue,
    execute_review_button,
    parse_queue,
    parse_review_button,
)
from handlers.router import Action, Router, closest
from store.org import Member
from store.qa_rubrics import QaRubricVersion, current

DISPUTE_FORM, REVIEW_FORM = "qa.dispute_form", "qa.review_form"
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
    again: bool = False  # a second review of a ticket already reviewed for the agent, on purpose
    meant: str | None = None  # the subcommand the first word is close to, should it name no member (`/qa shwo 4`)


USAGE = (
    "/qa @agent TICKET [key=value …] [--again] [-- COMMENT…] — score a ticket against the rubric (no scores: a form asks; --again: a second review of it)\n"
    "/qa show N — a review\n"
    "/qa dispute N COMMENT… [key=value …] — dispute your review (once), with the scores you propose if you like\n"
    "/qa resolve N accepted|partial|rejected [key=value …] [-- NOTE…] — settle a dispute (the reviewer or the agent's lead); the review is then locked\n"
    "/qa disputes [TEAM] — open disputes you can settle\n"
    f"{CALIBRATE_USAGE}\n"
    f"{REPORT_USAGE}\n"
    f"{TREND_USAGE}\n"
    f"{QUEUE_USAGE}"
)
VERBS = ("show", "dispute", "resolve", "disputes", "calibrate", "calibration", "calibrations", "trend", "queue", "skip")
# What people type for each outcome; the stored word is the first.
OUTCOME_WORDS = {"accepted": "accepted", "accept": "accepted", "partial": "partial", "partially": "partial", "partly": "partial", "rejected": "rejected", "reject": "rejected"}
RESOLVE_USAGE = "/qa resolve N accepted|partial|rejected [key=value …] [-- NOTE…]"


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


def _outcome(word: str) -> str:
    found = OUTCOME_WORDS.get(word.lower())
    if found is None:
        near = closest(word, qa.OUTCOMES, n=1)
        hint = f" Did you mean {near[0]}?" if near else ""
        raise UsageError(f"{word!r} is not how a dispute is settled: accepted, partial or rejected.{hint}\n{RESOLVE_USAGE}")
    return found


def _meant(word: str) -> str | None:
    """The subcommand a first word that is none (and no @mention) is close to: `shwo` → show."""
    if word.startswith(("@", "<@")) or word.lower() in VERBS:
        return None
    near = closest(word, VERBS, n=1)
    return near[0] if near else None


def not_a_verb(word: str, meant: str) -> UsageError:
    return UsageError(f"{word!r} is neither a /qa subcommand nor a member. Did you mean /qa {meant}?")


def parse_qa(words: list[str]) -> QaRequest | CalibrationRequest | ReportRequest | TrendRequest | QueueRequest:
    # What follows `--` is a comment, flags and all ("asked to --share it").
    cut = words.index("--") if "--" in words else len(words)
    args = parse_args(words[:cut], switches=frozenset({"share", "again"}), options=frozenset({"by"}))
    if args.flag("share"):
        raise UsageError(PRIVATE_ONLY)
    rest = list(args.words) + words[cut:]
    if not rest:
        raise UsageError("Say whose ticket you review: /qa @agent T-123 accuracy=2 tone=4 policy=pass")
    verb = rest[0].lower()
    by = args.option("by")
    if args.flag("again") and verb in VERBS:
        raise UsageError("--again saves a second review of a ticket already reviewed: /qa @agent TICKET key=value … --again")
    if verb == "calibration" and len(rest) > 1 and rest[1].lower() == "report":
        if by:
            raise UsageError(f"--by sets a calibration's deadline, not the report's window.\n{REPORT_USAGE}")
        return parse_report(rest[2:])
    if verb in ("calibrate", "calibration", "calibrations"):
        pairs, text, comment = _split(rest[1:]) if verb == "calibration" else ({}, rest[1:], "")
        number = _number(text[0]) if verb == "calibration" and text else None
        return parse_calibration(verb, [rest[0], *text], by, pairs, comment, number)
    if verb == "trend" and not by:
        return parse_trend(rest[1:])
    if verb in ("queue", "skip") and not by:
        return parse_queue(verb, rest[1:])
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
        if len(rest) < 3:
            raise UsageError(RESOLVE_USAGE)
        outcome = _outcome(rest[2])
        pairs, text, comment = _split(rest[3:])
        if text:
            raise UsageError(f"Unexpected {' '.join(text)!r}: scores are key=value, and a note goes after --.")
        return QaRequest("resolve", number=_number(rest[1]), outcome=outcome, scores=pairs, comment=comment)
    meant = _meant(rest[0])
    try:
        return _parse_review(rest, again=args.flag("again"), meant=meant)
    except UsageError:
        if meant is not None:  # `/qa disputs`, `/qa calibrat T-1 @a @b`: a subcommand mistyped, not a review
            raise not_a_verb(rest[0], meant) from None
        raise


def _parse_review(rest: list[str], *, again: bool, meant: str | None) -> QaRequest:
    if len(rest) < 2:
        raise UsageError("Name the ticket: /qa @agent T-123 [key=value …]")
    if parse_ticket(rest[1]) is None:
        raise UsageError(f"{rest[1]!r} is not a ticket reference: #12345, T-123 or the ticket's URL.")
    pairs, text, comment = _split(rest[2:])
    if text:
        raise UsageError(f"Unexpected {' '.join(text)!r}: scores are key=value (e.g. tone=4), and a comment goes after --.")
    return QaRequest("review", agent=rest[0], ticket=rest[1], scores=pairs, comment=comment, again=again, meant=meant)


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


def _agent(ctx: Context, request: QaRequest) -> Member:
    """The agent a review is about; a first word that names nobody but is close to a subcommand is taken as that typo."""
    try:
        return find_member(ctx, request.agent or "")
    except NotFound:
        if request.meant is not None:
            raise not_a_verb(request.agent or "", request.meant) from None
        raise


# The subcommands with a request of their own: how each is authorized and carried out.
_OWN: dict[type, tuple[Callable[[Context, Any], None], Callable[[Context, Any], Reply]]] = {
    QueueRequest: (authorize_queue, execute_queue),
    ReportRequest: (authorize_report, execute_report),
    TrendRequest: (authorize_trend, execute_trend),
    CalibrationRequest: (authorize_calibration, execute_calibration),
}


def authorize_qa(ctx: Context, request: QaRequest | CalibrationRequest | ReportRequest | TrendRequest | QueueRequest) -> None:
    """The one place /qa decides who may do what."""
    if (own := _OWN.get(type(request))) is not None:
        return own[0](ctx, request)
    assert isinstance(request, QaRequest)
    me = ctx.member
    if request.verb == "review":
        agent = _agent(ctx, request)
        ref = parse_ticket(request.ticket or "")
        # A ticket the weekly sample gave you is yours to review, whoever's agent it is (peer review by rotation).
        assigned = ref is not None and agent.role == "agent" and agent.id != me.id and assigned_to(ctx.session, me, agent, ref.shown)
        if not may_coach(me, agent) and not assigned:
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


def execute_qa(ctx: Context, request: QaRequest | CalibrationRequest | ReportRequest | TrendRequest | QueueRequest) -> Reply:
    if (own := _OWN.get(type(request))) is not None:
        return own[1](ctx, request)
    assert isinstance(request, QaRequest)
    if request.verb == "review":
        return _create(ctx, request)
    if request.verb == "disputes":
        return _disputes(ctx, request.team)
    review = _review(ctx, request.number)
    if request.verb == "show":
        return _with_offer(ctx, review, review_reply(ctx.session, review, ctx.member, ctx.timezone))
    rubric = qa.rubric_for(ctx.session, review)
    agent = ctx.session.get(Member, review.agent_id)
    try:
        if request.verb == "dispute":
            record = qa.dispute(ctx.session, review, ctx.member, request.comment, request.scores or None, ctx.now)
            done = f"Disputed, proposing {proposal_text(rubric, review, record)}: the reviewer and your lead are told; one of them settles it."
        else:
            record = qa.settle(ctx.session, review, ctx.member, request.outcome or "", request.scores or None, request.comment, ctx.now)
            change = settlement(rubric, review, record)
            what = change_text(change) if change else "the scores stay as they are"
            done = f"Settled ({request.outcome}): {what}. The review is locked and {agent.name if agent else 'the agent'} is told."
    except RubricError as exc:
        raise Invalid(problems_text(exc)) from None
    except qa.QaError as exc:
        raise Invalid(str(exc)) from None
    reply = review_reply(ctx.session, review, ctx.member, ctx.timezone)
    reply.blocks.insert(0, Section(done))
    return reply


class ReviewedBefore(Invalid):
    """The ticket has a review for the agent already, and a second one was not asked for."""

    def __init__(self, message: str, earlier: list[QaReview]) -> None:
        super().__init__(message)
        self.earlier = earlier


def _earlier_text(ctx: Context, earlier: list[QaReview]) -> str:
    """`review 4 by Bob Jones, 2026-12-01 11:00, 85.0% passed` for the latest earlier review (and how many before it)."""
    last = earlier[-1]
    reviewer = ctx.session.get(Member, last.reviewer_id)
    result = "no score" if last.score is None else f"{percent(last.score)} {'passed' if last.passed else 'did not pass'}"
    more = f" (and {len(earlier) - 1} before it)" if len(earlier) > 1 else ""
    return f"review {last.id} by {reviewer.name if reviewer else '?'}, {local_full(last.created_at, ctx.timezone)}, {result}{more}"


def _create(ctx: Context, request: QaRequest) -> Reply:
    version = _rubric(ctx)
    agent = find_member(ctx, request.agent or "")
    ref = parse_ticket(request.ticket or "")
    assert ref is not None
    if not request.scores:
        return _review_form(ctx, version, agent, ref.shown, request.again)
    if len(request.comment) > qa.MAX_COMMENT:
        raise Invalid(f"The comment is {len(request.comment):,} characters long; at most {qa.MAX_COMMENT:,}.")
    comments = {**request.comments, **({"": request.comment} if request.comment else {})}
    try:
        review = qa.create(
            ctx.session, ctx.member, agent, version, request.scores, ticket=ref.shown, ticket_url=ref.url, comments=comments, now=ctx.now, again=request.again
        )
    except RubricError as exc:
        raise Invalid(f"{problems_text(exc)}\nScore each of: {categories_text(rubric_of(version).categories)}; na where it does not apply.") from None
    except qa.AlreadyReviewed as exc:
        raise ReviewedBefore(
            f"{agent.name}'s {ref.shown} has a review already: {_earlier_text(ctx, exc.earlier)}. A second review counts in "
            f"{agent.name}'s QA figures as well: to save it, run the same command with --again.",
            exc.earlier,
        ) from None
    except qa.QaError as exc:
        raise Invalid(str(exc)) from None
    earlier = [r for r in qa.earlier_reviews(ctx.session, agent, ref.shown) if r.id != review.id]
    reply = review_reply(ctx.session, review, ctx.member, ctx.timezone)
    second = f" {ref.shown} now has {len(earlier) + 1} reviews for {agent.name}, and each counts in the QA figures; the one before: {_earlier_text(ctx, earlier)}." if earlier else ""
    reply.blocks.insert(0, Section(f"Review {review.id} saved; {agent.name} is told, and may dispute it.{second}"))
    return _with_offer(ctx, review, reply)


def _with_offer(ctx: Context, review: QaReview, reply: Reply) -> Reply:
    """A failing review's answer offers Start coaching to whoever may coach the agent (before the closing note)."""
    offer = coaching_offer(ctx.session, review, ctx.member)
    if offer is not None:
        reply.blocks.insert(len(reply.blocks) - 1, offer)
    reply.data["coaching_offered"] = offer is not None
    return reply


AGAIN_WORDS = ("again", "yes")


def review_form(ctx: Context, agent: Member, ticket: str) -> Reply:
    """The rubric form for the agent's ticket, as `/qa @agent TICKET` opens it (the Review button of a queue)."""
    return _review_form(ctx, _rubric(ctx), agent, ticket, False)


def _review_form(ctx: Context, version: QaRubricVersion, agent: Member, ticket: str, again: bool) -> Reply:
    rubric = rubric_of(version)
    earlier = [] if again else qa.earlier_reviews(ctx.session, agent, ticket)
    fields = []
    if earlier:
        # The form asks first: a second review is a decision, made before the scoring.
        label = f"{agent.name}'s {ticket} has a review already ({_earlier_text(ctx, earlier)}). Type again to save a second one"
        fields.append(FormField("again", label, placeholder="again"))
    for c in rubric.categories:
        fields.append(FormField(c.key, f"{c.name} ({c.scale.text}{', critical' if c.critical else ''}{', or na' if c.na_allowed else ''})"))
        fields.append(FormField(f"{c.key}_comment", f"{c.name}: comment", optional=True))
    fields.append(FormField("comment", "Comment on the review", multiline=True, optional=True))
    context = json.dumps({"agent": agent.handle, "ticket": ticket, **({"again": True} if again else {})})
    intro = f"Score {ticket} against rubric v{version.version}." + (f" {agent.name}'s {ticket} has a review already: {_earlier_text(ctx, earlier)}." if earlier else "")
    return Reply(
        title=f"QA review · {agent.name} · {ticket}",
        blocks=[Section(intro)],
        form=Form(f"QA review of {ticket}" + (" (again)" if earlier or again else ""), "Save review", REVIEW_FORM, tuple(fields), context=context),
    )


def parse_review_form(value: str) -> QaRequest:
    context, values = form_submission(value)
    agent, ticket = form_context(context, "agent", "ticket").values()
    again = json.loads(context).get("again") is True
    if "again" in values:
        if values["again"].strip().lower() not in AGAIN_WORDS:
            raise FieldErrors({"again": "Type again to save a second review of this ticket, or cancel."})
        again = True
    comment = values.get("comment", "").strip()
    if comment.split(maxsplit=1)[:1] == ["--again"]:  # said in the comment when the ticket was reviewed while the form was open
        comment, again = comment.removeprefix("--again").strip(), True
    scores = {k: v.strip() for k, v in values.items() if not k.endswith("_comment") and k not in ("comment", "again")}
    empty = [k for k, v in scores.items() if not v]
    if empty:
        raise FieldErrors({k: "Score it, or write na where it does not apply." for k in empty})
    comments = {k.removesuffix("_comment"): v.strip() for k, v in values.items() if k.endswith("_comment") and v.strip()}
    if parse_ticket(ticket) is None:
        raise UsageError(DAMAGED_BUTTON)
    return QaRequest("review", agent=agent, ticket=ticket, scores=scores, comment=comment, comments=comments, again=again)


def _at_fields(exc: Invalid, request: QaRequest) -> FieldErrors | None:
    """Problems with a form's scores under their fields (`tone: 9 is outside 1-5` under tone)."""
    lines = str(exc).splitlines()
    errors = {line.split(":", 1)[0].strip(): line for line in lines if ":" in line and line.split(":", 1)[0].strip() in request.scores}
    return FieldErrors(errors) if errors else None


def execute_review_form(ctx: Context, request: QaRequest) -> Reply:
    try:
        return execute_qa(ctx, request)
    except ReviewedBefore as exc:
        # Saved by someone else while this form was open (else the form would have asked).
        reviewer = ctx.session.get(Member, exc.earlier[-1].reviewer_id)
        raise FieldErrors({"comment": f"Reviewed meanwhile: review {exc.earlier[-1].id} by {(reviewer.name if reviewer else '?')[:40]}. To save yours too, begin the comment with --again."}) from None
    except Invalid as exc:
        raise _at_fields(exc, request) or exc from None


def execute_dispute_form(ctx: Context, request: QaRequest) -> Reply:
    """The dispute form: a proposed score that is off its scale goes back to its field, the comment kept."""
    try:
        return execute_qa(ctx, request)
    except Invalid as exc:
        raise _at_fields(exc, request) or exc from None


def _disputes(ctx: Context, team_text: str | None) -> Reply:
    team = find_team(ctx, team_text, command="/qa disputes") if team_text else None
    rows = []
    data = []
    rubrics: dict[int, Rubric] = {}  # by version: one read each, however many disputes
    query = (
        select(QaDispute, QaReview, Member)
        .join(QaReview, QaReview.id == QaDispute.review_id)
        .join(Member, Member.id == QaReview.agent_id)
        .where(QaDispute.resolved_at.is_(None))
        .order_by(QaDispute.created_at, QaDispute.id)
    )
    if team is not None:
        query = query.where(Member.team_id == team.id)
    for record, review, agent in ctx.session.execute(query).all():
        if ctx.member.id != review.reviewer_id and not oversees(ctx.member, agent):
            continue
        if review.rubric_version not in rubrics:
            rubrics[review.rubric_version] = qa.rubric_for(ctx.session, review)
        row, item = dispute_row(review, record, agent, rubrics[review.rubric_version], ctx.timezone)
        rows.append(row)
        data.append(item)
    blocks: list[Any] = [Table(DISPUTE_COLUMNS, tuple(rows))] if rows else [Section("No open disputes you can settle.")]
    if rows:
        blocks.append(Note("Settle one: /qa resolve N accepted (the proposed scores) | partial key=value … | rejected; /qa show N for the whole review."))
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
    # Each label says the score given, so the agent proposes against what they dispute.
    fields += [FormField(c.key, f"{c.name}: the score you propose ({c.scale.text}; given: {shown(c, review.scores.get(c.key, 'na'))})", optional=True) for c in rubric.categories]
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
    examples = ("/qa @alice T-123 accuracy=2 tone=4 policy=pass -- clear and kind", "/qa @alice T-123", "/qa dispute 7 the refund policy allows this", "/qa resolve 7 partial tone=5", "/qa trend @alice 90d", "/qa queue")

    def parse(self, words: list[str]) -> QaRequest | CalibrationRequest | TrendRequest | QueueRequest:
        return parse_qa(words)

    def authorize(self, ctx: Context, request: QaRequest) -> None:
        authorize_qa(ctx, request)

    def execute(self, ctx: Context, request: QaRequest) -> Reply:
        return execute_qa(ctx, request)


def register(router: Router) -> None:
    router.register(QaCommand())
    router.register_action(Action(REVIEW_FORM, parse_review_form, authorize_qa, execute_review_form))
    router.register_action(Action(DISPUTE_ACTION, parse_dispute_button, authorize_qa, execute_dispute_button, once_per_click=False))
    router.register_action(Action(COACH_ACTION, parse_coach_button, authorize_coach_button, execute_coach_button, once_per_click=False))
    router.register_action(Action(REVIEW_ACTION, parse_review_button, authorize_review_button, execute_review_button, once_per_click=False))
    router.register_action(Action(DISPUTE_FORM, parse_dispute_form, authorize_qa, execute_dispute_form))
    router.register_action(Action(SCORE_BUTTON, parse_score_button, authorize_calibration, execute_calibration))
    router.register_action(Action(SCORE_FORM, parse_score_form, authorize_calibration, execute_calibration))


__all__ = ["QaCommand", "register", "review_reply"]
