"""The local console: chat with csbot in a terminal, or feed it commands on stdin."""

from __future__ import annotations

import sys
import json
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TextIO

from bot.chart_files import default_directory, write_charts
from bot.dispatch import UnknownMember, run_action, run_command
from bot.render.text import render_text
from handlers.reply import Actions, Button, Form, Reply
from handlers.router import Router
from store.clock import Clock
from store.database import Database

BANNER = """csbot console — type a command such as /kpi team or /csbot help.
  :as HANDLE   speak as another member      :click N   press button N of the last reply
  :quit        leave (or Ctrl-D)"""


def _buttons(reply: Reply) -> list[Button]:
    return [b for block in reply.blocks if isinstance(block, Actions) for b in block.buttons]


class Console:
    def __init__(self, db: Database, router: Router, handle: str, clock: Clock, out: TextIO, chart_dir: Path | None = None) -> None:
        self.db = db
        self.chart_dir = chart_dir or default_directory()
        self.router = router
        self.handle = handle
        self.clock = clock
        self.out = out
        self.last: Reply | None = None
        self._lines: Iterator[str] = iter(())

    def say(self, text: str) -> None:
        self.out.write(text.rstrip() + "\n\n")
        self.out.flush()

    def handle_line(self, line: str) -> bool:
        """Process one input line; False when the user asked to leave."""
        line = line.strip()
        if not line:
            return True
        if line in (":quit", ":q", "exit", "quit"):
            return False
        if line.startswith(":as"):
            self._switch(line[3:].strip())
        elif line.startswith(":click"):
            self._click(line[6:].strip())
        elif line in (":help", "?"):
            self.say(BANNER)
        else:
            self._show(run_command(self.db, self.router, self.handle, line, now=self.clock(), platform="console"))
        return True

    def _show(self, reply: Reply) -> None:
        self.last = reply
        if reply.form is not None:
            self._fill(reply.form)
            return
        self.say(with_chart_files(reply, self.chart_dir))

    def _fill(self, form: Form) -> None:
        """Ask each field on the next input lines, then submit; ask again for fields with errors."""
        self.say(f"{form.title} — answer each question (an empty line leaves an optional one blank).")
        values: dict[str, str] = {}
        pending = list(form.fields)
        for _attempt in range(3):
            for f in pending:
                self.out.write(f"{f.label}{'' if not f.optional else ' (optional)'}: ")
                self.out.flush()
                line = next(self._lines, None)
                if line is None:
                    self.say("\nForm abandoned.")
                    return
                values[f.name] = line.rstrip("\n")
            value = json.dumps({"context": form.context, "values": values})
            reply = run_action(self.db, self.router, self.handle, form.action_id, value, now=self.clock(), platform="console")
            errors = reply.data.get("field_errors") if not reply.ok else None
            if not errors:
                self._show(reply)
                return
            self.say("\n".join(f"{name}: {problem}" for name, problem in errors.items()))
            pending = [f for f in form.fields if f.name in errors]
        self.say("Form abandoned after three tries.")

    def _switch(self, handle: str) -> None:
        if not handle:
            self.say(f"You are {self.handle}. Type :as HANDLE to speak as someone else.")
            return
        try:
            run_command(self.db, self.router, handle, "/csbot whoami", now=self.clock(), platform="console")
        except UnknownMember:
            self.say(f"No active member has the handle {handle!r}. /csbot teams lists the teams.")
            return
        self.handle = handle.lstrip("@").lower()
        self.say(f"You are now {self.handle}.")

    def _click(self, which: str) -> None:
        buttons = _buttons(self.last) if self.last else []
        if not buttons:
            self.say("The last reply has no buttons.")
            return
        if not which.isdigit() or not 1 <= int(which) <= len(buttons):
            self.say(f"Type :click 1 … :click {len(buttons)}.")
            return
        button = buttons[int(which) - 1]
        self._show(
            run_action(self.db, self.router, self.handle, button.action_id, button.value, now=self.clock(), platform="console")
        )

    def run(self, lines: Iterable[str]) -> None:
        self._lines = iter(lines)
        for line in self._lines:
            if not self.handle_line(line):
                break


def interactive_lines(prompt: Callable[[], str]) -> Iterable[str]:
    try:
        import readline  # noqa: F401  (line editing and history for input())
    except ImportError:
        pass
    while True:
        try:
            yield input(prompt())
        except EOFError:
            print()
            return
        except KeyboardInterrupt:
            print()
            continue


def with_chart_files(reply: Reply, directory: Path) -> str:
    """The reply as text, each chart written to a PNG file in `directory` and named after it."""
    text = render_text(reply)
    for path in write_charts(reply, directory):
        text += f"\nChart saved to {path}"
    return text


def run_console(
    db: Database,
    router: Router,
    handle: str,
    clock: Clock,
    *,
    stdin: TextIO = sys.stdin,
    out: TextIO = sys.stdout,
    chart_dir: Path | None = None,
) -> None:
    """Interactive with a prompt on a terminal; otherwise one command per stdin line."""
    console = Console(db, router, handle, clock, out, chart_dir)
    if stdin.isatty():
        console.say(BANNER)
        console.handle_line("/csbot whoami")
        console.run(interactive_lines(lambda: f"csbot ({console.handle})> "))
    else:
        console.run(stdin)
