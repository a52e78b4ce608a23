"""The messages of shift swaps (escalation.swaps): the request with its buttons, and who is told of the answer.

Composed when sent, from the swap as it is then: a request answered (or
whose stretch began) before it went out is not sent.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from escalation.models import OncallSwap
from escalation.swaps import ASK, KINDS
from handlers.oncall_swaps import ask_reply, told_reply
from handlers.reply import Reply
from store.org import Member, Org
from store.outbox import Claimed

__all__ = ["KINDS", "Skip", "compose"]


class Skip(Exception):
    """This message is no longer worth sending."""


def _reader(session: Session, recipient: str) -> Member | None:
    platform, _, rest = recipient.partition(":")
    _kind, _, ident = rest.partition(":")
    column = Member.slack_id if platform == "slack" else Member.teams_id
    return session.scalar(select(Member).where(column == ident))


def compose(session: Session, row: Claimed, now: datetime) -> Reply:
    swap = session.get(OncallSwap, int(row.subject.removeprefix("swap-")) if row.subject.startswith("swap-") else 0)
    if swap is None:
        raise Skip(f"{row.subject} no longer exists")
    reader = _reader(session, row.recipient)
    if reader is None:
        raise Skip("its reader is no longer a member")
    org = session.get(Org, 1)
    zone = reader.effective_timezone(org.timezone if org else "UTC")
    if row.kind == ASK:
        if swap.state != "pending":
            raise Skip(f"swap {swap.id} was {swap.state} before the request went out")
        if swap.start_at <= now:
            raise Skip(f"swap {swap.id}'s stretch began before the request went out")
        return ask_reply(session, swap, reader, zone)
    return told_reply(session, swap, zone)
