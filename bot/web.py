"""The csbot aiohttp application (`csbot serve`).

Routes: `GET /healthz`, `GET /metrics` (or on its own port), `POST /webhooks/tickets`, `POST /events/v2/enqueue`,
`GET|POST /ack/{token}` (the Acknowledge link of e-mailed pages),
`POST /slack/events` (plus Socket Mode) when Slack is configured and
`POST /api/messages` when Teams is, so one process serves every surface.
Anonymous GETs go through one gate (bot/anonymous.py); chat work runs on its
own pool (bot/chat_work.py).
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta

from aiohttp import http_exceptions, web

from bot.config import Settings
from bot.events_api import ROUTE as EVENTS_ROUTE
from bot.events_api import events_endpoint
from bot import metrics
from bot.anonymous import Gate
from bot.email_ack import ROUTE as ACK_ROUTE
from bot.email_ack import ack_endpoint
from bot.health import REFRESH_S, StatusCache
from bot.metrics import exposition
from bot.oncall_calendar import ROUTE as CALENDAR_ROUTE
from bot.oncall_calendar import calendar_endpoint
from bot.personal_calendar import ROUTE as PERSONAL_CALENDAR_ROUTE
from bot.personal_calendar import personal_endpoint
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
STATUS_KEY = web.AppKey("status", StatusCache)
GATE_KEY = web.AppKey("anonymous_gate", Gate)
METRICS_TOKEN_KEY = web.AppKey("metrics_token", str)  # type: ignore[arg-type]
# How often the interpreter lets another thread take the GIL (default 5 ms); see serve().
SWITCH_INTERVAL_S = 0.001
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def healthz(request: web.Request) -> web.Response:
    # From the status cache: a thousand probes a second cost one database probe a second.
    status = await request.app[STATUS_KEY].current()
    return web.Response(body=status.body, status=status.http_status, content_type="application/json")


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


def metrics_endpoint(status: StatusCache, token: str | None) -> Handler:
    """GET /metrics: Prometheus' text, behind `Authorization: Bearer <token>` when a token is set."""
    expected = f"Bearer {token}".encode() if token else None
    last: list[tuple[float, bytes, str]] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        if expected is not None and not hmac.compare_digest(request.headers.get("Authorization", "").encode(), expected):
            refusals.refused("/metrics", "missing or wrong bearer token", request.remote)
            return web.json_response({"ok": False, "error": "unauthorized"}, status=401, headers={"WWW-Authenticate": 'Bearer realm="csbot metrics"'})
        current = await status.current()
        if last and time.monotonic() - last[0][0] < REFRESH_S:
            _, body, content_type = last[0]  # scrapers read every few seconds; a flood gets this second's text
        else:
            if current.overdue is not None:
                metrics.ESCALATIONS_OVERDUE.set(current.overdue)
            if current.leases is not None:
                metrics.OUTBOX_HELD.set(current.leases.held)
                metrics.OUTBOX_STALE.set(current.leases.stale)
            body, content_type = exposition()
            last[:] = [(time.monotonic(), body, content_type)]
        return web.Response(body=body, headers={"Content-Type": content_type})

    return handler


def metrics_app(status: StatusCache, gate: Gate, token: str | None) -> web.Application:
    """The app of the separate metrics listener (CSBOT_METRICS_PORT): /metrics only."""
    app = web.Application(middlewares=[last_resort])
    app.router.add_get("/metrics", gate.guard("/metrics", metrics_endpoint(status, token)))
    return app


