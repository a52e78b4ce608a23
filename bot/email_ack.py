"""The one-click Acknowledge link of an e-mailed page: `GET|POST /ack/{token}`.

The token names the escalation, the member the e-mail went to, the e-mail
itself (its outbox row: the link's identity) and when it expires, signed
with an HMAC under a key csbot keeps in its database (one for every
replica). Nothing in the request can change whom it acts as: the ack is
recorded as the member the token names, so a link forwarded, or one for
someone else's address, never lets anyone act as anybody but that addressee.

GET only shows a page: the escalation's state and, while it is open, one
button that POSTs. Mail security scanners (Microsoft Safe Links, Mimecast,
Proofpoint) open every link in a message before the reader does; if GET
acknowledged, a scanner would take the escalation in the addressee's name,
stop the paging and leave nobody working on it. Scanners fetch; they do not
submit forms.

POST acknowledges with the engine's own `acknowledge` (the status message,
every page and the requester's notice follow, as for a chat click), once:
the link's use is recorded in the same transaction (store.email_links), so
a second click, or two at once, is told the link was used.

Both are open to anyone, so they cost as little as they can: a token is
checked against the key in memory before any database work, a refusal is
one line in the refusals log, answers are short HTML pages without
tracebacks, and both run behind the app's anonymous gate.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import html
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from aiohttp import web
from sqlalchemy.orm import Session

from bot import wake
from bot.anonymous import run_anonymous
from bot.chat_work import run_chat
from bot.refusals import refusals
from escalation import engine
from escalation.models import Escalation
from handlers.escalation_views import local_full
from store.chart_images import KnownKey, app_key, read_app_key
from store.clock import Clock
from store.database import Database
from store.email_links import link_used, use_link
from store.engine import write_transaction
from store.org import Member

log = logging.getLogger(__name__)

ROUTE = "/ack/{token}"
KEY_NAME = "email-ack"
# Long enough for a page read the next morning; the escalation has usually moved on by then anyway.
LINK_LIFETIME = timedelta(hours=24)
MAX_TOKEN = 200
_PURPOSE = b"csbot-email-ack."


@dataclass(frozen=True)
class Link:
    escalation_id: int
    member_id: int
    link_id: int  # the e-mail's outbox row
    expires: datetime

    def payload(self) -> str:
        return f"v1.{self.escalation_id}.{self.member_id}.{self.link_id}.{int(self.expires.timestamp())}"


def _mac(key: str, payload: str) -> str:
    digest = hmac.new(key.encode(), _PURPOSE + payload.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def sign(key: str, link: Link) -> str:
    """The token of `link` (URL-safe: digits, dots and base64url)."""
    payload = link.payload()
    return f"{payload}.{_mac(key, payload)}"


def verify(key: str, token: str) -> Link | None:
    """The link a token names, or None when it is not one csbot signed (expiry is the caller's to check)."""
    if len(token) > MAX_TOKEN or not token.isascii():
        return None
    parts = token.split(".")
    if len(parts) != 6 or parts[0] != "v1" or not all(p.isdigit() and len(p) <= 12 for p in parts[1:5]):
        return None
    payload = ".".join(parts[:5])
    if not hmac.compare_digest(_mac(key, payload), parts[5]):
        return None
    number, member, link_id, expires = (int(p) for p in parts[1:5])
    return Link(number, member, link_id, datetime.fromtimestamp(expires, timezone.utc))


def ack_key(session: Session) -> str:
    """The signing key, made (and committed at once, so every replica signs with the same) the first time."""
    key = read_app_key(session, KEY_NAME)
    if key is None:
        key = app_key(session, KEY_NAME)
        session.commit()
    return key


def link_token(session: Session, escalation_id: int, member_id: int, link_id: int, now: datetime) -> str:
    """A fresh token for the e-mail `link_id` to `member_id` about `escalation_id`, valid for LINK_LIFETIME."""
    return sign(ack_key(session), Link(escalation_id, member_id, link_id, now + LINK_LIFETIME))


# ------------------------------------------------------------------ the pages


@dataclass(frozen=True)
class Page:
    status: int
    title: str
    lines: tuple[str, ...]
    button: str | None = None  # the one button, while there is something to acknowledge


def _state(session: Session, esc: Escalation, zone: str) -> str:
    owner = session.get(Member, esc.owner_id) if esc.owner_id else None
    if esc.state == "acknowledged":
        return f"{esc.label} is acknowledged by {owner.name if owner else 'someone'} ({local_full(esc.acknowledged_at, zone)} {zone})."
    if esc.state in ("resolved", "cancelled"):
        return f"{esc.label} is {esc.state} ({local_full(esc.closed_at, zone)} {zone}); there is nothing to acknowledge."
    if esc.state == "exhausted":
        return f"{esc.label} ran out of people to page and was given up; ask in the queue's channel who has it."
    return f"{esc.label} is open: nobody has acknowledged it yet."


def _subjects(session: Session, link: Link) -> tuple[Escalation, Member] | None:
    esc, member = session.get(Escalation, link.escalation_id), session.get(Member, link.member_id)
    return (esc, member) if esc is not None and member is not None else None


def _zone(session: Session, member: Member) -> str:
    from store.org import Org

    org = session.get(Org, 1)
    return member.effective_timezone(org.timezone if org else "UTC")


def _show(db: Database, link: Link) -> Page:
    """What the GET shows (a read: no write lock, nothing changes)."""
    with db.sessions() as session:
        found = _subjects(session, link)
        if found is None:
            return Page(404, "Not found", ("This link does not lead anywhere any more.",))
        esc, member = found
        zone = _zone(session, member)
        about = f"{esc.label} · {esc.severity.upper()} · ticket {esc.ticket}"
        used = link_used(session, link.link_id)
        if used is not None:
            return Page(409, "This link was used", (about, f"This link was used at {local_full(used.used_at, zone)} {zone}; each works once.", _state(session, esc, zone)))
        if esc.state != "open" or not member.active:
            lines = (about, _state(session, esc, zone)) if member.active else (about, "You are no longer an active member of this organisation.")
            return Page(200, esc.label, lines)
        return Page(200, f"Acknowledge {esc.label}", (about, esc.reason, _state(session, esc, zone)), button=f"Acknowledge {esc.label} as {member.name}")


def _acknowledge(db: Database, link: Link, now: datetime) -> Page:
    """The POST: use the link (once) and acknowledge as its addressee."""
    with write_transaction(db.sessions) as session:
        found = _subjects(session, link)
        if found is None:
            return Page(404, "Not found", ("This link does not lead anywhere any more.",))
        esc, member = found
        zone = _zone(session, member)
        if not member.active:
            return Page(403, esc.label, ("You are no longer an active member of this organisation, so this link cannot act for you.",))
        if not use_link(session, link.link_id, esc.id, member.id, now):
            used = link_used(session, link.link_id)
            when = f" at {local_full(used.used_at, zone)} {zone}" if used else ""
            return Page(409, "This link was used", (f"This link was used{when}; each works once.", _state(session, esc, zone)))
        try:
            engine.acknowledge(session, esc, member, now)
        except engine.Conflict as exc:
            return Page(200, esc.label, (str(exc), _state(session, esc, zone)))
        log.info("%s acknowledged by %s from an e-mailed link", esc.label, member.handle)
        return Page(200, f"{esc.label} acknowledged", (f"Acknowledged {esc.label} as {member.name}: paging stops and the requester is told.", f"Ticket {esc.ticket}: {esc.reason}"))


def render(page: Page) -> web.Response:
    """A small HTML page; every text is escaped (reasons and names are user text)."""
    body = "".join(f"<p>{html.escape(line)}</p>" for line in page.lines)
    if page.button:
        body += f'<form method="post"><button type="submit">{html.escape(page.button)}</button></form>'
    text = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="robots" content="noindex">'
        f'<meta name="viewport" content="width=device-width"><title>{html.escape(page.title)}</title></head>'
        f"<body><h1>{html.escape(page.title)}</h1>{body}</body></html>"
    )
    headers = {
        "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
        "Content-Security-Policy": "default-src 'none'; form-action 'self'; frame-ancestors 'none'",
    }
    return web.Response(status=page.status, text=text, content_type="text/html", charset="utf-8", headers=headers)


