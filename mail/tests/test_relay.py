"""Automatic mail from the support address is no relay for strangers' words: to an
address nobody has proven (a typed one, a mail's From:), an automatic reply carries a
neutral subject and no customer-written text; and acknowledgements to new addresses
are capped for all senders together."""

from __future__ import annotations

import email
import email.policy

import pytest
from django.test import Client
from django.utils import timezone

from accounts.tests.factories import BuyerFactory
from mail import acknowledgements
from mail.intake import ingest_raw
from mail.tests.test_intake import mail
from tickets.models import Ticket

pytestmark = pytest.mark.django_db

SPAM = "CHEAP PILLS at pills.example"


@pytest.fixture
def deliver(django_capture_on_commit_callbacks, run_tasks):
    def ingest(raw: bytes):
        with django_capture_on_commit_callbacks(execute=True):
            record = ingest_raw(raw=raw)
        run_tasks()
        return record

    return ingest


def _text(message) -> str:
    parsed = email.message_from_string(message.as_string(), policy=email.policy.default)
    return parsed.get_body(("plain",)).get_content()


def test_an_acknowledgement_to_a_forged_sender_echoes_none_of_their_words(smtp_server, deliver):
    ticket = deliver(
        mail(sender=f"{SPAM} <victim@example.com>", subject=SPAM, body=f"Buy now: {SPAM}")
    ).ticket
    assert smtp_server.messages, "the acknowledgement is still sent"
    for sent in smtp_server.messages:
        assert sent["To"] == "victim@example.com"
        assert "PILLS" not in sent["Subject"].upper()
        assert f"[{ticket.reference}]" in sent["Subject"]
        assert "PILLS" not in _text(sent).upper()
    [ack] = [m for m in smtp_server.messages if "request number" in _text(m)]
    assert _text(ack).startswith("Hello there,")


def test_an_offline_message_to_a_typed_address_gets_no_echo_of_its_text(
    smtp_server, django_capture_on_commit_callbacks, run_tasks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = Client().post(
            "/chat/offline-message",
            {"name": SPAM, "email": "victim@example.com", "category": "returns", "text": SPAM},
            content_type="application/json",
        )
    assert response.status_code == 201
    run_tasks()
    ticket = Ticket.objects.get()
    assert ticket.messages.filter(author__isnull=True).exists(), "an automatic reply was made"
    assert smtp_server.messages
    for sent in smtp_server.messages:
        assert "PILLS" not in sent["Subject"].upper() and ticket.reference in sent["Subject"]
        assert "PILLS" not in _text(sent).upper()


def test_a_verified_customer_keeps_their_subject_and_name(smtp_server, deliver):
    BuyerFactory(email="chioma@example.com", first_name="Chioma", last_login=timezone.now())
    deliver(mail(sender="Chioma <chioma@example.com>", subject="Cannot sign in"))
    [ack] = [m for m in smtp_server.messages if "request number" in _text(m)]
    assert ack["Subject"].startswith("Re: Cannot sign in [")
    assert "Hello Chioma," in _text(ack)


def test_acknowledgements_to_new_addresses_are_capped_for_all_senders(
    smtp_server, deliver, settings, caplog, monkeypatch
):
    settings.IZONIE_THROTTLE_NEW_ADDRESS_ACKS = "2/h"
    monkeypatch.setattr(acknowledgements, "_withheld", acknowledgements._WithheldLog())
    for n in range(6):
        deliver(mail(sender=f"p{n}@example.com", message_id=f"<n{n}@example.com>"))
    assert Ticket.objects.count() == 6  # every request is still taken
    acknowledged = {m["To"] for m in smtp_server.messages if "request number" in _text(m)}
    assert acknowledged == {"p0@example.com", "p1@example.com"}

    # a flood of forged senders is one log line a minute, with how many were withheld
    def withheld() -> list[str]:
        return [r.getMessage() for r in caplog.records if "over the limit" in r.getMessage()]

    assert withheld() == [
        "Acknowledgements to new addresses over the limit: 1 not sent"
        " since the last such line (logged at most once a minute)."
    ]
    # a minute later, the next one withheld brings the count of the others
    monkeypatch.setattr(acknowledgements, "WITHHELD_LOG_SECONDS", 0.0)
    deliver(mail(sender="p6@example.com", message_id="<n6@example.com>"))
    assert len(withheld()) == 2
    assert withheld()[1].startswith("Acknowledgements to new addresses over the limit: 4 not sent")
