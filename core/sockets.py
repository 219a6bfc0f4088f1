"""The base of the project's WebSocket consumers.

Channels' consumers call ``close_old_connections`` before handling every message, the
socket's frames and every event the channel layer relays to it alike, and they do it
with ``sync_to_async``: a hop to the one thread each process keeps for thread-sensitive
calls, and back. Our consumers never touch the database on the event loop; their
database calls run through ``database_sync_to_async`` or ``chat.db.db``, which close
old connections around each call on the thread that holds them. So the hop guards
nothing here, and it put one shared thread in the path of every relayed frame: at
``bench.day --agents 200`` a rush of new chats meant 100 consoles x 10 queue changes a
second through that thread, waiting for the interpreter lock behind the chat's database
threads and the HTTP pool (docs/benchmarks.md).
"""

from __future__ import annotations

from typing import Any

from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncWebsocketConsumer


class SocketConsumer(AsyncWebsocketConsumer):
    async def dispatch(self, message: dict[str, Any]) -> None:
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)
