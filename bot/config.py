"""Runtime configuration read from environment variables (and `.env`).

Every variable is parsed and validated here, once, so that a typo stops
start-up with one line naming the variable instead of failing later inside a
request. `.env.example` documents each variable; keep the two in step.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from dotenv import load_dotenv
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from store.zones import is_zone

DEFAULT_DATABASE_URL = "sqlite:///csbot.db"
SUPPORTED_DRIVERS = ("sqlite", "postgresql")


class ConfigError(Exception):
    """A configuration value is invalid; the message names the variable."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable
        self.problem = problem


@dataclass(frozen=True)
class SlackSettings:
    bot_token: str
    signing_secret: str | None  # required for the HTTP endpoint
    app_token: str | None  # Socket Mode when set
    api_url: str  # ends with "/"


@dataclass(frozen=True)
class TeamsSettings:
    app_id: str | None  # None only when auth_disabled
    app_password: str | None
    app_type: str  # MultiTenant | SingleTenant | UserAssignedMSI
    tenant_id: str | None
    auth_disabled: bool

    # The attribute names botbuilder's ConfigurationBotFrameworkAuthentication reads.
    @property
    def APP_ID(self) -> str | None:  # noqa: N802
        return self.app_id

    @property
    def APP_PASSWORD(self) -> str | None:  # noqa: N802
        return self.app_password

    @property
    def APP_TYPE(self) -> str:  # noqa: N802
        return self.app_type

    @property
    def APP_TENANTID(self) -> str | None:  # noqa: N802
        return self.tenant_id


@dataclass(frozen=True)
class SmtpSettings:
    """Where pages go out by e-mail (CSBOT_SMTP_URL, CSBOT_SMTP_FROM)."""

    host: str
    port: int
    security: str  # ssl (smtps://) | starttls | none
    username: str | None
    password: str | None
    sender: str  # the From header, e.g. "csbot <csbot@example.com>"
    sender_address: str  # the envelope sender and the Message-ID's domain


@dataclass(frozen=True)
class Settings:
    database_url: str
    timezone: str
    host: str
    port: int
    log_level: str
    db_timeout_s: float
    webhook_secret: str | None = None
    # Signs what csbot POSTs to queues' `webhook:` URLs; without it nothing is sent there.
    outbound_webhook_secret: str | None = None
    slack: SlackSettings | None = None
    teams: TeamsSettings | None = None
    # A scheduled message missed while csbot was down is still sent this long after it was due.
    digest_catchup_hours: int = 6
    alert_check_minutes: int = 10
    escalation_sweep_seconds: int = 5
    # POST /events/v2/enqueue: events accepted per routing key per minute (beyond: 429 with Retry-After).
    events_per_minute: int = 120
    # A helpdesk ticket's URL with {id}: ticket references in escalations become links.
    ticket_url_template: str | None = None
    # csbot's public HTTPS address (the one Teams reaches): charts in Teams cards are served from it.
    public_url: str | None = None
    # GET /metrics on its own listener (then not on the public port), and/or behind a bearer token.
    metrics_host: str | None = None
    metrics_port: int | None = None
    metrics_token: str | None = None
    smtp: SmtpSettings | None = None


def _database_url(env: Mapping[str, str]) -> str:
    raw = env.get("DATABASE_URL", "").strip() or DEFAULT_DATABASE_URL
    try:
        url = make_url(raw)
    except ArgumentError:
        raise ConfigError("DATABASE_URL", f"not a database URL: {raw!r} (expected e.g. {DEFAULT_DATABASE_URL})") from None
    if url.get_backend_name() not in SUPPORTED_DRIVERS:
        raise ConfigError(
            "DATABASE_URL",
            f"unsupported database {url.get_backend_name()!r}; use sqlite:///FILE or postgresql+psycopg://USER@HOST/DB",
        )
    if url.get_backend_name() == "postgresql" and url.get_driver_name() not in ("psycopg", "psycopg2"):
        raise ConfigError("DATABASE_URL", "PostgreSQL URLs must use the psycopg driver: postgresql+psycopg://...")
    return raw


def _timezone(env: Mapping[str, str], name: str, default: str) -> str:
    raw = env.get(name, "").strip() or default
    if not is_zone(raw):
        raise ConfigError(name, f"unknown time zone {raw!r} (use an IANA name such as Europe/Berlin)")
    return raw


