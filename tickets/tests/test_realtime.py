"""The on-commit hint to agents' screens, over the in-memory and the Redis channel layer."""

import asyncio
import os

import pytest
from asgiref.sync import async_to_sync
from channels.layers import channel_layers, get_channel_layer
from django.db import transaction

from accounts.tests.factories import AgentFactory
from tickets import realtime, services
from tickets.tests.factories import TicketFactory

pytestmark = pytest.mark.django_db

REDIS_URL = os.environ.get("IZONIE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture(params=["memory", "redis"])
def layer(request, settings):
    if request.param == "redis":
        settings.CHANNEL_LAYERS = {
            "default": {
                "BACKEND": "channels_redis.core.RedisChannelLayer",
                "CONFIG": {"hosts": [REDIS_URL], "prefix": f"izonie-test-{os.getpid()}"},
            }
        }
    else:
        settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    channel_layers.backends.clear()
    yield get_channel_layer()
    channel_layers.backends.clear()


def test_a_committed_reply_hints_the_ticket_s_watchers_only(
    layer, django_capture_on_commit_callbacks
):
    ticket, other = TicketFactory(), TicketFactory()
    watcher = async_to_sync(layer.new_channel)()
    elsewhere = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(realtime.ticket_group(ticket.pk), watcher)
    async_to_sync(layer.group_add)(realtime.ticket_group(other.pk), elsewhere)

    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_reply(ticket=ticket, author=AgentFactory(), body="Shipped today")

    expected = {"type": "ticket.changed", "ticket_id": ticket.pk}
    assert async_to_sync(layer.receive)(watcher) == expected
    assert _nothing_arrives(layer, elsewhere)


def test_a_rolled_back_change_sends_no_hint(layer, django_capture_on_commit_callbacks):
    ticket = TicketFactory()
    watcher = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(realtime.ticket_group(ticket.pk), watcher)

    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        services.ticket_update(ticket=ticket, actor=AgentFactory(), priority="high")
        raise RuntimeError("the request failed after the change")

    assert _nothing_arrives(layer, watcher)
    ticket.refresh_from_db()
    assert ticket.priority == "normal"


def _nothing_arrives(layer, channel: str) -> bool:
    async def wait() -> bool:
        try:
            await asyncio.wait_for(layer.receive(channel), timeout=0.3)
        except TimeoutError:
            return True
        return False

    return async_to_sync(wait)()
