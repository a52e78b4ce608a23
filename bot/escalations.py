"""The escalation sweep and the messages it leaves in the outbox: pages, the status message, its thread, edits, notices.

`sweep` advances every escalation that is due (escalation.engine says
how) in one write transaction per batch; the pages it plans are sent by
the one outbox sender with everything else. Each message is composed
from the escalation's row when it is sent, so a page sent late, or an
edit of one, shows the state at that moment.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot import wake
from escalation import engine
from escalation.models import Escalation, EscalationEvent
from handlers.escalation_views import event_line, notice_reply, page_reply, status_reply, webhook_reply
from handlers.reply import Actions, Reply, Section
from handlers.reply import Context as Note
from store.database import Database
from store.engine import write_transaction
from store.org import Member, Org
from store.outbox import EMAIL, Claimed, OutboxRow

KINDS = engine.KINDS
log = logging.getLogger(__name__)
BATCH = 1000


class Skip(Exception):
    """This message can no longer be sent (its escalation is gone)."""


def sweep(db: Database, now: datetime) -> int:
    """Advance every escalation due at `now`; how many moved.

    One that cannot be advanced is logged and put off a minute (the batch it
    was in is swept again without it), so it never holds up the others.
    """
    moved = 0
    stuck: set[int] = set()
    while True:
        try:
            with write_transaction(db.sessions) as session:
                done = engine.sweep(session, now, BATCH, skip=stuck)
        except engine.Stuck as exc:
            log.error("%s; trying it again in a minute", exc, exc_info=exc.__cause__)
            stuck.add(exc.number)
            with write_transaction(db.sessions) as session:
                engine.postpone(session, exc.number, now)
            continue
        moved += done
        if done < BATCH:
            return moved


def _escalation(session: Session, row: Claimed) -> Escalation:
    number = int(row.subject.removeprefix("ESC-")) if row.subject.startswith("ESC-") else 0
    esc = session.get(Escalation, number)
    if esc is None:
        raise Skip(f"{row.subject} no longer exists")
    return esc


def _zone(session: Session, recipient: str) -> str:
    """The time zone to show times in: the person's, else the organisation's."""
    org = session.get(Org, 1)
    org_zone = org.timezone if org else "UTC"
    member = _reader(session, recipient)
    return member.effective_timezone(org_zone) if member else org_zone


def _reader(session: Session, recipient: str) -> Member | None:
    """The member a direct recipient (a DM, an e-mail address) belongs to."""
    platform, _, rest = recipient.partition(":")
    kind, _, ident = rest.partition(":")
    if kind != "user":
        return None
    if platform == "email":  # unique in the org file, whatever its case
        return session.scalar(select(Member).where(func.lower(Member.email) == ident.lower()).order_by(Member.active.desc(), Member.id).limit(1))
    column = Member.slack_id if platform == "slack" else Member.teams_id
    return session.scalar(select(Member).where(column == ident))


def compose(session: Session, row: Claimed, now: datetime) -> Reply:
    esc = _escalation(session, row)
    zone = _zone(session, row.recipient)
    if row.kind == engine.PAGE and row.recipient.startswith(EMAIL):
        return _email_page(session, esc, row, zone, now)
    if row.kind == engine.PAGE:
        return _page(session, esc, row.recipient, zone)
    if row.kind == engine.STATUS:
        return status_reply(session, esc, zone)
    if row.kind == engine.EDIT:
        target = session.get(OutboxRow, _edited_row_id(row))
        if target is None:
            raise Skip("the message to edit is gone")
        return status_reply(session, esc, zone) if target.kind == engine.STATUS else _page(session, esc, target.recipient, zone)
    event = session.get(EscalationEvent, int(row.occurrence.removeprefix("e")))
    if event is None:
        raise Skip("the timeline event is gone")
    if row.kind == engine.NOTICE:
        return notice_reply(session, esc, event, zone)
    if row.kind == engine.HOOK:
        return webhook_reply(session, esc, event)
    return Reply(blocks=[Section(event_line(session, event, zone))], visibility="channel")


def _page(session: Session, esc: Escalation, recipient: str, zone: str) -> Reply:
    """A page as its recipient sees it now; in a channel, while nobody owns it, asking for a taker."""
    reply = page_reply(session, esc, zone)
    if esc.state == "open" and recipient.split(":")[1] == "channel":
        reply.blocks.insert(0, Section("Nobody has acknowledged this yet: can anyone here take it?"))
    return reply


def _email_page(session: Session, esc: Escalation, row: Claimed, zone: str, now: datetime) -> Reply:
    """A page by e-mail: no buttons (a mail client cannot press them), the reason quoted, a signed Acknowledge link while it is open."""
    from bot.email_ack import link_token

    reply = page_reply(session, esc, zone)
    member = _reader(session, row.recipient)
    blocks = []
    for block in reply.blocks:
        if isinstance(block, Actions):
            continue
        if isinstance(block, Section) and block.text == esc.reason:
            block = Section("Reason:\n" + "\n".join(f"> {line}" for line in esc.reason.splitlines() or [""]))
        blocks.append(block)
    blocks.append(Note(f"Times are in {zone}. In chat: /escalation {esc.label} shows the timeline; /escalation ack {esc.label} acknowledges."))
    reply.blocks = blocks
    # The subject says what an inbox list needs: severity, escalation, ticket, and the reason (made one line in bot.email_message).
    subject = f"[{esc.severity.upper()}] {esc.label} {esc.ticket}: {esc.reason}"
    reply.data["email"] = {"name": member.name if member else None, "subject": subject}
    if member is not None and member.active and esc.state == "open":
        reply.data["email"]["ack"] = link_token(session, esc.id, member.id, row.id, now)
    return reply


def fall_back_to_email(session: Session, row: Claimed, why: str, now: datetime) -> None:
    """A chat page that will never be delivered (its platform is not configured, the send failed for good): e-mail it instead.

    Only once no chat page of that occurrence to the same person was delivered
    or may still be (a person on Slack and Teams, one of them failing, is
    reached on the other). The escalation's row is locked first on PostgreSQL,
    so two platforms failing at the same moment cannot each wait for the other.
    """
    if row.kind != engine.PAGE or row.recipient.startswith(EMAIL):
        return
    member = _reader(session, row.recipient)
    if member is None or not member.email or not member.active:
        return
    number = int(row.subject.removeprefix("ESC-")) if row.subject.startswith("ESC-") else 0
    query = select(Escalation).where(Escalation.id == number)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    esc = session.scalars(query.execution_options(populate_existing=True)).first()
    if esc is None or engine.chat_pages_pending(session, esc, member, row.occurrence):
        return
    if engine.page_by_email_instead(session, esc, member, row.occurrence, why, now):
        log.warning("%s: the page to %s could not go by chat (%s); e-mailed instead", esc.label, member.handle, why)
        wake.escalations()


def _edited_row_id(row: Claimed) -> int:
    return int(row.occurrence.split(":", 1)[1])


def edit_targets(session: Session, row: Claimed) -> list[str]:
    """The platform ids of the page or status message an `esc_edit` row edits (none until it is posted)."""
    target = session.get(OutboxRow, _edited_row_id(row))
    return target.ids if target is not None and target.status == "sent" else []


def thread_of(session: Session, row: Claimed) -> str | None:
    """A timeline line goes in the thread of the escalation's status message in that channel."""
    status = session.scalar(
        select(OutboxRow)
        .where(OutboxRow.kind == engine.STATUS, OutboxRow.subject == row.subject, OutboxRow.recipient == row.recipient, OutboxRow.status == "sent")
        .order_by(OutboxRow.id.desc())
        .limit(1)
    )  # the newest: an escalation that comes back to a queue gets a new status message there
    return status.ids[0] if status is not None and status.ids else None


def overdue(db: Database, now: datetime, sweep_seconds: int) -> int:
    """Escalations whose next step is late by more than two sweeps: the sweep is not running."""
    with db.sessions() as session:
        return engine.overdue(session, now, timedelta(seconds=2 * sweep_seconds))
