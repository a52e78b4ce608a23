"""One pass of every scheduled job, as of a moment: what the scheduler runs and `csbot tick` runs.

Each job plans what is due into the outbox (idempotent: planning a moment
twice plans nothing twice), then one sender sends every outbox row that is
due. Later features add their jobs here.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from bot import coaching_messages, digests, qa_queue_messages, escalations, kpi_alerts, oncall_announcements, oncall_notices, oncall_swap_messages, sla_warnings
from bot.chat_work import run_chat
from coaching.assignments import assign_due
from coaching.calibration import reveal_due
from coaching.sessions import plan_followups
from escalation.history import record_history
from bot.chart_links import forget_expired
from bot.notify import Notifier
from bot.outbox_sender import Outcome, Sender
from store.busy import is_busy
from store.database import Database

log = logging.getLogger(__name__)
T = TypeVar("T")

JOBS = ("digests", "alerts", "sla", "escalations", "oncall", "coaching", "qa")


# How many different reasons a summary line names before it counts the rest.
REASONS_SHOWN = 3
# The order statuses are summed up in: what went out, then what did not.
STATUS_ORDER = ("sent", "retrying", "failed", "skipped")


@dataclass
class TickReport:
    at: datetime
    jobs: tuple[str, ...]
    planned: int = 0
    skipped: list[str] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0
    unplanned: list[digests.Unplanned] = field(default_factory=list)  # digests recorded as skipped when planned
    job_failures: list[str] = field(default_factory=list)  # a job whose planning failed (also in `skipped`)

    @property
    def lags(self) -> list[float]:
        """Seconds after its due time each message sent in this pass went out."""
        return [o.lag_s for o in self.outcomes if o.status == "sent" and o.lag_s is not None]

    def lines(self, *, verbose: bool = False) -> list[str]:
        """What the pass did, for people: summed up by status and kind (how many, to how many
        destinations, why not), or with `verbose` one line per message."""
        out = [f"Tick at {self.at.isoformat()} ({', '.join(self.jobs)}): {len(self.outcomes) + len(self.unplanned)} message(s) handled, {self.planned} newly due."]
        if verbose:
            for o in self.outcomes:
                detail = f" ({', '.join(o.message_ids)})" if o.message_ids else ""
                late = " late" if o.late else ""
                why = f": {o.error}" if o.error else f" [{o.note}]" if o.note else ""
                out.append(f"  {o.status}{late}: {o.kind} {o.subject} {o.occurrence} → {o.recipient}{detail}{why}")
            out += [f"  skipped: {line}" for line in self.skipped]
            return out
        out += self._summary()
        out += [f"  {line}" for line in self.job_failures]
        if self.outcomes or self.unplanned:
            out.append("  (each message: csbot tick --verbose, or --json)")
        return out

    def _summary(self) -> list[str]:
        groups: dict[tuple[str, str], list[tuple[str, str | None, bool]]] = {}
        for o in self.outcomes:
            groups.setdefault((o.status, o.kind), []).append((o.recipient, o.error, o.late))
        order = {status: n for n, status in enumerate(STATUS_ORDER)}
        out = []
        for (status, kind), items in sorted(groups.items(), key=lambda g: (order.get(g[0][0], len(order)), g[0][1])):
            out.append(_summary_line(status, kind, items))
        # Digests recorded as skipped when planned (nowhere to send them, or missed) never reach the sender.
        planned: dict[str, list[tuple[str, str | None, bool]]] = {}
        for u in self.unplanned:
            planned.setdefault(u.kind, []).append((u.recipient, u.reason, False))
        out += [_summary_line("skipped", kind, items) for kind, items in sorted(planned.items())]
        return out

    def to_json(self) -> dict[str, object]:
        return {
            "at": self.at.isoformat(),
            "jobs": list(self.jobs),
            "planned": self.planned,
            "skipped": self.skipped,
            "deliveries": [o.to_json() for o in self.outcomes],
            "seconds": round(self.seconds, 3),
        }


def _summary_line(status: str, kind: str, items: list[tuple[str, str | None, bool]]) -> str:
    """`skipped: qa_review × 326 to 40 destinations: <reason> (163); <reason> (163)`."""
    line = f"  {status}: {kind} × {len(items):,} {_whom({r for r, _, _ in items})}"
    late = sum(1 for _, _, was_late in items if was_late)
    line += f", {late:,} late" if late else ""
    reasons = Counter(why for _, why, _ in items if why)
    if reasons:
        named = [f"{why} ({n:,})" if len(reasons) > 1 else why for why, n in reasons.most_common(REASONS_SHOWN)]
        rest = len(reasons) - REASONS_SHOWN
        line += ": " + "; ".join(named) + (f"; and {rest:,} other reason{'' if rest == 1 else 's'}" if rest > 0 else "")
    return line


def _whom(recipients: set[str]) -> str:
    """`to 40 destinations` (a channel or a direct message on one platform: one person on Slack and
    Teams is two), or `for 3 teams` when they had nowhere to be sent."""
    if recipients and all(r.startswith("none:") for r in recipients):
        teams = sum(1 for r in recipients if r.startswith("none:team:"))
        people = len(recipients) - teams
        parts = [f"{teams:,} team{'' if teams == 1 else 's'}"] if teams else []
        parts += [f"{people:,} {'person' if people == 1 else 'people'}"] if people else []
        return "for " + " and ".join(parts)
    return f"to {len(recipients):,} destination{'' if len(recipients) == 1 else 's'}"


async def run_tick(
    db: Database,
    notifiers: Sequence[Notifier],
    now: datetime,
    *,
    only: str | None = None,
    catchup: timedelta = timedelta(hours=6),
    alert_minutes: int = 10,
) -> TickReport:
    """Do everything due as of `now` (only the job `only`, when given)."""
    started = time.perf_counter()
    jobs = (only,) if only else JOBS
    report = TickReport(now, jobs)
    platforms = {n.platform for n in notifiers}
    kinds: list[str] = []
    if "digests" in jobs:
        planning = await run_chat(digests.plan_digests, db, now, platforms=platforms, catchup=catchup)
        report.planned += planning.planned
        report.skipped += planning.skipped
        report.unplanned += planning.unplanned
        kinds += digests.KINDS
    if "alerts" in jobs:
        report.planned += await run_chat(
            kpi_alerts.plan_alerts, db, now, platforms=platforms, every_minutes=alert_minutes, catchup=catchup
        )
        kinds += kpi_alerts.KINDS
    if "sla" in jobs:
        sla = await _guarded(report, "sla", sla_warnings.plan_sla, db, now, platforms=platforms, catchup=catchup)
        if sla is not None:
            report.planned += sla.planned
            report.skipped += sla.skipped
            report.unplanned += sla.unplanned
        kinds += sla_warnings.KINDS
    if "escalations" in jobs:
        report.planned += await _guarded(report, "escalations", escalations.sweep, db, now) or 0
        kinds += escalations.KINDS
    if "oncall" in jobs:
        # Who is on call is written down first, so a failing notice never leaves a hole in the history.
        await _guarded(report, "oncall", record_history, db, now)
        report.planned += await _guarded(report, "oncall", oncall_notices.plan_oncall, db, now, catchup=catchup) or 0
        report.planned += await _guarded(report, "oncall", oncall_announcements.plan_announcements, db, now, catchup=catchup) or 0
        kinds += oncall_notices.KINDS + oncall_announcements.KINDS + oncall_swap_messages.KINDS  # swaps are planned by the commands themselves
    if "coaching" in jobs:
        # Notes, sessions and reviews are planned by the commands themselves; follow-ups here.
        report.planned += await _guarded(report, "coaching", plan_followups, db, now, catchup=catchup) or 0
        await _guarded(report, "coaching", reveal_due, db, now)  # its messages are planned with the reveal
        kinds += coaching_messages.KINDS
    if "qa" in jobs:
        # The weekly QA sample: assignments stored and each reviewer's queue planned, once a week per team.
        report.planned += await _guarded(report, "qa", assign_due, db, now) or 0
        kinds += qa_queue_messages.KINDS
    sender = make_sender(db, notifiers)
    report.outcomes = await sender.send_due(now, kinds=tuple(kinds))
    if "digests" in jobs:  # charts come with scorecards; the 5-second escalation pass need not write here
        await run_chat(forget_expired, db, now)
    report.seconds = time.perf_counter() - started
    return report


async def _guarded(report: TickReport, job: str, plan: Callable[..., T], *args: Any, **kw: Any) -> T | None:
    """Run one job's planning; a failure is logged and reported (None), and the other jobs and the sending still run."""
    try:
        return await run_chat(plan, *args, **kw)
    except Exception as exc:  # noqa: BLE001 (what is already in the outbox must still go out)
        if is_busy(exc):
            raise
        log.exception("the %s job failed; the other jobs go on", job)
        report.skipped.append(f"{job}: failed ({type(exc).__name__}); see the log")
        report.job_failures.append(f"{job}: failed ({type(exc).__name__}); see the log")
        return None


