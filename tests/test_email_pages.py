"""Pages by e-mail: `how: email` and `dm+email`, the fallback when chat cannot deliver, exactly once through the outbox,
and the signed one-click Acknowledge link over real HTTP.

A real SMTP server runs in the test process (aiosmtpd, tests/smtp_server.py) and
every message is read back with the standard library's parser; Slack is the
local stand-in; the clock is moved, never waited for.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select

from bot.config import ConfigError, load_settings
from bot.email_notifier import EmailNotifier
from bot.notify import Address, Sent
from bot.slack.notifier import SlackNotifier
from bot.tick import run_tick
from bot.web import create_app
from escalation.models import Escalation, EscalationEvent
from handlers.reply import Reply
from handlers.registry import build_router
from bot.dispatch import run_command
from kpi.definitions import METRIC_NAMES
from store.database import Database
from store.email_links import UsedEmailLink
from store.org_file import OrgFileError, apply_org, dump_org, org_document, parse_org
from store.outbox import OutboxRow
from tests.fake_slack import FakeSlack
from tests.helpers import assert_no_traceback, serve
from tests.smtp_server import Mailbox, smtp_server, throwaway_ca
from tests.test_tick import Killed

UTC = timezone.utc
ROUTER = build_router()
T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
PUBLIC = "https://csbot.example.com"
FAY_TEAMS = "8f0c2a1e-0000-4000-8000-00000000000f"

ORG = f"""
org: {{name: Acme Support, timezone: Europe/Berlin}}
teams:
  - {{key: support, name: Support, timezone: Europe/Berlin, channels: {{slack: CSUP}}}}
members:
  - {{handle: alice, name: Alice Agent, team: support, role: agent, slack_id: UALICE}}
  - {{handle: dana, name: 'Dana "The Fixer", Specialist', role: agent, slack_id: UDANA, email: dana@example.com}}
  - {{handle: eli, name: Eli Mailonly, role: agent, email: eli@example.com}}
  - {{handle: fay, name: Fay Teams, role: agent, teams_id: {FAY_TEAMS}, email: fay@example.com}}
  - {{handle: gus, name: Gus Gone, role: agent, slack_id: UGUS, email: gus@example.com}}
  - {{handle: hal, name: Hal Both, role: agent, slack_id: UHAL, teams_id: 8f0c2a1e-0000-4000-8000-0000000000aa, email: hal@example.com}}
  - {{handle: ida, name: Ida Nowhere, role: agent, slack_id: UIDA, teams_id: 8f0c2a1e-0000-4000-8000-0000000000bb, email: ida@example.com}}
  - {{handle: root, name: Riley Admin, role: admin}}
escalation:
  default_queue: billing
  queues:
    - key: billing
      name: Billing
      channels: {{slack: CBILL}}
      policy:
        levels:
          - {{notify: [member:dana], how: dm+email, wait: 30m}}
    - key: mailonly
      name: Mail only
      channels: {{slack: CMAIL}}
      policy:
        levels:
          - {{notify: [member:dana], how: email, wait: 30m}}
    - key: nochat
      name: No chat
      policy:
        levels:
          - {{notify: [member:eli], wait: 30m}}
    - key: teamsonly
      name: Teams only
      policy:
        levels:
          - {{notify: [member:fay, member:hal], wait: 30m}}
    - key: slackgone
      name: Slack gone
      policy:
        levels:
          - {{notify: [member:gus], wait: 30m}}
    - key: bothgone
      name: Both gone
      policy:
        levels:
          - {{notify: [member:ida], wait: 30m}}
