"""The customers' home page: Help Center search and topics, live-chat status and hours
from the policy, My requests and the published contact options."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.tests.factories import BuyerFactory
from tickets.tests.factories import TicketFactory

pytestmark = pytest.mark.django_db


def test_anonymous_home_has_search_chat_hours_contact_and_sign_in():
    page = Client().get("/").content.decode()
    assert 'action="/help/search"' in page and 'name="q"' in page
    assert "Monday – Saturday, 08:00 – 20:00" in page  # live chat hours from the policy
    assert "Open now" in page or "Closed now" in page
    assert "support@izonie.com" in page
    assert "Sign in to see my requests" in page
    assert 'href="/contact"' in page


def test_signed_in_customer_sees_their_latest_requests(client):
    buyer = BuyerFactory()
    mine = TicketFactory(requester=buyer, subject="Broken screen on arrival")
    TicketFactory(subject="Someone else's parcel")
    client.force_login(buyer)
    page = client.get("/").content.decode()
    assert mine.reference in page and "Broken screen on arrival" in page
    assert "Someone else's parcel" not in page
    assert "All my requests" in page
