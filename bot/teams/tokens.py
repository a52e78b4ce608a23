"""Checking the Bot Framework bearer token on a Teams request.

Three steps, so a stranger's request is refused before its body is read:
the header must look like `Bearer <JWT>` (`bearer_problem`), the token alone
must verify (`authenticate` with no activity: signature, issuer, audience,
lifetime), and once the body is read the token must belong to that activity
(`authenticate` again: its `serviceurl` claim and the key's endorsement of
the channel). The verification is botbuilder's own; this module turns every
exception it raises (PyJWT errors, PermissionError, KeyError, IndexError...)
into Unauthorized with a short reason fit for the log, which never quotes
the token.
"""

from __future__ import annotations

import re

import jwt
from botbuilder.schema import Activity
from botframework.connector.auth import AuthenticateRequestResult, BotFrameworkAuthentication

from bot.teams.keys import KeysUnavailable, UnknownSigningKey

# Three base64url segments; the signature may be empty here (alg "none" is refused by the check itself).
_BEARER = re.compile(r"Bearer [A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
MAX_HEADER = 8 * 1024  # Bot Connector tokens are about 1.5 KB

# botbuilder reports most refusals as PermissionError or Exception with a message; name them without quoting it.
_MESSAGES = (
    ("Invalid AppId", "token is for another app id"),
    ("service_url claim", "token is for another service URL"),
    ("No valid identity", "token from an issuer that is not accepted"),
    ("Audience Claim", "token from an issuer that is not accepted"),
    ("signing algorithm", "signing algorithm not allowed"),
    ("endorsement", "signing key not endorsed for this channel"),
    ("Skill Claims", "skill tokens are not accepted"),
)


class Unauthorized(Exception):
    """The request does not carry a valid token for this bot; `reason` is a short phrase for the log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def bearer_problem(header: str) -> str | None:
    """Why an Authorization header cannot hold a Bot Framework token, or None when it might."""
    if not header:
        return "no bearer token"
    if len(header) > MAX_HEADER or not _BEARER.fullmatch(header):
        return "malformed bearer token"
    return None


async def authenticate(
    auth: BotFrameworkAuthentication, header: str, activity: Activity | None = None
) -> AuthenticateRequestResult:
    """botbuilder's verdict on `header`, for `activity` or (None) for the token alone.

    Raises Unauthorized, or KeysUnavailable when the signing keys cannot be
    fetched right now. With authentication disabled and no header, the
    result is botbuilder's anonymous identity.
    """
    try:
        # An empty activity has no channel or service URL, so botbuilder checks the token by itself.
        result = await auth.authenticate_request(activity or Activity(), header)
    except KeysUnavailable:
        raise
    except Exception as exc:  # noqa: BLE001 (whatever botbuilder raises about a token means "not authenticated")
        raise Unauthorized(reason_for(exc)) from None
    claims = result.claims_identity.claims if result.claims_identity else {}
    if header and not isinstance(claims.get("exp"), int | float):
        # PyJWT checks an expiry only when there is one; every Bot Connector token has one.
        raise Unauthorized("token has no expiry")
    return result


def reason_for(exc: Exception) -> str:
    """A short, fixed phrase for a refused token (never the exception's text: it can quote the token)."""
    if isinstance(exc, UnknownSigningKey):
        return "token signed with an unknown key"
    if isinstance(exc, jwt.ExpiredSignatureError):
        return "token expired"
    if isinstance(exc, jwt.ImmatureSignatureError):
        return "token not yet valid"
    if isinstance(exc, jwt.InvalidSignatureError):
        return "bad token signature"
    if isinstance(exc, jwt.InvalidAlgorithmError):
        return "signing algorithm not allowed"
    if isinstance(exc, jwt.DecodeError):
        return "token cannot be decoded"
    message = str(exc)
    for needle, phrase in _MESSAGES:
        if needle in message:
            return phrase
    return f"token refused ({type(exc).__name__})"
