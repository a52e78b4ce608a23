"""The token csbot answers Teams with, got without blocking the event loop.

Every answer to Teams is a call to the Bot Connector carrying a token from
Microsoft Entra ID, which MSAL gets with blocking HTTPS calls. botbuilder
makes new credentials for every incoming activity, so MSAL's token cache
starts empty each time, and msrest asks the credentials for the token
synchronously, on the event loop, just before the call: per message two
round trips to login.microsoftonline.com with no time limit, during which
every route of the process waits (msrest-for-python issue 264).

TokenWarmingFactory wraps the credentials factory botbuilder would use, as
its `credentials_factory` parameter allows. It keeps one credentials object
per app id and scope for the life of the process, so a token is reused until
MSAL renews it; it gives MSAL's HTTP calls a timeout; and before handing the
credentials out it has MSAL get the token in a worker thread, within
TOKEN_TIMEOUT_S, so that msrest's synchronous call finds it in the cache.
When no token can be had in time, TokenUnavailable is raised before the turn
starts: the endpoint answers 503 with Retry-After, and a proactive message
is reported as not delivered (and retried).
"""

from __future__ import annotations

import asyncio
import logging

from botframework.connector.auth import MicrosoftAppCredentials, ServiceClientCredentialsFactory
from msal import ConfidentialClientApplication
from msrest.authentication import Authentication
from bot.chat_work import run_chat

log = logging.getLogger(__name__)

TOKEN_TIMEOUT_S = 10.0


class TokenUnavailable(Exception):
    """No token for the Bot Connector could be had in time; the answer cannot be sent now."""


class TokenWarmingFactory(ServiceClientCredentialsFactory):
    """Credentials whose token is fetched off the event loop and reused across activities."""

    def __init__(self, inner: ServiceClientCredentialsFactory) -> None:
        self._inner = inner
        self._credentials: dict[tuple[str, str, str], Authentication] = {}
        self._warming: dict[tuple[str, str, str], asyncio.Future[None]] = {}
        self._failing = False

    async def is_valid_app_id(self, app_id: str) -> bool:
        return await self._inner.is_valid_app_id(app_id)

    async def is_authentication_disabled(self) -> bool:
        return await self._inner.is_authentication_disabled()

    async def create_credentials(
        self, app_id: str, oauth_scope: str, login_endpoint: str, validate_authority: bool
    ) -> Authentication:
        """The credentials for `app_id` and `oauth_scope`, their token already in MSAL's cache."""
        key = (app_id or "", oauth_scope or "", login_endpoint or "")
        credentials = self._credentials.get(key)
        if credentials is None:
            credentials = await self._inner.create_credentials(app_id, oauth_scope, login_endpoint, validate_authority)
            self._credentials[key] = credentials
        if getattr(credentials, "microsoft_app_id", None):  # the anonymous credentials of auth-disabled need no token
            await self._warm(key, credentials)
        return credentials

    async def _warm(self, key: tuple[str, str, str], credentials: Authentication) -> None:
        # One worker thread per credentials at a time, however many activities wait for it:
        # an Entra ID outage must not take every thread the database calls need.
        warming = self._warming.get(key)
        if warming is None or warming.done():
            warming = asyncio.ensure_future(asyncio.wait_for(run_chat(_get_token, credentials), TOKEN_TIMEOUT_S))
            warming.add_done_callback(lambda f: f.cancelled() or f.exception())
            self._warming[key] = warming
        try:
            await asyncio.shield(warming)
        except Exception as exc:  # noqa: BLE001 (a timeout, an unreachable or refusing Entra ID: no token now)
            reason = "timed out" if isinstance(exc, TimeoutError) else f"{type(exc).__name__}: {exc}"
            if not self._failing:  # one line per outage, not one per message
                log.warning("no Bot Connector token from Microsoft Entra ID (%s); Teams gets 503 until there is", reason[:300])
            self._failing = True
            raise TokenUnavailable(reason) from None
        if self._failing:
            log.info("Bot Connector token from Microsoft Entra ID available again")
        self._failing = False


def _get_token(credentials: Authentication) -> None:
    """In a worker thread: MSAL's cached token, or a new one (blocking HTTPS)."""
    if isinstance(credentials, MicrosoftAppCredentials) and credentials.app is None:
        # The MSAL application botbuilder would make itself (its constructor already calls Entra ID),
        # with a time limit on its HTTP calls. No instance discovery: the authority is Microsoft's
        # own login host (or a local stand-in for it), never one to look up.
        credentials.app = ConfidentialClientApplication(
            client_id=credentials.microsoft_app_id,
            client_credential=credentials.microsoft_app_password,
            authority=credentials.oauth_endpoint,
            timeout=TOKEN_TIMEOUT_S,
            instance_discovery=False,
        )
    credentials.get_access_token()
