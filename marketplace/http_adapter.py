"""The marketplace adapter for a real marketplace API over HTTP.

Select it with ``IZONIE_MARKETPLACE_ADAPTER=marketplace.http_adapter.HttpMarketplaceAdapter``
and point ``IZONIE_MARKETPLACE_API_URL`` at the API. The API answers two reads:

- ``GET {base}/orders/{number}``: the order, for the support team;
- ``GET {base}/customers/{customer_id}/orders/{number}``: the order only if it belongs to that
  customer (buyer, or the seller who sold it); 404 otherwise, so ownership is decided by the
  marketplace and another customer's order looks exactly like a missing one;
- ``GET {base}/customers/{customer_id}/orders?limit=N``: ``{"orders": [...]}``, the orders
  that customer bought, newest first (the contact form offers them); 404 for an unknown
  customer.

- ``GET {base}/customers/{customer_id}/orders?limit=N``: ``{"orders": [...]}``, the
  customer's latest orders as a buyer, newest first (the console's requester card).

Sellers (Seller Support and disputes):

- ``GET {base}/sellers/{seller_id}``: the store (see ``_seller_from``) or 404;
- ``GET {base}/sellers?email={address}``: the registered seller using that address, or 404;
- ``GET {base}/sellers/{seller_id}/payouts?limit=N``: ``{"payouts": [...]}``, newest first
  (see ``_payout_from``); 404 for an unknown seller.

Each answers 200 with its document or 404. Anything else (another
status, a timeout, a refused connection, a body that is not an order) raises
``MarketplaceUnavailable``: callers tell "no such order" and "cannot ask now" apart.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

import httpx
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from marketplace.adapters import MarketplaceUnavailable, OrderInfo, PayoutInfo, SellerInfo


class HttpMarketplaceAdapter:
    def __init__(
        self,
        *,
        base_url: str | None = None,
        token: str | None = None,
        timeout: float | None = None,
    ):
        base = base_url if base_url is not None else settings.IZONIE_MARKETPLACE_API_URL
        if not base:
            raise ImproperlyConfigured(
                "IZONIE_MARKETPLACE_API_URL must be set to use the HTTP marketplace adapter."
            )
        token = token if token is not None else settings.IZONIE_MARKETPLACE_API_TOKEN
        headers = {"Accept": "application/json", "User-Agent": "izonie-support"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._client = httpx.Client(
            base_url=base.rstrip("/") + "/",
            headers=headers,
            timeout=timeout if timeout is not None else settings.IZONIE_MARKETPLACE_TIMEOUT_SECONDS,
        )

    def order_get(self, *, number: str) -> OrderInfo | None:
        return self._order(f"orders/{quote(number, safe='')}")

    def order_for_customer(self, *, number: str, customer_id: int) -> OrderInfo | None:
        return self._order(f"customers/{int(customer_id)}/orders/{quote(number, safe='')}")

    def orders_recent_for_customer(self, *, customer_id: int, limit: int = 5) -> list[OrderInfo]:
        response = self._get(f"customers/{int(customer_id)}/orders", params={"limit": int(limit)})
        if response is None:
            return []
        return self._read(
            lambda d: [_order_from(item) for item in d["orders"]][:limit], response, "orders"
        )

    def seller_get(self, *, seller_id: str) -> SellerInfo | None:
        response = self._get(f"sellers/{quote(str(seller_id), safe='')}")
        return None if response is None else self._read(_seller_from, response, "a seller")

    def seller_for_email(self, *, email: str) -> SellerInfo | None:
        if not email.strip():
            return None
        response = self._get("sellers", params={"email": email.strip()})
        return None if response is None else self._read(_seller_from, response, "a seller")

    def seller_emails_among(self, *, emails: Iterable[str]) -> set[str]:
        # The marketplace's API answers one address at a time.
        wanted = {email.strip().lower() for email in emails if email.strip()}
        return {email for email in sorted(wanted) if self.seller_for_email(email=email)}

    def payouts_recent(self, *, seller_id: str, limit: int = 5) -> list[PayoutInfo]:
        response = self._get(
            f"sellers/{quote(str(seller_id), safe='')}/payouts", params={"limit": int(limit)}
        )
        if response is None:
            return []
        return self._read(
            lambda d: [_payout_from(item) for item in d["payouts"]][:limit], response, "payouts"
        )

    def _order(self, path: str) -> OrderInfo | None:
        response = self._get(path)
        return None if response is None else self._read(_order_from, response, "an order")

    def _read(self, parse: Any, response: httpx.Response, what: str) -> Any:
        try:
            return parse(response.json())
        except (ValueError, KeyError, TypeError) as exc:
            raise MarketplaceUnavailable(f"the marketplace's answer is not {what}: {exc}") from exc

    def _get(self, path: str, params: dict[str, Any] | None = None) -> httpx.Response | None:
        """The answer when it is a 200, ``None`` for a 404; anything else raises
        ``MarketplaceUnavailable``."""
        try:
            response = self._client.get(path, params=params)
        except httpx.TimeoutException as exc:
            raise MarketplaceUnavailable(
                f"the marketplace did not answer in time ({path})"
            ) from exc
        except httpx.HTTPError as exc:
            raise MarketplaceUnavailable(f"the marketplace cannot be reached: {exc}") from exc
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise MarketplaceUnavailable(
                f"the marketplace answered {response.status_code} for {path}"
            )
        return response


def _when(value: Any) -> dt.datetime | None:
    if value in (None, ""):
        return None
    when = dt.datetime.fromisoformat(str(value))
    if when.tzinfo is None:
        raise ValueError(f"{value!r} has no time zone")
    return when


def _order_from(data: dict[str, Any]) -> OrderInfo:
    seller = data["seller"]
    placed_at = _when(data["placed_at"])
    if placed_at is None:
        raise ValueError("placed_at is missing")
    return OrderInfo(
        number=str(data["number"]),
        buyer_id=int(data["buyer_id"]),
        seller_name=str(seller["name"]),
        seller_is_third_party=bool(seller.get("third_party", True)),
        status=str(data["status"]),
        items=[str(item) for item in data.get("items", [])],
        total=str(data["total"]),
        placed_at=placed_at,
        delivered_at=_when(data.get("delivered_at")),
        payment=str(data.get("payment") or ""),
        seller_id=str(seller.get("id") or ""),
    )


def _seller_from(data: dict[str, Any]) -> SellerInfo:
    listings = data.get("listings")
    return SellerInfo(
        id=str(data["id"]),
        store_name=str(data["name"]),
        email=str(data["email"]),
        third_party=bool(data.get("third_party", True)),
        joined_at=_when(data.get("joined_at")),
        listings=None if listings is None else int(listings),
        account_email=str(data.get("account_email") or ""),
    )


def _payout_from(data: dict[str, Any]) -> PayoutInfo:
    date = _when(data["date"])
    if date is None:
        raise ValueError("date is missing")
    return PayoutInfo(
        reference=str(data["reference"]),
        amount=str(data["amount"]),
        status=str(data["status"]),
        date=date,
        orders=int(data.get("orders") or 0),
    )
