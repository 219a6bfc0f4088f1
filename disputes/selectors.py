"""Reads of disputes, always through the viewer's rights."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from django.db.models import QuerySet

from accounts.models import Role, User
from disputes.models import Dispute, DisputeMessage, SellerNotice
from marketplace.adapters import (
    MarketplaceUnavailable,
    OrderInfo,
    PayoutInfo,
    SellerInfo,
    get_marketplace,
)
from tickets.choices import TicketKind
from tickets.models import Ticket

# Categories whose tickets about a third-party seller's order are offered as disputes.
DISPUTE_CATEGORIES = frozenset({"returns", "seller_support"})


def disputes_for_seller(seller: User) -> QuerySet[Dispute]:
    if not seller.is_active or seller.role != Role.SELLER:
        return Dispute.objects.none()
    return Dispute.objects.filter(seller_user=seller).order_by("-opened_at", "-pk")


def dispute_get_for_seller(*, seller: User, dispute_id: int) -> Dispute:
    """The dispute, or ``Dispute.DoesNotExist`` when it is missing *or* another seller's:
    the two look the same, so dispute ids cannot be probed."""
    return disputes_for_seller(seller).get(pk=dispute_id)


def seller_thread(dispute: Dispute) -> QuerySet[DisputeMessage]:
    return dispute.messages.order_by("created_at", "pk")


@dataclass(frozen=True)
class DisputePanel:
    """What the console's ticket page shows about disputes."""

    dispute: Dispute | None
    notices: list[SellerNotice]
    # Why this ticket could become a dispute, when it could ("suggested by a rule").
    suggestion: str
    thread: list[DisputeMessage]


def dispute_suggestion(ticket: Ticket, known_orders: Mapping[str, OrderInfo] | None = None) -> str:
    """A returns or seller-support ticket about a third-party seller's order is offered
    to the agent as a dispute; never opened without the agent. ``known_orders``: orders
    the caller has had from the marketplace already, by number."""
    if ticket.kind == TicketKind.DISPUTE or ticket.category not in DISPUTE_CATEGORIES:
        return ""
    if not ticket.order_number or ticket.is_closed:
        return ""
    order = (known_orders or {}).get(ticket.order_number)
    if order is None:
        try:
            order = get_marketplace().order_get(number=ticket.order_number)
        except MarketplaceUnavailable:
            return ""
    if order is None or not order.seller_is_third_party:
        return ""
    return (
        f"Order {order.number} was sold by {order.seller_name}, a third-party seller: "
        "this could be handled as a dispute with them."
    )


def dispute_panel(
    *, ticket: Ticket, known_orders: Mapping[str, OrderInfo] | None = None
) -> DisputePanel:
    """The ticket's dispute (read with the ticket when it was selected with
    ``dispute``), or the suggestion to open one."""
    try:
        dispute = ticket.dispute
    except Dispute.DoesNotExist:
        return DisputePanel(None, [], dispute_suggestion(ticket, known_orders), [])
    return DisputePanel(
        dispute,
        list(dispute.notices.order_by("-created_at", "-pk")[:10]),
        "",
        list(seller_thread(dispute)),
    )


@dataclass(frozen=True)
class SellerPanel:
    seller: SellerInfo | None
    payouts: list[PayoutInfo]
    # Set when the marketplace could not be asked.
    problem: str = ""


def seller_panel(*, ticket: Ticket, payouts: int = 5) -> SellerPanel | None:
    """The requester's store and recent payouts, for a ticket from a registered seller."""
    requester = ticket.requester
    if requester.role != Role.SELLER and ticket.category != "seller_support":
        return None
    marketplace = get_marketplace()
    try:
        seller = marketplace.seller_for_email(email=requester.email)
        recent = marketplace.payouts_recent(seller_id=seller.id, limit=payouts) if seller else []
    except MarketplaceUnavailable:
        return SellerPanel(None, [], "The marketplace cannot be asked right now.")
    return SellerPanel(seller, recent)