def _metrics_listener(app: web.Application, host: str, port: int) -> None:
    """Serve the metrics app on host:port for as long as `app` runs."""
    runners: list[web.AppRunner] = []

    async def start(_app: web.Application) -> None:
        runner = web.AppRunner(metrics_app(app[STATUS_KEY], app[GATE_KEY], app[METRICS_TOKEN_KEY]), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, host, port).start()
        runners.append(runner)
        log.info("metrics on http://%s:%d/metrics", host, port)

    async def stop(_app: web.Application) -> None:
        for runner in runners:
            await runner.cleanup()

    app.on_startup.append(start)
    app.on_cleanup.append(stop)


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
    app[STATUS_KEY] = status = StatusCache(db, clock, settings.escalation_sweep_seconds)
    # One gate for every anonymous route: a flood of one cannot add to a flood of another.
    app[GATE_KEY] = gate = Gate()
    app[METRICS_TOKEN_KEY] = settings.metrics_token
    app.router.add_get("/healthz", gate.guard("/healthz", healthz))
    if settings.metrics_port is None:
        app.router.add_get("/metrics", gate.guard("/metrics", metrics_endpoint(status, settings.metrics_token)))
    else:
        _metrics_listener(app, settings.metrics_host or "127.0.0.1", settings.metrics_port)
    app.router.add_get(CALENDAR_ROUTE, gate.guard("/oncall", calendar_endpoint(db, clock)))
    app.router.add_get(PERSONAL_CALENDAR_ROUTE, gate.guard("/oncall/me", personal_endpoint(db, clock)))
    acknowledge = gate.guard("/ack", ack_endpoint(db, clock))  # the e-mailed pages' one-click Acknowledge
    app.router.add_get(ACK_ROUTE, acknowledge)
    app.router.add_post(ACK_ROUTE, acknowledge)
    app.router.add_post("/webhooks/tickets", tickets_webhook(db, settings.webhook_secret, clock))
    app.router.add_post(EVENTS_ROUTE, events_endpoint(db, clock, settings.events_per_minute))
    if not settings.webhook_secret:
        log.warning("CSBOT_WEBHOOK_SECRET is not set: POST /webhooks/tickets refuses every request")
    router = router or build_router()
    notifiers: list[Notifier] = []
    links = None
    if settings.public_url:
        from bot.chart_links import FILE_ROUTE, ROUTE as CHARTS, ChartLinks, chart_endpoint, file_endpoint

        links = ChartLinks(db, settings.public_url, clock)
        app.router.add_get(CHARTS, gate.guard("/charts", chart_endpoint(db, clock)))
        app.router.add_get(FILE_ROUTE, gate.guard("/files", file_endpoint(db, clock)))
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
    if settings.smtp is not None:
        from bot.email_notifier import EmailNotifier

        notifiers.append(EmailNotifier(settings.smtp, settings.public_url))
        if not settings.public_url:
            log.warning("CSBOT_SMTP_URL is set without CSBOT_PUBLIC_URL: e-mailed pages carry no Acknowledge link")
    if settings.outbound_webhook_secret:
        from bot.escalation_webhook import EscalationWebhooks

        webhooks = EscalationWebhooks(db, settings.outbound_webhook_secret)
        notifiers.append(webhooks)

        async def _close_webhooks(_app: web.Application) -> None:
            await webhooks.close()

        app.on_cleanup.append(_close_webhooks)
    if schedule:
        from bot.scheduler import Scheduler

        if settings.slack is None and settings.teams is None:
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
    # Chat threads (bot/chat_work.py) give up the GIL at every database call; while the event
    # loop is busy answering a flood, each call would wait the default 5 ms to get it back.
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    db = open_database(settings.database_url, timeout_s=settings.db_timeout_s)
    app = create_app(db, settings, schedule=True)

    async def _close_db(_app: web.Application) -> None:
        db.dispose()

    app.on_cleanup.append(_close_db)
    log.info("csbot serving on http://%s:%d (database: %s)", host, port, db.backend)
    warn_if_metrics_exposed(settings, host)
    web.run_app(app, host=host, port=port, print=None, access_log=None)


def warn_if_metrics_exposed(settings: Settings, host: str) -> None:
    """One warning at start when /metrics, without a token, listens beyond this machine."""
    metrics_host = settings.metrics_host if settings.metrics_port is not None else host
    if not settings.metrics_token and not _is_loopback(metrics_host):
        log.warning(
            "GET /metrics is open to anyone who can reach %s; set CSBOT_METRICS_TOKEN, or CSBOT_METRICS_PORT "
            "(with CSBOT_METRICS_HOST left at 127.0.0.1) to serve it on a private port",
            metrics_host,
        )


def _is_loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False
