"""Channel-layer group sends from synchronous code, without a new thread per call.

``async_to_sync`` called from a thread that no server event loop started (the worker,
the mail fetcher, management commands, Django's test client) starts a new thread and a
new event loop for every call, and channels-redis opens a new connection for each loop:
every ticket opened through the API's test client, every batch of mail, every SLA timer
paid a thread, a loop and a connection for its screens' hint (issue 22: one thread per
API creation under strace).

``group_send_many`` instead:

- in the web process, from a thread that a request or a socket started
  (``sync_to_async``), sends on the server's own loop, as ``async_to_sync`` does there;
- on the in-memory layer, sends nothing when no socket of this process is in any of the
  groups (the layer only reaches this process's sockets, and a group with no member is a
  no-op), which is every process but the web one;
- otherwise (Redis, outside the web process) hands the sends to one event loop that
  runs, for the life of the process, in one daemon thread started on first use; its
  connections are kept from one send to the next.

It waits until the layer has taken the messages, so a caller's hints keep their order.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Sequence
from typing import Any

from asgiref.sync import SyncToAsync, async_to_sync
from channels.layers import BaseChannelLayer, InMemoryChannelLayer, get_channel_layer

Items = Sequence[tuple[str, dict[str, Any]]]

# A send that the layer has not taken in this long is given up (the caller logs it).
SEND_TIMEOUT_SECONDS = 10.0


def group_send_many(items: Items) -> None:
    """Send each ``(group, message)`` in order through the default channel layer.
    Raises what the layer raised (callers log it: a hint lost costs a refresh)."""
    layer = get_channel_layer()
    if layer is None or not items:
        return
    if isinstance(layer, InMemoryChannelLayer):
        items = [(group, message) for group, message in items if layer.groups.get(group)]
        if not items:
            return
    if isinstance(layer, InMemoryChannelLayer) or server_loop() is not None:
        # The listeners' loop (the server's), or, for a socket of this process that no
        # server runs (tests), a loop of the call's own as before.
        async_to_sync(send_all)(layer, items)
        return
    _sender.run(send_all(layer, items))


async def send_all(layer: BaseChannelLayer, items: Items) -> None:
    """Each ``(group, message)`` in order, on the calling loop (the chat relay's outbox
    sends its batches with it on the server's loop)."""
    for group, message in items:
        await layer.group_send(group, message)


def server_loop() -> asyncio.AbstractEventLoop | None:
    """The running event loop that started this thread's work (``sync_to_async``), if
    any and if it is not this thread's own."""
    try:
        asyncio.get_running_loop()
        return None
    except RuntimeError:
        pass
    loop = getattr(SyncToAsync.threadlocal, "main_event_loop", None)
    if loop is None or getattr(SyncToAsync.threadlocal, "main_event_loop_pid", None) != (
        os.getpid()
    ):
        return None
    if loop.is_closed() or not loop.is_running():
        return None
    return loop


class _Sender:
    """One event loop in one daemon thread for the process (a new one after a fork)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._pid = 0

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            alive = self._thread is not None and self._thread.is_alive()
            if self._loop is None or self._pid != os.getpid() or not alive:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(
                    target=loop.run_forever, name="izonie-layer-send", daemon=True
                )
                thread.start()
                self._loop, self._thread, self._pid = loop, thread, os.getpid()
            assert self._loop is not None
            return self._loop

    def run(self, coroutine: Any) -> None:
        future = asyncio.run_coroutine_threadsafe(coroutine, self._running_loop())
        try:
            future.result(timeout=SEND_TIMEOUT_SECONDS)
        except TimeoutError:
            future.cancel()
            raise


_sender = _Sender()
