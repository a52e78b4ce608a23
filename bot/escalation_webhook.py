"""A queue's outbound webhook: every change of its escalations POSTed as signed JSON, through the outbox.

The body is one timeline event and the escalation as it is when sent
(handlers.escalation_views.webhook_reply). It is signed as csbot's own
ticket webhook asks helpdesks to sign (bot/webhooks.py): HMAC-SHA256 of
`"{timestamp}.{body}"` with CSBOT_OUTBOUND_WEBHOOK_SECRET, in

    X-Csbot-Timestamp: 1767225600
    X-Csbot-Signature: sha256=<hex digest>
    X-Csbot-Delivery: csbot-outbox-<n>     (the same on every retry of one event: deduplicate on it)

A 2xx answer is delivered; anything else, or no answer in 10 seconds, is
retried by the outbox with backoff. Without the secret nothing is sent
(each event is recorded as not reachable): an unsigned body would let
anyone who learns the URL forge escalations into the helpdesk.
"""

from __future__ import annotations

import json
import time

import aiohttp
from sqlalchemy import select

from bot.chat_work import run_chat
from bot.notify import Address, Delivery, MemberAddress, Sent, TeamAddress
from bot.webhooks import sign
from handlers.reply import Reply
from store.database import Database
from store.queues import EscalationQueue

TIMEOUT_S = 10.0


class EscalationWebhooks:
    """The `webhook` platform of the outbox: recipients `webhook:queue:<queue id>`."""

    platform = "webhook"

    def __init__(self, db: Database, secret: str) -> None:
        self._db = db
        self._secret = secret
        self._session: aiohttp.ClientSession | None = None

    def _url(self, queue_id: str) -> str | None:
        if not queue_id.isdigit():
            return None
        with self._db.sessions() as session:
            return session.scalar(select(EscalationQueue.webhook_url).where(EscalationQueue.id == int(queue_id)))

    async def send(self, to: Address, reply: Reply, *, key: str, thread: str | None = None) -> Sent:
        url = await run_chat(self._url, to.id)
        if url is None:
            return Sent(error="the queue has no webhook any more")
        body = json.dumps(reply.data, ensure_ascii=False, sort_keys=True).encode("utf-8")
        stamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "csbot-escalation-webhook",
            "X-Csbot-Timestamp": stamp,
            "X-Csbot-Signature": sign(self._secret, stamp, body),
            "X-Csbot-Delivery": key,
        }
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT_S))
        try:
            async with self._session.post(url, data=body, headers=headers, allow_redirects=False) as resp:
                if 200 <= resp.status < 300:
                    return Sent(message_ids=(key,))
                return Sent(error=f"the webhook answered HTTP {resp.status}")
        except (aiohttp.ClientError, TimeoutError) as exc:
            return Sent(error=f"the webhook could not be reached: {type(exc).__name__}")

    async def find_sent(self, to: Address, key: str) -> tuple[str, ...] | None:
        return None  # a webhook cannot be asked; the receiver deduplicates on X-Csbot-Delivery

    async def update(self, to: Address, message_id: str, reply: Reply) -> Sent:
        return Sent(error="webhook deliveries are never edited")

    async def to_team(self, team: TeamAddress, reply: Reply) -> Delivery | None:
        return None

    async def to_member(self, member: MemberAddress, reply: Reply) -> Delivery | None:
        return None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


__all__ = ["EscalationWebhooks"]
