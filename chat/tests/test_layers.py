"""The embedded default's channel layer: what a relay needs from it."""

from __future__ import annotations

import asyncio

from asgiref.sync import async_to_sync
from channels.layers import channel_layers

from chat import relay
from chat.layers import InMemoryChannelLayer
from chat.tests.conftest import run

# The worker's side of a send, as the ticket hints' tests set it up.
from core.tests.test_layer_send import (  # noqa: F401 (fixtures)
    _outside_any_event_loop,
    redis_layer,
    threads_started,
)


def test_a_group_send_reaches_every_member_once_and_others_not():
    async def scenario():
        layer = InMemoryChannelLayer()
        members = [await layer.new_channel() for _ in range(3)]
        outsider = await layer.new_channel()
        for channel in members:
            await layer.group_add("chat.s.one", channel)
        await layer.group_add("chat.s.two", outsider)
        await layer.group_send("chat.s.one", {"type": "chat.frame", "frame": {"seq": 1}})
        await layer.group_send("chat.s.one", {"type": "chat.frame", "frame": {"seq": 2}})
        got = [[await layer.receive(c), await layer.receive(c)] for c in members]
        try:
            await asyncio.wait_for(layer.receive(outsider), timeout=0.1)
            leaked = True
        except TimeoutError:
            leaked = False
        return got, leaked

    got, leaked = run(scenario)
    assert [[m["frame"]["seq"] for m in pair] for pair in got] == [[1, 2]] * 3
    assert not leaked


def test_a_dead_socket_is_still_dropped_from_its_groups_when_its_frames_expire():
    async def scenario():
        layer = InMemoryChannelLayer(expiry=0)
        layer.SWEEP_INTERVAL_SECONDS = 0.05
        dead, alive = await layer.new_channel(), await layer.new_channel()
        for channel in (dead, alive):
            await layer.group_add("chat.agents", channel)
        await layer.group_send("chat.agents", {"type": "chat.frame", "frame": {}})
        await layer.receive(alive)  # the dead socket never reads its frame
        await asyncio.sleep(0.1)
        await layer.group_send("chat.agents", {"type": "chat.frame", "frame": {}})
        return set(layer.groups.get("chat.agents", {})), alive

    members, alive = run(scenario)
    assert members == {alive}


# --- Frames relayed outside the web process (the worker's deliveries into a chat)


def test_frames_relayed_by_the_worker_arrive_in_order_without_a_thread_each(
    redis_layer,  # noqa: F811 - the hints' tests' fixture, imported above
    threads_started,  # noqa: F811
):
    def body() -> None:
        socket = async_to_sync(redis_layer.new_channel)()
        async_to_sync(redis_layer.group_add)(relay.session_group("abc"), socket)
        threads_started.clear()

        for seq in range(1, 11):
            relay.send_many([(relay.session_group("abc"), {"type": "message", "seq": seq})])

        # Before: async_to_sync started a thread, a loop and a Redis connection per call.
        assert len(threads_started) <= 1  # the shared sender's loop, once per process

        async def receive_all() -> list[dict]:
            return [await redis_layer.receive(socket) for _ in range(10)]

        received = async_to_sync(receive_all)()
        assert [m["type"] for m in received] == ["chat.frame"] * 10
        assert [m["frame"]["seq"] for m in received] == list(range(1, 11))

    _outside_any_event_loop(body)


def test_frames_for_chats_nobody_in_this_process_has_open_cost_nothing(
    settings,
    threads_started,  # noqa: F811 - the hints' tests' fixture, imported above
):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "chat.layers.InMemoryChannelLayer"}}
    channel_layers.backends.clear()
    try:
        _outside_any_event_loop(
            lambda: [
                relay.send_many([(relay.session_group("abc"), {"type": "message", "seq": n})])
                for n in range(20)
            ]
        )
    finally:
        channel_layers.backends.clear()

    # The test's own thread only: before, async_to_sync started one for each frame.
    assert len(threads_started) == 1
