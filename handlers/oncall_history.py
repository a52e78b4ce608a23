"""`/oncall history QUEUE[/SCHEDULE] [30d]`: who was actually on call, as csbot recorded it (escalation.history).

Everyone may look, as at `/oncall schedule`: who is on call is no secret,
and the totals per person are there for fairness when arranging on-call.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from escalation.history import CATCHUP, History, history, recorded_schedules
from escalation.oncall import schedules_of
from handlers.context import Context, NotFound
from handlers.escalation_views import find_queue, local_full
from handlers.humanize import duration
from handlers.reply import Reply, Section, Table
from handlers.reply import Context as Note
from handlers.router import closest
from store.queues import EscalationQueue

HISTORY_USAGE = "/oncall history QUEUE[/SCHEDULE] [30d] — who was on call, as recorded (kept when the file changes later), with totals per person"
DEFAULT_HISTORY_SPAN = timedelta(days=30)
# Chat shows the latest stretches; --json has them all.
SHOWN = 50


def _schedules(ctx: Context, queue_key: str, schedule: str) -> tuple[EscalationQueue, list[str] | None]:
    queue = find_queue(ctx, queue_key)
    if not schedule:
        return queue, None
    known = sorted({s.key for s in schedules_of(queue)} | set(recorded_schedules(ctx.session, queue)))
    if schedule.lower() not in known:
        guesses = closest(schedule, known)
        hint = f" Did you mean {', '.join(guesses)}?" if guesses else ""
        raise NotFound(f"{queue.name} has no schedule {schedule!r}.{hint} Its schedules: {', '.join(known) or 'none'}.")
    return queue, [schedule.lower()]


def _union_seconds(pieces: list[tuple[datetime, datetime]]) -> float:
    total, reach = 0.0, None
    for start, end in sorted(pieces):
        if reach is not None and start < reach:
            start = reach
        if end > start:
            total += (end - start).total_seconds()
            reach = end
    return total


def _totals(found: History) -> list[dict[str, Any]]:
    """Per schedule and person: stretches, time on call and its share of the schedule's recorded time."""
    recorded: dict[str, float] = defaultdict(float)
    for schedule, start, end in found.spans:
        recorded[schedule] += (end - start).total_seconds()
    by: dict[tuple[str, str], list[int]] = {}
    for s in found.stretches:
        entry = by.setdefault((s.schedule, s.handle), [0, 0])
        entry[0] += 1
        entry[1] += s.seconds
    rows = [
        {"schedule": schedule, "handle": handle, "stretches": n, "seconds": seconds, "share": round(seconds / recorded[schedule], 4) if recorded[schedule] else None}
        for (schedule, handle), (n, seconds) in by.items()
    ]
    return sorted(rows, key=lambda r: (r["schedule"], -r["seconds"], r["handle"]))


def history_reply(ctx: Context, target: str, span: timedelta) -> Reply:
    queue_key, _, schedule = target.partition("/")
    queue, schedules = _schedules(ctx, queue_key, schedule)
    start, end = ctx.now - span, ctx.now
    found = history(ctx.session, queue, schedules, start, end)
    label = f"{queue.name} / {schedules[0]}" if schedules else queue.name
    title = f"On-call history · {label} · last {span.days} days"
    totals = _totals(found)
    nobody: dict[str, float] = {}
    for name in sorted({s for s, _, _ in found.spans}):
        covered = _union_seconds([(s.start, s.end) for s in found.stretches if s.schedule == name])
        nobody[name] = sum((e - b).total_seconds() for s, b, e in found.spans if s == name) - covered
    data: dict[str, Any] = {
        "queue": queue.key,
        "schedule": schedules[0] if schedules else None,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "stretches": [s.to_json() for s in found.stretches],
        "totals": totals,
        "recorded": [{"schedule": s, "start": b.isoformat(), "end": e.isoformat()} for s, b, e in found.spans],
        "nobody_seconds": {k: int(v) for k, v in nobody.items()},
    }
    if not found.spans:
        text = f"Nothing recorded for {label} in the last {span.days} days: csbot records who is on call as time passes (the oncall job of csbot tick)."
        return Reply(title=title, blocks=[Section(text)], data=data)
    zone = ctx.timezone
    shown = found.stretches[-SHOWN:]
    rows = tuple(
        (s.schedule, f"@{s.handle}", local_full(s.start, zone), "now (on call)" if s.ongoing and s.end >= end - timedelta(minutes=5) else local_full(s.end, zone), duration(s.seconds))
        for s in shown
    )
    blocks: list[Any] = []
    if rows:
        more = f", the latest {len(shown)} of {len(found.stretches)} (--json has all)" if len(shown) < len(found.stretches) else ""
        blocks.append(Table(("Schedule", "Who", "From", "Until", "For"), rows, title=f"Stretches on call{more}"))
    total_rows = tuple(
        (t["schedule"], f"@{t['handle']}", str(t["stretches"]), duration(t["seconds"]), f"{t['share']:.0%}" if t["share"] is not None else "—") for t in totals
    )
    if total_rows:
        blocks.append(Table(("Schedule", "Who", "Stretches", "On call", "Share"), total_rows, title="Totals per person"))
    gaps = [f"{name}: nobody on call for {duration(seconds)}" for name, seconds in nobody.items() if seconds >= 60]
    if gaps:
        blocks.append(Section("⚠️ " + "; ".join(gaps) + "."))
    notes = [f"Times in {zone}."]
    for name in sorted(nobody):
        pieces = [(b, e) for s, b, e in found.spans if s == name]
        if pieces[0][0] > start:
            notes.append(f"{name}: recorded from {local_full(pieces[0][0], zone)}.")
        holes = [(a[1], b[0]) for a, b in zip(pieces, pieces[1:]) if b[0] > a[1]]
        for a, b in holes:
            notes.append(f"{name}: not recorded {local_full(a, zone)} – {local_full(b, zone)} (csbot was off for longer than its {CATCHUP.days}-day catch-up, or the schedule was not in the organisation file).")
    blocks.append(Note(" ".join(notes)))
    return Reply(title=title, blocks=blocks, data=data)


__all__ = ["DEFAULT_HISTORY_SPAN", "HISTORY_USAGE", "history_reply"]
