"""Replies leave through a real SMTP server on loopback (aiosmtpd)."""

import email
import email.policy

import pytest

from accounts.tests.factories import AgentFactory
from core.tests.net import free_port
from mail.intake import ingest_raw
from mail.tests.test_intake import mail
from tickets import services
from tickets.choices import DeliveryStatus
from tickets.models import OutboundMessage

pytestmark = pytest.mark.django_db


def test_reply_is_threaded_and_carries_the_ticket_token(
    smtp_server, run_tasks, django_capture_on_commit_callbacks
):
    ticket = ingest_raw(raw=mail()).ticket
    run_tasks()  # the acknowledgement of the new ticket goes first
    smtp_server.messages.clear()
    with django_capture_on_commit_callbacks(execute=True):
        reply = services.ticket_reply(
            ticket=ticket, author=AgentFactory(), body="It ships tomorrow."
        )
    run_tasks()
    outbound = OutboundMessage.objects.get(message=reply)
    assert outbound.status == DeliveryStatus.SENT
    sent = smtp_server.messages[0]
    assert sent["To"] == "chioma@example.com"
    assert sent["In-Reply-To"] == "<m1@example.com>"
    assert f"[{ticket.reference}]" in sent["Subject"]
    assert sent["Reply-To"] == f"support+{ticket.pk}@izonie.com"
    reply.refresh_from_db()
    assert sent["Message-ID"] == f"<{reply.external_id}>"
    parsed = email.message_from_string(sent.as_string(), policy=email.policy.default)
    assert parsed.get_body(("plain",)).get_content().strip() == "It ships tomorrow."
    # The customer's answer to our reply threads back onto the ticket.
    answer = ingest_raw(
        raw=mail(
            message_id="<m7@example.com>", subject=sent["Subject"], In_Reply_To=sent["Message-ID"]
        )
    )
    assert answer.ticket == ticket


def test_unreachable_server_is_retried_then_failed_visibly(
    settings, run_tasks, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = free_port()  # nothing listens there
    settings.EMAIL_TIMEOUT = 2
    settings.IZONIE_OUTBOX_MAX_ATTEMPTS = 2
    ticket = ingest_raw(raw=mail()).ticket
    with django_capture_on_commit_callbacks(execute=True):
        reply = services.ticket_reply(ticket=ticket, author=AgentFactory(), body="Hi")
    for _ in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            run_tasks()
    outbound = OutboundMessage.objects.get(message=reply)
    assert outbound.status == DeliveryStatus.FAILED
    assert outbound.attempts == 2
    assert "Sending failed" in outbound.last_error


def test_replies_can_leave_through_an_anymail_provider_backend(
    settings, run_tasks, django_capture_on_commit_callbacks
):
    # anymail's own test backend stands in for a provider (no network in tests).
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    settings.ANYMAIL = {"TEST_SEND_DEFAULTS": {}}
    ticket = ingest_raw(raw=mail()).ticket
    with django_capture_on_commit_callbacks(execute=True):
        reply = services.ticket_reply(ticket=ticket, author=AgentFactory(), body="Hi")
    from django.core import mail as django_mail

    run_tasks()
    outbound = OutboundMessage.objects.get(message=reply)
    assert outbound.status == DeliveryStatus.SENT
    sent = [m for m in django_mail.outbox if m.extra_headers.get("Message-ID")]
    assert sent[-1].extra_headers["In-Reply-To"] == "<m1@example.com>"


def test_a_reply_retried_after_an_ambiguous_failure_keeps_its_message_id(
    smtp_server, run_tasks, django_capture_on_commit_callbacks
):
    # The server takes the whole mail, then answers 451: we cannot know it has a copy,
    # so we send again; the second copy must carry the same Message-ID so the
    # customer's side can recognise it.
    ticket = ingest_raw(raw=mail()).ticket
    run_tasks()  # the acknowledgement of the new ticket, delivered at once
    smtp_server.fail_after_data = 1
    with django_capture_on_commit_callbacks(execute=True):
        reply = services.ticket_reply(ticket=ticket, author=AgentFactory(), body="Sent twice?")
    for _ in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            run_tasks()
    outbound = OutboundMessage.objects.get(message=reply)
    assert (outbound.status, outbound.attempts) == (DeliveryStatus.SENT, 2)
    copies = [m for m in smtp_server.messages if "Sent twice?" in m.as_string()]
    assert len(copies) == 2
    reply.refresh_from_db()
    assert {m["Message-ID"] for m in copies} == {f"<{reply.external_id}>"}


def test_a_rating_email_sent_again_after_an_ambiguous_failure_keeps_its_message_id(
    smtp_server,
):
    import smtplib

    from feedback.models import RatingRequest
    from feedback.requests import rating_email_send

    ticket = ingest_raw(raw=mail()).ticket
    first = RatingRequest.objects.create(ticket=ticket, interaction="one", email="c@example.com")
    other = RatingRequest.objects.create(ticket=ticket, interaction="two", email="c@example.com")
    smtp_server.fail_after_data = 1
    with pytest.raises(smtplib.SMTPDataError):
        rating_email_send(request_id=first.pk)
    assert rating_email_send(request_id=first.pk) is True
    assert rating_email_send(request_id=other.pk) is True
    ids = [m["Message-ID"] for m in smtp_server.messages]
    assert len(ids) == 3
    assert ids[0] == ids[1] != ids[2]
    assert ids[0].endswith("@izonie.com>")
