"""The scheduler inside `csbot serve`: every scheduled job, on time, on exactly one replica.

APScheduler 3's AsyncIOScheduler runs in the web app's event loop:

- one cron job per digest time (each team's `digest`, the org's, every
  personal subscription's), in that time's own zone, so 09:00 in Berlin
  fires at 09:00 Berlin time on both sides of a daylight-saving change;
- a sweep every minute, for retries, catch-up after a restart and anything
  a cron job could not run;
- the digest times are read again every few minutes, so `csbot org apply`
  and new subscriptions take effect without a restart.

Every job runs the same pass `csbot tick` runs (bot.tick.run_tick): the
database says what is due and what was done, so a job that fires twice, late
or on two replicas does nothing twice.

With PostgreSQL, only the replica holding an advisory lock runs the jobs;
the lock belongs to a connection the leader keeps open, so when the leader
dies PostgreSQL releases it and another replica takes over at its next try
(every LEADER_CHECK_S). With SQLite every process runs them; the outbox's
claims keep it to one send.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Connection, func, select

from bot.chat_work import run_chat
from bot import metrics
from bot.notify import Notifier
from bot import escalations, wake
from bot.tick import run_tick
from store.clock import Clock, system_clock
from store.database import Database
from store.local_time import parse_hhmm
from store.locks import lock_key
from store.org import Member, Org, Team
from store.org_file import DAY_NAMES, weekdays
from store.subscriptions import Subscription

log = logging.getLogger(__name__)

SWEEP_S = 60
LEADER_CHECK_S = 20
RESCHEDULE_S = 300
WORKING_DAYS = "mon-fri"


class Leadership:
    """Who runs the jobs: on PostgreSQL the holder of the scheduler's advisory lock, elsewhere everyone."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._conn: Connection | None = None

    def hold(self) -> bool:
        """True when this process is (still, or now) the leader. Blocking: call from a thread."""
        if self.db.backend != "postgresql":
            return True
        if self._conn is not None:
            try:
                self._conn.execute(select(1))
                return True
            except Exception:  # noqa: BLE001 (a lost connection is a lost lock: try to take it again)
                log.warning("lost the scheduler lock's connection; trying to take the lock again")
                self._drop()
        conn = self.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            won = bool(conn.scalar(select(func.pg_try_advisory_lock(lock_key("scheduler")))))
        except Exception:
            conn.close()
            raise
        if not won:
            conn.close()
            return False
        log.info("this process now runs the scheduled jobs (it holds the scheduler lock)")
        self._conn = conn
        return True

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.invalidate()
                conn.close()
            except Exception:  # noqa: BLE001 (already gone)
                pass

    def release(self) -> None:
        self._drop()


def digest_triggers(db: Database) -> dict[str, CronTrigger]:
    """One cron trigger per distinct (time, days, zone) a digest or subscription is due at."""
    wanted: dict[str, tuple[str, str, str]] = {}
    with db.sessions() as session:
        org = session.get(Org, 1)
        org_zone = org.timezone if org else "UTC"
        for team in session.scalars(select(Team).where(Team.active.is_(True), Team.digest_time.is_not(None))):
            wanted[_job_id(team.digest_time, team.digest_days, team.timezone)] = (team.digest_time, team.digest_days or WORKING_DAYS, team.timezone)  # type: ignore[arg-type]
        if org is not None and org.digest_time:
            wanted[_job_id(org.digest_time, org.digest_days, org_zone)] = (org.digest_time, org.digest_days or WORKING_DAYS, org_zone)
        rows = session.execute(select(Subscription.time, Member).join(Member, Subscription.member_id == Member.id).where(Member.active.is_(True)))
        for at, member in rows:
            zone = member.effective_timezone(org_zone)
            wanted[_job_id(at, WORKING_DAYS, zone)] = (at, WORKING_DAYS, zone)
    triggers = {}
    for job_id, (at, days, zone) in wanted.items():
        hhmm = parse_hhmm(at)
        triggers[job_id] = CronTrigger(
            day_of_week=",".join(DAY_NAMES[d] for d in weekdays(days)), hour=hhmm.hour, minute=hhmm.minute, timezone=ZoneInfo(zone)
        )
    return triggers


def _job_id(at: str | None, days: str | None, zone: str) -> str:
    return f"digest {at} {days or WORKING_DAYS} {zone}"


