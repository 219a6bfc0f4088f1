"""Reads for the customer portal's pages: ratings of solved requests, open escalations."""

from __future__ import annotations

import logging

from django.db.models import Exists, OuterRef, QuerySet
from django.urls import reverse

from accounts.models import Role, User
from feedback.models import Rating
from feedback.requests import resolution_interaction
from marketplace.adapters import MarketplaceUnavailable, OrderInfo, get_marketplace
from sla.models import Escalation, EscalationStatus
from tickets.choices import TicketStatus
from tickets.models import Ticket

RATEABLE = (TicketStatus.RESOLVED, TicketStatus.CLOSED)
# How many of a buyer's latest orders the contact form offers to pick from.
RECENT_ORDERS = 5

logger = logging.getLogger(__name__)


def recent_orders_for(user: User | None) -> list[OrderInfo]:
    """A signed-in buyer's latest orders from the marketplace, for the contact form's
    picker; none for visitors and sellers, or when the marketplace cannot answer (the
    number can still be typed)."""
    if user is None or user.role != Role.BUYER:
        return []
    try:
        return get_marketplace().orders_recent_for_customer(
            customer_id=user.pk, limit=RECENT_ORDERS
        )
    except MarketplaceUnavailable as exc:
        logger.warning("Recent orders not offered on the contact form: %s", exc)
        return []


def ticket_url(ticket: Ticket) -> str:
    return reverse("portal:request", args=[ticket.pk])


def rating_open(*, ticket: Ticket) -> bool:
    """A solved (or closed) request can be rated by its customer."""
    return ticket.status in RATEABLE


def ratings_by_ticket(*, tickets: list[Ticket]) -> dict[int, Rating]:
    """The customer's rating of each solved request's latest resolution, by ticket id."""
    solved = [t for t in tickets if rating_open(ticket=t)]
    if not solved:
        return {}
    wanted = {(t.pk, resolution_interaction(t)) for t in solved}
    found = Rating.objects.filter(
        ticket_id__in=[t.pk for t in solved], interaction__startswith="resolution-"
    )
    return {r.ticket_id: r for r in found if (r.ticket_id, r.interaction) in wanted}


def with_open_escalation(tickets: QuerySet[Ticket]) -> QuerySet[Ticket]:
    """Annotates ``escalated``: a supervisor is yet to contact the customer."""
    return tickets.annotate(
        escalated=Exists(
            Escalation.objects.filter(ticket=OuterRef("pk"), status=EscalationStatus.OPEN)
        )
    )
