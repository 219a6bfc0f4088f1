"""The marketplace as support sees it: orders and sellers behind one interface.

Support code asks ``get_marketplace()`` and never imports marketplace models, so
a real marketplace API can replace the demo tables by changing one setting
(``IZONIE_MARKETPLACE_ADAPTER``).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class OrderInfo:
    number: str
    buyer_id: int
    seller_name: str
    seller_is_third_party: bool
    status: str
    items: list[str]
    total: str
    placed_at: dt.datetime
    delivered_at: dt.datetime | None
    # How the order was paid, when the marketplace says ("Card", "Wallet", "Pay on delivery").
    payment: str = ""
    # The marketplace's id of the seller, for ``seller_get`` (blank when it does not say).
    seller_id: str = ""


@dataclass(frozen=True)
class SellerInfo:
    """A store on the marketplace, as support sees it."""

    id: str
    store_name: str
    # Where the marketplace writes to the seller; disputes are notified here.
    email: str
    third_party: bool
    joined_at: dt.datetime | None = None
    listings: int | None = None
    # The address of the seller's login on the marketplace (the seller portal account),
    # when it differs from ``email``.
    account_email: str = ""


@dataclass(frozen=True)
class PayoutInfo:
    """One settlement to a seller (paid, scheduled or held)."""

    reference: str
    amount: str
    status: str
    # When it was paid, or is expected to be.
    date: dt.datetime
    orders: int = 0


class MarketplaceUnavailable(Exception):
    """The marketplace could not answer (down, too slow, or an answer we cannot read)."""


class MarketplaceAdapter(Protocol):
    def order_for_customer(self, *, number: str, customer_id: int) -> OrderInfo | None:
        """The order if it exists and belongs to this customer (buyer or selling seller).

        Raises ``MarketplaceUnavailable`` when the marketplace cannot be asked."""
        ...

    def order_get(self, *, number: str) -> OrderInfo | None:
        """The order for the support team, whoever it belongs to."""
        ...

    def orders_recent_for_customer(self, *, customer_id: int, limit: int = 5) -> list[OrderInfo]:
        """The orders this customer bought, newest first (the contact form's picker and the
        requester card).

        Raises ``MarketplaceUnavailable`` when the marketplace cannot be asked."""
        ...

    def seller_get(self, *, seller_id: str) -> SellerInfo | None:
        """The store with this marketplace id, or ``None``."""
        ...

    def seller_for_email(self, *, email: str) -> SellerInfo | None:
        """The registered seller who uses this address, or ``None``."""
        ...

    def seller_emails_among(self, *, emails: Iterable[str]) -> set[str]:
        """Which of these addresses (lower-cased) a registered seller uses: the write
        path asks once for a batch of new tickets instead of once per ticket."""
        ...

    def payouts_recent(self, *, seller_id: str, limit: int = 5) -> list[PayoutInfo]:
        """The seller's latest payouts, newest first."""
        ...


# The demo marketplace settles each delivered order the day after its return window.
DEMO_PAYOUT_AFTER_DAYS = 8
DEMO_COMMISSION_PERCENT = 5


