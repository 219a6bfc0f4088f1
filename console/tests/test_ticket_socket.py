"""The ticket page's socket: two agents on one ticket hear each other viewing, typing and
leaving, and both hear of the customer's new message; others are refused."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.layers import channel_layers
from django.urls import reverse

from accounts.models import Role, User
from accounts.tests.factories import AgentFactory, BuyerFactory
from chat.tests.conftest import Socket, run, session_cookie
from tickets import collisions, services
from tickets.choices import Channel

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _memory_layer(settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "chat.layers.InMemoryChannelLayer"}}
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


@pytest.fixture
def ticket():
    return services.ticket_open(
        requester=BuyerFactory(display_name="Chioma Nwosu"),
        channel=Channel.EMAIL,
        category="technical_support",
        body="The app crashes at checkout.",
    )


def path(ticket_id: int) -> str:
    return f"/ws/console/tickets/{ticket_id}/"


def test_two_agents_hear_each_other_and_the_customers_new_message(client, ticket):
    ada = AgentFactory(display_name="Ada Obi")
    tunde = AgentFactory(display_name="Tunde Bello")
    ada_cookie, tunde_cookie = session_cookie(ada), session_cookie(tunde)
    seen = collisions.last_message_id(ticket=ticket)

    async def scenario():
        mine = Socket(path(ticket.pk), cookie=ada_cookie)
        await mine.open()
        await mine.send({"type": "state", "state": "viewing", "seen": seen})
        assert await mine.until("presence") == {"type": "presence", "colleagues": []}

        theirs = Socket(path(ticket.pk), cookie=tunde_cookie)
        await theirs.open()
        await theirs.send({"type": "state", "state": "viewing", "seen": seen})
        # Each sees the other, without asking again.
        assert (await theirs.until("presence"))["colleagues"] == [
            {"name": "Ada Obi", "state": "viewing"}
        ]
        assert (await mine.until("presence"))["colleagues"] == [
            {"name": "Tunde Bello", "state": "viewing"}
        ]
        await theirs.send({"type": "state", "state": "typing", "seen": seen})
        assert (await mine.until("presence"))["colleagues"] == [
            {"name": "Tunde Bello", "state": "replying"}
        ]

        # The customer writes: both pages hear it.
        await database_sync_to_async(services.ticket_customer_message)(
            ticket=ticket, author=ticket.requester, body="It also fails on the website now."
        )
        assert (await mine.until("news"))["new_messages"] == 1
        assert (await theirs.until("news"))["new_messages"] == 1

        # Tunde closes the tab (no goodbye): Ada's page hears it at once.
        await theirs.close()
        assert (await mine.until("presence"))["colleagues"] == []
        await mine.close()

    run(scenario)
    # Both gone from the polling pages' view too.
    assert collisions.people_on(ticket_id=ticket.pk) == []


def test_a_polling_colleague_is_pushed_to_the_socket(client, ticket):
    ada = AgentFactory(display_name="Ada Obi")
    ada_cookie = session_cookie(ada)
    ngozi = AgentFactory(display_name="Ngozi Eze")

    def ngozi_polls(state: str) -> None:
        client.force_login(ngozi)
        client.post(reverse("console:ticket_presence", args=[ticket.pk]), {"state": state})

    async def scenario():
        mine = Socket(path(ticket.pk), cookie=ada_cookie)
        await mine.open()
        await mine.send({"type": "state", "state": "viewing", "seen": 1})
        await mine.until("presence")
        await database_sync_to_async(ngozi_polls)("replying")
        assert (await mine.until("presence"))["colleagues"] == [
            {"name": "Ngozi Eze", "state": "replying"}
        ]
        await mine.close()

    run(scenario)


def test_customers_and_tickets_out_of_reach_are_refused(ticket):
    customer_cookie = session_cookie(ticket.requester)
    agent_cookie = session_cookie(AgentFactory())

    async def scenario():
        customer = Socket(path(ticket.pk), cookie=customer_cookie)
        await customer.open()
        assert (await customer.recv())["code"] == "not_staff"
        assert await customer.closed_with() == 4401

        anonymous = Socket(path(ticket.pk))
        await anonymous.open()
        assert await anonymous.closed_with() == 4401

        # Agents see every ticket that exists; one that does not is refused like one
        # they may not see, so ids cannot be probed.
        agent = Socket(path(ticket.pk + 1000), cookie=agent_cookie)
        await agent.open()
        assert (await agent.recv())["code"] == "forbidden"
        assert await agent.closed_with() == 4403

    run(scenario)
    assert collisions.people_on(ticket_id=ticket.pk) == []


def test_a_demoted_agents_socket_is_closed_and_leaves_the_ticket(ticket, settings):
    settings.IZONIE_STAFF_SOCKET_RECHECK_SECONDS = 0
    ada = AgentFactory(display_name="Ada Obi")
    ada_cookie = session_cookie(ada)

    async def scenario():
        mine = Socket(path(ticket.pk), cookie=ada_cookie)
        await mine.open()
        await mine.send({"type": "state", "state": "typing", "seen": 1})
        await mine.until("presence")
        await database_sync_to_async(User.objects.filter(pk=ada.pk).update)(role=Role.BUYER)
        await mine.send({"type": "state", "state": "typing", "seen": 1})
        assert (await mine.recv())["code"] == "not_staff"
        assert await mine.closed_with() == 4401

    run(scenario)
    assert collisions.people_on(ticket_id=ticket.pk) == []
