"""Collision detection: colleagues on the same ticket, and a reply after others wrote."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.tests.factories import AgentFactory, BuyerFactory
from tickets import collisions, services
from tickets.choices import Channel, Direction
from tickets.models import Message

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket():
    return services.ticket_open(
        requester=BuyerFactory(display_name="Chioma Nwosu"),
        channel=Channel.EMAIL,
        category="technical_support",
        body="The app crashes at checkout.",
    )


def test_agents_see_who_else_views_or_replies(client, ticket):
    ada = AgentFactory(display_name="Ada Obi")
    tunde = AgentFactory(display_name="Tunde Bello")
    ngozi = AgentFactory(display_name="Ngozi Eze")
    url = reverse("console:ticket_presence", args=[ticket.pk])
    client.force_login(tunde)
    client.post(url, {"state": "replying"})
    client.force_login(ngozi)
    client.post(url, {"state": "viewing"})

    client.force_login(ada)
    data = client.post(url, {"state": "viewing"}).json()
    assert data["colleagues"] == [
        {"name": "Tunde Bello", "state": "replying"},
        {"name": "Ngozi Eze", "state": "viewing"},
    ]
    page = client.get(reverse("console:ticket", args=[ticket.pk])).content.decode()
    assert "Tunde Bello is typing a reply" in page and "Ngozi Eze is viewing this ticket" in page

    # a colleague who closes the tab disappears
    client.force_login(ngozi)
    client.post(url, {"state": "left"})
    assert [c.name for c in collisions.colleagues_on(ticket_id=ticket.pk, agent=ada)] == [
        "Tunde Bello"
    ]


def test_a_reply_after_the_customer_wrote_again_asks_first(client, ticket):
    ada = AgentFactory()
    client.force_login(ada)
    seen = collisions.last_message_id(ticket=ticket)
    services.ticket_customer_message(
        ticket=ticket, author=ticket.requester, body="It also fails on the website now."
    )
    reply = {"body": "Please update the app.", "status": "pending", "seen_message": seen}

    response = client.post(reverse("console:reply", args=[ticket.pk]), reply)
    assert response.status_code == 409
    page = response.content.decode()
    assert "Written since you opened this ticket" in page
    assert "It also fails on the website now." in page
    assert "Send reply anyway" in page
    assert not Message.objects.filter(ticket=ticket, author=ada).exists()
    # the agent read it and sends anyway
    response = client.post(
        reverse("console:reply", args=[ticket.pk]), {**reply, "confirm_newer": "1"}
    )
    assert response.status_code == 302
    assert Message.objects.filter(ticket=ticket, author=ada, direction=Direction.OUTBOUND).exists()


def test_a_colleagues_reply_asks_too_but_not_ones_own_or_the_systems(client, ticket):
    ada, tunde = AgentFactory(), AgentFactory(display_name="Tunde Bello")
    seen = collisions.last_message_id(ticket=ticket)
    services.ticket_system_reply(ticket=ticket, body="We received your request.")
    assert collisions.written_since(ticket=ticket, seen_id=seen, agent=ada) == []
    services.ticket_reply(ticket=ticket, author=ada, body="Looking into it.")
    assert collisions.written_since(ticket=ticket, seen_id=seen, agent=ada) == []
    services.ticket_reply(ticket=ticket, author=tunde, body="Fixed in version 2.3.")
    client.force_login(ada)
    response = client.post(
        reverse("console:reply", args=[ticket.pk]),
        {"body": "Try again.", "status": "", "seen_message": seen},
    )
    assert response.status_code == 409
    assert "Tunde Bello (a colleague's reply)" in response.content.decode()
