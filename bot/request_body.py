"""Reading a request body the same careful way on every route.

A stranger controls the body: its size, how fast it arrives, whether its
chunked framing is valid, and whether the connection survives until its end.
`read_body` turns every one of those into a refusal with a status (413 over
the limit, 400 for a body that never finishes or cannot be read), so no route
reads a body any other way and none of them can be made to answer 500 or be
held open by a trickle.
"""

from __future__ import annotations

import asyncio

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

MAX_BODY = 256 * 1024
# Senders (Slack, the Bot Connector, a helpdesk) send a few kilobytes at once;
# a body still trickling in after this is someone holding connections open.
BODY_TIMEOUT_S = 10.0


class Refused(Exception):
    """A request a route answers itself: its status, the reason to log, what the sender is told."""

    def __init__(self, status: int, reason: str, public: str | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason  # for the log
        self.public = public or reason  # for the sender


async def read_body(request: web.Request, *, limit: int = MAX_BODY, timeout_s: float | None = None) -> bytes:
    """The raw body as sent, or Refused: 413 as soon as it is known to be over `limit`, else 400."""
    if request.content_length is not None and request.content_length > limit:
        raise Refused(413, "body too large")
    body = bytearray()
    try:
        async with asyncio.timeout(BODY_TIMEOUT_S if timeout_s is None else timeout_s):
            async for chunk in request.content.iter_chunked(64 * 1024):
                body += chunk
                if len(body) > limit:
                    raise Refused(413, "body too large")
    except TimeoutError:
        raise Refused(400, "body not received in time") from None
    except (web.RequestPayloadError, HttpProcessingError, ConnectionError):
        # Bad chunked framing, a connection cut mid-body.
        raise Refused(400, "body could not be read") from None
    return bytes(body)
