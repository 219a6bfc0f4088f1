"""The requester card: the customer's other requests (unresolved first), ratings, conduct."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import AgentFactory, BuyerFactory
from conduct.models import ConductBlock
from feedback.services import feedback_record
from marketplace.tests.factories import OrderFactory
from tickets.tests.factories import TicketFactory

pytestmark = pytest.mark.django_db


def test_the_card_shows_history_ratings_and_blocks(client):
    buyer = BuyerFactory()
    current = TicketFactory(requester=buyer, subject="Screen cracked")
    solved = TicketFactory(requester=buyer, status="resolved", subject="Late delivery")
    TicketFactory(requester=buyer, status="pending", subject="Refund question")
    TicketFactory(subject="Someone else's")
    feedback_record(ticket=solved, channel="email", score=2, comment="Too slow")
    ConductBlock.objects.create(
        customer=buyer,
        channel="live_chat",
        violations=3,
        ends_at=timezone.now() + dt.timedelta(hours=5),
    )
    client.force_login(AgentFactory())
    page = client.get(reverse("console:ticket", args=[current.pk])).content.decode()
    card = page[page.index('class="requester-card"') :]
    assert "Other requests (2)" in card
    assert card.index("Refund question") < card.index("Late delivery")  # unresolved first
    assert "Someone else" not in card
    assert "Average 2.0 of 5 over 1 rating" in card and "Too slow" in card
    assert "Blocked on live_chat until" in card


@pytest.mark.django_db
def test_the_card_lists_the_customers_recent_orders_newest_first(client):
    buyer = BuyerFactory()
    now = timezone.now()
    older = OrderFactory(buyer=buyer, placed_at=now - dt.timedelta(days=30))
    newer = OrderFactory(buyer=buyer, placed_at=now - dt.timedelta(days=2))
    someone_elses = OrderFactory()
    ticket = TicketFactory(requester=buyer)
    client.force_login(AgentFactory())
    page = client.get(reverse("console:ticket", args=[ticket.pk])).content.decode()
    card = page[page.index("Recent orders") : page.index("<h3>Ratings</h3>")]
    assert card.index(newer.number) < card.index(older.number)
    assert someone_elses.number not in card
