"""The csbot aiohttp application (`csbot serve`).

Routes: `GET /healthz`, `POST /webhooks/tickets`, `POST /slack/events` (plus
Socket Mode) when Slack is configured and `POST /api/messages` when Teams is,
so one process serves every surface.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta

from aiohttp import http_exceptions, web

from bot.config import Settings
from bot import escalations, metrics
from bot.metrics import exposition
from bot.oncall_calendar import ROUTE as CALENDAR_ROUTE
from bot.oncall_calendar import calendar_endpoint
from bot.notify import Notifier
from bot.refusals import refusals
from bot.url_text import unreadable_part
from bot.request_body import MAX_BODY
from bot.webhooks import tickets_webhook
from handlers.registry import build_router
from handlers.router import Router
from store.busy import RETRY_AFTER_S, describe, is_busy
from store.clock import Clock, system_clock
from store.database import Database, open_database

log = logging.getLogger(__name__)

DB_KEY = web.AppKey("db", Database)
CLOCK_KEY = web.AppKey("clock", Clock)  # type: ignore[arg-type]
SWEEP_KEY = web.AppKey("escalation_sweep_s", int)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def healthz(request: web.Request) -> web.Response:
    # The probe runs blocking driver calls; keep them off the event loop.
    db_status = await asyncio.to_thread(request.app[DB_KEY].health)
    if detail := db_status.pop("detail", None):
        # The driver's message names hosts and users: the log gets it, callers do not.
        log.warning("health check: %s", detail)
    status = 200 if db_status["ok"] else 503
    body: dict[str, object] = {"status": "ok" if db_status["ok"] else "unavailable", "database": db_status}
    if db_status["ok"]:
        # Escalations whose step is late by two sweeps: pages are not going out. The process
        # still answers (200), so a load balancer keeps it; monitoring reads "degraded".
        sweep_s = request.app[SWEEP_KEY]
        late = await asyncio.to_thread(escalations.overdue, request.app[DB_KEY], request.app[CLOCK_KEY](), sweep_s)
        body["escalations"] = {"overdue": late, "sweep_seconds": sweep_s}
        if late:
            body["status"] = "degraded"
    return web.json_response(body, status=status)


@web.middleware
async def last_resort(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Whatever a route did not answer itself: a busy database is 503, a bug is a short 500.

    Routes answer bad input themselves (400/401/413); this only keeps a
    database outage from looking like a crash, and a crash from showing
    its traceback to the caller. A bug is logged once, with a reference.
    """
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except Exception as exc:
        if is_busy(exc):
            log.warning("%s %s: database busy (%s), answered 503", request.method, request.path, describe(exc))
            return web.json_response(
                {"ok": False, "error": "database busy; retry later"}, status=503, headers={"Retry-After": str(RETRY_AFTER_S)}
            )
        ref = uuid.uuid4().hex[:8]
        log.exception("%s %s failed (ref %s)", request.method, request.path, ref)
        return web.json_response({"ok": False, "error": f"internal error (ref {ref})"}, status=500)


