"""Small helpers shared by tests (not fixtures: plain functions)."""

from __future__ import annotations

import logging
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from aiohttp import web

from kpi.definitions import METRIC_NAMES
from store.database import Database
from store.org_file import apply_org, parse_org

FIXTURES = Path(__file__).parent / "fixtures"


def apply_fixture_org(db: Database, name: str = "org.yaml") -> None:
    spec = parse_org((FIXTURES / name).read_text(), METRIC_NAMES)
    with db.sessions() as s, s.begin():
        apply_org(s, spec)


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    """Run `app` on a free loopback port; returns the runner (clean it up) and the base URL."""
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]


def assert_no_traceback(records: list[logging.LogRecord]) -> None:
    """No log record carries a traceback or an exception (what a stranger sends is never a crash)."""
    for record in records:
        text = record.getMessage()
        assert record.exc_info is None and "Traceback (most recent call last)" not in text, (
            f"{record.name} logged a traceback: {text[:500]}"
        )


def table_counts(db: Database) -> dict[str, int]:
    """Rows in every table of the schema, to show a refused request changed nothing."""
    from sqlalchemy import func, select

    from store.schema import metadata

    with db.sessions() as s:
        return {t.name: s.scalar(select(func.count()).select_from(t)) or 0 for t in metadata().sorted_tables}


def in_clean_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db_url: str) -> Path:
    """Run the CLI in-process from an empty directory (no stray .env) against `db_url`."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("DATABASE_URL", db_url)
    return work


@contextmanager
def threaded_http_server(
    handler: type[BaseHTTPRequestHandler], *, tls: ssl.SSLContext | None = None, before_stop: Callable[[], None] = lambda: None
) -> Iterator[int]:
    """A stand-in cloud service (blocking http.server) on a free loopback port, in a thread; yields the port.

    `before_stop` runs before shutdown, to let a request the test left hanging finish.
    """
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        before_stop()
        server.shutdown()
        server.server_close()
