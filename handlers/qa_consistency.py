"""`/qa calibration report [TEAM] [WINDOW]`: do the reviewers agree, and who scores harder or softer?

From the calibrations revealed in the window: Krippendorff's alpha per rubric
category and for the whole score, and each reviewer's mean deviation from
each item's consensus (the median). From ordinary reviews: each reviewer's
mean score and share of fails beside their team's.

Who sees it follows the rule for pooled QA figures (`sees_pooled_qa`), since
a reviewer's figures pool the reviews of the agents they scored: a lead or a
manager sees their own team (calibrations one of its members scored in, its
members' deviations, the reviews of its agents), a manager without a team and
an admin every team or the one they name. Never an agent.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from sqlalchemy import select

from coaching.agreement import Alpha
from coaching.consistency import calibration_report, reviewer_scores
from coaching.visibility import sees_pooled_qa
from handlers.args import UsageError
from handlers.coach_summary import listed_until
from handlers.context import Context, Forbidden
from handlers.humanize import percent
from handlers.kpi_lookup import find_team
from handlers.reply import Reply, Section, Table
from handlers.reply import Context as Note
from handlers.window_words import split_window
from kpi.windows import WindowError, looks_like_window, parse_window
from store.org import Member, Team

REPORT_USAGE = "/qa calibration report [TEAM] [WINDOW] — reviewer agreement (Krippendorff's alpha) and who scores harder or softer (leads and above; default 90d)"
DEFAULT_WINDOW = "90d"


@dataclass(frozen=True)
class ReportRequest:
    team: str | None = None
    window: str = DEFAULT_WINDOW


def parse_report(words: list[str]) -> ReportRequest:
    """The words after `/qa calibration report`: a team and a window, each optional, in any order."""
    if len(words) > 8:
        raise UsageError(REPORT_USAGE)
    split = split_window(words, names_first=False)
    if any(looks_like_window(w) for w in split.words):
        raise UsageError(f"One team and one window at most.\n{REPORT_USAGE}")
    return ReportRequest(team=" ".join(split.words) or None, window=split.window or DEFAULT_WINDOW)


def _scope(ctx: Context, request: ReportRequest) -> Team | None:
    """The team reported on; None: every team (managers without a team, admins)."""
    me = ctx.member
    ctx.require_role("lead", "see the calibration report")
    if request.team is not None:
        team = find_team(ctx, request.team, command="/qa calibration report")
        if not sees_pooled_qa(me, team.id):
            raise Forbidden(f"The calibration report of {team.name} is for its leads, its managers, managers without a team, and admins.")
        return team
    if sees_pooled_qa(me, None):
        return None
    if me.team_id is None or not sees_pooled_qa(me, me.team_id):
        raise Forbidden("You are not on a team, so there are no reviewers for you to compare: the report is for a team's leads and managers.")
    return me.team


def authorize_report(ctx: Context, request: ReportRequest) -> None:
    _scope(ctx, request)


def _alpha_text(a: Alpha) -> str:
    return f"{float(a):.3f}" if a.value is not None else f"— ({a.reason})"


def _alpha_json(a: Alpha) -> dict[str, Any]:
    return {"alpha": float(a) if a.value is not None else None, "exact": str(a.value) if a.value is not None else None, "units": a.units, "values": a.values, "reason": a.reason or None}


def _signed(share: Fraction | float | None) -> str:
    return "—" if share is None else f"{float(share) * 100:+.1f}%"


def execute_report(ctx: Context, request: ReportRequest) -> Reply:
    team = _scope(ctx, request)
    try:
        window = parse_window(request.window, ctx.now, team.timezone if team else ctx.timezone)
    except WindowError as exc:
        raise UsageError(str(exc)) from None
    start, until = window.start, listed_until(window, ctx.now)
    members = None if team is None else set(ctx.session.scalars(select(Member.id).where(Member.team_id == team.id)))
    report = calibration_report(ctx.session, start, until, members)
    scores = reviewer_scores(ctx.session, start, until, None if team is None else [team.id])
    people = {m.id: m for m in ctx.session.scalars(select(Member))}
    teams = {t.id: t for t in ctx.session.scalars(select(Team))}

    def handle(member_id: object) -> str:
        m = people.get(member_id)  # type: ignore[arg-type]
        return m.handle if m else "?"

    blocks: list[Any] = [Note(f"Window: {window.label()} · {team.name if team else 'every team'} · {report.calibrations} revealed calibration{'s' if report.calibrations != 1 else ''}")]
    if report.calibrations:
        rows = [(c.name, c.scale, c.level, _alpha_text(c.alpha), str(c.alpha.units)) for c in report.categories]
        rows.append(("Overall score", "0-100%", "ordinal", _alpha_text(report.overall), str(report.overall.units)))
        blocks.append(Table(("Category", "Scale", "Level", "Alpha", "Items"), tuple(rows)))
        drift = [(handle(d.coder), _signed(d.mean), percent(float(d.mean_absolute)), str(d.n)) for d in report.reviewers]
        if drift:
            blocks.append(Table(("Reviewer", "Mean deviation", "Mean distance", "n"), tuple(drift)))
        blocks.append(Note(
            "Alpha: 1 = full agreement, 0 = no better than chance (0.8 and up is reliable, 0.667 tentative); ordinal for numeric scales, "
            "nominal for pass-fail, na and missing scores left out. Deviation: from each item's median, as a share of its scale; below 0 harsher, above 0 more lenient."
        ))
    else:
        blocks.append(Section("No calibration was revealed in this window: /qa calibrate TICKET @reviewer @reviewer … starts one."))
    ordered = sorted(scores, key=lambda r: (teams[r.team_id].name if r.team_id in teams else "", handle(r.reviewer_id)))
    if ordered:
        rows2 = [
            (teams[r.team_id].key if r.team_id in teams else "—", handle(r.reviewer_id), str(r.reviewer.n), percent(r.reviewer.mean), percent(r.reviewer.fail_share),
             percent(r.team.mean), percent(r.team.fail_share))
            for r in ordered
        ]  # fmt: skip
        blocks.append(Table(("Team", "Reviewer", "Reviews", "Mean score", "Fails", "Team mean", "Team fails"), tuple(rows2)))
        blocks.append(Note("Reviews of the team's agents in the window; the team's figures pool every reviewer's, this one's included."))
    else:
        blocks.append(Section("No scored reviews in this window."))
    data = {
        "team": team.key if team else None,
        "window": window.to_json(),
        "calibrations": report.calibrations,
        "agreement": {
            "categories": [{"key": c.key, "name": c.name, "scale": c.scale, "level": c.level, **_alpha_json(c.alpha)} for c in report.categories],
            "overall": {"level": "ordinal", **_alpha_json(report.overall)},
        },
        "deviation": [{"reviewer": handle(d.coder), "mean": float(d.mean), "mean_absolute": float(d.mean_absolute), "n": d.n} for d in report.reviewers],
        "reviewers": [
            {"team": teams[r.team_id].key if r.team_id in teams else None, "reviewer": handle(r.reviewer_id), "reviews": r.reviewer.n, "mean": r.reviewer.mean,
             "fail_share": r.reviewer.fail_share, "team_reviews": r.team.n, "team_mean": r.team.mean, "team_fail_share": r.team.fail_share}
            for r in ordered
        ],
    }  # fmt: skip
    return Reply(title=f"QA reviewer consistency · {team.name if team else 'every team'}", blocks=blocks, data={"report": data})
