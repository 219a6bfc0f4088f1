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


def _card_and_statements(client, ticket) -> tuple[str, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    url = reverse("console:ticket", args=[ticket.pk])
    client.get(url)  # the first visit also records that the agent saw the ticket
    with CaptureQueriesContext(connection) as queries:
        page = client.get(url).content.decode()
    return page[page.index('class="requester-card"') :], len(queries.captured_queries)


def test_a_long_history_is_totalled_and_costs_no_more_statements_as_it_grows(client):
    buyer = BuyerFactory()
    current = TicketFactory(requester=buyer, subject="Screen cracked")
    client.force_login(AgentFactory())

    def grow(tickets: int, scores: list[int]) -> None:
        for score in scores:
            rated = TicketFactory(requester=buyer, status="resolved")
            feedback_record(ticket=rated, channel="email", score=score)
        for _ in range(tickets - len(scores)):
            TicketFactory(requester=buyer, status="open")

    grow(7, [1, 2, 3, 5])
    card, statements = _card_and_statements(client, current)
    assert "Other requests (7)" in card and "All 7</a>" in card
    assert "Average 2.8 of 5 over 4 ratings" in card
    assert card.count("/5 on ") == 3  # the three latest

    grow(30, [4] * 12)
    card, more_statements = _card_and_statements(client, current)
    assert "Other requests (37)" in card and "Average 3.7 of 5 over 16 ratings" in card
    assert more_statements == statements


def test_a_short_history_is_totalled_from_the_lists_shown(client):
    client.force_login(AgentFactory())
    buyer = BuyerFactory()
    current = TicketFactory(requester=buyer)
    feedback_record(
        ticket=TicketFactory(requester=buyer, status="resolved"), channel="email", score=4
    )
    feedback_record(
        ticket=TicketFactory(requester=buyer, status="closed"), channel="email", score=1
    )
    card, statements = _card_and_statements(client, current)
    assert "Other requests (2)" in card and "All 2" not in card
    assert "Average 2.5 of 5 over 2 ratings" in card

    regular = BuyerFactory()
    theirs = TicketFactory(requester=regular)
    for _ in range(8):
        rated = TicketFactory(requester=regular, status="resolved")
        feedback_record(ticket=rated, channel="email", score=5)
    card, long_statements = _card_and_statements(client, theirs)
    assert "Other requests (8)" in card and "over 8 ratings" in card
    # Short lists are their own totals: neither is counted again.
    assert statements == long_statements - 2
