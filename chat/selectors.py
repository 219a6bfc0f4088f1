"""Reads for live chat: frames to replay, the agents' queue snapshot."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import User
from chat import protocol, tokens
from chat.availability import current_time
from chat.models import ChatEntry, ChatSession, EntryKind, Presence, Sender, SessionState
from chat.services import agent_loads, entries_after, presence_for
from conduct.models import ConductFlag
from core.rows_select import Select
from sla.models import Escalation, EscalationStatus


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
        "order_number": session.ticket.order_number or session.ticket.unverified_order_number,
        # What the desk list shows beside the name (annotated by ``_listed``: the
        # snapshot stays one query per list however many chats it holds).
        "last_text": getattr(session, "last_text", None) or "",
        "last_sender": getattr(session, "last_sender", None) or "",
        "last_at": _iso(getattr(session, "last_at", None)) or session.queued_at.isoformat(),
        "unread": getattr(session, "unread", 0) or 0,
        "escalated": bool(getattr(session, "escalated", False)),
        "conduct": bool(getattr(session, "conduct", False)),
        "handover": (
            {"by": session.handover_by, "note": session.handover_note}
            if session.handover_note
            else None
        ),
    }


def _iso(moment: Any) -> str | None:
    return moment.isoformat() if moment else None


def _listed(chats: QuerySet[ChatSession]) -> QuerySet[ChatSession]:
    """The desk list's columns as subqueries of the one list query."""
    messages = ChatEntry.objects.filter(session=OuterRef("pk"), kind=EntryKind.MESSAGE)
    last = messages.order_by("-seq")
    unread = (
        messages.filter(sender=Sender.CUSTOMER, seq__gt=OuterRef("agent_read_seq"))
        .order_by()
        .values("session")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return chats.select_related("ticket", "customer", "agent").annotate(
        last_text=Subquery(last.values("text")[:1]),
        last_sender=Subquery(last.values("sender")[:1]),
        last_at=Subquery(last.values("created_at")[:1]),
        unread=Coalesce(Subquery(unread), 0),
        escalated=Exists(
            Escalation.objects.filter(ticket=OuterRef("ticket"), status=EscalationStatus.OPEN)
        ),
        conduct=Q(ended_for_conduct=True)
        | Exists(ConductFlag.objects.filter(ticket=OuterRef("ticket"), dismissed_at=None)),
    )


QUEUE_LIMIT = 100

# The desk's two lists, compiled once (``core.rows_select``): building and compiling
# ``_listed``'s subqueries was about 90 % of each list's read. With every chat start or
# accept each console named reads its own list again; while bench.day's 150 agents'
# chats opened, those reads were 12 % of the web processes' Python time (py-spy).
_QUEUE = Select(
    lambda: _listed(
        ChatSession.objects.filter(state__in=(SessionState.WAITING, SessionState.ASSIGNED))
    ).order_by("queued_at", "pk")[:QUEUE_LIMIT]
)
_AGENT_CHATS = Select(
    # Newest activity first: the chat the customer just wrote in comes to the top.
    lambda agents: _listed(
        ChatSession.objects.filter(
            agent__any=agents, state__in=(SessionState.ASSIGNED, SessionState.ACTIVE)
        )
    ).order_by(F("last_at").desc(nulls_last=True), "-queued_at", "pk")
)


def queue() -> list[ChatSession]:
    """The chats waiting or offered, oldest first (the first ``QUEUE_LIMIT``)."""
    return _QUEUE()


def agent_chats(agent: User) -> list[ChatSession]:
    return _AGENT_CHATS(agents=[agent.pk])


# The waiting queue and the count of agents online are the same for every agent; a
# burst of changes sends every agent a snapshot, so they are read once for all of them.
# A change made in this process clears the copy (``forget_shared_queue``); one made in
# another process is seen when the copy expires, before that process's snapshot delay.
SHARED_QUEUE_TTL_SECONDS = 0.2
_shared_lock = threading.Lock()


@dataclass(frozen=True)
class _SharedQueue:
    read_at: float
    waiting: list[dict[str, Any]]
    online: list[dict[str, Any]]
    # The ``queue_waiting`` frame as JSON, written once for every console of the process
    # (100 waiting chats and 150 agents make 70 KB, half a millisecond of encoding each).
    text: str


_shared: _SharedQueue | None = None


def forget_shared_queue() -> None:
    global _shared
    with _shared_lock:
        _shared = None


def _shared_queue() -> _SharedQueue:
    """The waiting chats' summaries and the agents online (callers must not change them:
    every console of the process is sent the same lists)."""
    global _shared
    with _shared_lock:
        if _shared is not None and time.monotonic() - _shared.read_at < SHARED_QUEUE_TTL_SECONDS:
            return _shared
        now = timezone.now()
        waiting = [_summary(s, now) for s in queue()]
        online = online_agents()
        frame = _queue_waiting_frame(waiting, online)
        _shared = _SharedQueue(
            read_at=time.monotonic(),
            waiting=waiting,
            online=online,
            text=json.dumps(frame, separators=(",", ":")),
        )
        return _shared


def online_agents() -> list[dict[str, Any]]:
    """Agents online for chat (heartbeat fresh) with their load: whom a chat can be
    transferred to. One query."""
    return [
        {
            "id": presence.agent_id,
            "name": presence.agent.display_name or str(presence.agent),
            "load": load,
            "max_chats": presence.max_chats,
            "teams": list(presence.agent.teams or []),
        }
        for presence, load in agent_loads(current_time())
    ]


def agent_snapshot(agent: User) -> dict[str, Any]:
    """The whole desk: the agent's presence and own chats, and the shared queue.

    An agent online for chat is in the shared list of agents online, with their limit:
    their presence is read from there, not again for each snapshot (a rush of chats sends
    every console one a second). The list is as fresh as the queue beside it: a change of
    presence in this process clears it (``forget_shared_queue``)."""
    now = timezone.now()
    shared = _shared_queue()
    listed = next((a for a in shared.online if a["id"] == agent.pk), None)
    if listed is not None:
        status, max_chats = str(Presence.ONLINE), listed["max_chats"]
    else:
        presence = presence_for(agent)
        status, max_chats = presence.status, presence.max_chats
    return {
        **_queue_waiting_frame(shared.waiting, shared.online),
        "type": "queue",
        "presence": status,
        "max_chats": max_chats,
        "mine": [_summary(s, now) for s in agent_chats(agent)],
    }


def shared_queue_frame() -> dict[str, Any]:
    """The part of the desk that is the same for every agent: who is waiting and who is
    online. Sent alone (type ``queue_waiting``) when the queue changed but the agent's own
    chats did not: during a rush of new chats each console got its own list re-read once
    a second, which took most of the web processes' time at 200 agents (docs/benchmarks.md)."""
    shared = _shared_queue()
    return _queue_waiting_frame(shared.waiting, shared.online)


def shared_queue_text() -> str:
    """``shared_queue_frame`` as the JSON text sent to the consoles, encoded once."""
    return _shared_queue().text


def _queue_waiting_frame(
    waiting: list[dict[str, Any]], online: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "type": "queue_waiting",
        "agents_online": len(online),
        # Transfer targets: online, with their load (the desk offers those with room).
        "agents": online,
        "waiting": waiting,
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


# --- The desk's visitor panel


def device_label(user_agent: str) -> str:
    """A rough "Phone · Chrome" from the browser's User-Agent (linear-time substring
    checks only: the header is the visitor's)."""
    ua = user_agent[:300]
    if not ua:
        return ""
    kind = "Tablet" if "iPad" in ua or "Tablet" in ua else "Phone" if "Mobi" in ua else "Computer"
    browser = next(
        (
            name
            for token, name in (
                ("Edg/", "Edge"),
                ("OPR/", "Opera"),
                ("SamsungBrowser", "Samsung Internet"),
                ("Firefox/", "Firefox"),
                ("Chrome/", "Chrome"),
                ("Chromium/", "Chromium"),
                ("Safari/", "Safari"),
            )
            if token in ua
        ),
        "another browser",
    )
    system = next(
        (
            name
            for token, name in (
                ("Android", "Android"),
                ("iPhone", "iOS"),
                ("iPad", "iPadOS"),
                ("Windows", "Windows"),
                ("Mac OS X", "macOS"),
                ("CrOS", "ChromeOS"),
                ("Linux", "Linux"),
            )
            if token in ua
        ),
        "",
    )
    return " · ".join(part for part in (kind, browser, system) if part)


def visitor_context(*, session: ChatSession) -> dict[str, Any]:
    """What the desk shows about the chat's visitor. Earlier requests and the order
    are shown only for a signed-in or proven requester (ARCHITECTURE.md, "Identity is
    a level"): for a typed address they could be a stranger's."""
    from triage.selectors import order_panel

    ticket = session.ticket
    customer = session.customer
    earlier: list[Any] = []
    if ticket.requester_verified:
        earlier = list(
            customer.requested_tickets.exclude(pk=ticket.pk)
            .only("pk", "subject", "status", "channel", "created_at")
            .order_by("-created_at")[:5]
        )
    return {
        "session": session,
        "ticket": ticket,
        "customer": customer,
        "signed_in": ticket.requester_identity == "account",
        "device": device_label(session.user_agent),
        "order_panel": order_panel(ticket=ticket, now=timezone.now()),
        "earlier": earlier,
    }
