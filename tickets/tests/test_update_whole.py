"""``ticket_update`` changes a ticket in one step, as an agent's quick action in the
console does outside any other transaction: all of it or none of it.

Its ``@transaction.atomic`` had slipped onto the function above it, so on PostgreSQL
"assign to me" and "solve" in the console answered 500 (``select_for_update cannot be
used outside of a transaction``), and on SQLite a refused change kept the changes made
before the refusal."""

from __future__ import annotations

import pytest

from accounts.tests.factories import AgentFactory, BuyerFactory
from tickets import services
from tickets.choices import TicketStatus
from tickets.exceptions import InvalidAssignee
from tickets.models import Ticket, TicketEvent
from tickets.tests.factories import TicketFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_update_outside_a_transaction_is_applied_whole():
    agent = AgentFactory()
    ticket = TicketFactory(status=TicketStatus.NEW, category="order_status")

    services.ticket_update(ticket=ticket, actor=agent, assignee=agent)
    services.ticket_update(ticket=ticket, actor=agent, status=TicketStatus.RESOLVED)

    ticket = Ticket.objects.get(pk=ticket.pk)
    assert ticket.assignee_id == agent.pk and ticket.status == TicketStatus.RESOLVED


def test_a_refused_update_changes_nothing():
    agent = AgentFactory()
    ticket = TicketFactory(status=TicketStatus.OPEN, category="order_status")
    events_before = TicketEvent.objects.filter(ticket=ticket).count()

    with pytest.raises(InvalidAssignee):
        services.ticket_update(
            ticket=ticket, actor=agent, category="payments", assignee=BuyerFactory()
        )

    ticket = Ticket.objects.get(pk=ticket.pk)
    assert ticket.category == "order_status" and ticket.assignee_id is None
    assert TicketEvent.objects.filter(ticket=ticket).count() == events_before
