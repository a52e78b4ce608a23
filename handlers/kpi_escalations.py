"""`/kpi escalations [QUEUE] [WINDOW]`: how escalations went, per queue or for all, in the caller's zone.

Queue figures are open to everyone, as team figures are: they describe the
queue's service, not one person's. Figures per severity too; and who carried
the pages (pages received, out of their working hours): everyone's for leads
and above, one's own for others.
"""

from __future__ import annotations

from typing import Any

from escalation.stats import escalation_stats, load_by_person, stats_by_severity
from handlers.context import Context
from handlers.escalation_views import active_queues, find_queue
from handlers.humanize import duration, percent
from handlers.kpi_request import KpiRequest, window_for
from handlers.reply import Field, Fields, Reply, Section, Table
from handlers.reply import Context as Note


def execute_escalation_kpis(ctx: Context, request: KpiRequest) -> Reply:
    window = window_for(ctx, request, ctx.timezone)
    end = min(window.end, window.cut) if window.cut else window.end
    queues = [find_queue(ctx, request.target)] if request.target else active_queues(ctx.session)
    scope = [q.id for q in queues] if request.target else None
    label = queues[0].name if request.target else "every queue"
    overall = escalation_stats(ctx.session, window.start, end, scope)
    rows: list[tuple[str, ...]] = []
    per_queue: list[dict[str, Any]] = []
    for queue in queues:
        s = overall if request.target else escalation_stats(ctx.session, window.start, end, [queue.id])
        rows.append((queue.key, str(s.count), duration(s.ack_median_s), duration(s.ack_p90_s), duration(s.resolve_median_s), duration(s.resolve_p90_s), percent(s.first_level_ack_rate), str(s.exhausted)))
        per_queue.append({"queue": queue.key, **s.to_json()})
    blocks: list[Any] = [
        Fields(
            (
                Field("Escalations", f"{overall.count} ({overall.open} still open)"),
                Field("Time to acknowledge", f"median {duration(overall.ack_median_s)} · p90 {duration(overall.ack_p90_s)} (n={overall.acknowledged})"),
                Field("Time to resolve", f"median {duration(overall.resolve_median_s)} · p90 {duration(overall.resolve_p90_s)} (n={overall.resolved})"),
                Field("Owned at the first page", percent(overall.first_level_ack_rate)),
                Field("Nobody acknowledged (exhausted)", str(overall.exhausted)),
            )
        )
    ]
    if not request.target and len(queues) > 1:
        blocks.append(Table(("Queue", "Count", "Ack median", "Ack p90", "Resolve median", "Resolve p90", "First-level ack", "Exhausted"), tuple(rows)))
    by_severity = stats_by_severity(ctx.session, window.start, end, scope)
    if by_severity:
        blocks.append(
            Table(
                ("Severity", "Count", "Ack median", "Ack p90", "Resolve median", "Exhausted"),
                tuple((sev.upper(), str(v.count), duration(v.ack_median_s), duration(v.ack_p90_s), duration(v.resolve_median_s), str(v.exhausted)) for sev, v in by_severity.items()),
            )
        )
    load = load_by_person(ctx.session, window.start, end, scope)
    # Who carried the pages is for those who arrange on-call; everyone else sees their own line.
    everyone = ctx.member.at_least("lead")
    shown = load if everyone else [p for p in load if p.handle == ctx.member.handle]
    if shown:
        blocks.append(Table(("Paged", "Pages", "Out of hours", "Escalations"), tuple((f"@{p.handle}", str(p.pages), str(p.out_of_hours), str(p.escalations)) for p in shown)))
        blocks.append(Note("Pages counted when sent; out of hours: outside the person's team calendar (weekdays 09:00–17:00 in their zone without one)." + ("" if everyone else " Leads and above see everyone's.")))
    if not overall.count:
        blocks.insert(0, Section("No escalations were opened in this window."))
    blocks.append(Note(f"Escalations opened {window.start:%Y-%m-%d %H:%M} – {end:%Y-%m-%d %H:%M} ({ctx.timezone}); times from opening to the first acknowledgement and to resolution."))
    return Reply(
        title=f"Escalations · {label} · {window.spec}",
        blocks=blocks,
        visibility="channel" if request.share else "ephemeral",
        data={
            "scope": "escalations",
            "queue": queues[0].key if request.target else None,
            "window": {"spec": window.spec, "start": window.start.isoformat(), "end": end.isoformat()},
            **overall.to_json(),
            "queues": per_queue,
            "severities": {sev: v.to_json() for sev, v in by_severity.items()},
            "load": [p.to_json() for p in shown],
        },
    )
