"""Seller Support: requests from the seller portal and from any channel when the address is
a registered seller's, routed to the seller team, with the store and payouts for agents."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from accounts.tests.factories import AgentFactory, SellerUserFactory
from mail.intake import ingest_raw
from mail.tests.test_intake import mail
from marketplace.adapters import get_marketplace
from marketplace.tests.factories import OrderFactory, SellerFactory
from tickets.choices import Channel
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def seller_team_agent():
    return AgentFactory(username="ngozi", teams=["seller_team"])


def test_a_seller_opens_a_payout_request_in_the_seller_portal(client, seller_team_agent):
    seller = SellerUserFactory()
    client.force_login(seller)
    assert "Ask Seller Support" in client.get(reverse("portal:seller_home")).content.decode()
    response = client.post(
        reverse("portal:seller_request"),
        {"topic": "Payouts", "subject": "November payout missing", "body": "Not received."},
    )
    ticket = Ticket.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:request", args=[ticket.pk])
    assert (ticket.category, ticket.team, ticket.assignee) == (
        "seller_support",
        "seller_team",
        seller_team_agent,
    )
    assert ticket.subject == "Payouts: November payout missing"


def test_an_empty_seller_request_is_refused(client):
    client.force_login(SellerUserFactory())
    response = client.post(reverse("portal:seller_request"), {"topic": "Payouts", "body": ""})
    assert response.status_code == 400
    assert not Ticket.objects.exists()


def test_email_from_a_known_seller_address_is_seller_support(seller_team_agent):
    SellerFactory(store_name="Phone Palace", support_email="care@phonepalace.example")
    ticket = ingest_raw(
        raw=mail(
            sender="care@phonepalace.example",
            subject="Where is my money",
            body="Hello, the settlement for last week has not arrived.",
        )
    ).ticket
    assert (ticket.category, ticket.team) == ("seller_support", "seller_team")
    # a buyer's mail about the same words is left to the classifier
    buyer_ticket = ingest_raw(
        raw=mail(sender="someone@example.com", message_id="<m2@example.com>")
    ).ticket
    assert buyer_ticket.category != "seller_support"


def test_agents_see_the_sellers_store_and_recent_payouts(client, seller_team_agent):
    user = SellerUserFactory(email="owner@gadgethub.example")
    store = SellerFactory(store_name="GadgetHub", user=user, support_email="care@gh.example")
    now = timezone.now()
    paid = OrderFactory(seller=store, total_minor=100_000_00, delivered_at=now - dt.timedelta(20))
    OrderFactory(seller=store, total_minor=50_000_00, delivered_at=now - dt.timedelta(days=2))
    client.force_login(user)
    client.post(
        reverse("portal:seller_request"),
        {"topic": "Listings", "subject": "Listing blocked", "body": "My listing vanished."},
    )
    ticket = Ticket.objects.get()
    client.force_login(seller_team_agent)
    page = client.get(reverse("console:ticket", args=[ticket.pk])).content.decode()
    assert "Seller&#x27;s store" in page or "Seller's store" in page
    assert "GadgetHub" in page and "care@gh.example" in page
    # 5 % commission, paid the day after the 7-day return window
    assert f"PO-{paid.number.removeprefix('IZ-')}" in page
    assert "NGN 95,000.00" in page and "Paid" in page
    assert "NGN 47,500.00" in page and "Scheduled" in page


def test_the_demo_adapter_finds_sellers_by_either_address():
    user = SellerUserFactory(email="owner@shop.example")
    store = SellerFactory(user=user, support_email="care@shop.example")
    marketplace = get_marketplace()
    assert marketplace.seller_for_email(email="OWNER@shop.example").id == str(store.pk)
    assert marketplace.seller_for_email(email="care@shop.example").account_email == user.email
    assert marketplace.seller_for_email(email="nobody@shop.example") is None
    assert marketplace.seller_get(seller_id="not-a-number") is None
    assert user.role == Role.SELLER


def test_a_ticket_from_a_seller_account_on_any_channel_is_seller_support(seller_team_agent):
    from tickets import services

    seller = SellerUserFactory()
    ticket = services.ticket_open(
        requester=seller, channel=Channel.FACEBOOK, body="hi, my listing is not showing"
    )
    assert ticket.category == "seller_support" and ticket.assignee == seller_team_agent
