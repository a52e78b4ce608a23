"""Bot Framework signing keys, fetched without blocking the event loop.

botbuilder checks the bearer token on a Teams request against the signing
keys published at an OpenID metadata URL (login.botframework.com). Its own
fetcher calls `requests.get` with no timeout, on the event loop, once a day
and whenever a token names a key it does not know: while that call waits,
every route in the process waits with it, and a key service that never
answers stalls csbot for good.

botbuilder looks the fetcher for each metadata URL up in one shared cache,
`JwtTokenExtractor.metadataCache`, and only uses its `get(key_id)`. `install()`
puts a cache there that hands out OpenIdKeys instead: the keys are fetched
with aiohttp, on the loop without blocking it, within FETCH_TIMEOUT_S; one
refresh per URL runs at a time (concurrent requests wait for the same one);
a key id nobody knows triggers a refresh at most every MIN_REFRESH_S. When
no keys can be had in time, KeysUnavailable tells the endpoint to answer 503
with Retry-After, so the Bot Connector tries again; keys fetched earlier keep
being used while the key service is unreachable.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from botframework.connector.auth import AuthenticationConstants
from botframework.connector.auth.jwt_token_extractor import JwtTokenExtractor
from jwt.algorithms import RSAAlgorithm

log = logging.getLogger(__name__)

FETCH_TIMEOUT_S = 5.0  # both documents of one refresh, together
MAX_AGE_S = 24 * 3600.0  # as botbuilder: keys are refreshed daily
MIN_REFRESH_S = 300.0  # an unknown key id, or a failed refresh, fetches again at most this often
MAX_DOCUMENT = 512 * 1024  # the real key set is a few kilobytes


class KeysUnavailable(Exception):
    """The signing keys could not be fetched in time, and none were fetched before."""


class UnknownSigningKey(PermissionError):
    """The token names a key the service does not publish (botbuilder treats PermissionError as unauthorized)."""


@dataclass(frozen=True)
class SigningKey:
    """What botbuilder reads from a key: the public key, and the channels it may sign for."""

    public_key: Any
    endorsements: list[str]


class OpenIdKeys:
    """The signing keys published at one OpenID metadata URL; botbuilder calls `get` for each token."""

    def __init__(self, url: str, *, timeout_s: float = FETCH_TIMEOUT_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.url = url
        self.timeout_s = timeout_s
        self._clock = clock
        self._keys: dict[str, SigningKey] = {}
        self._fetched_at: float | None = None  # last successful refresh
        self._tried_at: float | None = None  # last refresh, successful or not
        self._refreshing: asyncio.Future[None] | None = None
        self._failing = False

    async def get(self, key_id: Any) -> SigningKey:
        """The key a token's `kid` names; KeysUnavailable or UnknownSigningKey when there is none."""
        if self._fetched_at is None or self._clock() - self._fetched_at > MAX_AGE_S:
            if not self._keys or not self._tried_recently():
                await self._refresh()
        key = self._keys.get(key_id) if isinstance(key_id, str) else None
        if key is None and isinstance(key_id, str) and not self._tried_recently():
            await self._refresh()  # keys rotate: one published since the last refresh
            key = self._keys.get(key_id)
        if key is None:
            raise UnknownSigningKey("token signed with a key that is not published")
        return key

    def _tried_recently(self) -> bool:
        return self._tried_at is not None and self._clock() - self._tried_at < MIN_REFRESH_S

    async def _refresh(self) -> None:
        """Fetch the keys, or wait for the fetch already running; keep old keys if it fails."""
        if self._refreshing is None or self._refreshing.done():
            self._refreshing = asyncio.ensure_future(self._fetch())
            # A waiter that gives up must not leave "exception never retrieved" behind.
            self._refreshing.add_done_callback(lambda f: f.cancelled() or f.exception())
        try:
            # Shielded: one request giving up does not cancel the fetch others wait for.
            await asyncio.shield(self._refreshing)
        except KeysUnavailable:
            if not self._keys:
                raise

    async def _fetch(self) -> None:
        self._tried_at = self._clock()
        try:
            async with asyncio.timeout(self.timeout_s), aiohttp.ClientSession() as http:
                metadata = await _get_json(http, self.url)
                jwks_uri = metadata.get("jwks_uri") if isinstance(metadata, dict) else None
                if not isinstance(jwks_uri, str) or not jwks_uri:
                    raise ValueError("the metadata names no jwks_uri")
                keys = parse_keys(await _get_json(http, jwks_uri))
            if not keys:
                raise ValueError("the key set holds no usable RSA key")
        except Exception as exc:  # noqa: BLE001 (any failure of the key service means "cannot verify now")
            reason = "timed out" if isinstance(exc, TimeoutError) else f"{type(exc).__name__}: {exc}"
            if not self._failing:  # one line per outage, not one per request
                log.warning(
                    "Bot Framework signing keys could not be fetched from %s (%s); %s",
                    self.url, reason[:200], "still using the keys fetched before" if self._keys else "Teams requests get 503 until they can",
                )
            self._failing = True
            raise KeysUnavailable(reason) from None
        if self._failing:
            log.info("Bot Framework signing keys fetched again from %s", self.url)
        self._failing = False
        self._keys = keys
        self._fetched_at = self._clock()


