"""Who is asking, when, and through which surface: passed to every handler."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from handlers.humanize import a_or_an
from store.org import Member, Org


class Forbidden(Exception):
    """The caller may not do this; the message says why."""


class NotFound(Exception):
    """Something the command names does not exist; the message says what, with suggestions."""


class Invalid(Exception):
    """The command is well-formed but cannot be done as asked."""


class FieldErrors(Exception):
    """A submitted form has problems; maps each field name to what is wrong with it."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


@dataclass
class Context:
    session: Session
    member: Member
    now: datetime  # timezone-aware; "now" as the caller sees it (movable in tests and with --at)
    org: Org | None
    platform: str  # "console" | "slack" | "teams"

    @property
    def org_timezone(self) -> str:
        return self.org.timezone if self.org is not None else "UTC"

    @property
    def timezone(self) -> str:
        """The caller's time zone: their own, else their team's, else the org's."""
        return self.member.effective_timezone(self.org_timezone)

    def require_role(self, role: str, doing: str) -> None:
        """Refuse unless the caller's role is `role` or above."""
        if not self.member.at_least(role):
            raise Forbidden(f"Only {a_or_an(role)} or above may {doing}; you are signed in as {a_or_an(self.member.role)}.")
