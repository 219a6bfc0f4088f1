import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.tests.factories import AgentFactory, BuyerFactory
from tickets import delivery, services
from tickets.choices import Channel, DeliveryStatus
from tickets.models import OutboundMessage, Ticket
from tickets.tests.api.client import API, assert_problem, client_for, patch_json, post_json
from tickets.tests.factories import TicketFactory

pytestmark = pytest.mark.django_db


def test_customer_reads_their_ticket_without_internal_notes():
    ticket = TicketFactory(first_message="Screen arrived cracked")
    agent = client_for(AgentFactory())
    post_json(agent, f"{API}/{ticket.pk}/notes", {"body": "VIP customer"})
    post_json(agent, f"{API}/{ticket.pk}/replies", {"body": "Sorry! A new one is on its way."})

    as_customer = client_for(ticket.requester).get(f"{API}/{ticket.pk}")

    assert as_customer.status_code == 200
    body = as_customer.json()
    assert (body["id"], body["reference"]) == (ticket.pk, f"IZS-{ticket.pk}")
    assert [(m["direction"], m["body_text"]) for m in body["messages"]] == [
        ("in", "Screen arrived cracked"),
        ("out", "Sorry! A new one is on its way."),
    ]
    assert all(m["delivery"] is None for m in body["messages"])
    assert "VIP customer" not in as_customer.content.decode()


def test_agents_see_notes_and_the_delivery_status_of_replies():
    ticket = TicketFactory()
    agent = client_for(AgentFactory())
    post_json(agent, f"{API}/{ticket.pk}/notes", {"body": "VIP customer"})
    post_json(agent, f"{API}/{ticket.pk}/replies", {"body": "On it"})

    messages = agent.get(f"{API}/{ticket.pk}").json()["messages"]

    assert [(m["kind"], m["direction"]) for m in messages] == [
        ("reply", "in"),
        ("note", "internal"),
        ("reply", "out"),
    ]
    assert messages[0]["delivery"] is None  # inbound: nothing to deliver
    assert messages[1]["delivery"] is None  # notes never leave
    assert messages[2]["delivery"] == {"status": "pending", "attempts": 0, "last_error": ""}


def test_a_failed_delivery_is_visible_to_agents_only(monkeypatch):
    def refuse(outbound):
        raise delivery.DeliveryError("Messaging window closed", permanent=True)

    monkeypatch.setitem(delivery._transports, Channel.INSTAGRAM, refuse)
    ticket = TicketFactory(channel=Channel.INSTAGRAM)
    agent = client_for(AgentFactory())
    post_json(agent, f"{API}/{ticket.pk}/replies", {"body": "Here is your refund"})
    outbound = OutboundMessage.objects.get()
    assert services.outbound_attempt(outbound_id=outbound.pk) == DeliveryStatus.FAILED

    reply = agent.get(f"{API}/{ticket.pk}").json()["messages"][-1]
    assert reply["delivery"] == {
        "status": "failed",
        "attempts": 1,
        "last_error": "Messaging window closed",
    }
    customer_view = client_for(ticket.requester).get(f"{API}/{ticket.pk}")
    assert customer_view.json()["messages"][-1]["delivery"] is None
    assert "Messaging window" not in customer_view.content.decode()


def test_another_customers_ticket_answers_exactly_like_a_missing_one():
    """A 404 rather than a 403, so customers cannot probe which ticket ids exist."""
    ticket = TicketFactory()
    stranger = client_for(BuyerFactory())

    def attempts(ticket_id):
        url = f"{API}/{ticket_id}"
        return [
            stranger.get(url),
            post_json(stranger, f"{url}/replies", {"body": "hi"}),
            post_json(stranger, f"{url}/notes", {"body": "hi"}),
            patch_json(stranger, url, {"status": "closed"}),
        ]

    for theirs, missing in zip(attempts(ticket.pk), attempts(999_999), strict=True):
        assert_problem(theirs, status=404, code="not_found")
        assert theirs.json() == missing.json()
    assert ticket.messages.count() == 1


def test_reading_a_long_conversation_costs_no_more_queries_than_a_short_one():
    ticket = TicketFactory()
    agent = client_for(AgentFactory())

    def queries_to_read() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert agent.get(f"{API}/{ticket.pk}").status_code == 200
        return len(captured)

    post_json(agent, f"{API}/{ticket.pk}/replies", {"body": "First"})
    short = queries_to_read()
    for n in range(5):
        post_json(agent, f"{API}/{ticket.pk}/replies", {"body": f"Reply {n}"})
        post_json(agent, f"{API}/{ticket.pk}/notes", {"body": f"Note {n}"})
    assert queries_to_read() == short


def test_an_offline_message_left_with_the_chat_widget_reads_as_its_sub_channel(client):
    """Integrations see where the ticket began (``sub_channel``) and how it is answered
    (``channel``); other tickets say ``null``."""
    client.post(
        "/chat/offline-message",
        {"name": "Chidi", "email": "chidi@example.com", "category": "payments", "text": "Hi"},
        content_type="application/json",
    )
    offline = Ticket.objects.get(sub_channel="chat_offline")
    plain = TicketFactory(channel=Channel.EMAIL)
    agent = client_for(AgentFactory())

    body = agent.get(f"{API}/{offline.pk}").json()
    assert (body["channel"], body["sub_channel"]) == ("email", "chat_offline")
    assert agent.get(f"{API}/{plain.pk}").json()["sub_channel"] is None
    listed = {t["id"]: t["sub_channel"] for t in agent.get(API).json()["items"]}
    assert listed == {offline.pk: "chat_offline", plain.pk: None}
