import pytest

from accounts.tests.factories import AgentFactory
from tickets.choices import EventKind, TicketStatus
from tickets.models import OutboundMessage
from tickets.tests.api.client import API, assert_problem, client_for, post_json
from tickets.tests.factories import TicketFactory

pytestmark = pytest.mark.django_db


def test_agent_replies_and_sets_the_status_in_one_step():
    ticket = TicketFactory()
    agent = AgentFactory()

    response = post_json(
        client_for(agent), f"{API}/{ticket.pk}/replies", {"body": "Refunded", "status": "pending"}
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["kind"], body["direction"], body["body_text"]) == ("reply", "out", "Refunded")
    assert body["delivery"]["status"] == "pending"
    ticket.refresh_from_db()
    assert (ticket.status, ticket.assignee) == (TicketStatus.PENDING, agent)
    assert ticket.first_replied_at is not None
    assert OutboundMessage.objects.filter(message_id=body["id"]).exists()
    assert ticket.events.filter(kind=EventKind.MESSAGE_OUT).exists()


def test_customer_writing_again_reopens_a_ticket_waiting_on_them():
    ticket = TicketFactory(status=TicketStatus.PENDING)

    response = post_json(
        client_for(ticket.requester), f"{API}/{ticket.pk}/replies", {"body": "Any news?"}
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["direction"], body["delivery"]) == ("in", None)
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN
    assert not OutboundMessage.objects.exists()


def test_customer_cannot_set_the_status_with_a_message():
    ticket = TicketFactory(status=TicketStatus.OPEN)
    response = post_json(
        client_for(ticket.requester),
        f"{API}/{ticket.pk}/replies",
        {"body": "Fixed it myself", "status": "resolved"},
    )
    assert_problem(response, status=403, code="forbidden")
    ticket.refresh_from_db()
    assert (ticket.status, ticket.messages.count()) == (TicketStatus.OPEN, 1)


@pytest.mark.parametrize("who", ["agent", "customer"])
def test_nobody_writes_on_a_closed_ticket(who):
    ticket = TicketFactory(status=TicketStatus.CLOSED)
    user = AgentFactory() if who == "agent" else ticket.requester
    response = post_json(client_for(user), f"{API}/{ticket.pk}/replies", {"body": "Hello?"})
    assert_problem(response, status=409, code="ticket_closed")
    assert ticket.messages.count() == 1


@pytest.mark.parametrize(
    ("payload", "code", "field"),
    [
        ({}, "invalid_input", "body"),
        ({"body": " "}, "empty_message", "body"),
        ({"body": "ok", "status": "done"}, "invalid_input", "status"),
    ],
)
def test_bad_replies_are_refused(payload, code, field):
    ticket = TicketFactory()
    response = post_json(client_for(AgentFactory()), f"{API}/{ticket.pk}/replies", payload)
    assert_problem(response, status=422, code=code, field=field)
    assert ticket.messages.count() == 1  # only the customer's first message
