"""Macros: managed in the console, filled from the ticket, applied when the reply is sent."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.tests.factories import AgentFactory, BuyerFactory, SupervisorFactory
from macros.models import Macro
from tickets import services as tickets
from tickets.choices import Channel, TicketStatus
from tickets.models import Ticket

pytestmark = pytest.mark.django_db

BODY = (
    "Hello {{ customer.first_name }}, about order {{ order.number }}: a refund reaches you "
    "within 5 days. We answer email within {{ policy.response.email_first_reply }}. "
    "{{ agent.first_name }}"
)


def _macro_form(**overrides):
    data = {
        "title": "Refund on its way",
        "body": BODY,
        "set_status": "pending",
        "set_priority": "high",
        "set_category": "",
        "set_team": "",
        "add_tags": "refund, follow up",
        "shared": "on",
    }
    return {**data, **overrides}


def _ticket():
    buyer = BuyerFactory(first_name="Chioma", display_name="Chioma Nwosu")
    ticket = tickets.ticket_open(
        requester=buyer,
        channel=Channel.EMAIL,
        category="payments",
        body="Where is my refund for order IZ-20461100?",
    )
    Ticket.objects.filter(pk=ticket.pk).update(order_number="IZ-20461100")  # an order linked
    return Ticket.objects.get(pk=ticket.pk)


def test_a_supervisor_shares_a_macro_an_agent_keeps_a_personal_one(client):
    client.force_login(SupervisorFactory())
    response = client.post(reverse("console:macros"), _macro_form())
    assert response.status_code == 302
    shared = Macro.objects.get()
    assert shared.shared and shared.tag_names == ["refund", "follow up"]

    agent = AgentFactory()
    client.force_login(agent)
    refused = client.post(reverse("console:macros"), _macro_form(title="Mine"))
    assert refused.status_code == 400
    assert "Only supervisors manage the team" in refused.content.decode()
    client.post(reverse("console:macros"), _macro_form(title="Mine", shared=""))
    assert Macro.objects.get(title="Mine").owner == agent
    # an agent cannot edit the shared one
    assert client.get(reverse("console:macro_edit", args=[shared.pk])).status_code == 404
    page = client.get(reverse("console:macros")).content.decode()
    assert "Refund on its way" in page and "Mine" in page


def test_an_unknown_placeholder_is_refused(client):
    client.force_login(SupervisorFactory())
    response = client.post(reverse("console:macros"), _macro_form(body="Hi {{ customer.nick }}"))
    assert response.status_code == 400
    assert "Unknown placeholder: {{ customer.nick }}" in response.content.decode()


def test_the_reply_box_gets_the_text_filled_from_the_ticket(client):
    ticket = _ticket()
    Macro.objects.create(title="Refund on its way", body=BODY, set_status="pending")
    Macro.objects.create(title="Someone else's", body="x", owner=AgentFactory())
    agent = AgentFactory(first_name="Ada", display_name="Ada Obi")
    client.force_login(agent)
    data = client.get(reverse("console:macros_json"), {"q": "refund", "ticket": ticket.pk}).json()
    assert [m["title"] for m in data["macros"]] == ["Refund on its way"]
    body = data["macros"][0]["body"]
    assert body.startswith("Hello Chioma, about order IZ-20461100: a refund")
    assert "{{" not in body and body.endswith("Ada")
    assert data["macros"][0]["status"] == "pending"
    assert client.get(reverse("console:macros_json"), {"q": "nothing-like-it"}).json() == {
        "macros": []
    }


def test_sending_a_reply_made_from_a_macro_applies_its_changes(client):
    ticket = _ticket()
    macro = Macro.objects.create(
        title="Refund on its way",
        body=BODY,
        set_status="pending",
        set_priority="high",
        add_tags="refund",
    )
    client.force_login(AgentFactory())
    response = client.post(
        reverse("console:reply", args=[ticket.pk]),
        {"body": "Hello Chioma, the refund is on its way.", "status": "pending", "macro": macro.pk},
    )
    assert response.status_code == 302
    ticket = Ticket.objects.get(pk=ticket.pk)
    assert ticket.status == TicketStatus.PENDING and ticket.priority == "high"
    assert [t.name for t in ticket.tags.all()] == ["refund"]
    # The ticket's history says so, as it does for tags added on the ticket page.
    page = client.get(reverse("console:ticket", args=[ticket.pk])).content.decode()
    assert "Tagged refund by" in page
    macro.refresh_from_db()
    assert macro.uses == 1


def test_the_demo_macros_name_only_known_placeholders():
    from macros.demo import DEMO_MACROS
    from macros.placeholders import unknown_placeholders

    assert [unknown_placeholders(str(m["body"])) for m in DEMO_MACROS] == [[]] * len(DEMO_MACROS)
