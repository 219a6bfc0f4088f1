"""The requester card beside the conversation: other requests, recent orders, ratings,
conduct."""

from __future__ import annotations

from typing import Any

from django import template
from django.db.models import Case, IntegerField, Value, When

from conduct.models import ConductFlag
from conduct.selectors import ConductPanel
from feedback.selectors import TicketPageRatings
from marketplace.adapters import MarketplaceUnavailable, get_marketplace
from tickets.choices import UNRESOLVED_STATUSES
from tickets.models import Ticket

register = template.Library()


@register.simple_tag
def recent_orders(ticket: Ticket) -> dict[str, Any]:
    """The requester's latest orders from the marketplace: never for an unverified
    requester (their orders are not looked up), and said so when it cannot be asked."""
    if not ticket.requester_verified:
        return {"orders": [], "why": "Email not verified: orders are not looked up."}
    try:
        orders = get_marketplace().orders_recent_for_customer(
            customer_id=ticket.requester_id, limit=5
        )
    except MarketplaceUnavailable:
        return {"orders": [], "why": "The marketplace cannot be asked right now."}
    return {"orders": orders, "why": "" if orders else "No orders."}


OTHERS_SHOWN = 6


@register.simple_tag
def requester_card(
    ticket: Ticket, conduct: ConductPanel, ratings: TicketPageRatings
) -> dict[str, Any]:
    """Two queries for a customer with a short history, three at most, whatever its
    length: the total is counted only when the list shown is full (every query is about
    a millisecond of the ticket page's CPU); the ratings and blocks are those the page
    read for its other panels (``ratings``, ``conduct``: read for the same ticket). The
    requester is the ticket's own (an unverified contact is a separate person), so
    nothing of another account shows."""
    customer = ticket.requester
    others_query = (
        Ticket.objects.filter(requester=customer)
        .exclude(pk=ticket.pk)
        .annotate(
            unresolved=Case(
                When(status__in=UNRESOLVED_STATUSES, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            )
        )
        .order_by("unresolved", "-updated_at")
    )
    others = list(others_query[:OTHERS_SHOWN])
    return {
        "others": others,
        "others_total": len(others) if len(others) < OTHERS_SHOWN else others_query.count(),
        "ratings": ratings.latest,
        "rating_average": ratings.average,
        "rating_count": ratings.count,
        "flags": ConductFlag.objects.filter(customer=customer, dismissed_at__isnull=True).count(),
        "blocks": conduct.customer_blocks,
    }
