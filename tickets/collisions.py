"""Collision detection: who else has a ticket open or is writing a reply, and what was
written on it since an agent loaded the page.

Presence lives in the cache (Redis at scale, shared by every web process; process
memory on the embedded single process), one short-lived key per agent and ticket,
refreshed by the ticket page every ``POLL_SECONDS``: a closed tab disappears within
``TTL_SECONDS`` without anyone cleaning up. The database stays the truth for messages:
the reply check compares message ids, not presence.

A ticket page with a socket (console.consumers.TicketPresenceConsumer) says the same
over it and hears changes at once: ``presence_announce`` pushes who is on the ticket to
the ticket's group whenever that changes, and a committed change of the ticket (a
customer's message) reaches the sockets as ``realtime``'s hint, which
``written_since`` turns into "new messages". Pages without a socket keep polling; both
kinds share the cache, so each sees the other.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from django.core.cache import cache

from accounts.models import User
from accounts.staff_sessions import staff_socket_check
from tickets import realtime, selectors
from tickets.choices import Direction, MessageKind
from tickets.models import Message, Ticket

POLL_SECONDS = 10
TTL_SECONDS = 30
VIEWING = "viewing"
REPLYING = "replying"
LEFT = "left"
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


def presence_mark(*, ticket_id: int, agent: User, state: str) -> bool:
    """The agent has the ticket open (``viewing``) or is typing a reply (``replying``).
    True when that is news: the agent was not on the ticket, or was in another state."""
    if state not in STATES:
        state = VIEWING
    before = cache.get(_agent_key(ticket_id, agent.pk))
    changed = not isinstance(before, dict) or before.get("state") != state
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
    return changed


def presence_leave(*, ticket_id: int, agent: User) -> bool:
    """True when the agent was on the ticket."""
    return bool(cache.delete(_agent_key(ticket_id, agent.pk)))


@dataclass(frozen=True)
class Announced:
    colleagues: list[Colleague]  # the others on the ticket now
    pushed: bool  # the ticket's sockets were told (the announcing socket among them)


def presence_announce(*, ticket_id: int, agent: User, state: str) -> Announced:
    """``presence_mark`` (or ``presence_leave`` for ``left``), and when that changed who
    is on the ticket, tell the ticket's open sockets."""
    if state == LEFT:
        changed = presence_leave(ticket_id=ticket_id, agent=agent)
    else:
        changed = presence_mark(ticket_id=ticket_id, agent=agent, state=state)
    everyone = people_on(ticket_id=ticket_id)
    if changed:
        realtime.ticket_presence(
            ticket_id=ticket_id,
            people=[{"agent_id": c.agent_id, "name": c.name, "state": c.state} for c in everyone],
        )
    return Announced(colleagues=[c for c in everyone if c.agent_id != agent.pk], pushed=changed)


def state_from_wire(value: object) -> str:
    """The socket's words (``typing``, ``viewing``, ``left``) as presence states."""
    return {"typing": REPLYING, REPLYING: REPLYING, LEFT: LEFT}.get(str(value), VIEWING)


def colleagues_on(*, ticket_id: int, agent: User) -> list[Colleague]:
    """The other agents with the ticket open now, those replying first."""
    return [c for c in people_on(ticket_id=ticket_id) if c.agent_id != agent.pk]


def people_on(*, ticket_id: int) -> list[Colleague]:
    """Every agent with the ticket open now, those replying first."""
    index = list(cache.get(_index_key(ticket_id)) or ())
    found = cache.get_many([_agent_key(ticket_id, pk) for pk in index])
    rows = [
        Colleague(agent_id=pk, name=value["name"], state=value["state"])
        for pk in index
        if isinstance(value := found.get(_agent_key(ticket_id, pk)), dict)
    ]
    return sorted(rows, key=lambda c: (c.state != REPLYING, c.name))


def last_message_id(*, ticket: Ticket, thread: Sequence[Message] | None = None) -> int:
    """The newest message on the ticket when the page is built (0 when none); from
    ``thread`` when the page has read the whole of it (an agent's, notes and all)."""
    if thread is not None:
        return max((message.pk for message in thread), default=0)
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


@dataclass(frozen=True)
class SocketAdmission:
    """Whether a ticket page's socket may go on: ``problem`` is None and ``agent`` is the
    account re-read from the database, or ``problem`` says why not."""

    agent: User | None
    problem: str | None


def socket_admit(
    *, user_id: int, session_key: str | None, ticket_id: int, active: bool
) -> SocketAdmission:
    """The desk socket's checks (a live staff session of an agent, second factor and idle
    time included), and the ticket is one the agent may see."""
    check = staff_socket_check(
        user_id=user_id, session_key=session_key, now=time.time(), active=active
    )
    if check.problem is not None or check.user is None:
        return SocketAdmission(agent=None, problem=check.problem or "signed_out")
    try:
        selectors.ticket_get_for_viewer(viewer=check.user, ticket_id=ticket_id)
    except Ticket.DoesNotExist:
        return SocketAdmission(agent=None, problem="forbidden")
    return SocketAdmission(agent=check.user, problem=None)


def news_count(*, ticket_id: int, seen_id: int, agent: User) -> int:
    """How many messages ``written_since`` finds, for a page that knows ``seen_id``."""
    return len(written_since(ticket=Ticket(pk=ticket_id), seen_id=seen_id, agent=agent))