"""


def setup(db: Database) -> None:
    with db.sessions() as s, s.begin():
        apply_org(s, parse_org(ORG, METRIC_NAMES))


def ask(db: Database, handle: str, text: str, now: datetime) -> dict:  # type: ignore[type-arg]
    reply = run_command(db, ROUTER, handle, text, now=now, platform="console")
    return {"ok": reply.ok, "data": reply.data, "error": reply.error.message if reply.error else None}


def email_notifier(port: int, url: str | None = None) -> EmailNotifier:
    settings = load_settings(
        {"CSBOT_SMTP_URL": url or f"smtp://127.0.0.1:{port}", "CSBOT_SMTP_FROM": "csbot <csbot@example.com>", "CSBOT_PUBLIC_URL": PUBLIC}
    )
    assert settings.smtp is not None
    return EmailNotifier(settings.smtp, settings.public_url)


def body(message) -> str:  # type: ignore[no-untyped-def]
    return message.get_body(("plain",)).get_content()


def link_path(message) -> str:  # type: ignore[no-untyped-def]
    found = re.search(re.escape(PUBLIC) + r"(/ack/\S+)", body(message))
    assert found, body(message)
    return found.group(1)


def timeline(db: Database, number: int) -> list[tuple[str, list[str], str | None]]:
    with db.sessions() as s:
        rows = s.scalars(select(EscalationEvent).where(EscalationEvent.escalation_id == number).order_by(EscalationEvent.id))
        return [(e.event, list(e.targets), e.note) for e in rows]


def escalation(db: Database, number: int) -> Escalation:
    with db.sessions() as s:
        esc = s.get(Escalation, number)
        assert esc is not None
        return esc


def dms(fake: FakeSlack, channel: str) -> list[dict]:  # type: ignore[type-arg]
    return [c.args for c in fake.calls if c.method == "chat.postMessage" and c.args.get("channel") == channel]


# ------------------------------------------------------------------ how a level reaches people


async def test_dm_plus_email_pages_by_both_once_and_the_email_reads_back_right(db: Database, slack: tuple[FakeSlack, SlackNotifier]) -> None:
    fake, notifier = slack
    setup(db)
    assert ask(db, "alice", "/escalate T-1 billing sev2 customer charged twice", T0)["ok"]
    with smtp_server() as (box, port):
        mail = email_notifier(port)
        report = await run_tick(db, [notifier, mail], T0)
        sent = {o.recipient for o in report.outcomes if o.kind == "esc_page" and o.status == "sent"}
        assert sent == {"slack:user:UDANA", "email:user:dana@example.com"}
        await run_tick(db, [notifier, mail], T0 + timedelta(minutes=1))  # nothing twice
        (received,) = box.received
        mail.close()
    assert received.mail_from == "csbot@example.com" and received.rcpt_tos == ["dana@example.com"]
    message = received.message
    assert message["Subject"] == "[SEV2] ESC-1 T-1: customer charged twice"
    assert message["To"].addresses[0].addr_spec == "dana@example.com"
    assert message["To"].addresses[0].display_name == 'Dana "The Fixer", Specialist'
    assert message["From"].addresses[0].addr_spec == "csbot@example.com"
    with db.sessions() as s:
        row_id = s.scalar(select(OutboxRow.id).where(OutboxRow.recipient == "email:user:dana@example.com"))
    assert message["Message-ID"] == f"<csbot-outbox-{row_id}@example.com>"
    assert message["Auto-Submitted"] == "auto-generated"
    text = body(message)
    assert "> customer charged twice" in text and "Acknowledge" in text and link_path(message).startswith("/ack/v1.1.")
    assert message.get_content_type() == "text/plain" and not message.is_multipart()


async def test_how_email_pages_by_email_only(db: Database, slack: tuple[FakeSlack, SlackNotifier]) -> None:
    fake, notifier = slack
    setup(db)
    assert ask(db, "alice", "/escalate T-2 mailonly sev3 the export is empty", T0)["ok"]
    with smtp_server() as (box, port):
        mail = email_notifier(port)
        report = await run_tick(db, [notifier, mail], T0)
        mail.close()
    assert [o.recipient for o in report.outcomes if o.kind == "esc_page"] == ["email:user:dana@example.com"]
    assert [m["To"].addresses[0].addr_spec for m in box.to("dana@example.com")] == ["dana@example.com"]
    assert dms(fake, "DDANA") == []  # no chat page
    assert timeline(db, 1)[1][:2] == ("paged", ["dana"])


async def test_a_member_without_a_chat_id_is_paged_by_email_and_the_timeline_says_so(db: Database, slack: tuple[FakeSlack, SlackNotifier]) -> None:
    fake, notifier = slack
    setup(db)
    out = ask(db, "alice", "/escalate T-3 nochat sev2 login loop", T0)
    assert out["ok"] and out["data"]["escalation"]["paged"] == ["eli"]
    event, targets, note = timeline(db, 1)[1]
    assert (event, targets) == ("paged", ["eli"]) and note is not None and "eli by e-mail: no Slack or Teams id" in note
    with smtp_server() as (box, port):
        mail = email_notifier(port)
        await run_tick(db, [notifier, mail], T0)
        mail.close()
    (message,) = box.to("eli@example.com")
    assert "login loop" in body(message)


async def test_a_page_whose_platform_is_not_configured_falls_back_to_email_unless_another_platform_delivered_it(
    db: Database, slack: tuple[FakeSlack, SlackNotifier]
) -> None:
    """fay is on Teams only and Teams is not configured: e-mailed. hal is on Slack and Teams: Slack delivers, no e-mail."""
    fake, notifier = slack
    setup(db)
    assert ask(db, "alice", "/escalate T-4 teamsonly sev2 refunds stuck", T0)["ok"]
    with smtp_server() as (box, port):
        mail = email_notifier(port)
        first = await run_tick(db, [notifier, mail], T0)
        assert {(o.recipient, o.status) for o in first.outcomes if o.kind == "esc_page"} == {
            (f"teams:user:{FAY_TEAMS}", "skipped"), ("teams:user:8f0c2a1e-0000-4000-8000-0000000000aa", "skipped"), ("slack:user:UHAL", "sent")
        }
        second = await run_tick(db, [notifier, mail], T0)  # the e-mail planned by the fallback goes out
        await run_tick(db, [notifier, mail], T0 + timedelta(minutes=1))
        mail.close()
    assert [o.recipient for o in second.outcomes if o.kind == "esc_page"] == ["email:user:fay@example.com"]
    assert len(box.to("fay@example.com")) == 1 and box.to("hal@example.com") == []
    emailed = [e for e in timeline(db, 1) if e[0] == "emailed"]
    assert emailed == [("emailed", ["fay"], "chat could not deliver the page: Teams is not configured")]
    shown = ask(db, "alice", "/escalation ESC-1", T0 + timedelta(minutes=2))["data"]["escalation"]["timeline"]
    assert any(e["event"] == "emailed" for e in shown)


async def test_a_chat_page_that_fails_for_good_falls_back_to_email(db: Database, slack: tuple[FakeSlack, SlackNotifier]) -> None:
    fake, notifier = slack
    setup(db)
    fake.fail["conversations.open"] = "user_not_found"  # gus left the Slack workspace
    assert ask(db, "alice", "/escalate T-5 slackgone sev1 site down for one customer", T0)["ok"]
    with smtp_server() as (box, port):
        mail = email_notifier(port)
        first = await run_tick(db, [notifier, mail], T0)
        assert [(o.recipient, o.status) for o in first.outcomes if o.kind == "esc_page"] == [("slack:user:UGUS", "failed")]
        await run_tick(db, [notifier, mail], T0)
        mail.close()
    (message,) = box.to("gus@example.com")
    assert "site down" in body(message)
    assert ("emailed", ["gus"], "chat could not deliver the page: user_not_found") in timeline(db, 1)


async def test_both_chat_pages_failing_at_once_send_one_email(db: Database, slack: tuple[FakeSlack, SlackNotifier]) -> None:
    """ida's Slack account is gone and Teams is not configured: her two chat pages fail in the same pass, side by side."""
    fake, notifier = slack
    setup(db)
    fake.fail["conversations.open"] = "account_inactive"
    assert ask(db, "alice", "/escalate T-13 bothgone sev1 checkout broken", T0)["ok"]
    with smtp_server() as (box, port):
        mail = email_notifier(port)
        first = await run_tick(db, [notifier, mail], T0)
        assert sorted(o.status for o in first.outcomes if o.kind == "esc_page") == ["failed", "skipped"]
        await run_tick(db, [notifier, mail], T0)
        await run_tick(db, [notifier, mail], T0 + timedelta(minutes=1))
        mail.close()
    assert len(box.to("ida@example.com")) == 1
    assert [e[0] for e in timeline(db, 1)].count("emailed") == 1


