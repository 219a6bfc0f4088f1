"""Reads for the console's workload page."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from accounts.models import STAFF_ROLES, User
from chat.availability import online_cutoff
from chat.models import Presence
from policy.loader import get_policy
from tickets.choices import ACTIVE_STATUSES
from tickets.models import Ticket
from workload.models import Reassignment
from workload.routing import agent_loads as team_member_loads
from workload.routing import team_agents


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


@dataclass(frozen=True)
class TeamRouting:
    key: str
    name: str
    assignment: str
    capacity: int | None
    agents: int
    active_conversations: int
    waiting_unassigned: int


def team_routing() -> list[TeamRouting]:
    """Each team's strategy, members and current load (counted now, not the snapshot):
    the console's triage page shows it."""
    unassigned = dict(
        Ticket.objects.filter(assignee__isnull=True, status__in=ACTIVE_STATUSES)
        .exclude(team="")
        .values_list("team")
        .annotate(n=Count("pk"))
        .values_list("team", "n")
    )
    rows = []
    for team in get_policy().teams:
        agents = team_agents(team=team.key)
        rows.append(
            TeamRouting(
                key=team.key,
                name=team.name,
                assignment=team.assignment,
                capacity=team.capacity,
                agents=len(agents),
                active_conversations=sum(team_member_loads(agent_ids=agents).values()),
                waiting_unassigned=unassigned.get(team.key, 0),
            )
        )
    return rows
