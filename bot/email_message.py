"""A page as an e-mail (email.message.EmailMessage): plain text, headers that user text cannot break.

Reasons, ticket references and names are user text. In headers they are
folded onto one line with every control character removed (a CR or LF in a
reason can never start a header of its own), cut short, and then encoded
by the standard library's header policy; the addressee's name goes through
`headerregistry.Address`, which quotes it. The envelope (MAIL FROM, RCPT
TO) is given apart from the headers, so no header decides who gets the
message. The body is plain text only: nothing in it is markup to escape,
and the reason is quoted ("> ") so that text in it can never pass for
csbot's own lines, such as the Acknowledge link.
"""

from __future__ import annotations

from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate

from bot.render.text import one_line, render_text, truncate
from handlers.reply import Reply

SUBJECT_WIDTH = 150


def header_text(text: str, width: int = SUBJECT_WIDTH) -> str:
    """User text fit for a header: one line, no control characters, at most `width` columns."""
    return truncate(one_line(text), width)


def message_id(key: str, sender_address: str) -> str:
    """The same for every attempt at one outbox row, so a copy sent again after a crash is recognisably the same message."""
    domain = sender_address.rpartition("@")[2] or "csbot.invalid"
    return f"<{key}@{domain}>"


def page_message(
    reply: Reply, *, to: str, to_name: str | None, sender: str, sender_address: str, key: str, link: str | None, subject: str | None = None
) -> EmailMessage:
    """The e-mail of a page composed for `to` (its Reply), with the Acknowledge `link` when there is one."""
    message = EmailMessage()
    message["Subject"] = header_text(subject or reply.title or "csbot")
    message["From"] = sender
    try:
        message["To"] = Address(display_name=header_text(to_name or "", 80), addr_spec=to)
    except (ValueError, IndexError):  # an address the header registry will not take with a name
        message["To"] = to
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = message_id(key, sender_address)
    # RFC 3834: out-of-office replies and other autoresponders stay silent.
    message["Auto-Submitted"] = "auto-generated"
    message["X-Auto-Response-Suppress"] = "All"
    body = render_text(reply)
    if link:
        body += f"\n\nAcknowledge (opens a page with one button; the link works once, for you only):\n{link}\n"
    message.set_content(body + "\n\n-- \nSent by csbot. Reply in chat: /escalation, or to the queue's channel.\n")
    return message