async def test_without_smtp_configured_nothing_falls_back(db: Database, slack: tuple[FakeSlack, SlackNotifier]) -> None:
    fake, notifier = slack
    setup(db)
    assert ask(db, "alice", "/escalate T-6 teamsonly sev2 refunds stuck", T0)["ok"]
    await run_tick(db, [notifier], T0)
    await run_tick(db, [notifier], T0)
    assert not [e for e in timeline(db, 1) if e[0] == "emailed"]


# ------------------------------------------------------------------ exactly once, retries


class DiesAfterSending:
    """The real e-mail notifier, with the process dying right after the server took the message (before csbot records it)."""

    platform = "email"

    def __init__(self, real: EmailNotifier) -> None:
        self.real = real

    async def send(self, to: Address, reply: Reply, *, key: str, thread: str | None = None) -> Sent:
        await self.real.send(to, reply, key=key, thread=thread)
        raise Killed("killed")

    async def find_sent(self, to: Address, key: str) -> tuple[str, ...] | None:
        return await self.real.find_sent(to, key)


async def test_killed_between_send_and_record_the_email_is_sent_again_with_the_same_message_id(db: Database) -> None:
    setup(db)
    assert ask(db, "alice", "/escalate T-7 mailonly sev2 invoices doubled", T0)["ok"]
    with smtp_server() as (box, port):
        mail = email_notifier(port)
        with pytest.raises(Killed):
            await run_tick(db, [DiesAfterSending(mail)], T0)  # type: ignore[list-item]
        with db.sessions() as s:
            row = s.scalar(select(OutboxRow).where(OutboxRow.recipient == "email:user:dana@example.com"))
            assert row is not None and row.status == "sending"
        assert len(box.received) == 1
        await run_tick(db, [mail], T0 + timedelta(minutes=5))  # the send might still be under way: left alone
        assert len(box.received) == 1
        # After its lease: a mail server cannot be asked, so it is sent again: the window README documents.
        await run_tick(db, [mail], T0 + timedelta(minutes=11))
        await run_tick(db, [mail], T0 + timedelta(minutes=12))
        mail.close()
    first, again = box.to("dana@example.com")
    assert first["Message-ID"] == again["Message-ID"] == f"<csbot-outbox-{row.id}@example.com>"
    with db.sessions() as s:
        assert s.get(OutboxRow, row.id).status == "sent"  # type: ignore[union-attr]


