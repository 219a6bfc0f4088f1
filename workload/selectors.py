"""Reads for the console's workload page."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from accounts.models import STAFF_ROLES, User
from chat.availability import online_cutoff
from chat.models import Presence
from tickets.choices import ACTIVE_STATUSES
from workload.models import Reassignment


@dataclass(frozen=True)
class AgentLoad:
    agent: User
    available: bool
    presence: str
    active: int


def agent_loads() -> list[AgentLoad]:
    cutoff = online_cutoff(timezone.now())
    agents = (
        User.objects.filter(role__in=STAFF_ROLES, is_active=True)
        .select_related("chat_presence")
        .annotate(
            active=Count("assigned_tickets", filter=Q(assigned_tickets__status__in=ACTIVE_STATUSES))
        )
        .order_by("display_name", "username")
    )
    rows = []
    for agent in agents:
        presence = getattr(agent, "chat_presence", None)
        fresh = bool(presence and presence.last_seen_at and presence.last_seen_at >= cutoff)
        status = presence.status if presence and fresh else Presence.OFFLINE
        rows.append(
            AgentLoad(
                agent=agent,
                available=status == Presence.ONLINE,
                presence=str(Presence(status).label),
                active=agent.active,
            )
        )
    return rows


def reassignments_recent(*, limit: int = 50) -> QuerySet[Reassignment]:
    return Reassignment.objects.select_related(
        "ticket", "from_agent", "to_agent", "actor", "ticket__assignee"
    ).order_by("-created_at", "-pk")[:limit]
