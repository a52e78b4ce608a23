"""`/oncall key QUEUE [new|revoke]`: a queue's Events API routing key, for its leads, managers and admins.

The key is shown once, privately, when it is made (`new`, which also
revokes the key in force: a rotation); after that csbot keeps only its
hash and shows its last characters, when it was made and last used.
"""

from __future__ import annotations

import os
from typing import Any

from escalation import routing_keys
from escalation.queue_people import may_arrange
from handlers.args import UsageError
from handlers.context import Context, Forbidden
from handlers.escalation_views import find_queue, local_full
from handlers.reply import Reply, Section
from handlers.reply import Context as Note
from store.engine import lock_for_write
from store.org import Member
from store.queues import EscalationQueue

ACTIONS = ("show", "new", "revoke")
ENQUEUE_PATH = "/events/v2/enqueue"
USAGE = "/oncall key QUEUE [new|revoke] — the queue's Events API routing key: show it, make a new one (revoking the old), or revoke it"


def parse_key_action(rest: list[str]) -> tuple[str, str]:
    """(queue, action) from the words after `key`."""
    if not 1 <= len(rest) <= 2:
        raise UsageError(USAGE)
    action = rest[1].lower() if len(rest) == 2 else "show"
    if action == "rotate":
        action = "new"
    if action not in ACTIONS:
        raise UsageError(f"{rest[1]!r} is not a key action: new (or rotate) or revoke. {USAGE}")
    return rest[0], action


def authorize_key(ctx: Context, queue_text: str) -> None:
    queue = find_queue(ctx, queue_text.partition("/")[0])
    if not may_arrange(ctx.session, ctx.member, queue):
        raise Forbidden(f"Only {queue.name}'s leads, managers and admins may see or change its Events API key.")


def enqueue_url() -> str:
    public = os.environ.get("CSBOT_PUBLIC_URL", "").strip().rstrip("/")
    return f"{public}{ENQUEUE_PATH}" if public else f"https://<csbot's address>{ENQUEUE_PATH}"


def _made_by(ctx: Context, member_id: int | None) -> str:
    member = ctx.session.get(Member, member_id) if member_id else None
    return member.name if member is not None else "the command line"


def key_reply(ctx: Context, queue_text: str, action: str) -> Reply:
    queue: EscalationQueue = find_queue(ctx, queue_text.partition("/")[0])
    data: dict[str, Any] = {"queue": queue.key, "url": enqueue_url()}
    if action == "new":
        lock_for_write(ctx.session)
        issued = routing_keys.issue(ctx.session, queue, ctx.member, ctx.now)
        data.update(routing_key=issued.key, hint=issued.row.hint, revoked=issued.replaced.hint if issued.replaced else None)
        blocks: list[Any] = [
            Section(f"Routing key for {queue.name}: {issued.key}"),
            Section(f"Send events to {enqueue_url()} as to PagerDuty's Events API v2 (`routing_key` in the body)."),
        ]
        if issued.replaced is not None:
            blocks.append(Section(f"The previous key (…{issued.replaced.hint}) is revoked: its events are refused from now on."))
        blocks.append(Note("This is the only time csbot shows the key: it keeps a hash. Store it in your tool's secret settings."))
        return Reply(title=f"New Events API key · {queue.name}", blocks=blocks, data=data, visibility="ephemeral")
    if action == "revoke":
        lock_for_write(ctx.session)
        revoked = routing_keys.revoke(ctx.session, queue, ctx.member, ctx.now)
        data["revoked"] = revoked.hint if revoked else None
        text = (
            f"The key …{revoked.hint} of {queue.name} is revoked: events sent with it are refused (404)."
            if revoked is not None
            else f"{queue.name} has no key in force; nothing to revoke."
        )
        return Reply(title=f"Events API key · {queue.name}", blocks=[Section(text)], data=data, visibility="ephemeral")
    row = routing_keys.current(ctx.session, queue)
    if row is None:
        data["key"] = None
        text = f"{queue.name} has no Events API key. Make one with /oncall key {queue.key} new."
        return Reply(title=f"Events API key · {queue.name}", blocks=[Section(text)], data=data, visibility="ephemeral")
    zone = ctx.timezone
    used = local_full(row.last_used_at, zone) if row.last_used_at else "never"
    data["key"] = {"hint": row.hint, "created_at": row.created_at.isoformat(), "last_used_at": row.last_used_at.isoformat() if row.last_used_at else None}
    text = f"Key …{row.hint}, made {local_full(row.created_at, zone)} by {_made_by(ctx, row.created_by)}; last used: {used}."
    blocks = [
        Section(text),
        Section(f"Events go to {enqueue_url()}."),
        Note(f"csbot keeps only a hash of the key. Lost it? /oncall key {queue.key} new makes another and revokes this one. Times in {zone}."),
    ]
    return Reply(title=f"Events API key · {queue.name}", blocks=blocks, data=data, visibility="ephemeral")


__all__ = ["USAGE", "authorize_key", "enqueue_url", "key_reply", "parse_key_action"]