def _int(env: Mapping[str, str], name: str, default: int, *, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(name, f"not a whole number: {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(name, f"{value} is out of range ({low}..{high})")
    return value


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(name, f"not a number of seconds: {raw!r}") from None
    if not value > 0 or value != value or value == float("inf"):
        raise ConfigError(name, f"must be a positive number of seconds, got {raw!r}")
    return value


def _choice(env: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    raw = (env.get(name, "").strip() or default).upper()
    if raw not in choices:
        raise ConfigError(name, f"{raw!r} is not one of {', '.join(choices)}")
    return raw


def _secret(env: Mapping[str, str], name: str, min_length: int = 16) -> str | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    if len(raw) < min_length:
        raise ConfigError(name, f"too short to be a secret ({len(raw)} characters; use at least {min_length})")
    return raw


DEFAULT_SLACK_API_URL = "https://slack.com/api/"


def _url(env: Mapping[str, str], name: str, default: str) -> str:
    raw = env.get(name, "").strip() or default
    parsed = urlparse(raw)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError(name, f"not an http(s) URL: {raw!r}")
    return raw if raw.endswith("/") else raw + "/"


def _slack(env: Mapping[str, str]) -> SlackSettings | None:
    """Slack is on when SLACK_BOT_TOKEN is set; partial or contradictory settings are refused."""
    token = env.get("SLACK_BOT_TOKEN", "").strip()
    secret = env.get("SLACK_SIGNING_SECRET", "").strip()
    app_token = env.get("SLACK_APP_TOKEN", "").strip()
    api_url = _url(env, "SLACK_API_URL", DEFAULT_SLACK_API_URL)
    if not token:
        if secret or app_token:
            set_names = [n for n, v in (("SLACK_SIGNING_SECRET", secret), ("SLACK_APP_TOKEN", app_token)) if v]
            raise ConfigError("SLACK_BOT_TOKEN", f"required when {' and '.join(set_names)} is set (the bot's xoxb- token)")
        return None
    if not token.startswith("xoxb-"):
        raise ConfigError("SLACK_BOT_TOKEN", "must be a bot token starting with xoxb- (OAuth & Permissions page)")
    if app_token and not app_token.startswith("xapp-"):
        raise ConfigError("SLACK_APP_TOKEN", "must be an app-level token starting with xapp- (Basic Information page)")
    if not app_token and not secret:
        raise ConfigError(
            "SLACK_SIGNING_SECRET", "required to verify requests to /slack/events (or set SLACK_APP_TOKEN for Socket Mode)"
        )
    return SlackSettings(bot_token=token, signing_secret=secret or None, app_token=app_token or None, api_url=api_url)


APP_TYPES = ("MultiTenant", "SingleTenant", "UserAssignedMSI")


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise ConfigError(name, f"{raw!r} is not true or false")


def _teams(env: Mapping[str, str]) -> TeamsSettings | None:
    """Teams is on with MicrosoftAppId, or for local testing with TEAMS_AUTH_DISABLED=true; never by accident."""
    app_id = env.get("MicrosoftAppId", "").strip()
    password = env.get("MicrosoftAppPassword", "").strip()
    app_type = env.get("MicrosoftAppType", "").strip()
    tenant = env.get("MicrosoftAppTenantId", "").strip()
    disabled = _flag(env, "TEAMS_AUTH_DISABLED")
    if disabled:
        if app_id:
            raise ConfigError("TEAMS_AUTH_DISABLED", "cannot be true while MicrosoftAppId is set (that would skip token checks)")
        return TeamsSettings(None, None, "MultiTenant", None, auth_disabled=True)
    if not app_id:
        others = [n for n, v in (("MicrosoftAppPassword", password), ("MicrosoftAppType", app_type), ("MicrosoftAppTenantId", tenant)) if v]
        if others:
            raise ConfigError("MicrosoftAppId", f"required when {' and '.join(others)} is set (the Azure Bot's app id)")
        return None
    app_type = app_type or "MultiTenant"
    canonical = {t.lower(): t for t in APP_TYPES}
    if app_type.lower() not in canonical:
        raise ConfigError("MicrosoftAppType", f"{app_type!r} is not one of {', '.join(APP_TYPES)}")
    app_type = canonical[app_type.lower()]
    if app_type != "UserAssignedMSI" and not password:
        raise ConfigError("MicrosoftAppPassword", f"required for a {app_type} bot (the client secret of the app registration)")
    if app_type != "MultiTenant" and not tenant:
        raise ConfigError("MicrosoftAppTenantId", f"required for a {app_type} bot")
    return TeamsSettings(app_id, password or None, app_type, tenant or None, auth_disabled=False)


def load_settings(env: Mapping[str, str] | None = None, *, dotenv: bool = True) -> Settings:
    """Read settings from `env` (default: the process environment plus `.env`).

    Raises ConfigError for the first invalid variable.
    """
    if env is None:
        if dotenv:
            # The working directory's .env, never overriding real environment variables.
            load_dotenv(Path.cwd() / ".env", override=False)
        env = os.environ
    return Settings(
        database_url=_database_url(env),
        timezone=_timezone(env, "CSBOT_TIMEZONE", "UTC"),
        host=env.get("CSBOT_HOST", "").strip() or "127.0.0.1",
        port=_int(env, "CSBOT_PORT", 3000, low=1, high=65535),
        log_level=_choice(env, "CSBOT_LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR")),
        db_timeout_s=_seconds(env, "CSBOT_DB_TIMEOUT_S", 15.0),
        webhook_secret=_secret(env, "CSBOT_WEBHOOK_SECRET"),
        outbound_webhook_secret=_secret(env, "CSBOT_OUTBOUND_WEBHOOK_SECRET"),
        slack=_slack(env),
        teams=_teams(env),
        digest_catchup_hours=_int(env, "DIGEST_CATCHUP_HOURS", 6, low=0, high=72),
        alert_check_minutes=_int(env, "ALERT_CHECK_MINUTES", 10, low=1, high=1440),
        escalation_sweep_seconds=_int(env, "ESCALATION_SWEEP_SECONDS", 5, low=1, high=300),
        events_per_minute=_int(env, "CSBOT_EVENTS_PER_MINUTE", 120, low=1, high=100_000),
        ticket_url_template=_ticket_url_template(env),
        public_url=_public_url(env),
        smtp=_smtp(env),
        **_metrics(env),
    )


def _metrics(env: Mapping[str, str]) -> dict[str, object]:
    """Where /metrics is served and whether it needs a token.

    Neither set: on the public port, open (serve warns when that port is not
    on a loopback address). CSBOT_METRICS_PORT: only on that port, bound to
    CSBOT_METRICS_HOST (default 127.0.0.1). CSBOT_METRICS_TOKEN: wherever it
    is served, only with `Authorization: Bearer <token>`.
    """
    host = env.get("CSBOT_METRICS_HOST", "").strip()
    port = _int(env, "CSBOT_METRICS_PORT", 0, low=1, high=65535) if env.get("CSBOT_METRICS_PORT", "").strip() else None
    if host and port is None:
        raise ConfigError("CSBOT_METRICS_HOST", "only used with CSBOT_METRICS_PORT (the port /metrics is served on)")
    if port is not None and port == _int(env, "CSBOT_PORT", 3000, low=1, high=65535):
        raise ConfigError("CSBOT_METRICS_PORT", f"{port} is CSBOT_PORT too; pick another port, or unset it to serve /metrics on the public port")
    token = _secret(env, "CSBOT_METRICS_TOKEN")
    if token is not None and (not token.isascii() or any(c.isspace() for c in token)):
        raise ConfigError("CSBOT_METRICS_TOKEN", "must be printable ASCII without spaces (it is sent in an Authorization header)")
    return {"metrics_host": (host or "127.0.0.1") if port is not None else None, "metrics_port": port, "metrics_token": token}


def _ticket_url_template(env: Mapping[str, str]) -> str | None:
    raw = env.get("TICKET_URL_TEMPLATE", "").strip()
    if not raw:
        return None
    parsed = urlparse(raw.replace("{id}", "0"))
    try:
        raw.format(id="0")
        formats = True
    except (ValueError, KeyError, IndexError):
        formats = False
    if not formats or raw.count("{id}") != 1 or parsed.scheme not in ("https", "http") or not parsed.netloc or "{" in raw.replace("{id}", ""):
        raise ConfigError("TICKET_URL_TEMPLATE", f"must be a helpdesk URL with {{id}} once, e.g. https://acme.zendesk.com/agent/tickets/{{id}} (got {raw!r})")
    return raw


def _public_url(env: Mapping[str, str]) -> str | None:
    raw = env.get("CSBOT_PUBLIC_URL", "").strip()
    if not raw:
        return None
    parsed = urlparse(raw)
    if parsed.scheme != "https" or not parsed.netloc or parsed.query or parsed.fragment:
        raise ConfigError("CSBOT_PUBLIC_URL", f"must be csbot's public https:// address, e.g. https://csbot.example.com (got {raw!r})")
    return raw.rstrip("/")


SMTP_PORTS = {"smtp": 25, "smtps": 465}


def _smtp(env: Mapping[str, str]) -> SmtpSettings | None:
    """E-mail is on when CSBOT_SMTP_URL is set: `smtp://[user:pass@]host[:port][?starttls=1]` or `smtps://…` (TLS from the start).

    A password is never sent in the clear: with credentials, plain `smtp://`
    needs `starttls=1`, unless the server is on this machine (a local relay).
    """
    raw = env.get("CSBOT_SMTP_URL", "").strip()
    sender = env.get("CSBOT_SMTP_FROM", "").strip()
    if not raw:
        if sender:
            raise ConfigError("CSBOT_SMTP_URL", "required when CSBOT_SMTP_FROM is set (the SMTP server pages are e-mailed through)")
        return None
    example = "e.g. smtp://user:pass@mail.example.com:587?starttls=1 or smtps://user:pass@mail.example.com"
    parsed = urlparse(raw)
    try:
        port = parsed.port
    except ValueError:
        raise ConfigError("CSBOT_SMTP_URL", f"the port is not a number from 1 to 65535 ({example})") from None
    if parsed.scheme not in SMTP_PORTS or not parsed.hostname or parsed.path not in ("", "/") or parsed.fragment:
        # The URL may hold a password: never echoed back.
        raise ConfigError("CSBOT_SMTP_URL", f"not an SMTP URL ({example})")
    query = parse_qs(parsed.query, keep_blank_values=True)
    unknown = sorted(set(query) - {"starttls"})
    if unknown:
        raise ConfigError("CSBOT_SMTP_URL", f"unknown option {unknown[0]!r}; the only option is starttls=1")
    starttls = query.get("starttls", ["0"])[-1].strip().lower()
    if starttls not in ("0", "1", "true", "false", "yes", "no"):
        raise ConfigError("CSBOT_SMTP_URL", "starttls must be 1 or 0")
    security = "ssl" if parsed.scheme == "smtps" else "starttls" if starttls in ("1", "true", "yes") else "none"
    if parsed.scheme == "smtps" and "starttls" in query:
        raise ConfigError("CSBOT_SMTP_URL", "smtps:// is TLS from the start; starttls is for smtp:// (port 587)")
    username = unquote(parsed.username) if parsed.username else None
    password = unquote(parsed.password) if parsed.password else None
    if (username is None) != (password is None):
        raise ConfigError("CSBOT_SMTP_URL", "give both a user and a password (user:pass@host), or neither")
    if password is not None and security == "none" and not _is_local(parsed.hostname):
        raise ConfigError("CSBOT_SMTP_URL", "a password over smtp:// without starttls=1 would cross the network in the clear; add ?starttls=1 or use smtps://")
    if not sender:
        raise ConfigError("CSBOT_SMTP_FROM", "required with CSBOT_SMTP_URL: the address pages come from, e.g. csbot <csbot@example.com>")
    return SmtpSettings(parsed.hostname, port or SMTP_PORTS[parsed.scheme], security, username, password, *_sender(sender))


def _sender(raw: str) -> tuple[str, str]:
    """CSBOT_SMTP_FROM as a From header and its bare address."""
    from email.headerregistry import Address
    from email.utils import parseaddr

    if any(c in raw for c in "\r\n\0"):
        raise ConfigError("CSBOT_SMTP_FROM", "must be one line")
    name, address = parseaddr(raw)
    local, _, domain = address.rpartition("@")
    if not local or "." not in domain or " " in address:
        raise ConfigError("CSBOT_SMTP_FROM", f"not an e-mail address: {raw!r} (e.g. csbot <csbot@example.com>)")
    try:
        header = str(Address(display_name=name, addr_spec=address))
    except (ValueError, IndexError):
        raise ConfigError("CSBOT_SMTP_FROM", f"not an e-mail address: {raw!r}") from None
    return header, address


def _is_local(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
