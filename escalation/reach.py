"""How a paged person is reached: by chat, by e-mail, or both, as a policy level's `how` says.

Chat is a DM on every platform the member has an id on; e-mail is their
address, when the organisation file gives one. Where the way the level asks
for is missing, the other is used and the timeline says so, since an
escalation exists to reach someone: `dm` falls back to e-mail for a member
without a chat id (and, at send time, for a chat page that cannot be
delivered: bot.escalations), `email` to chat for a member without an address.
"""

from __future__ import annotations

from dataclasses import dataclass

from store.org import Member
from store.outbox import EMAIL, email_recipient, member_recipients

VIAS = ("dm", "email", "dm+email")


@dataclass(frozen=True)
class Reach:
    recipients: tuple[str, ...]  # outbox recipients
    note: str | None = None  # a fallback, for the timeline ("by e-mail: no Slack or Teams id")


def chat_of(member: Member) -> list[str]:
    return member_recipients(member.slack_id, member.teams_id)


def mail_of(member: Member) -> list[str]:
    return [email_recipient(member.email)] if member.email else []


def reach(member: Member, via: str = "dm") -> tuple[Reach | None, str]:
    """Where to page `member` for a level that says `via`; None and why when they cannot be reached at all."""
    chat, mail = chat_of(member), mail_of(member)
    if not chat and not mail:
        return None, "no Slack or Teams id and no e-mail address, cannot be reached"
    if via == "email":
        return (Reach(tuple(mail)) if mail else Reach(tuple(chat), "by chat: no e-mail address")), ""
    if via == "dm+email":
        if chat and mail:
            return Reach(tuple(chat + mail)), ""
        return (Reach(tuple(chat), "by chat only: no e-mail address") if chat else Reach(tuple(mail), "by e-mail only: no Slack or Teams id")), ""
    return (Reach(tuple(chat)) if chat else Reach(tuple(mail), "by e-mail: no Slack or Teams id")), ""


def is_email(recipient: str) -> bool:
    return recipient.startswith(EMAIL)