@web.middleware
async def readable_url(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A URL whose %-escapes are not UTF-8 (bot.url_text) is refused before any route reads it."""
    part = unreadable_part(request.raw_path)
    if part is not None:
        reason = f"{part} is not UTF-8 text"
        resource = request.match_info.route.resource
        refusals.refused(resource.canonical if resource is not None else "http", reason, request.remote)
        return web.json_response({"ok": False, "error": reason}, status=400)
    return await handler(request)


class MalformedHttpFilter(logging.Filter):
    """aiohttp answers a request it cannot parse (a header over 8 KB, broken chunks)
    with 400 before any route runs, and logs it as an ERROR with a traceback: for a
    stranger's bytes, that is one refusal line instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, http_exceptions.HttpProcessingError):
            source = record.args[0] if isinstance(record.args, tuple) and record.args else None
            refusals.refused("http", f"malformed HTTP request ({type(error).__name__})", str(source) if source else None)
            return False
        return True


_MALFORMED_HTTP = MalformedHttpFilter()


async def metrics_endpoint(request: web.Request) -> web.Response:
    try:
        late = await asyncio.to_thread(escalations.overdue, request.app[DB_KEY], request.app[CLOCK_KEY](), request.app[SWEEP_KEY])
        metrics.ESCALATIONS_OVERDUE.set(late)
    except Exception as exc:  # noqa: BLE001 (the other figures are still worth reading)
        log.warning("cannot count overdue escalations: %s", type(exc).__name__)
    body, content_type = exposition()
    return web.Response(body=body, headers={"Content-Type": content_type})


def create_app(
    db: Database, settings: Settings, *, clock: Clock = system_clock, router: Router | None = None, schedule: bool = False
) -> web.Application:
    """The web app; with `schedule`, the scheduler runs in it too (`csbot serve`)."""
    if _MALFORMED_HTTP not in logging.getLogger("aiohttp.server").filters:
        logging.getLogger("aiohttp.server").addFilter(_MALFORMED_HTTP)
    # No route takes compressed bodies (every signature is over the bytes as
    # sent), and a corrupt gzip body would otherwise fail inside the route.
    app = web.Application(client_max_size=MAX_BODY, middlewares=[last_resort, readable_url], handler_args={"auto_decompress": False})
    app[DB_KEY] = db
    app[CLOCK_KEY] = clock
    app[SWEEP_KEY] = settings.escalation_sweep_seconds
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_endpoint)
    app.router.add_get(CALENDAR_ROUTE, calendar_endpoint(db, clock))
    app.router.add_post("/webhooks/tickets", tickets_webhook(db, settings.webhook_secret, clock))
    if not settings.webhook_secret:
        log.warning("CSBOT_WEBHOOK_SECRET is not set: POST /webhooks/tickets refuses every request")
    router = router or build_router()
    notifiers: list[Notifier] = []
    links = None
    if settings.public_url:
        from bot.chart_links import ROUTE as CHARTS, ChartLinks, chart_endpoint

        links = ChartLinks(db, settings.public_url, clock)
        app.router.add_get(CHARTS, chart_endpoint(db, clock))
    if settings.slack is not None:
        from bot.slack.app import SlackBot
        from bot.slack.app import mount as mount_slack
        from bot.slack.notifier import SlackNotifier

        slack = SlackBot(settings.slack, db, router, clock)
        mount_slack(app, slack)
        notifiers.append(SlackNotifier(slack.client))
    if settings.teams is not None:
        from bot.teams.app import TeamsApp
        from bot.teams.app import mount as mount_teams

        teams = TeamsApp(settings.teams, db, router, clock, links)
        mount_teams(app, teams)
        notifiers.append(teams.notifier)
    if schedule:
        from bot.scheduler import Scheduler

        if not notifiers:
            log.warning("neither Slack nor Teams is configured: scheduled scorecards are recorded as not reachable")
        scheduler = Scheduler(
            db,
            notifiers,
            clock=clock,
            catchup=timedelta(hours=settings.digest_catchup_hours),
            alert_minutes=settings.alert_check_minutes,
            escalation_sweep_s=settings.escalation_sweep_seconds,
        )
        app.on_startup.append(scheduler.start)
        app.on_cleanup.append(scheduler.stop)
    return app


def serve(settings: Settings, *, host: str, port: int) -> None:
    db = open_database(settings.database_url, timeout_s=settings.db_timeout_s)
    app = create_app(db, settings, schedule=True)

    async def _close_db(_app: web.Application) -> None:
        db.dispose()

    app.on_cleanup.append(_close_db)
    log.info("csbot serving on http://%s:%d (database: %s)", host, port, db.backend)
    web.run_app(app, host=host, port=port, print=None, access_log=None)
