import pytest

from accounts.tests.factories import AgentFactory
from tickets.choices import EventKind, MessageKind, TicketStatus
from tickets.models import Message, OutboundMessage
from tickets.tests.api.client import API, assert_problem, client_for, post_json
from tickets.tests.factories import TicketFactory

pytestmark = pytest.mark.django_db


def test_agent_adds_an_internal_note_that_is_never_sent():
    ticket = TicketFactory()
    agent = AgentFactory()

    response = post_json(client_for(agent), f"{API}/{ticket.pk}/notes", {"body": "Called them"})

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["kind"], body["direction"], body["delivery"]) == ("note", "internal", None)
    assert not OutboundMessage.objects.exists()
    assert ticket.events.get(kind=EventKind.NOTE_ADDED).actor == agent
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.NEW  # a note is not a reply


def test_customers_get_403_for_notes_on_their_own_ticket():
    ticket = TicketFactory()
    response = post_json(client_for(ticket.requester), f"{API}/{ticket.pk}/notes", {"body": "x"})
    assert_problem(response, status=403, code="forbidden")
    assert not Message.objects.filter(kind=MessageKind.NOTE).exists()


def test_an_empty_note_is_refused():
    ticket = TicketFactory()
    response = post_json(client_for(AgentFactory()), f"{API}/{ticket.pk}/notes", {"body": ""})
    assert_problem(response, status=422, code="invalid_input", field="body")