async def _get_json(http: aiohttp.ClientSession, url: str) -> Any:
    async with http.get(url, headers={"Accept": "application/json"}, allow_redirects=False) as resp:
        if resp.status != 200:
            raise ValueError(f"HTTP {resp.status}")
        data = bytearray()
        async for chunk in resp.content.iter_chunked(64 * 1024):
            data += chunk
            if len(data) > MAX_DOCUMENT:
                raise ValueError("document too large")
    return json.loads(bytes(data))


def parse_keys(document: Any) -> dict[str, SigningKey]:
    """The usable RSA public keys of a JWKS document, by key id; anything else in it is skipped."""
    entries = document.get("keys") if isinstance(document, dict) else None
    keys: dict[str, SigningKey] = {}
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or entry.get("kty") != "RSA" or "d" in entry or not isinstance(entry.get("kid"), str):
            continue
        try:
            public_key = RSAAlgorithm.from_jwk(entry)
        except Exception:  # noqa: BLE001 (a malformed key is skipped; the others still work)
            continue
        endorsements = entry.get("endorsements")
        if not isinstance(endorsements, list) or not all(isinstance(e, str) for e in endorsements):
            endorsements = []
        keys[entry["kid"]] = SigningKey(public_key, list(endorsements))
    return keys


class KeySources(dict[str, OpenIdKeys]):
    """What botbuilder's `JwtTokenExtractor.metadataCache` holds: OpenIdKeys for any URL it asks about."""

    def __init__(self, timeout_s: float) -> None:
        super().__init__()
        self.timeout_s = timeout_s

    def __missing__(self, url: str) -> OpenIdKeys:
        keys = self[url] = OpenIdKeys(url, timeout_s=self.timeout_s)
        return keys

    def get(self, url: str, default: Any = None) -> OpenIdKeys:  # type: ignore[override]
        # botbuilder builds its own blocking fetcher when this returns None; never let it.
        return self[url]


def install(timeout_s: float | None = None) -> KeySources:
    """Make botbuilder use OpenIdKeys for every signing-key lookup in this process; returns the cache.

    A new cache each time: keys are fetched afresh, on the event loop now running.
    """
    sources = KeySources(FETCH_TIMEOUT_S if timeout_s is None else timeout_s)
    JwtTokenExtractor.metadataCache = sources
    # Fail at start-up, not on every request, if a botbuilder upgrade stops consulting this cache.
    probe = JwtTokenExtractor.get_open_id_metadata(AuthenticationConstants.TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL)
    if not isinstance(probe, OpenIdKeys):
        raise RuntimeError("botbuilder no longer reads signing keys through JwtTokenExtractor.metadataCache")
    return sources
