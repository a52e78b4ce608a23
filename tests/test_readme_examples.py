"""The README's examples run as printed on a fresh `csbot demo`.

A reader copies commands from the README into a shell or a chat: each `csbot ask`
and `csbot export` line in its code blocks, and each chat command it quotes whole (no placeholders),
must answer, not fail, on the demo a new user has just seeded.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from bot.cli import main
from bot.dispatch import run_command
from handlers.registry import build_router
from store.database import open_database

README = Path(__file__).resolve().parent.parent / "README.md"
# A chat command quoted whole in the text: `/kpi team "Support EMEA" 30d`.
_INLINE = re.compile(r"`(/(?:kpi|csbot|scorecard)(?: [^`]*)?)`")
# Placeholders and forms that describe a command rather than being one.
_PLACEHOLDER = re.compile(r"\[|\]|\.\.\.|…|\b[A-Z]{3,}\b|@handle|@former|\|")
# Where the README names a kind of question rather than asking one (prose about
# `/kpi agent`, the benchmark table's `/kpi agent 30d` over many agents).
_NAMES_NOT_EXAMPLES = frozenset({"/kpi agent", "/kpi agent 30d"})
# Commands the README quotes to show how csbot answers a mistake: they must be refused.
_MISTAKES_SHOWN = frozenset({"/kpi team 2026-11-01 2026-11-30", "/kpi sla 7d"})


def _code_blocks(languages: frozenset[str]) -> list[str]:
    """The README's fenced blocks in `languages` ("" for a bare fence), each fence paired with its own close
    (a pattern over the whole text pairs a yaml block's closing fence with the next opening one)."""
    blocks: list[str] = []
    current: list[str] | None = None
    keep = False
    for line in README.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            if current is None:
                current, keep = [], line[3:].strip() in languages
            else:
                if keep:
                    blocks.append("\n".join(current))
                current = None
        elif current is not None:
            current.append(line)
    return blocks


def _shell_blocks() -> list[list[str]]:
    """Each shell block's `csbot ask` and `csbot export` lines, in order: a block is a walk-through whose lines may build on each other."""
    found = []
    for block in _code_blocks(frozenset({"", "sh", "bash", "console"})):
        lines = [line.split("  #")[0].strip() for line in block.splitlines()]
        if lines := [line for line in lines if line.startswith(("csbot ask ", "csbot export "))]:
            found.append(lines)
    return found


def _shell_lines() -> list[str]:
    return [line for block in _shell_blocks() for line in block]


def _chat_commands() -> list[str]:
    found = []
    for command in _INLINE.findall(README.read_text(encoding="utf-8")):
        if not _PLACEHOLDER.search(command) and command not in _NAMES_NOT_EXAMPLES | _MISTAKES_SHOWN:
            found.append(command)
    return sorted(set(found))


def _env(db_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CSBOT_") and k != "DATABASE_URL"}
    env["DATABASE_URL"] = db_url
    return env


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    folder = tmp_path_factory.mktemp("readme-demo")
    url = f"sqlite:///{folder / 'csbot.db'}"
    seeded = subprocess.run(
        [sys.executable, "-m", "bot.cli", "demo"], env=_env(url), cwd=folder, input="", capture_output=True, text=True, timeout=300
    )
    assert seeded.returncode == 0, seeded.stderr
    return folder, url


def test_the_readme_has_examples_to_check() -> None:
    assert len(_shell_lines()) >= 2 and len(_chat_commands()) >= 5


@pytest.mark.parametrize("block", _shell_blocks(), ids=lambda block: block[0][:60])
def test_each_csbot_ask_and_export_line_runs_as_printed(
    demo: tuple[Path, str], block: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each line through `main`, the function the `csbot` script calls, with the line's own arguments,
    environment and directory: a process per line spent a second importing csbot each time, for some
    forty lines. The first line also runs as its own process, below. A block's lines run in its order:
    `/escalation ESC-1` follows the `/escalate` that opens it."""
    folder, url = demo
    for name in [n for n in os.environ if n.startswith("CSBOT_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.chdir(folder)
    for line in block:
        code = main(shlex.split(line)[1:])
        out = capsys.readouterr()
        assert code == 0, (line, out.out, out.err)
        assert "Traceback" not in out.err


def test_a_readme_line_runs_as_printed_in_a_process_of_its_own(demo: tuple[Path, str]) -> None:
    folder, url = demo
    line = _shell_lines()[0]
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", *shlex.split(line)[1:]], env=_env(url), cwd=folder, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, (line, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr and done.stdout.strip()


@pytest.mark.parametrize("command", _chat_commands())
def test_each_chat_command_quoted_in_the_readme_answers_on_the_demo(demo: tuple[Path, str], command: str) -> None:
    _, url = demo
    db = open_database(url)
    try:
        reply = run_command(db, build_router(), "admin", command, now=datetime.now(timezone.utc), platform="console")
    finally:
        db.dispose()
    assert reply.ok, (command, reply.error)


@pytest.mark.parametrize("command", sorted(_MISTAKES_SHOWN))
def test_each_mistake_the_readme_shows_is_answered_as_it_says(demo: tuple[Path, str], command: str) -> None:
    _, url = demo
    assert command in README.read_text(encoding="utf-8")
    db = open_database(url)
    try:
        reply = run_command(db, build_router(), "admin", command, now=datetime.now(timezone.utc), platform="console")
    finally:
        db.dispose()
    assert reply.error is not None and reply.error.code == "usage", (command, reply.error)