class DemoMarketplaceAdapter:
    """Reads the demo ``marketplace`` tables."""

    def _info(self, order: object) -> OrderInfo:
        from marketplace.models import Order

        assert isinstance(order, Order)
        return OrderInfo(
            number=order.number,
            buyer_id=order.buyer_id,
            seller_name=order.seller.store_name,
            seller_is_third_party=order.seller.third_party,
            status=order.get_status_display(),
            items=[str(item) for item in order.items],
            total=f"{order.currency} {order.total_minor / 100:,.2f}",
            placed_at=order.placed_at,
            delivered_at=order.delivered_at,
            seller_id=str(order.seller_id),
        )

    def _seller(self, seller: object) -> SellerInfo:
        from marketplace.models import Seller

        assert isinstance(seller, Seller)
        return SellerInfo(
            id=str(seller.pk),
            store_name=seller.store_name,
            email=seller.support_email,
            third_party=seller.third_party,
            joined_at=seller.user.date_joined if seller.user else None,
            listings=None,
            account_email=seller.user.email if seller.user else "",
        )

    def seller_get(self, *, seller_id: str) -> SellerInfo | None:
        from marketplace.models import Seller

        if not str(seller_id).isdigit():
            return None
        seller = Seller.objects.select_related("user").filter(pk=int(seller_id)).first()
        return self._seller(seller) if seller else None

    def seller_for_email(self, *, email: str) -> SellerInfo | None:
        from django.db.models import Q

        from marketplace.models import Seller

        email = email.strip()
        if not email:
            return None
        seller = (
            Seller.objects.select_related("user")
            .filter(Q(support_email__iexact=email) | Q(user__email__iexact=email))
            .order_by("pk")
            .first()
        )
        return self._seller(seller) if seller else None

    def seller_emails_among(self, *, emails: Iterable[str]) -> set[str]:
        from django.db.models import Q
        from django.db.models.functions import Lower

        from marketplace.models import Seller

        wanted = {email.strip().lower() for email in emails if email.strip()}
        if not wanted:
            return set()
        found: set[str] = set()
        for support, account in (
            Seller.objects.annotate(support=Lower("support_email"), account=Lower("user__email"))
            .filter(Q(support__in=wanted) | Q(account__in=wanted))
            .values_list("support", "account")
        ):
            found.update(address for address in (support, account) if address in wanted)
        return found

    def payouts_recent(self, *, seller_id: str, limit: int = 5) -> list[PayoutInfo]:
        """Demo payouts derived from the seller's delivered orders: each is settled, less
        the commission, the day after its 7-day return window closes (no payout table)."""
        from django.utils import timezone

        from marketplace.models import Order

        if not str(seller_id).isdigit():
            return []
        now = timezone.now()
        orders = (
            Order.objects.filter(
                seller_id=int(seller_id),
                status=Order.Status.DELIVERED,
                delivered_at__isnull=False,
            )
            .order_by("-delivered_at", "-pk")
            .only("number", "total_minor", "currency", "delivered_at")[:limit]
        )
        payouts = []
        for order in orders:
            assert order.delivered_at is not None
            paid_on = order.delivered_at + dt.timedelta(days=DEMO_PAYOUT_AFTER_DAYS)
            net = order.total_minor * (100 - DEMO_COMMISSION_PERCENT) // 100
            payouts.append(
                PayoutInfo(
                    reference=f"PO-{order.number.removeprefix('IZ-')}",
                    amount=f"{order.currency} {net / 100:,.2f}",
                    status="Paid" if paid_on <= now else "Scheduled",
                    date=paid_on,
                    orders=1,
                )
            )
        return payouts

    def order_get(self, *, number: str) -> OrderInfo | None:
        from marketplace.models import Order

        order = Order.objects.select_related("seller").filter(number=number).first()
        return self._info(order) if order else None

    def orders_recent_for_customer(self, *, customer_id: int, limit: int = 5) -> list[OrderInfo]:
        from marketplace.models import Order

        orders = (
            Order.objects.select_related("seller")
            .filter(buyer_id=customer_id)
            .order_by("-placed_at", "-pk")[:limit]
        )
        return [self._info(order) for order in orders]

    def order_for_customer(self, *, number: str, customer_id: int) -> OrderInfo | None:
        from django.db.models import Q

        from marketplace.models import Order

        order = (
            Order.objects.select_related("seller")
            .filter(Q(buyer_id=customer_id) | Q(seller__user_id=customer_id), number=number)
            .first()
        )
        return self._info(order) if order else None


@functools.cache
def _adapter(path: str) -> MarketplaceAdapter:
    adapter: MarketplaceAdapter = import_string(path)()
    return adapter


def get_marketplace() -> MarketplaceAdapter:
    return _adapter(settings.IZONIE_MARKETPLACE_ADAPTER)
