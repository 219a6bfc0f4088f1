"""Order numbers in free text, the one polite request for a missing one, the order panel
with its return window."""

import datetime as dt
from http.server import ThreadingHTTPServer
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from accounts.tests.factories import AgentFactory, BuyerFactory
from mail.intake import ingest_raw
from mail.tests.test_intake import mail
from marketplace.adapters import OrderInfo, _adapter
from marketplace.tests.factories import OrderFactory
from policy.loader import get_policy
from tickets import services
from tickets.choices import Channel, Direction
from triage.selectors import return_window

pytestmark = pytest.mark.django_db
LAGOS = ZoneInfo("Africa/Lagos")
REQUEST_START = "Thank you for contacting Izonie Support. To help us look into this quickly"


def _outbound(ticket):
    return list(ticket.messages.filter(direction=Direction.OUTBOUND))


def test_an_order_number_in_an_email_is_linked():
    order = OrderFactory(buyer__email="chioma@example.com")
    record = ingest_raw(
        raw=mail(subject="Late", body=f"Hi, order #{order.number.lower()} has not arrived.")
    )
    assert record.ticket.requester == order.buyer
    assert record.ticket.order_number == order.number
    # Nothing to ask (the email acknowledgement is the only reply).
    assert not [m for m in _outbound(record.ticket) if m.body_text.startswith(REQUEST_START)]


def test_another_customers_order_is_neither_linked_nor_revealed():
    someone_else = OrderFactory()
    buyer = BuyerFactory()
    ticket = services.ticket_open(
        requester=buyer,
        channel=Channel.FACEBOOK,
        body=f"Where is my order {someone_else.number}? It never arrived",
    )
    assert ticket.category == "order_status"
    assert ticket.order_number == ""
    [asked] = _outbound(ticket)
    assert asked.body_text.startswith(REQUEST_START)
    # The reply reveals nothing about the other customer's order.
    assert someone_else.number not in asked.body_text
    assert someone_else.buyer.email not in asked.body_text


@pytest.mark.parametrize("text", ["IZ-123", "IZ-2046118700", "order XIZ-20461187", "IZ 20461187"])
def test_numbers_of_the_wrong_format_are_ignored(text):
    OrderFactory(number="IZ-20461187")
    ticket = services.ticket_open(
        requester=BuyerFactory(), channel=Channel.EMAIL, body=f"Refund for {text} please"
    )
    assert ticket.order_number == ""


def test_a_later_message_supplies_the_order_number_and_the_request_is_not_repeated():
    buyer = BuyerFactory()
    order = OrderFactory(buyer=buyer)
    ticket = services.ticket_open(
        requester=buyer, channel=Channel.WEB_FORM, category="returns", body="The screen cracked"
    )
    [asked] = _outbound(ticket)
    # Returns also asks for photos: one message asks for both (the category's photo_request).
    assert asked.body_text == (
        "Thank you for contacting Izonie Support. To help us look into this quickly, could "
        "you please reply with your order number? You will find it in your order "
        "confirmation; it looks like IZ-12345678.\n\n"
        + get_policy().category("returns").photo_request
    )
    assert asked.outbound.channel == Channel.WEB_FORM  # delivered like any reply
    services.ticket_customer_message(ticket=ticket, author=buyer, body="I don't have it")
    services.ticket_customer_message(ticket=ticket, author=buyer, body=f"Found it: {order.number}")
    ticket.refresh_from_db()
    assert ticket.order_number == order.number
    assert len(_outbound(ticket)) == 1


@pytest.mark.parametrize(
    ("category", "asks"),
    [("order_status", True), ("payments", True), ("returns", True), ("technical_support", False)],
)
def test_only_categories_that_need_an_order_number_ask_for_one(category, asks):
    ticket = services.ticket_open(
        requester=BuyerFactory(), channel=Channel.WEB_FORM, category=category, body="Help"
    )
    asked = [m for m in _outbound(ticket) if "order number" in m.body_text]
    assert len(asked) == (1 if asks else 0)


