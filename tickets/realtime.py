"""Hints to agents' screens that a ticket changed. Only ever called on commit.

The push is a hint: the database is the truth, and a screen that missed one
reloads the ticket or the inbox from the database.
"""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)

INBOX_GROUP = "inbox"


def ticket_group(ticket_id: int) -> str:
    return f"ticket.{ticket_id}"


def ticket_changed(*, ticket_id: int) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    event = {"type": "ticket.changed", "ticket_id": ticket_id}

    async def send_both() -> None:
        await layer.group_send(INBOX_GROUP, event)
        await layer.group_send(ticket_group(ticket_id), event)

    try:
        # One hop into async code for both groups: each async_to_sync call from a thread
        # without an event loop costs a new loop (milliseconds).
        async_to_sync(send_both)()
    except Exception:
        # A lost hint costs a refresh, never a reply: log it and carry on.
        logger.warning("Could not broadcast change of ticket %s", ticket_id, exc_info=True)


def tickets_changed(*, ticket_ids: list[int]) -> None:
    """``ticket_changed`` for a batch: one hop into async code for every hint."""
    layer = get_channel_layer()
    if layer is None or not ticket_ids:
        return

    async def send_all() -> None:
        for ticket_id in ticket_ids:
            event = {"type": "ticket.changed", "ticket_id": ticket_id}
            await layer.group_send(INBOX_GROUP, event)
            await layer.group_send(ticket_group(ticket_id), event)

    try:
        async_to_sync(send_all)()
    except Exception:
        logger.warning("Could not broadcast changes of %s tickets", len(ticket_ids), exc_info=True)


def ticket_presence(*, ticket_id: int, people: list[dict[str, object]]) -> None:
    """Who is on the ticket now (every agent, each socket leaves itself out), to the
    ticket pages open over a socket. Sent as soon as it changes, not on commit: presence
    is no database row."""
    layer = get_channel_layer()
    if layer is None:
        return
    event = {"type": "ticket.presence", "ticket_id": ticket_id, "people": people}
    try:
        async_to_sync(layer.group_send)(ticket_group(ticket_id), event)
    except Exception:
        logger.warning("Could not broadcast presence on ticket %s", ticket_id, exc_info=True)
