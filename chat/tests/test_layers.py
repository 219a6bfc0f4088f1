"""The embedded default's channel layer: what a relay needs from it."""

from __future__ import annotations

import asyncio

from chat.layers import InMemoryChannelLayer
from chat.tests.conftest import run


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
