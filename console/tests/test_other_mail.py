"""Mail that became no ticket stays visible to the support team on request."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.tests.factories import AgentFactory
from mail.intake import ingest_raw
from mail.models import InboundEmail, InboundStatus

pytestmark = pytest.mark.django_db

NEWSLETTER = (
    b"From: Gadget Deals <deals@news.example>\r\n"
    b"To: support@izonie.example\r\n"
    b"Subject: Flash sale on chargers\r\n"
    b"Message-ID: <deal-1@news.example>\r\n"
    b"List-Id: <deals.news.example>\r\n"
    b"Precedence: bulk\r\n"
    b"\r\n"
    b"Chargers at half price this weekend only.\r\n"
)
BOUNCE = (
    b"From: Mail Delivery System <MAILER-DAEMON@mx.example>\r\n"
    b"To: support@izonie.example\r\n"
    b"Subject: Undelivered Mail Returned to Sender\r\n"
    b"Message-ID: <bounce-1@mx.example>\r\n"
    b"\r\n"
    b"I'm sorry to have to inform you that your message could not be delivered.\r\n"
    b"<nobody@gone.example>: host mx.gone.example said: 550 5.1.1 User unknown\r\n"
)


def _agent_client() -> Client:
    client = Client()
    client.force_login(AgentFactory())
    return client


def test_machine_mail_and_bounces_are_listed_and_readable():
    ingest_raw(raw=NEWSLETTER, source="test")
    ingest_raw(raw=BOUNCE, source="test")
    newsletter = InboundEmail.objects.get(header_id="deal-1@news.example")
    assert newsletter.status == InboundStatus.IGNORED  # machine mail: no ticket
    client = _agent_client()

    listing = client.get("/console/mail/")
    assert listing.status_code == 200
    page = listing.content.decode()
    assert "Flash sale on chargers" in page
    assert "Undelivered Mail Returned to Sender" in page

    only_bounces = client.get("/console/mail/", {"status": InboundStatus.BOUNCE}).content.decode()
    assert "Undelivered Mail" in only_bounces and "Flash sale" not in only_bounces

    detail = client.get(f"/console/mail/{newsletter.pk}/").content.decode()
    assert "Chargers at half price this weekend only." in detail
    assert "deals@news.example" in detail


def test_search_by_sender_and_an_empty_result_says_so():
    ingest_raw(raw=NEWSLETTER, source="test")
    client = _agent_client()
    found = client.get("/console/mail/", {"q": "news.example"}).content.decode()
    assert "Flash sale on chargers" in found
    nothing = client.get("/console/mail/", {"q": "no-such-sender"}).content.decode()
    assert "No mail of this kind matches" in nothing


def test_mail_that_became_a_ticket_message_is_not_shown_here():
    ticket_mail = InboundEmail.objects.create(
        raw=b"From: ada@example.com\r\n\r\nHi\r\n",
        sender="ada@example.com",
        subject="Where is my order",
        status=InboundStatus.PROCESSED,
    )
    client = _agent_client()
    assert "Where is my order" not in client.get("/console/mail/").content.decode()
    assert client.get(f"/console/mail/{ticket_mail.pk}/").status_code == 404