def make_sender(db: Database, notifiers: Sequence[Notifier]) -> Sender:
    """The one outbox sender, with every job's composers."""
    return Sender(
        db,
        {n.platform: n for n in notifiers},
        {
            **{k: digests.compose for k in digests.KINDS},
            **{k: kpi_alerts.compose for k in kpi_alerts.KINDS},
            **{k: escalations.compose for k in escalations.KINDS},
            **{k: oncall_notices.compose for k in oncall_notices.KINDS},
            **{k: oncall_announcements.compose for k in oncall_announcements.KINDS},
            **{k: oncall_swap_messages.compose for k in oncall_swap_messages.KINDS},
            **{k: coaching_messages.compose for k in coaching_messages.KINDS},
            **{k: sla_warnings.compose for k in sla_warnings.KINDS},
            **{k: qa_queue_messages.compose for k in qa_queue_messages.KINDS},
        },
        skips=(digests.Skip, kpi_alerts.Skip, escalations.Skip, oncall_notices.Skip, oncall_announcements.Skip, oncall_swap_messages.Skip, coaching_messages.Skip, sla_warnings.Skip, qa_queue_messages.Skip),
        threads={**{k: kpi_alerts.thread_of for k in kpi_alerts.KINDS}, escalations.engine.NOTE: escalations.thread_of},
        edits={escalations.engine.EDIT: escalations.edit_targets},
        heavy=frozenset(digests.KINDS),
        # A page chat cannot deliver goes by e-mail, where csbot can send e-mail.
        gave_up={escalations.engine.PAGE: escalations.fall_back_to_email} if any(n.platform == "email" for n in notifiers) else {},
    )
