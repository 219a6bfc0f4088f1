"""The in-memory channel layer of the embedded default (one web process).

Channels' ``InMemoryChannelLayer`` sweeps every channel's queue and every group
membership for expired entries on each ``receive`` and ``group_send``. Live chat has
two groups per conversation (the customer's and the watching agents'), so at 1,000
conversations each relayed frame walked some 3,000 entries, several times per message:
the cost of a message grew with the number of conversations (15 % of the process's CPU
at 300 conversations in bench/chat_load.py). This layer sweeps at most once a second,
which is all the expiry needs (messages expire after a minute, group memberships after
a day), and sends to a group's members directly instead of through a task each.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

from channels.exceptions import ChannelFull
from channels.layers import InMemoryChannelLayer as ChannelsInMemoryLayer


class InMemoryChannelLayer(ChannelsInMemoryLayer):
    SWEEP_INTERVAL_SECONDS = 1.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._swept_at = 0.0

    def _clean_expired(self) -> None:
        now = time.monotonic()
        if now - self._swept_at < self.SWEEP_INTERVAL_SECONDS:
            return
        self._swept_at = now
        super()._clean_expired()

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        assert isinstance(message, dict), "Message is not a dict"
        self.require_valid_group_name(group)
        self._clean_expired()
        # ``send`` never waits (it queues or raises ChannelFull), so one pass in order
        # does what the base class does with a task per member.
        # As in the base class, a full socket misses the frame.
        for channel in list(self.groups.get(group, ())):
            with contextlib.suppress(ChannelFull):
                await self.send(channel, message)
