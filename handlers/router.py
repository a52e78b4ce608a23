"""The one command router behind every surface (Slack, Teams, console, CLI).

Each command family parses its words into a request, authorizes it (the one
place a handler checks who may do what) and executes it. The router turns
every failure into a friendly Reply; a handler never sends an exception to a
chat user.
"""

from __future__ import annotations

import difflib
import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from handlers.args import Args, UsageError, split_words
from handlers.context import Context, FieldErrors, Forbidden, Invalid, NotFound
from handlers.reply import Reply, Section, error_reply
from store.busy import BUSY_MESSAGE, describe, is_busy

log = logging.getLogger(__name__)

HELP_WORDS = ("help", "--help", "-h", "?")
HELP_FAMILY = "csbot"  # the family whose `help` lists every command


class CommandFamily(Protocol):
    """A chat command such as `/kpi`, with its subcommands."""

    name: str  # without the slash
    summary: str  # one line for the command list
    usage: str  # how to call it; shown by `help` and after a usage error
    examples: tuple[str, ...]

    def parse(self, words: list[str]) -> Any:
        """Turn the words after the command name into a request; UsageError if impossible."""

    def authorize(self, ctx: Context, request: Any) -> None:
        """Raise Forbidden when `ctx.member` may not make `request`."""

    def execute(self, ctx: Context, request: Any) -> Reply:
        """Do it."""


@dataclass(frozen=True)
class Action:
    """A button's handler: parse the button value, authorize the clicker, execute."""

    action_id: str
    parse: Callable[[str], Any]
    authorize: Callable[[Context, Any], None]
    execute: Callable[[Context, Any], Reply]
    # An action with an effect acts once per click: a platform's retried
    # delivery of that click does nothing more (and is told so), while another
    # button, or the same one pressed again, is another click. Read-only ones
    # (show the previous window, open a form) are not claimed on Slack, where
    # a repeated delivery simply answers again.
    once_per_click: bool = True


def usage_text(family: CommandFamily) -> str:
    lines = [family.usage.strip()]
    if family.examples:
        lines.append("Examples:")
        lines.extend(f"  {example}" for example in family.examples)
    return "\n".join(lines)


def help_reply(family: CommandFamily) -> Reply:
    return Reply(
        title=f"/{family.name} — {family.summary}",
        blocks=[Section(usage_text(family))],
        data={"command": family.name, "usage": family.usage.strip(), "examples": list(family.examples)},
    )


