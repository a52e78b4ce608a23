"""The local console: chat with csbot in a terminal, or feed it commands on stdin.

`:click N` presses button N of the message that shows buttons last, as a
chat shows it: an answer that replaces the clicked message (a page that
becomes "Acknowledged") brings its own buttons, a new answer with buttons
is the latest message with buttons, and an answer without any leaves the
clicked message and its buttons where they were, which the console repeats.
"""

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
  :as HANDLE   speak as another member      :click N   press button N of the last reply with buttons
  :quit        leave (or Ctrl-D)"""
# What a chat does with an answer shared in the channel, and what the console does instead.
SHARED_NOTE = (
    "↗ Shared in the channel: in Slack or Teams this answer is posted for everyone in the conversation where it was asked. "
    "Here there is no channel, so only you see it."
)


def _buttons(reply: Reply) -> list[Button]:
    return [b for block in reply.blocks if isinstance(block, Actions) for b in block.buttons]


def shared_note(reply: Reply) -> str:
    """The line that says where a shared answer went ("" for an answer only the asker sees)."""
    return f"\n\n{SHARED_NOTE}" if reply.ok and reply.visibility == "channel" else ""


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

    def _show(self, reply: Reply, *, clicked: Reply | None = None) -> None:
        """Print `reply`; `clicked` is the message whose button it answers, if any."""
        if reply.form is not None:
            if clicked is None:
                self.last = reply
            self._fill(reply.form, clicked)
            return
        text = with_chart_files(reply, self.chart_dir) + shared_note(reply)
        if clicked is None or reply.replace_original or _buttons(reply):
            self.last = reply
        else:
            # As in a chat, the clicked message is still there with its buttons.
            self.last = clicked
            text += "\n\nThe message you clicked keeps its buttons: " + "  ".join(
                f"[{n}] {b.label}" for n, b in enumerate(_buttons(clicked), start=1)
            )
        self.say(text)

    def _fill(self, form: Form, clicked: Reply | None = None) -> None:
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
                self._show(reply, clicked=clicked)
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
        reply = run_action(self.db, self.router, self.handle, button.action_id, button.value, now=self.clock(), platform="console")
        self._show(reply, clicked=self.last)

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
    """The reply as text, each chart written to a PNG file in `directory` and named after it, each file as named."""
    text = render_text(reply)
    for path in write_charts(reply, directory):
        text += f"\n{'Chart' if path.suffix == '.png' else 'File'} saved to {path}"
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
