"""`/kpi escalations [QUEUE] [WINDOW]`: how escalations went, per queue or for all, in the caller's zone.

Queue figures are open to everyone, as team figures are: they describe the
queue's service, not one person's.
"""

from __future__ import annotations

from typing import Any

from escalation.stats import escalation_stats
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
    if not overall.count:
        blocks.insert(0, Section("No escalations were opened in this window."))
    blocks.append(Note(f"Escalations opened {window.start:%Y-%m-%d %H:%M} – {end:%Y-%m-%d %H:%M} ({ctx.timezone}); times from opening to the first acknowledgement and to resolution."))
    return Reply(
        title=f"Escalations · {label} · {window.spec}",
        blocks=blocks,
        visibility="channel" if request.share else "ephemeral",
        data={"scope": "escalations", "queue": queues[0].key if request.target else None, "window": {"spec": window.spec, "start": window.start.isoformat(), "end": end.isoformat()}, **overall.to_json(), "queues": per_queue},
    )
