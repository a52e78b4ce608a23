"""The csbot aiohttp application (`csbot serve`).

Routes: `GET /healthz` today; the Slack, Teams and webhook endpoints mount
here as their adapters land, so one process serves every surface.
"""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from bot.config import Settings
from store.database import Database, open_database

log = logging.getLogger(__name__)

DB_KEY = web.AppKey("db", Database)


async def healthz(request: web.Request) -> web.Response:
    # The probe runs blocking driver calls; keep them off the event loop.
    db_status = await asyncio.to_thread(request.app[DB_KEY].health)
    status = 200 if db_status["ok"] else 503
    return web.json_response({"status": "ok" if db_status["ok"] else "unavailable", "database": db_status}, status=status)


def create_app(db: Database) -> web.Application:
    app = web.Application()
    app[DB_KEY] = db
    app.router.add_get("/healthz", healthz)
    return app


def serve(settings: Settings, *, host: str, port: int) -> None:
    db = open_database(settings.database_url, timeout_s=settings.db_timeout_s)
    app = create_app(db)

    async def _close_db(_app: web.Application) -> None:
        db.dispose()

    app.on_cleanup.append(_close_db)
    log.info("csbot serving on http://%s:%d (database: %s)", host, port, db.backend)
    web.run_app(app, host=host, port=port, print=None, access_log=None)