class Router:
    def __init__(self) -> None:
        self._families: dict[str, CommandFamily] = {}
        self._actions: dict[str, Action] = {}

    def register(self, family: CommandFamily) -> None:
        if family.name in self._families:
            raise ValueError(f"command /{family.name} registered twice")
        self._families[family.name] = family

    def register_action(self, action: Action) -> None:
        if action.action_id in self._actions:
            raise ValueError(f"action {action.action_id} registered twice")
        self._actions[action.action_id] = action

    @property
    def families(self) -> list[CommandFamily]:
        return list(self._families.values())

    @property
    def action_ids(self) -> list[str]:
        return sorted(self._actions)

    def once_per_click(self, action_id: str) -> bool:
        """Whether a click on `action_id` is claimed so a repeated delivery acts once (unknown ids: yes)."""
        action = self._actions.get(action_id)
        return action.once_per_click if action is not None else True

    def family(self, name: str) -> CommandFamily | None:
        return self._families.get(name.lower().lstrip("/"))

    def handle(self, ctx: Context, text: str) -> Reply:
        """Run one command, e.g. `/kpi team support 7d`, as `ctx.member`."""
        try:
            words = split_words(text.strip())
        except UsageError as exc:
            return error_reply("usage", str(exc))
        if not words:
            return self._unknown("", ctx)
        name = words[0].lstrip("/").lower()
        family = self._families.get(name)
        if family is None and name in HELP_WORDS and HELP_FAMILY in self._families:
            # `help` (or `help kpi`) typed to the bot in chat, where no slash starts a command.
            family, words = self._families[HELP_FAMILY], [HELP_FAMILY, "help", *words[1:]]
        if family is None:
            return self._unknown(words[0], ctx)
        rest = words[1:]
        # A family that is itself about help (/csbot) answers `help` its own way.
        if rest and rest[0].lower() in HELP_WORDS and not getattr(family, "own_help", False):
            return help_reply(family)
        # A family that keeps free text as typed (a coaching note) reads the raw text after its name too.
        raw = text.strip().split(None, 1)[1] if len(text.strip().split(None, 1)) > 1 else ""
        parse = (lambda: family.parse_text(rest, raw)) if hasattr(family, "parse_text") else (lambda: family.parse(rest))
        return self._run(
            ctx,
            parse,
            lambda request: family.authorize(ctx, request),
            lambda request: family.execute(ctx, request),
            usage=usage_text(family),
            what=f"/{family.name}",
        )

    def handle_action(self, ctx: Context, action_id: str, value: str) -> Reply:
        """Run a button click through the same parse/authorize/execute steps."""
        action = self._actions.get(action_id)
        if action is None:
            return error_reply("usage", "That button is no longer supported; run the command again.")
        return self._run(
            ctx,
            lambda: action.parse(value),
            lambda request: action.authorize(ctx, request),
            lambda request: action.execute(ctx, request),
            usage=None,
            what=f"action {action_id}",
        )

    def _run(
        self,
        ctx: Context,
        parse: Callable[[], Any],
        authorize: Callable[[Any], None],
        execute: Callable[[Any], Reply],
        *,
        usage: str | None,
        what: str,
    ) -> Reply:
        try:
            request = parse()
            authorize(request)
            return execute(request)
        except UsageError as exc:
            return error_reply("usage", str(exc), usage=usage)
        except NotFound as exc:
            return error_reply("not_found", str(exc))
        except Forbidden as exc:
            return error_reply("forbidden", str(exc))
        except Invalid as exc:
            return error_reply("invalid", str(exc))
        except FieldErrors as exc:
            reply = error_reply("invalid", "Some answers need another look.")
            reply.data["field_errors"] = dict(exc.errors)
            return reply
        except Exception as exc:
            if is_busy(exc):
                log.warning("%s for %s: database busy (%s)", what, ctx.member.handle, describe(exc))
                return error_reply("busy", BUSY_MESSAGE)
            ref = uuid.uuid4().hex[:8]
            log.exception("%s failed for %s (ref %s)", what, ctx.member.handle, ref)
            return error_reply("internal", f"Something went wrong on our side (ref {ref}); it has been logged.")

    def _unknown(self, word: str, ctx: Context) -> Reply:
        names = sorted(self._families)
        listing = "  ".join(f"/{n}" for n in names)
        if not word:
            return error_reply("usage", "Type a command.", usage=f"Commands: {listing}\nTry /csbot help.")
        close = difflib.get_close_matches(word.lstrip("/").lower(), names, n=1, cutoff=0.6)
        hint = f" Did you mean /{close[0]}?" if close else ""
        return error_reply(
            "usage",
            f"Unknown command {word!r}.{hint}",
            usage=f"Commands: {listing}\nTry /csbot help for what each one does.",
        )


def closest(word: str, candidates: Iterable[str], n: int = 3) -> list[str]:
    """Names close to `word`, for "did you mean" suggestions."""
    pool = list(candidates)
    lowered = {c.lower(): c for c in pool}
    found = difflib.get_close_matches(word.lower(), list(lowered), n=n, cutoff=0.5)
    prefix = [c for c in pool if c.lower().startswith(word.lower()) and c.lower() not in found]
    return [lowered[f] for f in found] + prefix[: max(0, n - len(found))]


__all__ = ["Action", "Args", "CommandFamily", "Router", "closest", "help_reply", "usage_text"]
