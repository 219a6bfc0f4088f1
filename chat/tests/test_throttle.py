"""The chat socket refuses a start over the anonymous-creation limits (core.throttle)
with an error frame that says when to try again."""

from __future__ import annotations

import pytest

from chat.tests.conftest import Socket, run, start_frame
from tickets.models import Ticket

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def limits(settings):
    settings.IZONIE_THROTTLE_CHAT_START_PER_ADDRESS = "2/h"
    settings.IZONIE_THROTTLE_CHAT_START_PER_IP = "3/h"


async def _start(email: str, ip: str = "198.51.100.7") -> dict:
    socket = Socket("/ws/chat/")
    socket.comm.scope["client"] = (ip, 40000)
    await socket.open()
    await socket.send(start_frame(email=email))
    first = await socket.recv()
    await socket.close()
    return first


def test_a_start_over_the_limit_gets_an_error_frame_with_retry_after(limits, clock, online_agent):
    online_agent()

    async def scenario() -> list[dict]:
        return [
            await _start("ada@example.com"),
            await _start("ada@example.com"),
            await _start("ada@example.com"),  # third for the address
            await _start("bo@example.com"),  # fourth from the network
            await _start("bo@example.com", ip="198.51.100.8"),
        ]

    frames = run(scenario)
    assert [f["type"] for f in frames] == ["ack", "ack", "error", "error", "ack"]
    by_address, by_network = frames[2], frames[3]
    assert by_address["code"] == "throttled" and by_address["retry_after"] > 0
    assert by_address["detail"].startswith("Too many requests for this email address")
    assert by_network["detail"].startswith("Too many requests from your network")
    assert Ticket.objects.count() == 3


def test_a_signed_in_customer_is_not_counted(limits, clock, online_agent, settings):
    settings.IZONIE_THROTTLE_CHAT_START_PER_IP = "1/h"
    from accounts.tests.factories import BuyerFactory
    from chat.tests.conftest import session_cookie

    online_agent()
    cookie = session_cookie(BuyerFactory())

    async def scenario() -> list[str]:
        kinds = []
        for _ in range(3):
            socket = Socket("/ws/chat/", cookie=cookie)
            await socket.open()
            await socket.send(start_frame())
            kinds.append((await socket.recv())["type"])
            await socket.close()
        return kinds

    assert run(scenario) == ["ack", "ack", "ack"]
