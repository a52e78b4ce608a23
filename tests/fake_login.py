"""A local stand-in for Microsoft Entra ID (login.microsoftonline.com), over HTTPS.

csbot's replies to Teams carry a token MSAL gets with the client-credentials
flow; MSAL only talks HTTPS, so this serves its tenant discovery document and
token endpoint with a certificate made for 127.0.0.1 (trust it with
REQUESTS_CA_BUNDLE=`ca_file`). It counts token requests, checks the client
secret, and can be told to hang. Like tests/fake_openid.py it runs in its own
thread, as a machine elsewhere would.
"""

from __future__ import annotations

import datetime
import ipaddress
import itertools
import json
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from tests.fake_openid import rsa_key
from tests.helpers import threaded_http_server


def _certificate(directory: Path) -> tuple[Path, Path]:
    key = rsa_key("tls")
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "login.crt", directory / "login.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


@dataclass
class FakeLogin:
    client_id: str
    client_secret: str
    hang_s: float = 0.0  # > 0: the token endpoint waits this long (or until released)
    token_requests: int = 0
    issued: list[str] = field(default_factory=list)
    base: str = ""  # https://127.0.0.1:PORT/ (what botbuilder calls the login URL prefix)
    ca_file: Path | None = None
    _release: threading.Event = field(default_factory=threading.Event)
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    def release(self) -> None:
        self._release.set()

    @contextmanager
    def running(self, directory: Path) -> Iterator[FakeLogin]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _json(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802 (the http.server API)
                tenant = self.path.strip("/").split("/")[0]
                if self.path.endswith("/.well-known/openid-configuration"):
                    root = f"{fake.base}{tenant}"
                    self._json(200, {
                        "issuer": f"{root}/v2.0",
                        "authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
                        "token_endpoint": f"{root}/oauth2/v2.0/token",
                    })
                else:
                    self._json(404, {"error": "not_found"})

            def do_POST(self) -> None:  # noqa: N802
                form = parse_qs(self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode())
                if not self.path.endswith("/oauth2/v2.0/token"):
                    self._json(404, {"error": "not_found"})
                    return
                fake.token_requests += 1
                if fake.hang_s:
                    fake._release.wait(fake.hang_s)
                if form.get("client_id") != [fake.client_id] or form.get("client_secret") != [fake.client_secret]:
                    self._json(401, {"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret."})
                    return
                token = f"connector-token-{next(fake._ids)}"
                fake.issued.append(token)
                self._json(200, {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": token})

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (quiet in tests)
                pass

        cert_file, key_file = _certificate(directory)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_file, key_file)
        with threaded_http_server(Handler, tls=context, before_stop=self.release) as port:
            self.base = f"https://127.0.0.1:{port}/"
            self.ca_file = cert_file
            yield self
