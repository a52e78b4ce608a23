"""Charts and files in Teams cards by link: csbot serves each at an unguessable, signed, expiring URL.

A Teams card shows an image by URL, and offers a file (a `--csv` answer) by
a link to open. With CSBOT_PUBLIC_URL set (the public HTTPS address the
Teams endpoint already needs), each chart is stored and linked as
`{public}/charts/{token}.png?exp=…&sig=…` and each file as
`{public}/files/{token}.csv?exp=…&sig=…`: the token is 256 random bits, the
signature an HMAC over token and expiry with a key csbot keeps in its
database (one for every replica). After LINK_DAYS (a chart) or FILE_LINK_HOURS
(a file: figures a person was shown, not a picture for a channel) the link
answers 404 and the content is deleted. Without CSBOT_PUBLIC_URL the card
inlines the chart (or the file's text) when it fits Teams' message size,
else describes it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import delete, select

from bot.anonymous import SharedRead, run_anonymous
from bot.refusals import refusals
from handlers.reply import Chart, File, Reply
from store.chart_images import ChartImage, KnownKey, app_key
from store.clock import Clock
from store.database import Database
from store.engine import write_transaction

LINK_DAYS = 7
FILE_LINK_HOURS = 24
ROUTE = "/charts/{name}"
FILE_ROUTE = "/files/{name}"
KEY_NAME = "chart-links"
PNG = "image/png"


def _signature(key: str, token: str, expires: int) -> str:
    return hmac.new(key.encode(), f"{token}.{expires}".encode(), hashlib.sha256).hexdigest()


class ChartLinks:
    def __init__(self, db: Database, public_url: str, clock: Clock) -> None:
        self.db = db
        self.public_url = public_url.rstrip("/")
        self.clock = clock

    def publish(self, reply: Reply) -> Reply:
        """The reply with each chart and file given a link (blocking: call from a thread)."""
        if not any(isinstance(b, (Chart, File)) and b.url is None for b in reply.blocks):
            return reply
        now = self.clock()
        blocks = []
        with write_transaction(self.db.sessions) as session:
            key = app_key(session, KEY_NAME)

            def link(route: str, suffix: str, content: bytes, media_type: str, filename: str | None, lasts: timedelta) -> str:
                token = secrets.token_urlsafe(32)
                expires = now + lasts
                session.add(ChartImage(token=token, png=content, media_type=media_type, filename=filename, created_at=now, expires_at=expires))
                stamp = int(expires.timestamp())
                return f"{self.public_url}/{route}/{token}{suffix}?exp={stamp}&sig={_signature(key, token, stamp)}"

            for block in reply.blocks:
                if isinstance(block, Chart) and block.url is None:
                    block = replace(block, url=link("charts", ".png", block.png, PNG, None, timedelta(days=LINK_DAYS)))
                elif isinstance(block, File) and block.url is None:
                    url = link("files", ".csv", block.content, block.media_type, block.filename, timedelta(hours=FILE_LINK_HOURS))
                    block = replace(block, url=url)
                blocks.append(block)
        return replace(reply, blocks=blocks)


def forget_expired(db: Database, now: datetime) -> int:
    """Delete the charts and files whose links have expired; how many."""
    with write_transaction(db.sessions) as session:
        return int(session.execute(delete(ChartImage).where(ChartImage.expires_at < now)).rowcount or 0)


def _signed_endpoint(
    db: Database, clock: Clock, route: str, suffix: str, files: bool, respond: Callable[[Any], web.Response]
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """GET {route}/{token}{suffix}: what a valid, unexpired link names; 404 for anything else, saying nothing more.

    An anonymous route: the signing key is read once and kept, so a forged
    link is refused from memory; a signed one is a single read, on the
    anonymous pool (bot/anonymous.py). A chart's link never opens a file, nor
    a file's a chart.
    """
    signing = KnownKey(KEY_NAME)

    def read_key() -> str | None:
        with db.sessions() as session:
            return signing.read(session)

    shared = SharedRead(read_key, lambda: signing.value, lambda: signing.known_missing)
    kind = ChartImage.media_type != PNG if files else ChartImage.media_type == PNG

    def find(token: str) -> Any:
        with db.sessions() as session:
            return session.execute(
                select(ChartImage.png, ChartImage.media_type, ChartImage.filename).where(ChartImage.token == token, ChartImage.expires_at >= clock(), kind)
            ).first()

    async def handler(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        token = name.removesuffix(suffix)
        exp, sig = request.query.get("exp", ""), request.query.get("sig", "")
        found = None
        if name.endswith(suffix) and 20 <= len(token) <= 64 and exp.isascii() and exp.isdigit() and len(exp) <= 12 and len(sig) == 64 and sig.isascii():
            if int(exp) >= clock().timestamp():
                key = await shared.get()
                if key is not None and hmac.compare_digest(_signature(key, token, int(exp)), sig):
                    found = await run_anonymous(find, token)
        if found is None:
            refusals.refused(route, f"unknown, expired or unsigned {'file' if files else 'chart'} link", request.remote)
            return web.Response(status=404, text="not found")
        return respond(found)

    return handler


def chart_endpoint(db: Database, clock: Clock) -> Callable[[web.Request], Awaitable[web.Response]]:
    """GET /charts/{token}.png: the chart image of a valid, unexpired link."""
    return _signed_endpoint(
        db, clock, "/charts", ".png", False, lambda row: web.Response(body=row.png, content_type=PNG, headers={"Cache-Control": "private, max-age=3600"})
    )


def _download(row: Any) -> web.Response:
    # ASCII file names only in the header (csbot makes them from slugs); the rest is for the browser to save, never to show.
    filename = "".join(ch for ch in (row.filename or "csbot.csv") if ch.isascii() and (ch.isalnum() or ch in "-_."))
    return web.Response(
        body=row.png,
        headers={
            "Content-Type": f"{row.media_type}; charset=utf-8" if row.media_type.startswith("text/") else row.media_type,
            "Content-Disposition": f'attachment; filename="{filename or "csbot.csv"}"',
            # Figures a person was shown: no cache keeps them past the link's life.
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


def file_endpoint(db: Database, clock: Clock) -> Callable[[web.Request], Awaitable[web.Response]]:
    """GET /files/{token}.csv: the file of a valid, unexpired link, as a download (Content-Disposition: attachment)."""
    return _signed_endpoint(db, clock, "/files", ".csv", True, _download)
