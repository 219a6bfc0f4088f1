"""Global search: every ticket the agent may see, by reference, order, customer or words."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.tests.factories import AgentFactory, BuyerFactory
from tickets import services
from tickets.choices import Channel, TicketStatus
from tickets.models import Ticket
from tickets.search import ticket_search
from tickets.selectors import TicketFilters

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent():
    return AgentFactory()


@pytest.fixture
def waiting(agent):
    """A ticket waiting on the customer, with an order number and a later message."""
    buyer = BuyerFactory(display_name="Chioma Nwosu", email="chioma@example.com")
    ticket = services.ticket_open(
        requester=buyer,
        channel=Channel.EMAIL,
        category="payments",
        body="I was debited twice for my phone.",
    )
    Ticket.objects.filter(pk=ticket.pk).update(order_number="IZ-20461100")
    services.ticket_reply(ticket=ticket, author=agent, body="Which bank?", status="pending")
    services.ticket_customer_message(
        ticket=ticket, author=buyer, body="It was my Zenith account, the blue card."
    )
    services.ticket_update(ticket=ticket, actor=agent, status=TicketStatus.PENDING)
    return Ticket.objects.get(pk=ticket.pk)


@pytest.fixture
def other():
    return services.ticket_open(
        requester=BuyerFactory(display_name="Emeka Obi"),
        channel=Channel.WEB_FORM,
        category="technical_support",
        body="The app crashes at checkout.",
    )


@pytest.mark.parametrize(
    ("query", "matched"),
    [
        ("IZS-{pk}", "Reference"),
        ("#{pk}", "Reference"),
        ("iz-20461100", "Order number"),
        ("CHIOMA@example.com", "Customer email"),
        ("chioma nwosu", "Customer"),
        ("zenith", "Message"),
        ("zenit", "Message"),
    ],
)
def test_every_way_an_agent_looks_for_a_ticket_finds_it(agent, waiting, other, query, matched):
    hits = ticket_search(viewer=agent, text=query.format(pk=waiting.pk))
    assert [(h.ticket, h.matched) for h in hits][:1] == [(waiting, matched)]
    assert other not in [h.ticket for h in hits]


def test_the_snippet_marks_the_words_and_escapes_the_text(agent, waiting):
    services.ticket_customer_message(
        ticket=waiting, author=waiting.requester, body="<b>Zenith</b> again & again"
    )
    hits = ticket_search(viewer=agent, text="zenith again")
    assert hits[0].ticket == waiting
    assert "<mark>Zenith</mark>" in hits[0].snippet_html
    # the customer's markup is text (SQLite) or dropped (PostgreSQL's headline), never HTML
    assert "<b>" not in hits[0].snippet_html and "&amp;" in hits[0].snippet_html


def test_filters_narrow_the_search(agent, waiting):
    assert ticket_search(viewer=agent, text="zenith", filters=TicketFilters(status=["open"])) == []
    found = ticket_search(viewer=agent, text="zenith", filters=TicketFilters(status=["pending"]))
    assert [h.ticket for h in found] == [waiting]


def test_engine_syntax_is_just_text(agent, waiting):
    for query in ['"zenith', "zenith*", "NEAR(zenith)", "zenith OR", "a:b", "-", "%00"]:
        ticket_search(viewer=agent, text=query)  # no error


def test_the_search_page_and_the_all_active_view(client, agent, waiting, other):
    client.force_login(agent)
    page = client.get(reverse("console:search"), {"q": f"IZS-{waiting.pk}"}).content.decode()
    assert "1 ticket found" in page and waiting.subject in page
    page = client.get(reverse("console:search"), {"q": "zenith"}).content.decode()
    assert "<mark>Zenith</mark>" in page
    # "All active" holds every unresolved ticket, waiting on the customer included
    inbox = client.get(reverse("console:inbox"), {"view": "open"}).content.decode()
    assert waiting.reference in inbox and other.reference in inbox


def test_customers_cannot_search_the_console(client, waiting):
    client.force_login(waiting.requester)
    assert client.get(reverse("console:search"), {"q": "zenith"}).status_code in (302, 403)


def test_words_in_messages_find_the_newest_conversations_first(agent, monkeypatch):
    """PostgreSQL reads the newest messages first, then (for rarer words) the index over
    a widening window; either way the newest conversations come first."""
    from django.db import connection

    from tickets import search

    made = [
        services.ticket_open(
            requester=BuyerFactory(),
            channel=Channel.EMAIL,
            category="payments",
            body=f"My warranty claim number {n} was ignored.",
        )
        for n in range(3)
    ]
    newest_first = [t.pk for t in reversed(made)]
    for recent in (search.RECENT_MESSAGES, 1):  # found among the newest, or by the index
        monkeypatch.setattr(search, "RECENT_MESSAGES", recent)
        hits = ticket_search(viewer=agent, text="warranty")
        assert sorted(h.ticket.pk for h in hits) == sorted(newest_first)
        assert all(h.matched == "Message" and "<mark>" in h.snippet_html for h in hits)
        if connection.vendor == "postgresql":
            assert [h.ticket.pk for h in hits] == newest_first
