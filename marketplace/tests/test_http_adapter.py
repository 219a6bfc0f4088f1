"""The HTTP marketplace adapter against a real HTTP server on loopback."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.exceptions import ImproperlyConfigured

from marketplace.adapters import MarketplaceUnavailable
from marketplace.http_adapter import HttpMarketplaceAdapter

ORDER = {
    "number": "IZ-20461187",
    "buyer_id": 7,
    "seller": {"name": "GadgetHub NG", "third_party": True},
    "status": "Delivered",
    "items": ["Tecno Camon 20", "Screen protector"],
    "total": "NGN 185,000.00",
    "placed_at": "2026-11-10T09:30:00+01:00",
    "delivered_at": "2026-11-14T15:00:00+01:00",
    "payment": "Card",
}


class FakeMarketplace(BaseHTTPRequestHandler):
    """Order IZ-20461187 belongs to customer 7; a few numbers misbehave on purpose."""

    requests: list[tuple[str, str | None]] = []

    def do_GET(self) -> None:
        FakeMarketplace.requests.append((self.path, self.headers.get("Authorization")))
        number = self.path.rsplit("/", 1)[-1]
        if number == "IZ-00000001":  # slow
            time.sleep(1.5)
        if number == "IZ-00000002":
            return self._send(500, b"oops")
        if number == "IZ-00000003":
            return self._send(200, b"<html>not json</html>")
        if number == "IZ-00000004":
            return self._send(200, json.dumps({"number": "IZ-00000004"}).encode())
        own = self.path == "/api/orders/IZ-20461187" or self.path == (
            "/api/customers/7/orders/IZ-20461187"
        )
        if own:
            return self._send(200, json.dumps(ORDER).encode())
        if self.path == "/api/customers/7/orders?limit=5":
            return self._send(200, json.dumps({"orders": [ORDER]}).encode())
        return self._send(404, b'{"detail": "not found"}')

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        # The client may have given up already (the timeout test).
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def marketplace_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeMarketplace)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    FakeMarketplace.requests = []
    yield f"http://127.0.0.1:{server.server_address[1]}/api"
    server.shutdown()
    server.server_close()


def adapter(url: str, **kwargs) -> HttpMarketplaceAdapter:
    kwargs.setdefault("token", "s3cret")
    kwargs.setdefault("timeout", 0.5)
    return HttpMarketplaceAdapter(base_url=url, **kwargs)


def test_an_order_is_read_with_its_details(marketplace_url):
    order = adapter(marketplace_url).order_get(number="IZ-20461187")
    assert order is not None
    assert (order.number, order.buyer_id, order.seller_name, order.status) == (
        "IZ-20461187",
        7,
        "GadgetHub NG",
        "Delivered",
    )
    assert order.items == ["Tecno Camon 20", "Screen protector"]
    assert order.delivered_at == dt.datetime(2026, 11, 14, 14, 0, tzinfo=dt.UTC)
    assert order.payment == "Card"
    assert FakeMarketplace.requests == [("/api/orders/IZ-20461187", "Bearer s3cret")]


def test_a_customers_recent_orders_are_listed_for_the_contact_form(marketplace_url):
    client = adapter(marketplace_url)
    orders = client.orders_recent_for_customer(customer_id=7)
    assert [(o.number, o.status) for o in orders] == [("IZ-20461187", "Delivered")]
    assert FakeMarketplace.requests[-1] == ("/api/customers/7/orders?limit=5", "Bearer s3cret")
    # An unknown customer has no orders (404), not an error.
    assert client.orders_recent_for_customer(customer_id=8) == []


def test_a_customer_sees_only_their_own_order(marketplace_url):
    client = adapter(marketplace_url)
    assert client.order_for_customer(number="IZ-20461187", customer_id=7) is not None
    assert client.order_for_customer(number="IZ-20461187", customer_id=8) is None
    assert [path for path, _ in FakeMarketplace.requests] == [
        "/api/customers/7/orders/IZ-20461187",
        "/api/customers/8/orders/IZ-20461187",
    ]


def test_an_unknown_order_is_none(marketplace_url):
    assert adapter(marketplace_url).order_get(number="IZ-99999999") is None


def test_the_number_is_escaped_in_the_path(marketplace_url):
    assert adapter(marketplace_url).order_get(number="../admin?x=1") is None
    assert FakeMarketplace.requests[0][0] == "/api/orders/..%2Fadmin%3Fx%3D1"


def test_a_slow_marketplace_times_out_as_unavailable(marketplace_url):
    start = time.perf_counter()
    with pytest.raises(MarketplaceUnavailable, match="did not answer in time"):
        adapter(marketplace_url, timeout=0.3).order_get(number="IZ-00000001")
    assert time.perf_counter() - start < 1.2


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("IZ-00000002", "answered 500"),
        ("IZ-00000003", "not an order"),
        ("IZ-00000004", "not an order"),
    ],
)
def test_errors_and_unreadable_answers_are_unavailable(marketplace_url, number, message):
    with pytest.raises(MarketplaceUnavailable, match=message):
        adapter(marketplace_url).order_get(number=number)


def test_a_refused_connection_is_unavailable():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeMarketplace)
    port = server.server_address[1]
    server.server_close()  # nothing listens on the port any more
    with pytest.raises(MarketplaceUnavailable, match="cannot be reached"):
        adapter(f"http://127.0.0.1:{port}").order_get(number="IZ-20461187")


def test_without_a_base_url_the_adapter_refuses_to_start(settings):
    settings.IZONIE_MARKETPLACE_API_URL = ""
    with pytest.raises(ImproperlyConfigured, match="IZONIE_MARKETPLACE_API_URL"):
        HttpMarketplaceAdapter()


def test_settings_configure_the_adapter(settings, marketplace_url):
    settings.IZONIE_MARKETPLACE_API_URL = marketplace_url + "/"
    settings.IZONIE_MARKETPLACE_API_TOKEN = ""
    assert HttpMarketplaceAdapter().order_get(number="IZ-20461187") is not None
    assert FakeMarketplace.requests == [("/api/orders/IZ-20461187", None)]
