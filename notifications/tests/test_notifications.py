import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from accounts.tests.factories import AgentFactory, SupervisorFactory
from notifications.models import Notification
from sla import services as sla
from sla.models import SlaClock
from tickets.choices import Channel
from tickets.escalation import escalation_request
from tickets.tests.factories import TicketFactory

pytestmark = pytest.mark.django_db


def _fire_warning(ticket):
    sla.on_ticket_opened(ticket=ticket, at=timezone.now() - dt.timedelta(hours=20))
    clock = SlaClock.objects.get(ticket=ticket)
    return sla.clock_fire(clock_id=clock.pk, moment="warn", expected_at=clock.warn_at.isoformat())


def test_warning_goes_to_the_assignee_only():
    assignee = AgentFactory()
    AgentFactory(teams=["customer_care"])
    ticket = TicketFactory(channel=Channel.EMAIL, assignee=assignee, team="customer_care")
    assert _fire_warning(ticket) == "warn"
    note = Notification.objects.get()
    assert note.recipient == assignee
    assert note.text == f"{ticket.reference}: Email response is due soon."


def test_unassigned_warning_goes_to_the_team():
    care = [AgentFactory(teams=["customer_care"]) for _ in range(2)]
    AgentFactory(teams=["payments"])
    ticket = TicketFactory(channel=Channel.EMAIL, team="customer_care")
    _fire_warning(ticket)
    assert set(Notification.objects.values_list("recipient", flat=True)) == {u.pk for u in care}


def test_escalation_notifies_supervisors_and_the_console_lists_it():
    supervisor = SupervisorFactory()
    ticket = TicketFactory()
    escalation_request(ticket=ticket, requested_by=ticket.requester, channel="web_form")
    note = Notification.objects.get(recipient=supervisor)
    assert note.kind == "escalation" and ticket.reference in note.text
    client = Client()
    client.force_login(supervisor)
    inbox = client.get("/console/").content.decode()
    assert 'aria-label="1 unread"' in inbox
    page = client.get("/console/notifications/").content.decode()
    assert ticket.reference in page
    note.refresh_from_db()
    assert note.read_at is not None
    assert 'aria-label="1 unread"' not in client.get("/console/").content.decode()
