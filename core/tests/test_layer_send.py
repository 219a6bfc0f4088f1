"""Hints to sockets from synchronous code start no thread per send (issue 22: every API
creation started one, through ``async_to_sync``)."""

import os
import threading

import pytest
from asgiref.sync import async_to_sync
from channels.layers import channel_layers, get_channel_layer

from core.layer_send import group_send_many

REDIS_URL = os.environ.get("IZONIE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def threads_started(monkeypatch):
    started: list[str] = []
    original = threading.Thread.start

    def start(self):
        started.append(self.name)
        return original(self)

    monkeypatch.setattr(threading.Thread, "start", start)
    return started


def _use(settings, backend: dict):
    settings.CHANNEL_LAYERS = {"default": backend}
    channel_layers.backends.clear()
    return get_channel_layer()


@pytest.fixture
def memory_layer(settings):
    yield _use(settings, {"BACKEND": "chat.layers.InMemoryChannelLayer"})
    channel_layers.backends.clear()


@pytest.fixture
def redis_layer(settings):
    yield _use(
        settings,
        {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": f"izonie-test-send-{os.getpid()}"},
        },
    )
    channel_layers.backends.clear()


def test_no_socket_in_this_process_means_nothing_to_send(memory_layer, threads_started):
    for n in range(20):
        group_send_many([("inbox", {"type": "ticket.changed", "ticket_id": n})])

    assert threads_started == []


def _outside_any_event_loop(body) -> None:
    """Run ``body`` in a thread of its own, as synchronous code runs in a worker or a
    view: the browser tests' Playwright keeps an event loop in the main thread."""
    failure: list[BaseException] = []

    def run() -> None:
        try:
            body()
        except BaseException as exc:  # handed back to the test
            failure.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(60)
    assert not thread.is_alive()
    if failure:
        raise failure[0]


def test_a_socket_of_this_process_still_gets_the_hint(memory_layer):
    def body() -> None:
        inbox = async_to_sync(memory_layer.new_channel)()
        async_to_sync(memory_layer.group_add)("inbox", inbox)

        group_send_many([("inbox", {"type": "ticket.changed", "ticket_id": 7})])

        received = async_to_sync(memory_layer.receive)(inbox)
        assert received == {"type": "ticket.changed", "ticket_id": 7}

    _outside_any_event_loop(body)


def test_sends_through_redis_share_one_thread_and_keep_their_order(redis_layer, threads_started):
    def body() -> None:
        inbox = async_to_sync(redis_layer.new_channel)()
        async_to_sync(redis_layer.group_add)("inbox", inbox)
        threads_started.clear()

        for n in range(10):
            group_send_many([("inbox", {"type": "ticket.changed", "ticket_id": n})])

        assert len(threads_started) <= 1  # the sender's loop, started once per process

        async def receive_all() -> list[int]:
            return [(await redis_layer.receive(inbox))["ticket_id"] for _ in range(10)]

        assert async_to_sync(receive_all)() == list(range(10))

    _outside_any_event_loop(body)
