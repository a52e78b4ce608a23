"""A local stand-in for the Bot Framework token service (login.botframework.com).

It serves the OpenID metadata document and the signing keys (JWKS) that
botbuilder reads to check `Authorization: Bearer` tokens, and mints tokens
the way the Bot Connector does: RS256, signed with the published key, with
issuer, audience, lifetime and `serviceurl` claims. It runs in its own thread
with a blocking HTTP server, like a machine elsewhere, so a request that
blocks csbot's event loop cannot be answered by it, and it can be told to
hang to show that a slow key refresh stalls nothing else.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from http.server import BaseHTTPRequestHandler
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tests.helpers import threaded_http_server

ISSUER = "https://api.botframework.com"
KID = "csbot-test-key-1"
METADATA_PATH = "/v1/.well-known/openidconfiguration"
KEYS_PATH = "/v1/.well-known/keys"


@lru_cache(maxsize=4)
def rsa_key(name: str) -> rsa.RSAPrivateKey:
    """A 2048-bit RSA key per name, generated once per test run."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned_token(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    """A JWT put together by hand (PyJWT refuses to make the forgeries tests need)."""
    head = _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(claims).encode())
    return head + "." + _b64(signature)


def rs256_token(header: dict[str, Any], claims: dict[str, Any], key: rsa.RSAPrivateKey) -> str:
    """An RS256 token with any header at all (PyJWT checks the header it is given)."""
    head = _b64(json.dumps({**header, "alg": "RS256"}).encode()) + "." + _b64(json.dumps(claims).encode())
    signer = RSAAlgorithm(RSAAlgorithm.SHA256)
    return head + "." + _b64(signer.sign(head.encode(), key))


def hs256_token(header: dict[str, Any], claims: dict[str, Any], secret: bytes) -> str:
    """The classic key-confusion forgery: HMAC-signed with the public key as the secret."""
    head = _b64(json.dumps({**header, "alg": "HS256"}).encode()) + "." + _b64(json.dumps(claims).encode())
    return head + "." + _b64(hmac.new(secret, head.encode(), hashlib.sha256).digest())


@dataclass
class FakeOpenId:
    endorsements: list[str] = field(default_factory=lambda: ["msteams"])
    hang_s: float = 0.0  # > 0: the keys endpoint waits this long (or until released) before answering
    fail: bool = False  # the keys endpoint answers 500
    hits: dict[str, int] = field(default_factory=dict)
    extra_keys: list[dict[str, Any]] = field(default_factory=list)
    base: str = ""
    _release: threading.Event = field(default_factory=threading.Event)

    @property
    def metadata_url(self) -> str:
        return self.base + METADATA_PATH

    @property
    def key(self) -> rsa.RSAPrivateKey:
        return rsa_key("published")

    def jwks(self) -> dict[str, Any]:
        jwk = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**jwk, "kid": KID, "use": "sig", "endorsements": self.endorsements}, *self.extra_keys]}

    def claims(self, app_id: str, service_url: str, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims = {"iss": ISSUER, "aud": app_id, "serviceurl": service_url, "nbf": now - 60, "iat": now - 60, "exp": now + 3600}
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def token(
        self,
        app_id: str,
        service_url: str,
        *,
        key: rsa.RSAPrivateKey | None = None,
        algorithm: str = "RS256",
        headers: dict[str, Any] | None = None,
        **claims: Any,
    ) -> str:
        """A Bot Connector token; any claim can be overridden (None drops it)."""
        header = {"kid": KID} if headers is None else headers
        return jwt.encode(self.claims(app_id, service_url, **claims), key or self.key, algorithm=algorithm, headers=header)

    def release(self) -> None:
        """Let a hanging keys request answer now."""
        self._release.set()

    @contextmanager
    def running(self) -> Iterator[FakeOpenId]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the http.server API)
                fake.hits[self.path] = fake.hits.get(self.path, 0) + 1
                if self.path == METADATA_PATH:
                    body = {"issuer": ISSUER, "jwks_uri": fake.base + KEYS_PATH, "id_token_signing_alg_values_supported": ["RS256"]}
                elif self.path == KEYS_PATH:
                    if fake.hang_s:
                        fake._release.wait(fake.hang_s)
                    if fake.fail:
                        self.send_error(500)
                        return
                    body = fake.jwks()
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (quiet in tests)
                pass

        with threaded_http_server(Handler, before_stop=self.release) as port:
            self.base = f"http://127.0.0.1:{port}"
            yield self
