"""Configuration: defaults, and one clear line naming the variable for each bad value."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bot.config import DEFAULT_DATABASE_URL, ConfigError, load_settings


def test_defaults() -> None:
    s = load_settings({})
    assert s.database_url == DEFAULT_DATABASE_URL
    assert s.timezone == "UTC"
    assert s.port == 3000
    assert s.db_timeout_s == 15.0


def test_valid_values() -> None:
    s = load_settings(
        {
            "DATABASE_URL": "postgresql+psycopg://csbot@db.internal/csbot",
            "CSBOT_TIMEZONE": "Europe/Berlin",
            "CSBOT_PORT": "8080",
            "CSBOT_DB_TIMEOUT_S": "2.5",
            "CSBOT_LOG_LEVEL": "debug",
        }
    )
    assert s.timezone == "Europe/Berlin" and s.port == 8080 and s.db_timeout_s == 2.5 and s.log_level == "DEBUG"


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"DATABASE_URL": "not a url"}, "DATABASE_URL"),
        ({"DATABASE_URL": "mysql://root@localhost/x"}, "DATABASE_URL"),
        ({"DATABASE_URL": "postgresql+asyncpg://u@h/db"}, "DATABASE_URL"),
        ({"CSBOT_TIMEZONE": "Mars/Olympus"}, "CSBOT_TIMEZONE"),
        ({"CSBOT_TIMEZONE": "Europe/" + "x" * 300}, "CSBOT_TIMEZONE"),
        ({"CSBOT_PORT": "seventy"}, "CSBOT_PORT"),
        ({"CSBOT_PORT": "70000"}, "CSBOT_PORT"),
        ({"CSBOT_DB_TIMEOUT_S": "-5"}, "CSBOT_DB_TIMEOUT_S"),
        ({"CSBOT_DB_TIMEOUT_S": "0"}, "CSBOT_DB_TIMEOUT_S"),
        ({"CSBOT_DB_TIMEOUT_S": "nan"}, "CSBOT_DB_TIMEOUT_S"),
        ({"CSBOT_LOG_LEVEL": "chatty"}, "CSBOT_LOG_LEVEL"),
    ],
)
def test_invalid_values_name_the_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(env)
    assert info.value.variable == variable
    assert str(info.value).startswith(f"{variable}: ")


def _csbot(args: list[str], env: dict[str, str], cwd: str) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("CSBOT_") and k != "DATABASE_URL"}
    full.update(env)
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], env=full, cwd=cwd, capture_output=True, text=True, timeout=120)


def test_startup_stops_with_one_line_and_no_traceback(tmp_path) -> None:  # type: ignore[no-untyped-def]
    r = _csbot(["db", "upgrade"], {"CSBOT_DB_TIMEOUT_S": "-1"}, str(tmp_path))
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert "CSBOT_DB_TIMEOUT_S" in lines[0]
    assert "Traceback" not in r.stderr


def test_dotenv_file_is_read_and_environment_wins(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / ".env").write_text("CSBOT_TIMEZONE=Nowhere/Land\n")
    r = _csbot(["db", "upgrade"], {}, str(tmp_path))
    assert r.returncode == 2 and "CSBOT_TIMEZONE" in r.stderr
    r = _csbot(["db", "upgrade"], {"CSBOT_TIMEZONE": "Asia/Tokyo"}, str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "csbot.db").exists()


def test_env_example_lists_every_variable_the_settings_read() -> None:
    import re
    from pathlib import Path

    root = Path(__file__).parent.parent
    source = (root / "bot" / "config.py").read_text()
    read = set(re.findall(r'env(?:\.get)?\(\s*"([A-Za-z_]+)"', source)) | set(re.findall(r'_\w+\(env, "([A-Za-z_]+)"', source))
    listed = {line.split("=", 1)[0] for line in (root / ".env.example").read_text().splitlines() if line and not line.startswith("#")}
    assert read, "found no variables in bot/config.py"
    assert read <= listed, f"missing from .env.example: {sorted(read - listed)}"
    # Every listed variable has a comment right above it.
    lines = (root / ".env.example").read_text().splitlines()
    for i, line in enumerate(lines):
        if line and not line.startswith("#"):
            assert any(lines[j].startswith("#") for j in range(max(0, i - 2), i)), line


def test_metrics_defaults_to_the_public_port_without_a_token() -> None:
    s = load_settings({})
    assert s.metrics_port is None and s.metrics_host is None and s.metrics_token is None


def test_metrics_port_token_and_host() -> None:
    s = load_settings({"CSBOT_METRICS_PORT": "9100", "CSBOT_METRICS_TOKEN": "scrape-token-0123456789"})
    assert (s.metrics_host, s.metrics_port, s.metrics_token) == ("127.0.0.1", 9100, "scrape-token-0123456789")
    s = load_settings({"CSBOT_METRICS_PORT": "9100", "CSBOT_METRICS_HOST": "10.0.0.5"})
    assert (s.metrics_host, s.metrics_port, s.metrics_token) == ("10.0.0.5", 9100, None)


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"CSBOT_METRICS_PORT": "ninety"}, "CSBOT_METRICS_PORT"),
        ({"CSBOT_METRICS_PORT": "0"}, "CSBOT_METRICS_PORT"),
        ({"CSBOT_METRICS_PORT": "3000"}, "CSBOT_METRICS_PORT"),  # the public port too
        ({"CSBOT_METRICS_PORT": "8080", "CSBOT_PORT": "8080"}, "CSBOT_METRICS_PORT"),
        ({"CSBOT_METRICS_HOST": "127.0.0.1"}, "CSBOT_METRICS_HOST"),  # a host without a port says nothing
        ({"CSBOT_METRICS_TOKEN": "short"}, "CSBOT_METRICS_TOKEN"),
        ({"CSBOT_METRICS_TOKEN": "has a space in the middle"}, "CSBOT_METRICS_TOKEN"),
        ({"CSBOT_METRICS_TOKEN": "jeton-métrique-0123456789"}, "CSBOT_METRICS_TOKEN"),
    ],
)
def test_invalid_metrics_settings_name_the_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(env)
    assert info.value.variable == variable