def test_an_order_number_given_in_the_form_means_no_request():
    order = OrderFactory()
    ticket = services.ticket_open(
        requester=order.buyer,
        channel=Channel.WEB_FORM,
        category="order_status",
        body="Late",
        order_number=order.number,
    )
    assert _outbound(ticket) == []


def test_filing_from_triage_asks_once_too():
    ticket = services.ticket_open(
        requester=BuyerFactory(), channel=Channel.EMAIL, body="Good afternoon"
    )
    assert ticket.category == "" and _outbound(ticket) == []
    agent = AgentFactory()
    services.ticket_update(ticket=ticket, actor=agent, category="payments")
    services.ticket_update(ticket=ticket, actor=agent, category="returns")
    asked = [message.body_text for message in _outbound(ticket)]
    assert sum("order number" in body for body in asked) == 1
    # Returns also wants photos, asked once on its own since the order number was asked.
    assert asked[1:] == [get_policy().category("returns").photo_request]


# --- The return window: 7 calendar days from the delivery date, in Lagos time.


def _order(delivered_at):
    return OrderInfo(
        number="IZ-20461187",
        buyer_id=1,
        seller_name="GadgetHub NG",
        seller_is_third_party=True,
        status="Delivered",
        items=["Phone"],
        total="NGN 1.00",
        placed_at=dt.datetime(2026, 11, 10, tzinfo=LAGOS),
        delivered_at=delivered_at,
    )


@pytest.mark.parametrize(
    ("now", "is_open", "explanation"),
    [
        (
            dt.datetime(2026, 11, 14, 16, 0, tzinfo=LAGOS),
            True,
            "Returnable: within the 7-day window until 21 Nov 2026 (7 days left).",
        ),
        (
            dt.datetime(2026, 11, 21, 23, 59, tzinfo=LAGOS),
            True,
            "Returnable: within the 7-day window until 21 Nov 2026 (today is the last day).",
        ),
        (
            dt.datetime(2026, 11, 22, 0, 0, tzinfo=LAGOS),
            False,
            "Not returnable: the 7-day window closed on 21 Nov 2026, 1 day ago; "
            "a return request is not accepted.",
        ),
        (
            # 23:30 UTC on the 21st is already the 22nd in Lagos.
            dt.datetime(2026, 11, 21, 23, 30, tzinfo=dt.UTC),
            False,
            "Not returnable: the 7-day window closed on 21 Nov 2026, 1 day ago; "
            "a return request is not accepted.",
        ),
    ],
)
def test_return_window(now, is_open, explanation):
    window = return_window(
        order=_order(dt.datetime(2026, 11, 14, 15, 0, tzinfo=LAGOS)), now=now, policy=get_policy()
    )
    assert (window.open, window.explanation) == (is_open, explanation)


def test_a_delivery_just_after_midnight_lagos_counts_from_that_lagos_date():
    delivered = dt.datetime(2026, 11, 13, 23, 30, tzinfo=dt.UTC)  # 00:30 on the 14th in Lagos
    window = return_window(order=_order(delivered), now=delivered, policy=get_policy())
    assert (window.delivered_on, window.last_day) == (dt.date(2026, 11, 14), dt.date(2026, 11, 21))


def test_an_undelivered_order_has_no_window_yet():
    window = return_window(order=_order(None), now=dt.datetime.now(dt.UTC), policy=get_policy())
    assert window.open is False
    assert window.explanation == (
        "Not delivered yet: the 7-day return window starts on the delivery date."
    )


# --- The order panel in the console


