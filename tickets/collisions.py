"""Collision detection: who else has a ticket open or is writing a reply, and what was
written on it since an agent loaded the page.

Presence lives in the cache (Redis at scale, shared by every web process; process
memory on the embedded single process), one short-lived key per agent and ticket,
refreshed by the ticket page every ``POLL_SECONDS``: a closed tab disappears within
``TTL_SECONDS`` without anyone cleaning up. The database stays the truth for messages:
the reply check compares message ids, not presence.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.core.cache import cache

from accounts.models import User
from tickets.choices import Direction, MessageKind
from tickets.models import Message, Ticket

POLL_SECONDS = 10
TTL_SECONDS = 30
VIEWING = "viewing"
REPLYING = "replying"
STATES = (VIEWING, REPLYING)


@dataclass(frozen=True)
class Colleague:
    agent_id: int
    name: str
    state: str


def _agent_key(ticket_id: int, agent_id: int) -> str:
    return f"collisions:{ticket_id}:{agent_id}"


def _index_key(ticket_id: int) -> str:
    return f"collisions:{ticket_id}"


def presence_mark(*, ticket_id: int, agent: User, state: str) -> None:
    """The agent has the ticket open (``viewing``) or is typing a reply (``replying``)."""
    if state not in STATES:
        state = VIEWING
    cache.set(
        _agent_key(ticket_id, agent.pk),
        {"name": str(agent), "state": state, "at": time.time()},
        TTL_SECONDS,
    )
    # The index may briefly miss an agent when two processes write it at once; the
    # next poll (seconds later) puts them back.
    index = set(cache.get(_index_key(ticket_id)) or ())
    if agent.pk not in index:
        index.add(agent.pk)
        cache.set(_index_key(ticket_id), sorted(index), TTL_SECONDS * 4)
    else:
        cache.touch(_index_key(ticket_id), TTL_SECONDS * 4)


def presence_leave(*, ticket_id: int, agent: User) -> None:
    cache.delete(_agent_key(ticket_id, agent.pk))


def colleagues_on(*, ticket_id: int, agent: User) -> list[Colleague]:
    """The other agents with the ticket open now, those replying first."""
    index = [pk for pk in cache.get(_index_key(ticket_id)) or () if pk != agent.pk]
    found = cache.get_many([_agent_key(ticket_id, pk) for pk in index])
    rows = [
        Colleague(agent_id=pk, name=value["name"], state=value["state"])
        for pk in index
        if isinstance(value := found.get(_agent_key(ticket_id, pk)), dict)
    ]
    return sorted(rows, key=lambda c: (c.state != REPLYING, c.name))


def last_message_id(*, ticket: Ticket) -> int:
    """The newest message on the ticket when the page is built (0 when none)."""
    return ticket.messages.order_by("-id").values_list("id", flat=True).first() or 0


def written_since(*, ticket: Ticket, seen_id: int, agent: User) -> list[Message]:
    """What arrived since the agent loaded the page: customer messages and replies by
    colleagues (not the system's own notices, not the agent's own, not notes)."""
    return list(
        ticket.messages.filter(id__gt=seen_id, kind=MessageKind.REPLY)
        .exclude(direction=Direction.OUTBOUND, author__isnull=True)
        .exclude(author=agent)
        .select_related("author")
        .order_by("id")[:10]
    )
