"""Clear communication: photos asked once where the category wants them, added later
from the portal, shown inline to agents."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.tests.factories import AgentFactory, BuyerFactory
from policy.loader import get_policy
from tickets import services as tickets
from tickets.attachments import check_uploads
from tickets.choices import Channel, Direction
from tickets.models import Attachment, Ticket

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def system_replies(ticket: Ticket) -> list[str]:
    return list(
        ticket.messages.filter(direction=Direction.OUTBOUND, author__isnull=True)
        .order_by("id")
        .values_list("body_text", flat=True)
    )


def test_returns_asks_for_the_order_number_and_photos_in_one_message():
    ticket = tickets.ticket_open(
        requester=BuyerFactory(), channel=Channel.WEB_FORM, category="returns", body="Broken"
    )
    [asked] = system_replies(ticket)
    assert "order number" in asked
    assert asked.endswith(get_policy().category("returns").photo_request)
    assert "photos of the item, its packaging" in asked


def test_technical_support_asks_for_a_screenshot_once_and_not_when_one_came(photo):
    buyer = BuyerFactory()
    ticket = tickets.ticket_open(
        requester=buyer, channel=Channel.EMAIL, category="technical_support", body="App crashes"
    )
    assert system_replies(ticket) == [get_policy().category("technical_support").photo_request]
    assert "screenshot" in system_replies(ticket)[0]
    tickets.ticket_customer_message(ticket=ticket, author=buyer, body="Still crashing")
    assert len(system_replies(ticket)) == 1
    with_photo = tickets.ticket_open(
        requester=buyer,
        channel=Channel.EMAIL,
        category="technical_support",
        body="See the error",
        uploads=check_uploads([photo("error.png")]),
    )
    assert system_replies(with_photo) == []


def test_categories_that_do_not_want_photos_are_not_asked():
    ticket = tickets.ticket_open(
        requester=BuyerFactory(), channel=Channel.EMAIL, category="payments", body="Refund late"
    )
    policy = get_policy()
    asks = [policy.conduct.photo_request, *(c.photo_request for c in policy.categories)]
    assert not any(text and text in body for text in asks for body in system_replies(ticket))


def test_a_customer_adds_photos_later_from_my_requests_and_agents_see_thumbnails(photo):
    buyer = BuyerFactory()
    ticket = tickets.ticket_open(
        requester=buyer, channel=Channel.WEB_FORM, category="technical_support", body="Crash"
    )
    client = signed_in(buyer)
    listing = client.get("/requests/").content.decode()
    assert f'href="/requests/{ticket.pk}/#add-photos"' in listing
    empty = client.post(f"/requests/{ticket.pk}/", {"body": ""})
    assert empty.status_code == 400 and "Write a message or add photos." in empty.content.decode()
    added = client.post(f"/requests/{ticket.pk}/", {"body": "", "photos": [photo("screen.png")]})
    assert added.status_code == 302
    attachment = Attachment.objects.get(filename="screen.png")
    assert attachment.message.ticket == ticket and attachment.message.body_text == ""
    console = signed_in(AgentFactory()).get(f"/console/tickets/{ticket.pk}/").content.decode()
    assert f'<img src="/attachments/{attachment.pk}/" alt="Photo screen.png from' in console
