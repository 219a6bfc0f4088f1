"""Sellers and payouts through the HTTP marketplace adapter, against a loopback server."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from marketplace.adapters import MarketplaceUnavailable
from marketplace.http_adapter import HttpMarketplaceAdapter

SELLER = {
    "id": "S-42",
    "name": "GadgetHub NG",
    "email": "care@gadgethub.example",
    "third_party": True,
    "joined_at": "2024-03-01T10:00:00+01:00",
    "listings": 128,
}
PAYOUTS = [
    {
        "reference": f"PO-{n}",
        "amount": f"NGN {n * 1000:,}.00",
        "status": "Paid",
        "date": f"2026-11-{20 - n:02d}T12:00:00+01:00",
        "orders": n,
    }
    for n in range(1, 8)
]


class FakeSellers(BaseHTTPRequestHandler):
    requests: list[str] = []

    def do_GET(self) -> None:
        FakeSellers.requests.append(self.path)
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        if url.path == "/api/sellers/S-42":
            return self._send(200, SELLER)
        if url.path == "/api/sellers" and query.get("email") == ["care@gadgethub.example"]:
            return self._send(200, SELLER)
        if url.path == "/api/sellers/S-42/payouts":
            limit = int(query.get("limit", ["5"])[0])
            return self._send(200, {"payouts": PAYOUTS[:limit]})
        if url.path == "/api/sellers/S-500":
            return self._send(503, {"detail": "maintenance"})
        if url.path == "/api/sellers/S-BAD/payouts":
            return self._send(200, {"payouts": [{"reference": "PO-1"}]})
        return self._send(404, {"detail": "not found"})

    def _send(self, status: int, body: object) -> None:
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def client() -> Iterator[HttpMarketplaceAdapter]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeSellers)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    FakeSellers.requests = []
    yield HttpMarketplaceAdapter(
        base_url=f"http://127.0.0.1:{server.server_address[1]}/api", token="t", timeout=1
    )
    server.shutdown()
    server.server_close()


def test_a_seller_is_read_by_id_and_by_address(client):
    seller = client.seller_get(seller_id="S-42")
    assert seller is not None
    assert (seller.id, seller.store_name, seller.email, seller.listings) == (
        "S-42",
        "GadgetHub NG",
        "care@gadgethub.example",
        128,
    )
    assert seller.joined_at == dt.datetime(2024, 3, 1, 9, 0, tzinfo=dt.UTC)
    assert client.seller_for_email(email="care@gadgethub.example") == seller
    assert FakeSellers.requests[1] == "/api/sellers?email=care%40gadgethub.example"


def test_unknown_sellers_are_none_and_have_no_payouts(client):
    assert client.seller_get(seller_id="S-1") is None
    assert client.seller_for_email(email="nobody@example.com") is None
    assert client.seller_for_email(email="  ") is None
    assert client.payouts_recent(seller_id="S-1") == []


def test_recent_payouts_are_limited_and_read(client):
    payouts = client.payouts_recent(seller_id="S-42", limit=3)
    assert [p.reference for p in payouts] == ["PO-1", "PO-2", "PO-3"]
    assert payouts[0].amount == "NGN 1,000.00"
    assert payouts[0].date == dt.datetime(2026, 11, 19, 11, 0, tzinfo=dt.UTC)
    assert FakeSellers.requests == ["/api/sellers/S-42/payouts?limit=3"]


def test_a_seller_id_cannot_leave_its_path_segment(client):
    assert client.seller_get(seller_id="../orders/IZ-1") is None
    assert FakeSellers.requests == ["/api/sellers/..%2Forders%2FIZ-1"]


def test_errors_and_unreadable_payouts_are_unavailable(client):
    with pytest.raises(MarketplaceUnavailable, match="answered 503"):
        client.seller_get(seller_id="S-500")
    with pytest.raises(MarketplaceUnavailable, match="not payouts"):
        client.payouts_recent(seller_id="S-BAD")


def test_the_order_names_its_seller_for_seller_get():
    from marketplace.http_adapter import _order_from

    order = _order_from(
        {
            "number": "IZ-20461187",
            "buyer_id": 7,
            "seller": {"name": "GadgetHub NG", "id": "S-42"},
            "status": "Delivered",
            "total": "NGN 1.00",
            "placed_at": "2026-11-10T09:30:00+01:00",
        }
    )
    assert order.seller_id == "S-42"
