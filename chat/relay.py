"""Fan-out of chat frames through the channel layer: one group per session (its
customer's sockets and the agents watching it) and one for the agents' queue view.

The database is the truth: a frame lost here is replayed from ``ChatEntry`` when
the client resumes with its last sequence number.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)

AGENTS_GROUP = "chat.agents"


def session_group(public_id: uuid.UUID | str) -> str:
    return f"chat.s.{public_id}"


def agent_group(agent_id: int) -> str:
    return f"chat.a.{agent_id}"


def send(group: str, frame: dict[str, Any]) -> None:
    """Send ``frame`` to a group from synchronous code (called on commit)."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, {"type": "chat.frame", "frame": frame})
    except Exception:
        logger.warning("Could not relay a chat frame to %s", group, exc_info=True)


def send_many(items: list[tuple[str, dict[str, Any]]]) -> None:
    layer = get_channel_layer()
    if layer is None or not items:
        return

    async def send_all() -> None:
        for group, frame in items:
            await layer.group_send(group, {"type": "chat.frame", "frame": frame})

    try:
        async_to_sync(send_all)()
    except Exception:
        logger.warning("Could not relay %d chat frames", len(items), exc_info=True)


def watch_group(public_id: uuid.UUID | str) -> str:
    """Agents' sockets that have the session open (they also get internal notes)."""
    return f"chat.w.{public_id}"
