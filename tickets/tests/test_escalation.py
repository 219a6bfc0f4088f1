import datetime as dt

import pytest

from accounts.tests.factories import AgentFactory, BuyerFactory, SupervisorFactory
from sla.models import ClockStatus, Escalation, EscalationStatus, Outcome, SlaClock
from tickets import services
from tickets.choices import Channel, Direction, EventKind, TicketStatus
from tickets.escalation import (
    EscalationError,
    asks_for_escalation,
    escalation_record_contact,
    escalation_request,
)
from tickets.tests.factories import TicketFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "text",
    [
        "Please ESCALATE this",
        "I want to speak to a manager",
        "manager please!!",
        "Escalate to a Supervisor",
        "can a supervisor call me",
    ],
)
def test_escalation_phrases_are_recognised(text):
    assert asks_for_escalation(text)


@pytest.mark.parametrize(
    "text", ["Where is my order?", "my package is managed by DHL", "", "supervisory board"]
)
def test_ordinary_messages_are_not_escalations(text):
    assert not asks_for_escalation(text)


def test_request_routes_to_supervisors_starts_48h_clock_and_tells_the_customer():
    ticket = TicketFactory(status=TicketStatus.OPEN)
    escalation, created = escalation_request(
        ticket=ticket, requested_by=ticket.requester, channel=Channel.WEB_FORM
    )
    assert created
    ticket.refresh_from_db()
    assert ticket.team == "supervisors"
    assert escalation.contact_due_at - escalation.created_at < dt.timedelta(hours=48, seconds=1)
    assert escalation.contact_due_at - escalation.created_at > dt.timedelta(hours=47, minutes=59)
    clock = SlaClock.objects.get(ticket=ticket, target_id="escalation_contact")
    assert clock.status == ClockStatus.RUNNING
    notice = ticket.messages.filter(direction=Direction.OUTBOUND).get()
    assert "escalated to a supervisor" in notice.body_text
    assert "within 48 hours" in notice.body_text
    assert ticket.events.filter(kind=EventKind.ESCALATED).count() == 1


def test_second_request_is_acknowledged_not_duplicated():
    ticket = TicketFactory()
    first, _ = escalation_request(ticket=ticket, requested_by=ticket.requester, channel="email")
    second, created = escalation_request(
        ticket=ticket, requested_by=ticket.requester, channel="email"
    )
    assert (second.pk, created) == (first.pk, False)
    assert Escalation.objects.count() == 1
    assert ticket.events.filter(kind=EventKind.ESCALATED).count() == 1


def test_escalating_a_closed_ticket_reopens_it():
    ticket = TicketFactory(status=TicketStatus.CLOSED)
    escalation_request(ticket=ticket, requested_by=ticket.requester, channel="web_form")
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN


def test_phrase_in_a_customer_message_escalates():
    buyer = BuyerFactory()
    ticket = services.ticket_open(
        requester=buyer,
        channel=Channel.EMAIL,
        category="payments",
        body="Second time writing. Escalate to a supervisor please.",
    )
    assert Escalation.objects.filter(ticket=ticket, status=EscalationStatus.OPEN).exists()


def test_supervisor_contact_keeps_the_promise():
    ticket = TicketFactory()
    escalation, _ = escalation_request(
        ticket=ticket, requested_by=ticket.requester, channel="web_form"
    )
    with pytest.raises(EscalationError):
        escalation_record_contact(
            escalation=escalation, supervisor=AgentFactory(), summary="Called"
        )
    with pytest.raises(EscalationError):
        escalation_record_contact(
            escalation=escalation, supervisor=SupervisorFactory(), summary="  "
        )
    done = escalation_record_contact(
        escalation=escalation,
        supervisor=SupervisorFactory(),
        summary="Phoned the customer; refund approved.",
        outcome="refund",
    )
    assert done.status == EscalationStatus.CONTACTED
    clock = SlaClock.objects.get(ticket=ticket, target_id="escalation_contact")
    assert clock.outcome == Outcome.MET
