"""Demo data: one open dispute for the ``gadgethub.seller`` account."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from accounts.models import User
from disputes import services
from marketplace.models import Order
from tickets import services as ticket_services
from tickets.choices import Channel


def seed_disputes_demo(
    *, buyers: Sequence[User], agent: User, progress: Callable[[str], None]
) -> None:
    order = (
        Order.objects.filter(
            seller__user__username="gadgethub.seller",
            seller__third_party=True,
            buyer__in=buyers,
            status=Order.Status.DELIVERED,
        )
        .select_related("buyer", "seller__user")
        .order_by("pk")
        .first()
    )
    if order is None or order.seller.user is None:
        progress("no GadgetHub order to dispute")
        return
    ticket = ticket_services.ticket_open(
        requester=order.buyer,
        channel=Channel.WEB_FORM,
        category="returns",
        subject="Phone stopped charging after two days",
        body=(
            f"The {order.items[0] if order.items else 'phone'} from order {order.number} stopped "
            "charging two days after delivery. The seller does not answer my messages. "
            "Please help me get a replacement or my money back."
        ),
        order_number=order.number,
    )
    dispute = services.dispute_open(ticket=ticket, actor=agent)
    services.dispute_seller_reply(
        dispute=dispute,
        seller=order.seller.user,
        body="We tested this model before shipping. Please ask the buyer for a photo of the "
        "charging port; if it is a factory fault we will replace it.",
    )
    progress(f"1 open dispute ({dispute.reference}) for gadgethub.seller")
