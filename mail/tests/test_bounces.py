"""Delivery failure reports mark the reply they are about failed, visibly to the agent."""

import time

import pytest
from django.test import Client

from accounts.tests.factories import AgentFactory
from mail.intake import ingest_raw
from mail.models import InboundStatus
from mail.parsing import parse_email
from mail.tests.corpus_run import CORPUS_DIR
from mail.tests.test_intake import mail
from tickets import services
from tickets.choices import DeliveryStatus, EventKind
from tickets.models import OutboundMessage, TicketEvent

pytestmark = pytest.mark.django_db


def crlf(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode()


def postfix_dsn(original_id: str, action: str = "failed") -> bytes:
    """Postfix's RFC 3464 report, as it sends them."""
    return crlf(f"""From: MAILER-DAEMON@mx.example.com (Mail Delivery System)
To: support@izonie.com
Subject: Undelivered Mail Returned to Sender
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B1"
Message-Id: <dsn-{action}@mx.example.com>

--B1
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.example.com.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

--B1
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.com
Arrival-Date: Wed, 25 Nov 2026 09:00:00 +0000

Final-Recipient: rfc822; chioma@example.com
Original-Recipient: rfc822;chioma@example.com
Action: {action}
Status: 5.1.1
Remote-MTA: dns; mx2.example.com
Diagnostic-Code: smtp; 550 5.1.1 <chioma@example.com>: Recipient address
    rejected: User unknown in virtual mailbox table

--B1
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

From: support@izonie.com
To: chioma@example.com
Subject: Re: My order is late [IZS-1]
Message-ID: <{original_id}>

--B1--
""")


def exim_bounce(original_id: str) -> bytes:
    """Exim's own format: X-Failed-Recipients and the original quoted in prose."""
    return crlf(f"""From: Mail Delivery System <Mailer-Daemon@mx.example.net>
To: support@izonie.com
Subject: Mail delivery failed: returning message to sender
X-Failed-Recipients: chioma@example.com
Auto-Submitted: auto-replied
Message-Id: <E1kExim-0001@mx.example.net>

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  chioma@example.com
    host mx.example.net [192.0.2.1]
    SMTP error from remote mail server after RCPT TO:<chioma@example.com>:
    550 5.2.1 Mailbox disabled for this recipient

------ This is a copy of the message, including all the headers. ------

Return-path: <support@izonie.com>
From: support@izonie.com
To: chioma@example.com
Subject: Re: My order is late [IZS-1]
Message-ID: <{original_id}>

It ships tomorrow.
""")


def qmail_bounce(original_id: str) -> bytes:
    return crlf(f"""From: MAILER-DAEMON@mail.example.org
To: support@izonie.com
Subject: failure notice
Message-Id: <qmail-1@mail.example.org>

Hi. This is the qmail-send program at mail.example.org.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<chioma@example.com>:
Sorry, no mailbox here by that name. (#5.1.1)

--- Below this line is a copy of the message.

Return-Path: <support@izonie.com>
Message-ID: <{original_id}>
From: support@izonie.com
Subject: Re: My order is late [IZS-1]

It ships tomorrow.
""")


def sent_reply(django_capture_on_commit_callbacks, run_tasks) -> OutboundMessage:
    ticket = ingest_raw(raw=mail()).ticket
    with django_capture_on_commit_callbacks(execute=True):
        reply = services.ticket_reply(ticket=ticket, author=AgentFactory(), body="It ships.")
    run_tasks()
    outbound = OutboundMessage.objects.select_related("message").get(message=reply)
    assert outbound.status == DeliveryStatus.SENT
    return outbound


@pytest.mark.parametrize(
    ("report", "reason"),
    [
        (postfix_dsn, "5.1.1 550 5.1.1 <chioma@example.com>: Recipient address rejected"),
        (exim_bounce, "550 5.2.1 Mailbox disabled for this recipient"),
        (qmail_bounce, "Sorry, no mailbox here by that name. (#5.1.1)"),
    ],
)
def test_a_bounce_marks_the_sent_reply_failed_with_the_reason(
    smtp_server,
    django_capture_on_commit_callbacks,
    run_tasks,
    report,
    reason,
):
    outbound = sent_reply(django_capture_on_commit_callbacks, run_tasks)
    record = ingest_raw(raw=report(outbound.message.external_id))
    assert record.status == InboundStatus.BOUNCE
    assert record.message_id == outbound.message_id
    outbound.refresh_from_db()
    assert outbound.status == DeliveryStatus.FAILED
    assert "chioma@example.com" in outbound.last_error and reason in outbound.last_error
    failed = TicketEvent.objects.get(kind=EventKind.DELIVERY_FAILED)
    assert failed.data["message_id"] == outbound.message_id
    # The agent sees it on the ticket, with the retry button.
    client = Client()
    client.force_login(AgentFactory())
    page = client.get(f"/console/tickets/{outbound.message.ticket_id}/").content.decode()
    assert "Bounced by chioma@example.com" in page and "Retry delivery" in page
    # The same report again changes nothing more.
    again = ingest_raw(raw=report(outbound.message.external_id))
    assert "already marked failed" in again.reason
    assert TicketEvent.objects.filter(kind=EventKind.DELIVERY_FAILED).count() == 1


def test_a_delay_notice_does_not_fail_the_reply(
    smtp_server,
    django_capture_on_commit_callbacks,
    run_tasks,
):
    outbound = sent_reply(django_capture_on_commit_callbacks, run_tasks)
    record = ingest_raw(raw=postfix_dsn(outbound.message.external_id, action="delayed"))
    assert record.status == InboundStatus.BOUNCE and "delay notice" in record.reason
    outbound.refresh_from_db()
    assert outbound.status == DeliveryStatus.SENT


def test_a_bounce_about_mail_we_never_sent_is_kept_and_opens_nothing():
    record = ingest_raw(raw=postfix_dsn("never-sent@izonie.com"))
    assert record.status == InboundStatus.BOUNCE
    assert "not about a reply we sent" in record.reason
    assert record.ticket is None
    assert not OutboundMessage.objects.exists()


def test_an_ordinary_customer_mail_mentioning_delivery_is_not_a_bounce():
    record = ingest_raw(raw=mail(subject="Delivery failure: my parcel never came"))
    assert record.status == InboundStatus.PROCESSED


def test_a_customer_reply_quoting_a_bounce_phrase_is_not_a_bounce():
    # talon's real Comcast reply: flufl.bounce's phrase matching alone would call it a
    # bounce, but it comes from a person, so the detectors are never asked.
    raw = (CORPUS_DIR / "talon" / "comcast.eml").read_bytes()
    assert parse_email(raw).bounce is None


@pytest.mark.parametrize(
    "name",
    ["qmail_01.txt", "simple_43.txt", "yahoo_01.txt", "aol_01.txt", "microsoft_03.txt"],
)
def test_real_non_standard_reports_are_bounces_and_open_nothing(name):
    # qmail, Exim from ndr@, Yahoo, AOL and Exchange reports, as their servers sent them.
    record = ingest_raw(raw=(CORPUS_DIR / "flufl_bounce" / name).read_bytes())
    assert record.status == InboundStatus.BOUNCE
    assert record.ticket is None


def test_a_huge_report_costs_bounded_time():
    # The detectors cost about 11 µs a line: they read the report's head only.
    raw = crlf("From: MAILER-DAEMON@mx.example.com\nSubject: Undeliverable mail\n\n")
    raw += b"a\r\n" * 500_000
    started = time.process_time()
    assert parse_email(raw).bounce is not None
    assert time.process_time() - started < 2  # 5.6 s when the detectors read it all
