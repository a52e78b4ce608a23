"""E-mail, the third way csbot reaches people: pages over SMTP (CSBOT_SMTP_URL), sent by the one outbox sender.

A recipient is `email:user:<address>`. smtplib blocks, so each send runs on
this notifier's own few threads: never the event loop, and never the chat
pool (bot/chat_work.py), which a slow mail server must not hold up. One
connection per message: pages are few, and a connection kept open would
only go stale between them.

An SMTP server cannot be asked whether it took a message before csbot
crashed (`find_sent` is None): such a page is sent again, with the same
Message-ID (store.outbox's "uncertain" window), so the copy is recognisably
the same message. E-mail cannot be edited either; the engine plans no edits
of e-mailed pages, and their Acknowledge link shows the state when opened.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from concurrent.futures import ThreadPoolExecutor
from email.message import EmailMessage

from bot.config import SmtpSettings
from bot.email_message import page_message
from bot.notify import Address, Delivery, MemberAddress, Sent, TeamAddress
from handlers.reply import Reply

SMTP_THREADS = 4
TIMEOUT_S = 30.0


class EmailNotifier:
    platform = "email"

    def __init__(self, settings: SmtpSettings, public_url: str | None) -> None:
        self.settings = settings
        self.public_url = public_url.rstrip("/") if public_url else None
        self._pool: ThreadPoolExecutor | None = None

    async def to_team(self, team: TeamAddress, reply: Reply) -> Delivery | None:
        return None  # teams have channels, not mailboxes

    async def to_member(self, member: MemberAddress, reply: Reply) -> Delivery | None:
        return None  # only pages go by e-mail (through the outbox)

    async def send(self, to: Address, reply: Reply, *, key: str, thread: str | None = None) -> Sent:
        about = reply.data.get("email") or {}
        token = about.get("ack")
        link = f"{self.public_url}/ack/{token}" if self.public_url and token else None
        s = self.settings
        message = page_message(reply, to=to.id, to_name=about.get("name"), sender=s.sender, sender_address=s.sender_address, key=key, link=link, subject=about.get("subject"))
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=SMTP_THREADS, thread_name_prefix="csbot-smtp")
        try:
            await asyncio.get_running_loop().run_in_executor(self._pool, self._deliver, message, to.id)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            return Sent(error=f"the mail server refused {to.id}: {', '.join(str(c) for c in codes)}", final=all(c >= 500 for c in codes))
        except smtplib.SMTPResponseException as exc:
            # 5xx for the message itself is for good; 4xx, and a refused login (fix the settings), are worth retrying.
            final = exc.smtp_code >= 500 and not isinstance(exc, (smtplib.SMTPAuthenticationError, smtplib.SMTPSenderRefused))
            return Sent(error=f"SMTP {exc.smtp_code}: {_text(exc.smtp_error)}", final=final)
        except (smtplib.SMTPException, OSError) as exc:
            return Sent(error=f"{type(exc).__name__}: {exc}")
        return Sent(message_ids=(str(message["Message-ID"]),))

    def _deliver(self, message: EmailMessage, to: str) -> None:
        s = self.settings
        context = ssl.create_default_context()  # certificates checked (SSL_CERT_FILE names a private CA bundle)
        client = smtplib.SMTP_SSL(s.host, s.port, timeout=TIMEOUT_S, context=context) if s.security == "ssl" else smtplib.SMTP(s.host, s.port, timeout=TIMEOUT_S)
        with client:
            client.ehlo()
            if s.security == "starttls":
                client.starttls(context=context)
                client.ehlo()
            if s.username is not None and s.password is not None:
                client.login(s.username, s.password)
            # The envelope is given, never read from the headers.
            client.send_message(message, from_addr=s.sender_address, to_addrs=[to])

    async def find_sent(self, to: Address, key: str) -> tuple[str, ...] | None:
        return None  # a mail server cannot be asked what it was given

    async def update(self, to: Address, message_id: str, reply: Reply) -> Sent:
        return Sent(error="an e-mail cannot be edited once sent", final=True)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False)
            self._pool = None


def _text(raw: bytes | str) -> str:
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