def ack_endpoint(db: Database, clock: Clock) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """GET shows the escalation and the button; POST acknowledges (see the module's docstring)."""
    secret = KnownKey(KEY_NAME)

    reading: list[asyncio.Lock] = []  # made in the app's loop, at the first request

    def read_secret() -> str | None:
        with db.sessions() as session:
            return secret.read(session)

    async def known_key() -> str | None:
        # Unlike a calendar's, a real link must not be refused while the key is being read:
        # the first requests wait for that one read (behind the gate, so a bounded few).
        if secret.value is not None or secret.known_missing:
            return secret.value
        if not reading:
            reading.append(asyncio.Lock())
        async with reading[0]:
            if secret.value is None and not secret.known_missing:
                await run_anonymous(read_secret)
        return secret.value

    async def handler(request: web.Request) -> web.StreamResponse:
        key = await known_key()
        link = verify(key, request.match_info["token"]) if key is not None else None
        if link is None:
            refusals.refused("/ack", "unknown or damaged acknowledge link", request.remote)
            return render(Page(404, "Not found", ("This link is not one csbot made, or it was cut short: open it from the e-mail again.",)))
        now = clock()
        if link.expires <= now:
            refusals.refused("/ack", "expired acknowledge link", request.remote)
            return render(Page(410, "This link has expired", (f"Acknowledge links work for {LINK_LIFETIME.total_seconds() / 3600:.0f} hours; use /escalation ack ESC-{link.escalation_id} in chat.",)))
        if request.method == "POST":
            page = await run_chat(_acknowledge, db, link, now)
            wake.escalations()  # the edits and the requester's notice go out now, not at the next sweep
        else:
            page = await run_anonymous(_show, db, link)
        return render(page)

    return handler
