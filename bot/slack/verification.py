"""Is an HTTP request from Slack: its v0 signature over the raw bytes, within 5 minutes.

Slack signs `v0:{X-Slack-Request-Timestamp}:{raw body}` with HMAC-SHA256 and
the app's signing secret ("Verifying requests from Slack"). The check runs
on the bytes as received, before anything is decoded or parsed, so a body
that is not UTF-8, JSON or a form is refused as unauthenticated (401) when
unsigned and as malformed (400) only once it is known to come from Slack.

slack_sdk's SignatureVerifier is not used on this path: it decodes the body
as UTF-8 first (raising on anything else) and calls int() on the timestamp
(which takes "+1700000000", " 1700000000" and 400-digit numbers); here the
timestamp must be a short run of ASCII digits before any arithmetic. The
digest is the same, so a request SignatureVerifier signs is accepted.
"""

from __future__ import annotations

import hashlib
import hmac
import re

MAX_SKEW_S = 300  # Slack's replay window: a request stamped further from now is refused
_STAMP = re.compile(r"[0-9]{1,12}")  # not str.isdigit(): that accepts every script's digits


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The X-Slack-Signature value Slack sends for `body` at `timestamp`."""
    base = b"v0:" + timestamp.encode("ascii") + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def unauthentic(secret: str, timestamp: str | None, sent: str | None, body: bytes, now: float) -> str | None:
    """None when the request is Slack's and fresh, else the reason it is refused (a short phrase)."""
    if timestamp is None or sent is None:
        return "missing signature headers"
    if not _STAMP.fullmatch(timestamp):
        return "timestamp is not an integer"
    if abs(now - int(timestamp)) > MAX_SKEW_S:
        return "timestamp outside the 5-minute window"
    # compare_digest refuses non-ASCII text with a TypeError; no real signature has any.
    if not sent.isascii() or not hmac.compare_digest(signature(secret, timestamp, body), sent):
        return "bad signature"
    return None
