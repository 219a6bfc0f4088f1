"""Fan-out of chat frames through the channel layer: one group per session (its
customer's sockets and the agents watching it) and one for the agents' queue view.

The database is the truth: a frame lost here is replayed from ``ChatEntry`` when
the client resumes with its last sequence number.

Frames are relayed on commit, in the thread that did the database work. In the web
process that is a thread of the chat's database pool, started from the server's event
loop: the frames are handed to that loop and the thread goes back to the pool at once,
instead of waiting (as ``async_to_sync`` does) until the busy loop has sent them. The
loop sends them one batch after the other in the order they were handed over, so a
session's frames keep the order of their sequence numbers. Elsewhere (the background
worker, tests calling services directly) the frames are sent before returning, through
``core.layer_send.group_send_many``.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
import weakref
from collections import deque
from typing import Any

from channels.layers import BaseChannelLayer, get_channel_layer

from core.layer_send import group_send_many, send_all, server_loop

logger = logging.getLogger(__name__)

AGENTS_GROUP = "chat.agents"

Items = list[tuple[str, dict[str, Any]]]


def session_group(public_id: uuid.UUID | str) -> str:
    return f"chat.s.{public_id}"


def agent_group(agent_id: int) -> str:
    return f"chat.a.{agent_id}"


def watch_group(public_id: uuid.UUID | str) -> str:
    """Agents' sockets that have the session open (they also get internal notes)."""
    return f"chat.w.{public_id}"


def send(group: str, frame: dict[str, Any]) -> None:
    """Send ``frame`` to a group from synchronous code (called on commit)."""
    send_many([(group, frame)])


def send_many(items: Items) -> None:
    layer = get_channel_layer()
    if layer is None or not items:
        return
    messages = [(group, {"type": "chat.frame", "frame": frame}) for group, frame in items]
    loop = server_loop()
    if loop is not None:
        try:
            loop.call_soon_threadsafe(_hand_over, loop, layer, messages)
            return
        except RuntimeError:  # the loop closed meanwhile: send from here
            pass
    # Outside the web process (the worker's deliveries, a script): the shared sender,
    # which skips an in-memory layer's groups that no socket of this process is in and
    # keeps one loop and one Redis connection instead of a new thread each call.
    try:
        group_send_many(messages)
    except Exception:
        logger.warning("Could not relay %d chat frames", len(items), exc_info=True)


class _Outbox:
    def __init__(self) -> None:
        self.batches: deque[Items] = deque()
        self.sending = False


_outboxes: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Outbox] = (
    weakref.WeakKeyDictionary()
)


def _hand_over(loop: asyncio.AbstractEventLoop, layer: BaseChannelLayer, items: Items) -> None:
    """In the loop's thread: queue the batch; one task per loop sends, in order, and
    ends when nothing is left (so no task outlives a test's loop)."""
    outbox = _outboxes.get(loop)
    if outbox is None:
        outbox = _outboxes[loop] = _Outbox()
    outbox.batches.append(items)
    if not outbox.sending:
        outbox.sending = True
        loop.create_task(_drain(layer, outbox))


async def _drain(layer: BaseChannelLayer, outbox: _Outbox) -> None:
    try:
        while outbox.batches:
            items = outbox.batches.popleft()
            try:
                await send_all(layer, items)
            except Exception:
                logger.warning("Could not relay %d chat frames", len(items), exc_info=True)
    finally:
        outbox.sending = False
