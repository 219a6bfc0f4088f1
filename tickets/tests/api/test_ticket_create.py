import pytest

from accounts.tests.factories import AgentFactory, BuyerFactory, SellerUserFactory
from marketplace.tests.factories import OrderFactory
from tickets.choices import Channel, Direction, EventKind, Priority
from tickets.models import Message, Ticket
from tickets.tests.api.client import API, assert_problem, client_for, post_json

pytestmark = pytest.mark.django_db


def test_customer_opens_a_ticket_about_their_order():
    # given
    buyer = BuyerFactory()
    order = OrderFactory(buyer=buyer)
    # when
    response = post_json(
        client_for(buyer),
        API,
        {
            "category": "order_status",
            "body": "Where is it?\nOrdered last week.",
            "order_number": order.number.lower(),
        },
    )
    # then
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["reference"] == f"IZS-{body['id']}"
    assert body["subject"] == "Where is it?"  # first line, since no subject was given
    assert (body["channel"], body["category"], body["team"], body["status"]) == (
        "api",
        "order_status",
        "customer_care",
        "new",
    )
    assert body["order_number"] == order.number  # normalised
    assert body["requester"]["id"] == buyer.pk
    assert body["first_reply_due_at"] is not None
    message = Message.objects.get(ticket_id=body["id"])
    assert (message.direction, message.author, message.channel) == (Direction.INBOUND, buyer, "api")


def test_agent_opens_a_ticket_for_a_customer_and_must_say_which():
    agent, buyer = AgentFactory(), BuyerFactory()
    client = client_for(agent)
    missing = post_json(client, API, {"category": "payments", "body": "Phoned in"})
    assert_problem(missing, status=422, code="invalid_requester", field="requester_id")
    ok = post_json(
        client,
        API,
        {
            "category": "payments",
            "body": "Customer forwarded this from their own mailbox",
            "requester_id": buyer.pk,
            "channel": "email",
            "priority": "high",
        },
    )
    assert ok.status_code == 201, ok.content
    ticket = Ticket.objects.get()
    assert (ticket.requester, ticket.channel, ticket.priority) == (
        buyer,
        Channel.EMAIL,
        Priority.HIGH,
    )
    assert ticket.events.get(kind=EventKind.CREATED).actor == agent


@pytest.mark.parametrize("who", ["agent", "unknown"])
def test_agent_cannot_open_a_ticket_for_a_non_customer(who):
    agent = AgentFactory()
    requester_id = AgentFactory().pk if who == "agent" else 987654
    response = post_json(
        client_for(agent), API, {"category": "payments", "body": "x", "requester_id": requester_id}
    )
    assert_problem(response, status=422, code="invalid_requester", field="requester_id")
    assert not Ticket.objects.exists()


@pytest.mark.parametrize(
    "extra",
    [{"requester_id": 1}, {"channel": "email"}, {"priority": "urgent"}],
    ids=["requester_id", "channel", "priority"],
)
def test_customers_cannot_use_agent_only_fields(extra):
    other = BuyerFactory()
    if "requester_id" in extra:
        extra = {"requester_id": other.pk}
    response = post_json(
        client_for(BuyerFactory()), API, {"category": "payments", "body": "hi", **extra}
    )
    assert_problem(response, status=403, code="forbidden")
    assert not Ticket.objects.exists()


def test_sellers_may_use_the_seller_category_and_buyers_may_not():
    payload = {"category": "seller_support", "body": "When is my payout?"}
    refused = post_json(client_for(BuyerFactory()), API, payload)
    assert_problem(refused, status=422, code="invalid_category", field="category")
    assert post_json(client_for(SellerUserFactory()), API, payload).status_code == 201


@pytest.mark.parametrize(
    ("payload", "code", "field"),
    [
        ({"body": "hi"}, "invalid_input", "category"),
        ({"category": "payments"}, "invalid_input", "body"),
        ({"category": "payments", "body": ""}, "invalid_input", "body"),
        ({"category": "payments", "body": "   \n "}, "empty_message", "body"),
        ({"category": "payments", "body": "\x00"}, "empty_message", "body"),
        ({"category": "payments", "body": 12}, "invalid_input", "body"),
        ({"category": ["payments"], "body": "hi"}, "invalid_input", "category"),
        ({"category": "payments", "body": "x" * 50_001}, "invalid_input", "body"),
        ({"category": "payments", "body": "hi", "subject": "s" * 201}, "invalid_input", "subject"),
        ({"category": "gardening", "body": "hi"}, "invalid_category", "category"),
        (
            {"category": "payments", "body": "hi", "order_number": "123"},
            "invalid_order_number",
            "order_number",
        ),
        (
            {"category": "payments", "body": "hi", "order_number": "IZ-99999999"},
            "unknown_order",
            "order_number",
        ),
        (
            {"category": "payments", "body": "hi", "priority": "whenever"},
            "invalid_input",
            "priority",
        ),
        ({"category": "payments", "body": "hi", "channel": "fax"}, "invalid_input", "channel"),
        (
            {"category": "payments", "body": "hi", "requester_id": 10**30},
            "invalid_input",
            "requester_id",
        ),
        (
            {"category": "payments", "body": "hi", "requester_id": "abc"},
            "invalid_input",
            "requester_id",
        ),
    ],
)
def test_bad_input_is_a_json_error_naming_the_field_and_creates_nothing(payload, code, field):
    response = post_json(client_for(BuyerFactory()), API, payload)
    assert_problem(response, status=422, code=code, field=field)
    assert not Ticket.objects.exists()


def test_another_customers_order_is_reported_like_a_missing_one():
    stranger_order = OrderFactory()
    response = post_json(
        client_for(BuyerFactory()),
        API,
        {"category": "returns", "body": "refund", "order_number": stranger_order.number},
    )
    assert_problem(response, status=422, code="unknown_order", field="order_number")


def test_html_and_script_in_a_message_are_kept_and_returned_as_plain_text():
    buyer = BuyerFactory()
    client = client_for(buyer)
    text = "<script>alert('x')</script><b onclick=\"steal()\">refund</b> please"
    created = post_json(client, API, {"category": "payments", "body": text})
    assert created.status_code == 201
    detail = client.get(f"{API}/{created.json()['id']}")
    assert detail["Content-Type"].startswith("application/json")
    message = detail.json()["messages"][0]  # then the request for an order number
    assert message["body_text"] == text  # exactly as typed, for clients to escape
    assert message["body_html"] == ""  # only sanitised HTML from email ever goes here
