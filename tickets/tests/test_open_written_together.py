"""Opening a ticket writes its events in one go: every event is still there, in order,
and the reports still learn about the ticket."""

import pytest
from django.db import transaction

from accounts.tests.factories import AgentFactory, BuyerFactory
from reports.models import DirtyTicket
from tickets import events, services
from tickets.choices import Channel, EventKind
from tickets.models import TicketEvent
from tickets.tests.factories import TicketFactory

pytestmark = pytest.mark.django_db


def test_a_new_ticket_has_every_event_in_the_order_things_happened():
    # given: an agent on the Customer Care team, which assigns new requests
    agent = AgentFactory(teams=["customer_care"])

    # when: a buyer asks about an order without giving its number
    ticket = services.ticket_open(
        requester=BuyerFactory(),
        channel=Channel.API,
        category="order_status",
        body="Where is my order? It is late.",
    )

    # then: created, the message, the assignment, then the request for the order number
    rows = list(TicketEvent.objects.filter(ticket=ticket).order_by("created_at", "id"))
    assert [row.kind for row in rows] == [
        EventKind.CREATED,
        EventKind.MESSAGE_IN,
        EventKind.ASSIGNED,
        EventKind.MESSAGE_OUT,
    ]
    assert rows[2].data == {"old": None, "new": agent.pk}
    messages = list(ticket.messages.order_by("created_at", "id").values_list("pk", flat=True))
    assert rows[1].data["message_id"] == messages[0]
    assert rows[3].data["message_id"] == messages[1]
    # and the reports will count it
    assert DirtyTicket.objects.filter(ticket_id=ticket.pk).exists()


def test_events_kept_for_an_operation_that_fails_are_never_written():
    ticket = TicketFactory()

    with pytest.raises(RuntimeError), transaction.atomic(), events.recorded_together():
        events.ticket_created(ticket=ticket, actor=None)
        raise RuntimeError("the operation fails after recording")

    assert not TicketEvent.objects.filter(ticket=ticket).exists()


def test_events_recorded_outside_the_block_are_written_at_once():
    ticket = TicketFactory()

    event = events.ticket_created(ticket=ticket, actor=None)

    assert event.pk is not None
    assert TicketEvent.objects.filter(pk=event.pk, kind=EventKind.CREATED).exists()
