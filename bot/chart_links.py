"""Charts in Teams cards by link: csbot serves each PNG at an unguessable, signed, expiring URL.

A Teams card shows an image by URL. With CSBOT_PUBLIC_URL set (the public
HTTPS address the Teams endpoint already needs), each chart is stored and
linked as `{public}/charts/{token}.png?exp=…&sig=…`: the token is 256 random
bits, the signature an HMAC over token and expiry with a key csbot keeps in
its database (one for every replica), and after LINK_DAYS the link answers
404 and the image is deleted. Without CSBOT_PUBLIC_URL the card inlines the
chart when it fits Teams' message size, else describes it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime, timedelta

from aiohttp import web
from sqlalchemy import delete, select

from bot.anonymous import SharedRead, run_anonymous
from bot.refusals import refusals
from handlers.reply import Chart, Reply
from store.chart_images import ChartImage, KnownKey, app_key
from store.clock import Clock
from store.database import Database
from store.engine import write_transaction

LINK_DAYS = 7
ROUTE = "/charts/{name}"
KEY_NAME = "chart-links"


def _signature(key: str, token: str, expires: int) -> str:
    return hmac.new(key.encode(), f"{token}.{expires}".encode(), hashlib.sha256).hexdigest()


class ChartLinks:
    def __init__(self, db: Database, public_url: str, clock: Clock) -> None:
        self.db = db
        self.public_url = public_url.rstrip("/")
        self.clock = clock

    def publish(self, reply: Reply) -> Reply:
        """The reply with each chart given a link (blocking: call from a thread)."""
        if not any(isinstance(b, Chart) and b.url is None for b in reply.blocks):
            return reply
        now = self.clock()
        expires = now + timedelta(days=LINK_DAYS)
        blocks = []
        with write_transaction(self.db.sessions) as session:
            key = app_key(session, KEY_NAME)
            for block in reply.blocks:
                if isinstance(block, Chart) and block.url is None:
                    token = secrets.token_urlsafe(32)
                    session.add(ChartImage(token=token, png=block.png, created_at=now, expires_at=expires))
                    stamp = int(expires.timestamp())
                    block = replace(block, url=f"{self.public_url}/charts/{token}.png?exp={stamp}&sig={_signature(key, token, stamp)}")
                blocks.append(block)
        return replace(reply, blocks=blocks)


def forget_expired(db: Database, now: datetime) -> int:
    """Delete the images whose links have expired; how many."""
    with write_transaction(db.sessions) as session:
        return int(session.execute(delete(ChartImage).where(ChartImage.expires_at < now)).rowcount or 0)


def chart_endpoint(db: Database, clock: Clock) -> Callable[[web.Request], Awaitable[web.Response]]:
    """GET /charts/{token}.png: the image for a valid, unexpired link; 404 for anything else, saying nothing more.

    An anonymous route: the signing key is read once and kept, so a forged
    link is refused from memory; a signed one is a single read, on the
    anonymous pool (bot/anonymous.py).
    """
    signing = KnownKey(KEY_NAME)

    def read_key() -> str | None:
        with db.sessions() as session:
            return signing.read(session)

    shared = SharedRead(read_key, lambda: signing.value, lambda: signing.known_missing)

    def find(token: str) -> bytes | None:
        with db.sessions() as session:
            return session.scalar(select(ChartImage.png).where(ChartImage.token == token, ChartImage.expires_at >= clock()))

    async def handler(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        token = name.removesuffix(".png")
        exp, sig = request.query.get("exp", ""), request.query.get("sig", "")
        png = None
        if name.endswith(".png") and 20 <= len(token) <= 64 and exp.isascii() and exp.isdigit() and len(exp) <= 12 and len(sig) == 64 and sig.isascii():
            if int(exp) >= clock().timestamp():
                key = await shared.get()
                if key is not None and hmac.compare_digest(_signature(key, token, int(exp)), sig):
                    png = await run_anonymous(find, token)
        if png is None:
            refusals.refused("/charts", "unknown, expired or unsigned chart link", request.remote)
            return web.Response(status=404, text="not found")
        return web.Response(body=png, content_type="image/png", headers={"Cache-Control": "private, max-age=3600"})

    return handler
