"""One pass of every scheduled job, as of a moment: what the scheduler runs and `csbot tick` runs.

Each job plans what is due into the outbox (idempotent: planning a moment
twice plans nothing twice), then one sender sends every outbox row that is
due. Later features add their jobs here.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot import coaching_messages, digests, escalations, kpi_alerts, oncall_notices
from coaching.calibration import reveal_due
from coaching.sessions import plan_followups
from bot.chart_links import forget_expired
from bot.notify import Notifier
from bot.outbox_sender import Outcome, Sender
from store.busy import is_busy
from store.database import Database

log = logging.getLogger(__name__)

JOBS = ("digests", "alerts", "escalations", "oncall", "coaching")


@dataclass
class TickReport:
    at: datetime
    jobs: tuple[str, ...]
    planned: int = 0
    skipped: list[str] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def lags(self) -> list[float]:
        """Seconds after its due time each message sent in this pass went out."""
        return [o.lag_s for o in self.outcomes if o.status == "sent" and o.lag_s is not None]

    def lines(self) -> list[str]:
        """What the pass did, one line per message, for people."""
        out = [f"Tick at {self.at.isoformat()} ({', '.join(self.jobs)}): {len(self.outcomes)} message(s) handled, {self.planned} newly due."]
        for o in self.outcomes:
            detail = f" ({', '.join(o.message_ids)})" if o.message_ids else ""
            late = " late" if o.late else ""
            why = f": {o.error}" if o.error else f" [{o.note}]" if o.note else ""
            out.append(f"  {o.status}{late}: {o.kind} {o.subject} {o.occurrence} → {o.recipient}{detail}{why}")
        out += [f"  skipped: {line}" for line in self.skipped]
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
        planning = await asyncio.to_thread(digests.plan_digests, db, now, platforms=platforms, catchup=catchup)
        report.planned += planning.planned
        report.skipped += planning.skipped
        kinds += digests.KINDS
    if "alerts" in jobs:
        report.planned += await asyncio.to_thread(
            kpi_alerts.plan_alerts, db, now, platforms=platforms, every_minutes=alert_minutes, catchup=catchup
        )
        kinds += kpi_alerts.KINDS
    if "escalations" in jobs:
        report.planned += await _guarded(report, "escalations", escalations.sweep, db, now)
        kinds += escalations.KINDS
    if "oncall" in jobs:
        report.planned += await _guarded(report, "oncall", oncall_notices.plan_oncall, db, now, catchup=catchup)
        kinds += oncall_notices.KINDS
    if "coaching" in jobs:
        # Notes, sessions and reviews are planned by the commands themselves; follow-ups here.
        report.planned += await _guarded(report, "coaching", plan_followups, db, now, catchup=catchup)
        await _guarded(report, "coaching", reveal_due, db, now)  # its messages are planned with the reveal
        kinds += coaching_messages.KINDS
    sender = make_sender(db, notifiers)
    report.outcomes = await sender.send_due(now, kinds=tuple(kinds))
    if "digests" in jobs:  # charts come with scorecards; the 5-second escalation pass need not write here
        await asyncio.to_thread(forget_expired, db, now)
    report.seconds = time.perf_counter() - started
    return report


async def _guarded(report: TickReport, job: str, plan: Callable[..., int], *args: Any, **kw: Any) -> int:
    """Run one job's planning; a failure is logged and reported, and the other jobs and the sending still run."""
    try:
        return await asyncio.to_thread(plan, *args, **kw)
    except Exception as exc:  # noqa: BLE001 (what is already in the outbox must still go out)
        if is_busy(exc):
            raise
        log.exception("the %s job failed; the other jobs go on", job)
        report.skipped.append(f"{job}: failed ({type(exc).__name__}); see the log")
        return 0


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
            **{k: coaching_messages.compose for k in coaching_messages.KINDS},
        },
        skips=(digests.Skip, kpi_alerts.Skip, escalations.Skip, oncall_notices.Skip, coaching_messages.Skip),
        threads={**{k: kpi_alerts.thread_of for k in kpi_alerts.KINDS}, escalations.engine.NOTE: escalations.thread_of},
        edits={escalations.engine.EDIT: escalations.edit_targets},
        heavy=frozenset(digests.KINDS),
    )
