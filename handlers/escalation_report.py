"""`/escalation report ESC-n [--md]`: an escalation's timeline as a postmortem draft.

Who was paged when, how long until someone owned it and until it ended,
the notes left on it, and the headings a postmortem still needs written.
With `--md` the same draft comes as a Markdown file (uploaded in Slack,
linked in Teams, written to disk by the console) to paste into a wiki.
Anyone may read it, as anyone may read the escalation.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from escalation import engine
from escalation.models import Escalation
from escalation.report import Report, report_of
from handlers.context import Context
from handlers.escalation_views import SEVERITY_LABELS, escalation_json, event_line, queue_of, requested_by, ticket_text
from handlers.humanize import duration
from handlers.reply import Field, Fields, File, Reply, Section, Table, filename_for
from handlers.reply import Context as Note
from store.org import Member

TO_WRITE = ("Impact: who was affected, and for how long", "Cause", "What went well", "What to improve", "Follow-ups (owner, due date)")


def _at(moment: datetime | None, zone: str) -> str:
    return moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M") if moment else "—"


def _name(ctx: Context, member_id: int | None, via: str | None = None) -> str:
    member = ctx.session.get(Member, member_id) if member_id else None
    if member is not None:
        return member.name
    return f"the {via}" if via else "nobody"


def _response(ctx: Context, esc: Escalation, report: Report) -> list[tuple[str, str]]:
    zone = ctx.timezone
    rows = [("Opened", _at(report.opened_at, zone))]
    if report.first_page_at is not None:
        held = f" (held {duration(report.held_s)} outside working hours)" if report.held_s else ""
        rows.append(("First page", f"{_at(report.first_page_at, zone)}, {duration((report.first_page_at - report.opened_at).total_seconds())} after opening{held}"))
    else:
        rows.append(("First page", "nobody was paged"))
    if report.acknowledged_at is not None:
        who = _name(ctx, report.acknowledged_by, report.acknowledged_via)
        rows.append(("Acknowledged", f"{_at(report.acknowledged_at, zone)} by {who}, {duration(report.to_acknowledge_s)} after opening"))
    else:
        rows.append(("Acknowledged", "never"))
    if report.closed_at is not None:
        verb = {"exhausted": "Gave up (nobody acknowledged)"}.get(report.closed_state or "", (report.closed_state or "").title())
        by = "" if report.closed_state == "exhausted" else f" by {_name(ctx, report.closed_by, 'Events API')}"
        rows.append((verb, f"{_at(report.closed_at, zone)}{by}, {duration(report.to_close_s)} after opening"))
    else:
        rows.append(("Now", f"{esc.state}, {duration((ctx.now - report.opened_at).total_seconds())} after opening"))
    paged = ", ".join("the queue channel" if h == "channel" else f"@{h}" for h in report.people_paged) or "nobody"
    rows.append(("Paged", f"{len(report.pages)} page{'s' if len(report.pages) != 1 else ''} to {paged}"))
    return rows


def _markdown(ctx: Context, esc: Escalation, report: Report, response: list[tuple[str, str]], timeline: list[str]) -> str:
    def quoted(text: str) -> str:
        return "\n".join(f"> {line}" for line in text.splitlines() or [""])

    queue = queue_of(ctx.session, esc)
    lines = [
        f"# {esc.label} · {esc.severity.upper()} · {esc.ticket} — postmortem draft",
        "",
        f"- Ticket: {ticket_text(esc)}",
        f"- Queue: {queue.name}",
        f"- Severity: {SEVERITY_LABELS.get(esc.severity, esc.severity)}",
        f"- Requested by: {requested_by(ctx.session, esc)}",
        "",
        "## What was asked",
        "",
        quoted(esc.reason),
        "",
        "## Response",
        "",
        "| | |",
        "|---|---|",
        *(f"| {k} | {v.replace('|', '/')} |" for k, v in response),
        "",
        "## Pages",
        "",
        *(f"- {_at(p.at, ctx.timezone)} {'the queue channel' if p.handle == 'channel' else '@' + p.handle} ({p.where})" for p in report.pages),
        *([] if report.pages else ["- nobody was paged"]),
        "",
        f"## Timeline ({ctx.timezone})",
        "",
        *(f"- {line}" for line in timeline),
        "",
        "## Notes",
        "",
        *(f"- {_at(at, ctx.timezone)} {what}: {note}" for at, what, note in report.notes),
        *([] if report.notes else ["- none"]),
        "",
        "## To write",
        "",
        *(f"- {heading}:" for heading in TO_WRITE),
        "",
    ]
    return "\n".join(lines)


def report_reply(ctx: Context, esc: Escalation, *, markdown: bool = False) -> Reply:
    report = report_of(ctx.session, esc)
    response = _response(ctx, esc, report)
    # Dated: a postmortem's timeline may cross midnight or a weekend.
    zone = ZoneInfo(ctx.timezone)
    timeline = [f"{e.at.astimezone(zone):%Y-%m-%d} {event_line(ctx.session, e, ctx.timezone)}" for e in engine.events(ctx.session, esc)]
    title = f"Postmortem draft · {esc.label} · {esc.ticket}"
    blocks: list[Any] = [
        Section(esc.reason),
        Fields(tuple(Field(k, v) for k, v in response)),
        Table(("Timeline",), tuple((row,) for row in timeline)),
        Note(f"Times in {ctx.timezone}. Still to write: {'; '.join(TO_WRITE)}."),
    ]
    data: dict[str, Any] = {
        "escalation": escalation_json(ctx.session, esc, timeline=True),
        "report": {
            "first_page_at": report.first_page_at.isoformat() if report.first_page_at else None,
            "acknowledged_at": report.acknowledged_at.isoformat() if report.acknowledged_at else None,
            "to_acknowledge_s": report.to_acknowledge_s,
            "closed_at": report.closed_at.isoformat() if report.closed_at else None,
            "closed_state": report.closed_state,
            "to_close_s": report.to_close_s,
            "pages": [{"at": p.at.isoformat(), "to": p.handle, "where": p.where} for p in report.pages],
            "held_s": report.held_s,
        },
    }
    reply = Reply(title=title, blocks=blocks, data=data)
    if markdown:
        text = _markdown(ctx, esc, report, response, timeline)
        reply.blocks.append(File(filename_for(f"{esc.label} postmortem", ".md"), text.encode("utf-8"), "text/markdown", f"the postmortem draft of {esc.label}, Markdown"))
    return reply


__all__ = ["report_reply"]
