"""What agents see and do in the console: the flag on the message, dismissing it,
ending any conversation for conduct, supervisors lifting blocks (console and admin)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from accounts.tests.factories import AdminFactory, AgentFactory, BuyerFactory, SupervisorFactory
from conduct.models import ConductBlock, ConductFlag
from tickets import services as tickets
from tickets.choices import Channel, EventKind, TicketStatus

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def flagged_ticket():
    buyer = BuyerFactory()
    ticket = tickets.ticket_open(
        requester=buyer, channel=Channel.EMAIL, body="You are a f*cking idiot", category="returns"
    )
    return ticket, buyer


def test_the_flag_is_shown_on_the_message_with_its_findings():
    ticket, _buyer = flagged_ticket()
    page = signed_in(AgentFactory()).get(f"/console/tickets/{ticket.pk}/").content.decode()
    flag = ConductFlag.objects.get()
    assert f'id="message-{flag.message_id}"' in page
    assert "Conduct flag · Medium severity" in page
    assert "fuck" in page and "idiot" in page and "reminder sent" in page
    assert "End for conduct" in page


def test_an_agent_dismisses_a_false_positive():
    ticket, _buyer = flagged_ticket()
    agent = AgentFactory()
    flag = ConductFlag.objects.get()
    response = signed_in(agent).post(f"/console/conduct/flags/{flag.pk}/dismiss")
    assert response.status_code == 302
    flag.refresh_from_db()
    assert flag.dismissed_by == agent
    page = signed_in(agent).get(f"/console/tickets/{ticket.pk}/").content.decode()
    assert "dismissed by" in page


def test_end_for_conduct_from_the_ticket_page_needs_a_reason():
    ticket, _buyer = flagged_ticket()
    client = signed_in(AgentFactory())
    refused = client.post(f"/console/conduct/tickets/{ticket.pk}/end", {"reason": ""}, follow=True)
    assert "The conversation was not ended" in refused.content.decode()
    ticket.refresh_from_db()
    assert ticket.status != TicketStatus.CLOSED
    done = client.post(
        f"/console/conduct/tickets/{ticket.pk}/end", {"reason": "Insults after a warning."}
    )
    assert done.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.CLOSED
    assert ticket.events.get(kind=EventKind.TERMINATED).data["reason"] == (
        "Insults after a warning."
    )


def test_customers_cannot_reach_the_conduct_actions():
    ticket, buyer = flagged_ticket()
    client = signed_in(buyer)
    assert (
        client.post(f"/console/conduct/tickets/{ticket.pk}/end", {"reason": "x"}).status_code == 403
    )
    assert client.get("/console/conduct/blocks/").status_code == 403


def _block(customer):
    return ConductBlock.objects.create(
        customer=customer,
        channel=Channel.EMAIL,
        violations=3,
        ends_at=timezone.now() + dt.timedelta(hours=3),
    )


def test_supervisors_see_and_lift_blocks_agents_cannot():
    buyer = BuyerFactory(email="blocked@example.com")
    block = _block(buyer)
    assert signed_in(AgentFactory()).get("/console/conduct/blocks/").status_code == 403
    assert (
        signed_in(AgentFactory()).post(f"/console/conduct/blocks/{block.pk}/lift").status_code
        == 403
    )
    supervisor = SupervisorFactory()
    client = signed_in(supervisor)
    listing = client.get("/console/conduct/blocks/").content.decode()
    assert "blocked@example.com" in listing and "Lift block" in listing
    client.post(f"/console/conduct/blocks/{block.pk}/lift", {"reason": "Apologised"})
    block.refresh_from_db()
    assert block.lifted_by == supervisor and block.lift_reason == "Apologised"
    assert "No customer is blocked" in client.get("/console/conduct/blocks/").content.decode()


def test_the_ticket_page_shows_the_requesters_block_with_a_lift_button_for_supervisors():
    ticket, buyer = flagged_ticket()
    _block(buyer)
    supervisor_page = signed_in(SupervisorFactory()).get(f"/console/tickets/{ticket.pk}/")
    assert "New email sessions blocked until" in supervisor_page.content.decode()
    assert "Lift block" in supervisor_page.content.decode()
    agent_page = signed_in(AgentFactory()).get(f"/console/tickets/{ticket.pk}/").content.decode()
    assert "New email sessions blocked until" in agent_page and "Lift block" not in agent_page


def test_an_admin_lifts_blocks_from_the_django_admin():
    block = _block(BuyerFactory())
    admin = AdminFactory(is_staff=True, is_superuser=True)
    response = signed_in(admin).post(
        "/admin/conduct/conductblock/",
        {"action": "lift", "_selected_action": [block.pk]},
        follow=True,
    )
    assert "1 block(s) lifted." in response.content.decode()
    block.refresh_from_db()
    assert block.lifted_by == admin
