"""Relayed frames reach a socket without a hop through the process's one thread for
thread-sensitive calls (core.sockets): Channels' own dispatch closed old database
connections there before every message, and at 200 agents that thread sat in the path
of every frame relayed to every console."""

from __future__ import annotations

import pytest
from channels import consumer as channels_consumer

from chat.tests.conftest import Socket, run, session_cookie, start_frame

pytestmark = pytest.mark.django_db(transaction=True)


def test_frames_to_and_from_sockets_take_no_thread_hop(clock, online_agent, monkeypatch):
    hops = []

    async def counted_hop():
        hops.append(1)

    monkeypatch.setattr(channels_consumer, "aclose_old_connections", counted_hop)
    cookie = session_cookie(online_agent(max_chats=5))

    async def scenario():
        console = Socket("/ws/console/chat/", cookie=cookie)
        await console.open()
        await console.until("queue")
        customer = Socket("/ws/chat/")
        await customer.open()
        await customer.send(start_frame())
        welcome = await customer.until("welcome")
        offer = await console.until("offer", session=welcome["session"])
        await customer.close()
        await console.close()
        return offer

    offer = run(scenario)
    assert offer["type"] == "offer"  # relayed through the channel layer
    assert hops == []