async def test_killed_between_claim_and_send_the_email_goes_out_once(db: Database) -> None:
    from store.engine import write_transaction
    from store.outbox import claim_due

    setup(db)
    assert ask(db, "alice", "/escalate T-8 mailonly sev2 invoices doubled", T0)["ok"]
    with write_transaction(db.sessions) as s:
        assert "email:user:dana@example.com" in {c.recipient for c in claim_due(s, T0, claimed_by="host:1:gone-elsewhere")}
    with smtp_server() as (box, port):
        mail = email_notifier(port)
        await run_tick(db, [mail], T0 + timedelta(minutes=1))
        assert box.received == []  # the claim's lease still holds
        for minutes in (3, 4, 5):
            await run_tick(db, [mail], T0 + timedelta(minutes=minutes))
        mail.close()
    assert len(box.to("dana@example.com")) == 1


async def test_a_refused_email_is_retried_with_backoff_and_one_refused_for_good_is_not(db: Database) -> None:
    setup(db)
    assert ask(db, "alice", "/escalate T-9 mailonly sev2 invoices doubled", T0)["ok"]
    with smtp_server() as (box, port):
        mail = email_notifier(port)
        box.refuse.append("451 4.3.0 try again later")
        report = await run_tick(db, [mail], T0)
        (page,) = [o for o in report.outcomes if o.kind == "esc_page"]
        assert page.status == "retrying" and "451" in (page.error or "")
        with db.sessions() as s:
            row = s.scalar(select(OutboxRow).where(OutboxRow.recipient == "email:user:dana@example.com"))
            assert row is not None and row.next_attempt_at == T0 + timedelta(minutes=1)
        await run_tick(db, [mail], T0 + timedelta(seconds=30))
        assert box.received == []
        await run_tick(db, [mail], T0 + timedelta(minutes=1))
        assert len(box.to("dana@example.com")) == 1

        assert ask(db, "alice", "/escalate T-10 mailonly sev2 another one", T0 + timedelta(minutes=2))["ok"]
        box.refuse.append("550 5.1.1 no such mailbox")
        report = await run_tick(db, [mail], T0 + timedelta(minutes=2))
        mail.close()
    (page,) = [o for o in report.outcomes if o.kind == "esc_page"]
    assert page.status == "failed" and "550" in (page.error or "")


