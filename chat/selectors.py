"""Reads for live chat: frames to replay, the agents' queue snapshot."""

from __future__ import annotations

import threading
import time
from typing import Any

from django.utils import timezone

from accounts.models import User
from chat import protocol, tokens
from chat.models import AgentPresence, ChatSession, Presence, SessionState
from chat.services import entries_after, presence_for


def entry_frames_after(session: ChatSession, seq: int) -> list[dict[str, Any]]:
    frames = []
    for entry in entries_after(session, seq):
        entry.session = session
        frames.append(protocol.entry_frame(entry))
    return frames


def welcome_frame(session: ChatSession) -> dict[str, Any]:
    session.refresh_from_db()
    agent = session.agent
    return {
        "type": "welcome",
        "protocol": protocol.VERSION,
        "session": str(session.public_id),
        "ticket": session.ticket.reference,
        "token": tokens.token_for(session.public_id),
        "state": session.state,
        "last_seq": session.last_seq,
        "agent": (agent.display_name or str(agent)) if agent and session.accepted_at else None,
        "agent_read_seq": session.agent_read_seq,
        "rating": session.rating,
        # False: the customer typed an address and has not proven it (``verify_request``).
        "verified": session.ticket.requester_verified,
    }


def _summary(session: ChatSession, now: Any) -> dict[str, Any]:
    return {
        "session": str(session.public_id),
        "ticket": session.ticket.reference,
        "ticket_id": session.ticket_id,
        "name": session.visitor_name or str(session.customer),
        "category": session.ticket.category,
        "subject": session.ticket.subject,
        "state": session.state,
        "platform": session.platform,
        "agent": str(session.agent) if session.agent else None,
        "queued_at": session.queued_at.isoformat(),
        "wait_seconds": int((now - session.queued_at).total_seconds()),
        "wanted_team": session.wanted_team,
        "verified": session.ticket.requester_verified,
    }


def queue(*, limit: int = 100) -> list[ChatSession]:
    return list(
        ChatSession.objects.select_related("ticket", "customer", "agent")
        .filter(state__in=(SessionState.WAITING, SessionState.ASSIGNED))
        .order_by("queued_at", "pk")[:limit]
    )


def agent_chats(agent: User) -> list[ChatSession]:
    return list(
        ChatSession.objects.select_related("ticket", "customer", "agent")
        .filter(agent=agent, state__in=(SessionState.ASSIGNED, SessionState.ACTIVE))
        .order_by("queued_at", "pk")
    )


# The waiting queue and the count of agents online are the same for every agent; a
# burst of changes sends every agent a snapshot, so they are read once for all of them.
# A change made in this process clears the copy (``forget_shared_queue``); one made in
# another process is seen when the copy expires, before that process's snapshot delay.
SHARED_QUEUE_TTL_SECONDS = 0.2
_shared_lock = threading.Lock()
_shared: tuple[float, list[ChatSession], int] | None = None


def forget_shared_queue() -> None:
    global _shared
    with _shared_lock:
        _shared = None


def _shared_queue() -> tuple[list[ChatSession], int]:
    global _shared
    with _shared_lock:
        if _shared is not None and time.monotonic() - _shared[0] < SHARED_QUEUE_TTL_SECONDS:
            return _shared[1], _shared[2]
        waiting = queue()
        online = AgentPresence.objects.filter(status=Presence.ONLINE).count()
        _shared = (time.monotonic(), waiting, online)
        return waiting, online


def agent_snapshot(agent: User) -> dict[str, Any]:
    now = timezone.now()
    presence = presence_for(agent)
    waiting, online = _shared_queue()
    return {
        "type": "queue",
        "presence": presence.status,
        "max_chats": presence.max_chats,
        "agents_online": online,
        "waiting": [_summary(s, now) for s in waiting],
        "mine": [_summary(s, now) for s in agent_chats(agent)],
    }


def agent_handles(*, session: ChatSession, agent: User) -> bool:
    """Whether the agent may act in this chat now (typing, read receipts): the agent it
    is assigned to, or a supervisor. Read from the row, not the socket's kept copy, which
    a transfer or an accept elsewhere may have made stale."""
    if not agent.is_agent:
        return False
    if agent.is_supervisor:
        return True
    return ChatSession.objects.filter(pk=session.pk, agent_id=agent.pk).exists()
