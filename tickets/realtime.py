"""Hints to agents' screens that a ticket changed. Only ever called on commit.

The push is a hint: the database is the truth, and a screen that missed one
reloads the ticket or the inbox from the database.
"""

from __future__ import annotations

import logging

from core.layer_send import group_send_many

logger = logging.getLogger(__name__)


def ticket_group(ticket_id: int) -> str:
    return f"ticket.{ticket_id}"


def ticket_changed(*, ticket_id: int) -> None:
    tickets_changed(ticket_ids=[ticket_id])


def tickets_changed(*, ticket_ids: list[int]) -> None:
    """Each ticket's watchers (its open pages' sockets) told, in one hop into async code
    (and no new thread: ``core.layer_send``).

    Only the ticket pages listen: the inbox has no socket. A hint to an "inbox" group
    that nobody joined cost two Redis round trips per ticket changed (channels-redis
    trims and reads a group before it sends), 13 % of a web process's CPU under
    ``create_many`` (py-spy, bench.api_system, 2026-12-08)."""
    items = [
        (ticket_group(ticket_id), {"type": "ticket.changed", "ticket_id": ticket_id})
        for ticket_id in ticket_ids
    ]
    try:
        group_send_many(items)
    except Exception:
        # A lost hint costs a refresh, never a reply: log it and carry on.
        logger.warning("Could not broadcast changes of %s tickets", len(ticket_ids), exc_info=True)


def ticket_presence(*, ticket_id: int, people: list[dict[str, object]]) -> None:
    """Who is on the ticket now (every agent, each socket leaves itself out), to the
    ticket pages open over a socket. Sent as soon as it changes, not on commit: presence
    is no database row."""
    event = {"type": "ticket.presence", "ticket_id": ticket_id, "people": people}
    try:
        group_send_many([(ticket_group(ticket_id), event)])
    except Exception:
        logger.warning("Could not broadcast presence on ticket %s", ticket_id, exc_info=True)