async def test_starttls_and_login_are_used_and_the_password_never_crosses_in_the_clear(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    context, ca_file = throwaway_ca(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))  # the operator's private CA, as for any TLS client
    setup(db)
    assert ask(db, "alice", "/escalate T-11 mailonly sev2 invoices doubled", T0)["ok"]
    with smtp_server(login=("csbot", "p@ss:word"), tls_context=context) as (box, port):
        mail = email_notifier(port, f"smtp://csbot:p%40ss%3Aword@127.0.0.1:{port}?starttls=1")
        await run_tick(db, [mail], T0)
        mail.close()
    assert len(box.to("dana@example.com")) == 1 and box.tls == [True] and box.logins == [("csbot", "p@ss:word")]


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # aiosmtpd does not see implicit TLS as TLS
async def test_smtps_is_tls_from_the_first_byte(db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    context, ca_file = throwaway_ca(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    setup(db)
    assert ask(db, "alice", "/escalate T-14 mailonly sev2 invoices doubled", T0)["ok"]
    with smtp_server(login=("csbot", "secret"), implicit_tls=context) as (box, port):
        mail = email_notifier(port, f"smtps://csbot:secret@127.0.0.1:{port}")
        await run_tick(db, [mail], T0)
        mail.close()
    assert len(box.to("dana@example.com")) == 1 and box.logins == [("csbot", "secret")]


async def test_an_untrusted_certificate_is_refused_and_retried_not_sent(db: Database, tmp_path: Path) -> None:
    context, _ca_file = throwaway_ca(tmp_path)  # the CA is not trusted here
    setup(db)
    assert ask(db, "alice", "/escalate T-15 mailonly sev2 invoices doubled", T0)["ok"]
    with smtp_server(login=("csbot", "secret"), tls_context=context) as (box, port):
        mail = email_notifier(port, f"smtp://csbot:secret@127.0.0.1:{port}?starttls=1")
        report = await run_tick(db, [mail], T0)
        mail.close()
    (page,) = [o for o in report.outcomes if o.kind == "esc_page"]
    assert page.status == "retrying" and "CERTIFICATE_VERIFY_FAILED" in (page.error or "")
    assert box.received == [] and box.logins == []  # the password never went to a server csbot could not verify


# ------------------------------------------------------------------ bad input in headers


async def test_user_text_cannot_add_headers_or_recipients(db: Database) -> None:
    from escalation import engine
    from store.engine import write_transaction
    from store.org import Member
    from store.queues import EscalationQueue

    setup(db)
    reason = "refund please\r\nBcc: evil@example.com\r\nX-Injected: yes\nAcknowledge: https://evil.example/ack"
    with write_transaction(db.sessions) as s:
        queue = s.scalar(select(EscalationQueue).where(EscalationQueue.key == "mailonly"))
        alice = s.scalar(select(Member).where(Member.handle == "alice"))
        assert queue is not None and alice is not None
        engine.open_escalation(s, queue, ticket="T-12\r\nCc: evil2@example.com", severity="sev2", reason=reason, requester=alice, now=T0)
    with smtp_server() as (box, port):
        mail = email_notifier(port)
        await run_tick(db, [mail], T0)
        mail.close()
    (received,) = box.received
    assert received.rcpt_tos == ["dana@example.com"]
    message = received.message
    assert message["Bcc"] is None and message["Cc"] is None and message["X-Injected"] is None
    assert message["Subject"].startswith("[SEV2] ESC-1 T-12 Cc: evil2@example.com: refund please Bcc: evil@example.com X-Injected: yes")
    assert "\n" not in message["Subject"] and "\r" not in message["Subject"]
    header_block = received.raw.split(b"\r\n\r\n", 1)[0]
    assert not re.search(rb"^(Bcc|Cc|X-Injected):", header_block, re.MULTILINE | re.IGNORECASE)
    text = body(message)
    assert "> Bcc: evil@example.com" in text and "> Acknowledge: https://evil.example/ack" in text
    assert "\nAcknowledge: https://evil" not in text  # the forged line stays inside the quoted reason


# ------------------------------------------------------------------ the Acknowledge link, over HTTP


async def _paged_by_email(db: Database, chat: SlackNotifier | None = None) -> str:
    """Escalate to dana by e-mail; the path of the Acknowledge link in the e-mail she got."""
    setup(db)
    assert ask(db, "alice", "/escalate T-20 mailonly sev2 invoices doubled", T0)["ok"]
    with smtp_server() as (box, port):
        mail = email_notifier(port)
        await run_tick(db, [mail, *([chat] if chat else [])], T0)
        mail.close()
    (message,) = box.to("dana@example.com")
    return link_path(message)


class App:
    """csbot's real app, served on a loopback port, its clock set by the test."""

    def __init__(self, db: Database, now: datetime) -> None:
        self.db, self.now = db, now

    async def __aenter__(self) -> App:
        settings = load_settings({"CSBOT_PUBLIC_URL": PUBLIC})
        self.runner, self.base = await serve(create_app(self.db, settings, clock=lambda: self.now))
        self.http = aiohttp.ClientSession()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.close()
        await self.runner.cleanup()

    async def get(self, path: str) -> tuple[int, str]:
        async with self.http.get(self.base + path, allow_redirects=False) as resp:
            return resp.status, await resp.text()

    async def post(self, path: str) -> tuple[int, str]:
        async with self.http.post(self.base + path, allow_redirects=False) as resp:
            return resp.status, await resp.text()


async def test_the_link_shows_a_page_and_only_its_button_acknowledges_once_as_the_addressee(
    db: Database, slack: tuple[FakeSlack, SlackNotifier]
) -> None:
    fake, notifier = slack
    path = await _paged_by_email(db, notifier)
    async with App(db, T0 + timedelta(minutes=3)) as app:
        status, page = await app.get(path)
        assert status == 200 and '<form method="post">' in page and "Acknowledge ESC-1 as Dana &quot;The Fixer&quot;, Specialist" in page
        await app.get(path)  # a mail scanner opening the link twice changes nothing
        assert escalation(db, 1).state == "open"
        status, page = await app.post(path)
        assert status == 200 and "Acknowledged ESC-1" in page
        esc = escalation(db, 1)
        with db.sessions() as s:
            dana_id = s.scalar(select(EscalationEvent.by_id).where(EscalationEvent.event == "acknowledged"))
        assert esc.state == "acknowledged" and esc.owner_id == dana_id
        assert ask(db, "alice", "/escalation ESC-1", T0 + timedelta(minutes=4))["data"]["escalation"]["owner"] == "dana"
        status, page = await app.post(path)  # the same link again: used
        assert status == 409 and "This link was used" in page and "acknowledged by Dana" in page
        status, _ = await app.get(path)
        assert status == 409
    with db.sessions() as s:
        assert len(list(s.scalars(select(UsedEmailLink)))) == 1
    assert [e[0] for e in timeline(db, 1)].count("acknowledged") == 1
    # As for a chat click: the status message is edited and the requester told; the e-mail is not "edited".
    with smtp_server() as (box, port):
        mail = email_notifier(port)
        await run_tick(db, [notifier, mail], T0 + timedelta(minutes=4))
        mail.close()
    assert box.received == []
    updates = [c.args for c in fake.calls if c.method == "chat.update"]
    assert any(u["channel"] == "CMAIL" and "Acknowledged by Dana" in json.dumps(u, ensure_ascii=False) for u in updates)
    assert any("acknowledged" in p["text"].lower() for p in dms(fake, "DALICE"))


async def test_an_expired_link_does_nothing(db: Database) -> None:
    path = await _paged_by_email(db)
    async with App(db, T0 + timedelta(hours=24, seconds=1)) as app:
        assert (await app.get(path))[0] == 410
        status, page = await app.post(path)
        assert status == 410 and "expired" in page
    assert escalation(db, 1).state == "open"
    async with App(db, T0 + timedelta(hours=23)) as app:  # within its day it still works
        assert (await app.post(path))[0] == 200


async def test_a_tampered_or_someone_elses_token_is_refused_with_one_line_and_no_traceback(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    path = await _paged_by_email(db)
    _, _, token = path.rpartition("/")
    version, number, member, link, expires, mac = token.split(".")
    with db.sessions() as s:
        from store.org import Member

        eli = s.scalar(select(Member.id).where(Member.handle == "eli"))
    forged = [
        f"{version}.{number}.{eli}.{link}.{expires}.{mac}",  # dana's link made to act as eli
        f"{version}.{int(number) + 1}.{member}.{link}.{expires}.{mac}",  # another escalation
        f"{version}.{number}.{member}.{link}.{int(expires) + 86400}.{mac}",  # a longer life
        f"{version}.{number}.{member}.{link}.{expires}.{mac[:-1]}{'A' if mac[-1] != 'A' else 'B'}",
        "v1.1.1.1.1.x", "garbage", "x" * 300, "%E2%80%AE",
    ]
    caplog.set_level(logging.WARNING)
    async with App(db, T0 + timedelta(minutes=1)) as app:
        for bad in forged:
            for method in (app.get, app.post):
                status, page = await method(f"/ack/{bad}")
                assert status in (404, 400) and "Traceback" not in page, bad
    assert escalation(db, 1).state == "open"
    with db.sessions() as s:
        assert list(s.scalars(select(UsedEmailLink))) == []
    refused = [r for r in caplog.records if r.name == "csbot.refused" and "/ack" in r.getMessage()]
    assert len(refused) >= 2 * (len(forged) - 1)
    assert all(token not in r.getMessage() and mac not in r.getMessage() for r in caplog.records)
    assert_no_traceback(caplog.records)


async def test_a_link_to_an_escalation_someone_already_took_says_who(db: Database) -> None:
    path = await _paged_by_email(db)
    assert ask(db, "root", "/escalation ack ESC-1", T0 + timedelta(minutes=1))["ok"]
    async with App(db, T0 + timedelta(minutes=2)) as app:
        status, page = await app.get(path)
        assert status == 200 and "acknowledged by Riley Admin" in page and "<form" not in page
        status, page = await app.post(path)
        assert status == 200 and "already acknowledged by Riley Admin" in page
        assert ask(db, "root", "/escalation resolve ESC-1 fixed", T0 + timedelta(minutes=3))["ok"]
        status, page = await app.get(path)
        assert status == 409 and "resolved" in page
    assert escalation(db, 1).owner_id != escalation(db, 1).requester_id


async def test_the_page_behind_the_link_escapes_user_text(db: Database) -> None:
    setup(db)
    assert ask(db, "alice", '/escalate T-21 mailonly sev2 "<script>alert(1)</script> & <b>bold</b>"', T0)["ok"]
    with smtp_server() as (box, port):
        mail = email_notifier(port)
        await run_tick(db, [mail], T0)
        mail.close()
    (message,) = box.to("dana@example.com")
    async with App(db, T0 + timedelta(minutes=1)) as app:
        status, page = await app.get(link_path(message))
    assert status == 200 and "<script>" not in page and "<b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in page


async def test_two_clicks_at_once_acknowledge_once(db: Database) -> None:
    path = await _paged_by_email(db)
    async with App(db, T0 + timedelta(minutes=1)) as app:
        results = await asyncio.gather(*(app.post(path) for _ in range(4)))
    assert sorted(status for status, _ in results) == [200, 409, 409, 409]
    assert [e[0] for e in timeline(db, 1)].count("acknowledged") == 1


# ------------------------------------------------------------------ settings and the org file


@pytest.mark.parametrize(
    ("env", "problem"),
    [
        ({"CSBOT_SMTP_URL": "http://mail.example.com", "CSBOT_SMTP_FROM": "a@example.com"}, "not an SMTP URL"),
        ({"CSBOT_SMTP_URL": "smtp://mail.example.com"}, "CSBOT_SMTP_FROM: required"),
        ({"CSBOT_SMTP_FROM": "a@example.com"}, "CSBOT_SMTP_URL: required"),
        ({"CSBOT_SMTP_URL": "smtp://u:secret@mail.example.com:587", "CSBOT_SMTP_FROM": "a@example.com"}, "in the clear"),
        ({"CSBOT_SMTP_URL": "smtp://mail.example.com:99999", "CSBOT_SMTP_FROM": "a@example.com"}, "port"),
        ({"CSBOT_SMTP_URL": "smtp://mail.example.com?tls=1", "CSBOT_SMTP_FROM": "a@example.com"}, "unknown option"),
        ({"CSBOT_SMTP_URL": "smtp://mail.example.com", "CSBOT_SMTP_FROM": "not an address"}, "not an e-mail address"),
    ],
)
def test_bad_smtp_settings_stop_start_up_naming_the_variable_never_the_password(env: dict[str, str], problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(env)
    assert problem in str(caught.value) and "secret" not in str(caught.value)


def test_smtp_settings_read() -> None:
    starttls = load_settings({"CSBOT_SMTP_URL": "smtp://u%40x:p%2Fw@mail.example.com:587?starttls=1", "CSBOT_SMTP_FROM": "csbot <csbot@example.com>"}).smtp
    assert starttls is not None and (starttls.host, starttls.port, starttls.security, starttls.username, starttls.password) == ("mail.example.com", 587, "starttls", "u@x", "p/w")
    assert starttls.sender == "csbot <csbot@example.com>" and starttls.sender_address == "csbot@example.com"
    ssl_ = load_settings({"CSBOT_SMTP_URL": "smtps://u:p@mail.example.com", "CSBOT_SMTP_FROM": "csbot@example.com"}).smtp
    assert ssl_ is not None and (ssl_.port, ssl_.security) == (465, "ssl")
    relay = load_settings({"CSBOT_SMTP_URL": "smtp://127.0.0.1", "CSBOT_SMTP_FROM": "csbot@example.com"}).smtp
    assert relay is not None and (relay.port, relay.security, relay.username) == (25, "none", None)
    assert load_settings({}).smtp is None


def test_how_in_the_org_file_takes_who_and_by_what_and_round_trips(db: Database) -> None:
    text = ORG.replace("how: dm+email, wait: 30m", "how: [round_robin, dm+email], wait: 30m")
    with db.sessions() as s, s.begin():
        apply_org(s, parse_org(text, METRIC_NAMES))
    with db.sessions() as s:
        shown = dump_org(org_document(s))
    assert "- round_robin\n" in shown and "dm+email" in shown and "how: email" in shown
    with db.sessions() as s, s.begin():
        assert not apply_org(s, parse_org(shown, METRIC_NAMES)).changed
    for bad, says in (("how: fax", "how must be all or round_robin"), ("how: [email, dm]", "twice"), ("how: [all, round_robin]", "twice")):
        with pytest.raises(OrgFileError) as caught:
            parse_org(ORG.replace("how: email, wait: 30m", f"{bad}, wait: 30m"), METRIC_NAMES)
        assert says in str(caught.value)


def test_the_demo_has_addresses_and_a_level_that_pages_by_chat_and_email() -> None:
    from kpi.demo_org import demo_org_document

    document = demo_org_document()
    assert all(m.get("email") for m in document["members"])
    # A queue's policy is one policy, or one per severity (tier2's).
    policies = [p for q in document["escalation"]["queues"] for p in ([q["policy"]] if "levels" in q["policy"] else q["policy"].values())]
    levels = [level for policy in policies for level in policy["levels"]]
    assert any(level.get("how") == "dm+email" for level in levels)
