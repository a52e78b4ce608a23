"""The `csbot` command line as a user runs it: real processes, real database files."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from bot.cli import main
from tests.helpers import FIXTURES


def csbot(args: list[str], db_url: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CSBOT_") and k != "DATABASE_URL"}
    env["DATABASE_URL"] = db_url
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args], env=env, cwd=cwd, input=stdin, capture_output=True, text=True, timeout=300
    )


def csbot_here(
    args: list[str], db_url: str, cwd: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> subprocess.CompletedProcess[str]:
    """`csbot` through `main`, the function the script calls, in this process: the same arguments,
    environment (DATABASE_URL, no CSBOT_*) and directory as `csbot` above, without a second of imports."""
    for name in [n for n in os.environ if n.startswith("CSBOT_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.chdir(cwd)
    capsys.readouterr()
    try:
        code = main(args)
    except SystemExit as exc:  # argparse's refusals
        code = exc.code if isinstance(exc.code, int) else 1
    out = capsys.readouterr()
    return subprocess.CompletedProcess(args, code, out.out, out.err)


def test_demo_reads_commands_from_stdin(db_url: str, tmp_path: Path) -> None:
    r = csbot(["demo", "--tickets", "2000"], db_url, tmp_path, stdin="/csbot help\n/kpi team\n")
    assert r.returncode == 0, r.stderr
    assert "csbot commands" in r.stdout and "/kpi" in r.stdout and "/csbot" in r.stdout
    assert "KPIs · " in r.stdout and "Tickets created" in r.stdout
    assert "Seeded 5 teams, 48 members, 2,000 tickets" in r.stderr
    # A second run finds the organisation and does not seed again.
    again = csbot(["demo"], db_url, tmp_path, stdin=":as admin\n/csbot whoami\n")
    assert again.returncode == 0 and "already holds an organisation" in again.stderr
    assert "You are now admin." in again.stdout and "Role" in again.stdout


def test_console_buttons_and_switching(db_url: str, tmp_path: Path) -> None:
    r = csbot(["demo", "--tickets", "500"], db_url, tmp_path, stdin="/kpi team 7d\n:click 2\n:click 9\n:as nobody\n")
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("KPIs · ") == 2  # the Previous window click answered
    assert "Type :click 1 … :click 2." in r.stdout
    assert "No active member has the handle 'nobody'" in r.stdout


def test_ask_json_shape_and_exit_codes(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    # The two JSON answers come from real processes; the other cases through main() here (csbot_here).
    here = lambda args: csbot_here(args, db_url, tmp_path, monkeypatch, capsys)  # noqa: E731
    assert here(["org", "apply", str(FIXTURES / "org.yaml")]).returncode == 0
    r = csbot(["ask", "/nonsense", "--as", "alice", "--json"], db_url, tmp_path)
    assert r.returncode == 2
    out = json.loads(r.stdout)
    assert out["ok"] is False and out["error"]["code"] == "usage"
    assert "/csbot help" in out["text"] and out["visibility"] == "ephemeral"
    assert set(out) == {"ok", "visibility", "text", "blocks", "data", "error"}
    r = csbot(["ask", "/kpi team support-emea 2026-03-01..2026-03-07", "--as", "alice", "--json", "--at", "2026-03-09T12:00:00Z"], db_url, tmp_path)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["ok"] is True and "error" not in out
    assert out["data"]["window"] == {"start": "2026-03-01T00:00:00+01:00", "end": "2026-03-08T00:00:00+01:00", "timezone": "Europe/Berlin", "so_far": False, "until": "2026-03-08T00:00:00+01:00"}
    assert out["blocks"][0] == {"type": "header", "text": "KPIs · Support EMEA (support-emea)"}
    # As text, a shared answer says where it would have gone.
    shared = here(["ask", "/kpi team --share", "--as", "alice"])
    assert shared.returncode == 0 and shared.stdout.rstrip().endswith("Here there is no channel, so only you see it.")
    assert "Shared in the channel" not in here(["ask", "/kpi team", "--as", "alice"]).stdout
    r = here(["ask", "/csbot help", "--as", "mallory"])
    assert r.returncode == 2 and "no active member" in r.stderr
    r = here(["ask", "/csbot help", "--as", "alice", "--at", "last tuesday"])
    assert r.returncode == 2 and "--at" in r.stderr
    r = here(["ask", "/kpi agent carol", "--as", "alice"])
    assert r.returncode == 2 and "private" in r.stdout


def test_org_apply_show_round_trip_and_refusal(db_url: str, tmp_path: Path) -> None:
    r = csbot(["org", "apply", str(FIXTURES / "org.yaml")], db_url, tmp_path)
    assert r.returncode == 0 and "created" in r.stdout
    shown = csbot(["org", "show"], db_url, tmp_path).stdout
    assert yaml.safe_load(shown) == yaml.safe_load((FIXTURES / "org.yaml").read_text())
    (tmp_path / "shown.yaml").write_text(shown)
    r = csbot(["org", "apply", str(tmp_path / "shown.yaml")], db_url, tmp_path)
    assert r.returncode == 0 and "No changes" in r.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("teams:\n  - {key: a, name: A, timezone: Nowhere}\nmembers:\n  - {handle: x, name: X, team: b, role: boss}\n")
    r = csbot(["org", "apply", str(bad)], db_url, tmp_path)
    assert r.returncode == 2
    assert "nothing was changed" in r.stderr and "bad.yaml:2:" in r.stderr and "bad.yaml:4:" in r.stderr
    assert "unknown role 'boss'" in r.stderr and "unknown team 'b'" in r.stderr
    assert csbot(["org", "show"], db_url, tmp_path).stdout == shown
    r = csbot(["org", "apply", str(tmp_path / "missing.yaml")], db_url, tmp_path)
    assert r.returncode == 2 and "cannot read" in r.stderr


def test_db_upgrade_and_usage_errors(db_url: str, tmp_path: Path) -> None:
    r = csbot(["db", "upgrade"], db_url, tmp_path)
    assert r.returncode == 0 and "upgraded" in r.stdout
    assert "up to date" in csbot(["db", "upgrade"], db_url, tmp_path).stdout
    assert csbot(["frobnicate"], db_url, tmp_path).returncode == 2
    # Tickets written by another hand (the triggers mark their days): the next upgrade counts them.
    from sqlalchemy import create_engine

    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO tickets (source, external_id, status, created_at) VALUES ('sql', 'x1', 'new', 1780000000)")
    engine.dispose()
    r = csbot(["db", "upgrade"], db_url, tmp_path)
    assert "up to date" in r.stdout and "Counted 1 team-day of tickets" in r.stdout
    assert "Counted" not in csbot(["db", "upgrade"], db_url, tmp_path).stdout


def test_unreachable_database_is_one_line(tmp_path: Path) -> None:
    r = csbot(["db", "upgrade"], "postgresql+psycopg://nobody@127.0.0.1:1/none", tmp_path)
    assert r.returncode == 1
    assert r.stderr.strip().startswith("csbot: cannot use the database:") and "Traceback" not in r.stderr


def test_serve_answers_healthz(db_url: str, tmp_path: Path) -> None:
    import socket
    import time
    import urllib.request

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CSBOT_") and k != "DATABASE_URL"}
    env.update(DATABASE_URL=db_url, CSBOT_PORT=str(port))
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve"], env=env, cwd=tmp_path, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as resp:
                    body = json.loads(resp.read())
                    assert resp.status == 200
                    break
            except OSError:
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                assert time.monotonic() < deadline, "csbot serve did not answer within 60 s"
                time.sleep(0.2)
        assert body["status"] == "ok" and body["database"]["ok"] is True
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def pyproject_version() -> str:
    return tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())["project"]["version"]


def test_version_comes_from_the_installed_package(tmp_path: Path) -> None:
    from importlib.metadata import version

    pyproject = pyproject_version()
    # It needs no database and no valid configuration (this DATABASE_URL is refused by every other command).
    r = csbot(["--version"], "not-a-url", tmp_path)
    assert r.returncode == 0 and r.stderr == ""
    assert r.stdout == f"csbot {version('csbot')}\n"
    assert version("csbot") == pyproject


def test_version_falls_back_to_pyproject_without_package_metadata(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import importlib.metadata

    from bot.cli import main, package_version

    def not_installed(name: str) -> str:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", not_installed)  # running from a source checkout
    pyproject = pyproject_version()
    assert package_version() == pyproject and re.fullmatch(r"\d+\.\d+\.\d+", pyproject)
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0 and capsys.readouterr().out == f"csbot {pyproject}\n"


def test_ask_with_bytes_that_are_not_text_is_bad_input_not_a_crash(db_url: str, tmp_path: Path) -> None:
    # Undecodable argument bytes (a lone surrogate's UTF-8, \xed\xa0\x80) reach Python as surrogates.
    csbot(["org", "apply", str(FIXTURES / "org.yaml")], db_url, tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CSBOT_") and k != "DATABASE_URL"} | {"DATABASE_URL": db_url}
    bad = b"\xed\xa0\x80"
    for argv in ([b"/kpi team " + bad, b"--as", b"alice"], [b"/kpi team", b"--as", b"al" + bad], [b"/kpi team", b"--as", b"alice", b"--at", b"2026" + bad],
                 [b"/kpi team", b"--as", b"al\x00"[:2] + bad, b"--json"]):
        r = subprocess.run([sys.executable.encode(), b"-m", b"bot.cli", b"ask", *argv], env=env, cwd=tmp_path, capture_output=True, timeout=120)
        assert r.returncode == 2, (argv, r.stderr)
        assert b"Traceback" not in r.stderr + r.stdout