class Scheduler:
    def __init__(
        self,
        db: Database,
        notifiers: Sequence[Notifier],
        *,
        clock: Clock = system_clock,
        catchup: timedelta = timedelta(hours=6),
        alert_minutes: int = 10,
        escalation_sweep_s: int = 5,
    ) -> None:
        self.escalation_sweep_s = escalation_sweep_s
        self.db = db
        self.notifiers = list(notifiers)
        self.clock = clock
        self.catchup = catchup
        self.alert_minutes = alert_minutes
        self.leadership = Leadership(db)
        self.leader = False
        self.scheduler = AsyncIOScheduler(timezone=ZoneInfo("UTC"))
        self._running = asyncio.Lock()
        self._woken: asyncio.Future[None] | None = None
        self._wake_pending = False

    async def start(self, _app: Any = None) -> None:
        defaults = {"coalesce": True, "max_instances": 1, "misfire_grace_time": SWEEP_S}
        # APScheduler runs on the real clock; the injected one only says what "now" is to the jobs.
        now = datetime.now(timezone.utc)
        self.scheduler.add_job(self._check_leader, IntervalTrigger(seconds=LEADER_CHECK_S), id="leader", next_run_time=now, **defaults)
        self.scheduler.add_job(self.tick, IntervalTrigger(seconds=SWEEP_S), id="sweep", next_run_time=now + timedelta(seconds=1), **defaults)
        self.scheduler.add_job(self.reschedule, IntervalTrigger(seconds=RESCHEDULE_S), id="reschedule", next_run_time=now, **defaults)
        self.scheduler.add_job(
            self.tick_escalations, IntervalTrigger(seconds=self.escalation_sweep_s), id="escalations", next_run_time=now + timedelta(seconds=2), **defaults
        )
        self.scheduler.start()
        wake.register(asyncio.get_running_loop(), self.wake_escalations)

    async def stop(self, _app: Any = None) -> None:
        wake.unregister()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        await run_chat(self.leadership.release)
        metrics.SCHEDULER_LEADER.set(0)

    async def _check_leader(self) -> None:
        try:
            leader = await run_chat(self.leadership.hold)
        except Exception as exc:  # noqa: BLE001 (the database is away: not the leader until it is back)
            log.warning("cannot check the scheduler lock: %s", type(exc).__name__)
            leader = False
        if leader != self.leader:
            log.info("scheduled jobs: %s", "running here" if leader else "another replica runs them")
        self.leader = leader
        metrics.SCHEDULER_LEADER.set(1 if leader else 0)

    async def reschedule(self) -> None:
        """Add a cron job for each digest time now in the database, and remove those no longer there."""
        try:
            triggers = await run_chat(digest_triggers, self.db)
        except Exception:  # noqa: BLE001 (kept as they were; the sweep still runs every minute)
            log.exception("could not read the digest times")
            return
        existing = {job.id for job in self.scheduler.get_jobs() if job.id.startswith("digest ")}
        for job_id in existing - set(triggers):
            self.scheduler.remove_job(job_id)
        for job_id in set(triggers) - existing:
            self.scheduler.add_job(self.tick, triggers[job_id], id=job_id, coalesce=True, max_instances=1, misfire_grace_time=SWEEP_S)

    def wake_escalations(self) -> None:
        """Run the escalation job now (a command just planned a page), not at its next interval.

        At most one woken pass waits at a time: wakes while it waits are served by it.
        """
        if not self.leader or self._wake_pending:
            return
        self._wake_pending = True
        self._woken = asyncio.ensure_future(self.tick(only="escalations"))

    async def tick_escalations(self) -> None:
        await self.tick(only="escalations")

    async def tick(self, only: str | None = None) -> None:
        """One pass as of now (of the job `only`), if this process is the leader (one pass at a time)."""
        if not self.leader:
            return
        async with self._running:
            if only == "escalations":
                self._wake_pending = False  # from here on, a new wake needs a new pass
            try:
                report = await run_tick(self.db, self.notifiers, self.clock(), only=only, catchup=self.catchup, alert_minutes=self.alert_minutes)
            except Exception:  # noqa: BLE001 (the next pass tries again; state is in the database)
                log.exception("scheduled jobs failed; they run again within a minute")
                return
        metrics.JOB_SECONDS.labels("tick").observe(report.seconds)
        for outcome in report.outcomes:
            metrics.DELIVERIES.labels(outcome.kind, outcome.status).inc()
            if outcome.late:
                metrics.LATE_DELIVERIES.labels(outcome.kind).inc()
        for line in report.lines(verbose=True)[1:]:  # the log keeps each message
            log.info("scheduled: %s", line.strip())
        if only == "escalations":
            metrics.ESCALATIONS_OVERDUE.set(await run_chat(escalations.overdue, self.db, self.clock(), self.escalation_sweep_s))
        if report.lags:
            metrics.SCHEDULER_LAG.set(max(report.lags))