def _page(ticket):
    client = Client()
    client.force_login(AgentFactory())
    response = client.get(f"/console/tickets/{ticket.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def test_the_order_panel_shows_the_order_and_its_return_window():
    order = OrderFactory(items=["Tecno Camon 20"])
    ticket = services.ticket_open(
        requester=order.buyer, channel=Channel.EMAIL, body=f"Return {order.number} please"
    )
    page = _page(ticket)
    assert f"Order {order.number}" in page
    assert "Tecno Camon 20" in page
    assert "Returnable: within the 7-day window until" in page  # delivered 2 days ago


def test_the_order_panel_says_when_the_marketplace_cannot_be_asked(settings):
    order = OrderFactory()
    ticket = services.ticket_open(
        requester=order.buyer, channel=Channel.EMAIL, body=f"Return {order.number} please"
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), None)  # type: ignore[arg-type]
    port = server.server_address[1]
    server.server_close()
    settings.IZONIE_MARKETPLACE_ADAPTER = "marketplace.http_adapter.HttpMarketplaceAdapter"
    settings.IZONIE_MARKETPLACE_API_URL = f"http://127.0.0.1:{port}"
    _adapter.cache_clear()
    try:
        page = _page(ticket)
        assert (
            "The marketplace cannot be asked right now: the marketplace cannot be reached" in page
        )
        # New messages still arrive; the number is simply not checked now.
        other = services.ticket_open(
            requester=BuyerFactory(), channel=Channel.EMAIL, body="Refund IZ-20461187 please"
        )
        assert other.order_number == ""
    finally:
        _adapter.cache_clear()


def test_an_order_number_given_while_the_marketplace_is_down_is_a_clear_error(settings):
    from tickets.exceptions import OrderCheckUnavailable
    from tickets.models import Ticket

    server = ThreadingHTTPServer(("127.0.0.1", 0), None)  # type: ignore[arg-type]
    port = server.server_address[1]
    server.server_close()
    settings.IZONIE_MARKETPLACE_ADAPTER = "marketplace.http_adapter.HttpMarketplaceAdapter"
    settings.IZONIE_MARKETPLACE_API_URL = f"http://127.0.0.1:{port}"
    _adapter.cache_clear()
    buyer = BuyerFactory()
    try:
        with pytest.raises(OrderCheckUnavailable, match="cannot check order numbers right now"):
            services.ticket_open(
                requester=buyer,
                channel=Channel.WEB_FORM,
                category="order_status",
                body="Late",
                order_number="IZ-20461187",
            )
        assert not Ticket.objects.exists()
        # Through the API: a 422 with the API's error shape, not a 500.
        client = Client()
        client.force_login(buyer)
        response = client.post(
            "/api/v1/tickets",
            {"category": "order_status", "body": "Late", "order_number": "IZ-20461187"},
            content_type="application/json",
        )
        assert response.status_code == 422
        assert response.json()["code"] == "order_check_unavailable"
    finally:
        _adapter.cache_clear()


def test_through_the_http_adapter_an_order_in_free_text_is_linked(settings):
    import json
    import threading
    from http.server import BaseHTTPRequestHandler

    buyer = BuyerFactory()
    order = {
        "number": "IZ-20461187",
        "buyer_id": buyer.pk,
        "seller": {"name": "GadgetHub NG", "third_party": True},
        "status": "Delivered",
        "items": ["Tecno Camon 20"],
        "total": "NGN 185,000.00",
        "placed_at": "2026-11-10T09:30:00+01:00",
        "delivered_at": "2026-11-14T15:00:00+01:00",
        "payment": "Wallet",
    }
    paths = []

    class Marketplace(BaseHTTPRequestHandler):
        def do_GET(self):
            paths.append(self.path)
            known = {f"/customers/{buyer.pk}/orders/IZ-20461187", "/orders/IZ-20461187"}
            body = json.dumps(order).encode() if self.path in known else b"{}"
            self.send_response(200 if self.path in known else 404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Marketplace)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.IZONIE_MARKETPLACE_ADAPTER = "marketplace.http_adapter.HttpMarketplaceAdapter"
    settings.IZONIE_MARKETPLACE_API_URL = f"http://127.0.0.1:{server.server_address[1]}"
    _adapter.cache_clear()
    try:
        ticket = services.ticket_open(
            requester=buyer,
            channel=Channel.INSTAGRAM,
            body="Hi, I bought IZ-99999999 and IZ-20461187, the second one is faulty",
        )
        assert ticket.order_number == "IZ-20461187"
        assert paths == [
            f"/customers/{buyer.pk}/orders/IZ-99999999",
            f"/customers/{buyer.pk}/orders/IZ-20461187",
        ]
        page = _page(ticket)
        assert "paid by Wallet" in page and "GadgetHub NG (third party)" in page
    finally:
        _adapter.cache_clear()
        server.shutdown()
        server.server_close()
