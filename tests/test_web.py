"""`csbot serve`: the real aiohttp app over real HTTP."""

from __future__ import annotations

import aiohttp

from bot.config import load_settings
from bot.web import create_app
from store.database import Database, open_database
from store.engine import make_engine
from tests.helpers import serve


async def test_healthz_reports_the_database(db: Database) -> None:
    runner, base = await serve(create_app(db, load_settings({})))
    try:
        async with aiohttp.ClientSession() as http, http.get(f"{base}/healthz") as resp:
            assert resp.status == 200
            body = await resp.json()
        assert body["status"] == "ok"
        assert body["database"]["ok"] is True
        assert body["database"]["backend"] == db.backend
        assert body["database"]["revision"] == body["database"]["head"]
    finally:
        await runner.cleanup()


async def test_healthz_says_when_the_schema_is_behind(tmp_path) -> None:  # type: ignore[no-untyped-def]
    db = open_database(f"sqlite:///{tmp_path / 'old.db'}", upgrade=False)
    runner, base = await serve(create_app(db, load_settings({})))
    try:
        async with aiohttp.ClientSession() as http, http.get(f"{base}/healthz") as resp:
            assert resp.status == 503
            body = await resp.json()
        assert body["database"]["ok"] is False and "csbot db upgrade" in body["database"]["error"]
    finally:
        await runner.cleanup()
        db.dispose()


async def test_healthz_when_the_database_is_unreachable() -> None:
    from sqlalchemy.orm import sessionmaker

    engine = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none", timeout_s=1)
    db = Database(engine, sessionmaker(bind=engine))
    runner, base = await serve(create_app(db, load_settings({})))
    try:
        async with aiohttp.ClientSession() as http, http.get(f"{base}/healthz") as resp:
            assert resp.status == 503
            body = await resp.json()
        assert body["status"] == "unavailable" and body["database"]["ok"] is False
        assert body["database"]["error"]
    finally:
        await runner.cleanup()
        engine.dispose()
