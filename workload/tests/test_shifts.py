"""The shift: presence for ticket work, ended by the agent with a warning, by signing out
or by a long absence; history that names the rule which acted."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.tests.factories import AgentFactory, BuyerFactory
from tickets import services as tickets
from tickets.choices import Channel, EventKind
from tickets.models import Ticket
from workload.models import Reason, Reassignment, Shift, ShiftEnd

pytestmark = pytest.mark.django_db


def _waiting_ticket(agent, *, channel=Channel.EMAIL):
    ticket = tickets.ticket_open(
        requester=BuyerFactory(),
        channel=channel,
        category="technical_support",
        body="The app crashes at checkout.",
    )
    return tickets.ticket_update(ticket=ticket, actor=agent, assignee=agent)


def test_the_agent_sees_what_ending_the_shift_moves_then_ends_it(client):
    ada = AgentFactory(teams=["technical"])
    colleague = AgentFactory(teams=["technical"])
    email, form = _waiting_ticket(ada), _waiting_ticket(ada, channel=Channel.WEB_FORM)
    answered = _waiting_ticket(ada)
    tickets.ticket_reply(ticket=answered, author=ada, body="Please restart the app.")
    client.force_login(colleague)
    client.get(reverse("console:inbox"))  # the colleague is at work
    client.force_login(ada)

    # the first console page opens the shift
    client.get(reverse("console:inbox"))
    assert Shift.objects.filter(agent=ada, ended_at__isnull=True).exists()

    page = client.get(reverse("console:shift_end")).content.decode()
    assert "Ending your shift moves 2 tickets" in page
    assert email.reference in page and form.reference in page
    assert answered.reference not in page

    response = client.post(reverse("console:shift_end"), follow=True)
    assert "Your shift has ended; 2 tickets went to colleagues" in response.content.decode()
    assert set(Ticket.objects.filter(assignee=colleague)) == {email, form}
    assert Ticket.objects.get(pk=answered.pk).assignee == ada
    assert set(Reassignment.objects.values_list("reason", flat=True)) == {Reason.SHIFT_ENDED}
    # browsing the console after ending the shift does not start another one
    client.get(reverse("console:inbox"))
    assert not Shift.objects.filter(agent=ada, ended_at__isnull=True).exists()
    client.post(reverse("console:shift_start"))
    assert Shift.objects.filter(agent=ada, ended_at__isnull=True).exists()


def test_signing_out_ends_the_shift(client):
    ada = AgentFactory(teams=["technical"])
    ticket = _waiting_ticket(ada)
    client.force_login(ada)
    client.get(reverse("console:inbox"))
    client.post(reverse("logout"))
    shift = Shift.objects.get(agent=ada)
    assert shift.end_reason == ShiftEnd.SIGNED_OUT
    ticket.refresh_from_db()
    assert ticket.assignee is None  # nobody else on shift: back in the team's queue


def test_the_history_names_the_escalation_rule_not_the_customer(client):
    buyer = BuyerFactory(display_name="Chioma Nwosu")
    ticket = tickets.ticket_open(
        requester=buyer,
        channel=Channel.WEB_FORM,
        category="technical_support",
        body="Nothing works. Escalate this to a supervisor please.",
    )
    team_change = ticket.events.get(kind=EventKind.TEAM_CHANGED)
    assert team_change.actor is None
    assert team_change.data["rule"] == "escalation"
    assert team_change.data["triggered_by"] == buyer.pk
    assert ticket.events.get(kind=EventKind.ESCALATED).actor == buyer
    client.force_login(AgentFactory())
    page = client.get(reverse("console:ticket", args=[ticket.pk])).content.decode()
    assert "Team changed by Chioma Nwosu" not in page
    assert (
        "Team changed from Technical Support to Supervisors by the escalation rule "
        "(set off by Chioma Nwosu)" in page
    )
    assert "Escalated by Chioma Nwosu" in page
