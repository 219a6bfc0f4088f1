"""The marketplace as support sees it: orders and sellers behind one interface.

Support code asks ``get_marketplace()`` and never imports marketplace models, so
a real marketplace API can replace the demo tables by changing one setting
(``IZONIE_MARKETPLACE_ADAPTER``).
"""

from __future__ import annotations

import datetime as dt
import functools
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
        )

    def order_get(self, *, number: str) -> OrderInfo | None:
        from marketplace.models import Order

        order = Order.objects.select_related("seller").filter(number=number).first()
        return self._info(order) if order else None

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
