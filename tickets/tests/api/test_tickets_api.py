import json

import pytest
from django.test import Client

from accounts.tests.factories import (
    AgentFactory,
    ApiTokenFactory,
    BuyerFactory,
    SupervisorFactory,
)
from marketplace.tests.factories import OrderFactory
from tickets.choices import Channel, EventKind, MessageKind, TicketStatus
from tickets.models import Message, Ticket
from tickets.tests.factories import TicketFactory

pytestmark = pytest.mark.django_db

API = "/api/v1/tickets"


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def post(client, url, data, **extra):
    return client.post(url, json.dumps(data), content_type="application/json", **extra)


def patch(client, url, data):
    return client.patch(url, json.dumps(data), content_type="application/json")


# --- Creating


def test_customer_opens_a_ticket_with_their_order():
    buyer = BuyerFactory()
    order = OrderFactory(buyer=buyer)
    response = post(
        client_for(buyer),
        API,
        {
            "category": "order_status",
            "body": "Where is it?",
            "order_number": order.number,
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["reference"] == f"IZS-{body['id']}"
    assert (body["channel"], body["category"], body["team"]) == (
        "api",
        "order_status",
        "customer_care",
    )
    assert body["requester"]["id"] == buyer.pk
    assert body["first_reply_due_at"] is not None


def test_agent_opens_a_ticket_for_a_customer_and_must_say_which():
    agent, buyer = AgentFactory(), BuyerFactory()
    missing = post(client_for(agent), API, {"category": "payments", "body": "Phoned in"})
    assert missing.status_code == 422
    assert missing.json()["code"] == "invalid_assignee"
    assert "requester_id" in missing.json()["fields"]
    ok = post(
        client_for(agent),
        API,
        {"category": "payments", "body": "Phoned in", "requester_id": buyer.pk},
    )
    assert ok.status_code == 201
    assert Ticket.objects.get().requester == buyer


@pytest.mark.parametrize(
    ("payload", "status", "code", "field"),
    [
        ({"body": "hi"}, 422, "invalid_input", "category"),
        ({"category": "payments"}, 422, "invalid_input", "body"),
        ({"category": "payments", "body": ""}, 422, "invalid_input", "body"),
        ({"category": "gardening", "body": "hi"}, 422, "invalid_category", "category"),
        (
            {"category": "payments", "body": "hi", "order_number": "123"},
            422,
            "invalid_order_number",
            "order_number",
        ),
        (
            {"category": "payments", "body": "hi", "order_number": "IZ-99999999"},
            422,
            "unknown_order",
            "order_number",
        ),
        (
            {"category": "payments", "body": "hi", "priority": "whenever"},
            422,
            "invalid_input",
            "priority",
        ),
        ({"category": "payments", "body": 12}, 422, "invalid_input", "body"),
        ({"category": "seller_support", "body": "payout?"}, 422, "invalid_category", "category"),
    ],
)
def test_bad_input_is_a_clear_json_error_and_creates_nothing(payload, status, code, field):
    response = post(client_for(BuyerFactory()), API, payload)
    assert response.status_code == status
    body = response.json()
    assert body["code"] == code
    assert field in body["fields"]
    assert body["detail"]
    assert not Ticket.objects.exists()


def test_malformed_json_is_a_422_not_a_500():
    response = client_for(BuyerFactory()).post(API, "{not json", content_type="application/json")
    assert response.status_code in (400, 422)
    assert response.json()["code"] in ("invalid_input", "bad_request")


def test_another_customers_order_is_reported_as_unknown():
    stranger_order = OrderFactory()
    response = post(
        client_for(BuyerFactory()),
        API,
        {
            "category": "returns",
            "body": "refund",
            "order_number": stranger_order.number,
        },
    )
    assert response.json()["code"] == "unknown_order"


def test_html_in_a_message_comes_back_as_text():
    response = post(
        client_for(BuyerFactory()),
        API,
        {
            "category": "payments",
            "body": "<script>alert('x')</script> refund please",
        },
    )
    ticket_id = response.json()["id"]
    message = Message.objects.get(ticket_id=ticket_id)
    assert message.body_text == "<script>alert('x')</script> refund please"
    assert message.body_html == ""


# --- Reading


def test_customer_sees_own_ticket_without_internal_notes():
    ticket = TicketFactory()
    agent = AgentFactory()
    post(client_for(agent), f"{API}/{ticket.pk}/notes", {"body": "VIP customer"})
    post(client_for(agent), f"{API}/{ticket.pk}/replies", {"body": "On it"})
    as_customer = client_for(ticket.requester).get(f"{API}/{ticket.pk}").json()
    assert [m["kind"] for m in as_customer["messages"]] == ["reply", "reply"]
    assert all(m["delivery"] is None for m in as_customer["messages"])
    as_agent = client_for(agent).get(f"{API}/{ticket.pk}").json()
    assert [m["kind"] for m in as_agent["messages"]] == ["reply", "note", "reply"]
    assert as_agent["messages"][2]["delivery"]["status"] == "pending"


def test_another_customers_ticket_is_404_like_a_missing_one():
    ticket = TicketFactory()
    stranger = client_for(BuyerFactory())
    for url in (f"{API}/{ticket.pk}", f"{API}/999999"):
        response = stranger.get(url)
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
    assert post(stranger, f"{API}/{ticket.pk}/replies", {"body": "hi"}).status_code == 404


def test_customers_list_only_their_own_tickets():
    mine = TicketFactory()
    TicketFactory()
    items = client_for(mine.requester).get(API).json()["items"]
    assert [item["id"] for item in items] == [mine.pk]


def test_keyset_pages_walk_every_ticket_once():
    tickets = [TicketFactory(status=TicketStatus.OPEN) for _ in range(7)]
    agent = client_for(AgentFactory())
    seen, cursor = [], None
    while True:
        url = f"{API}?limit=3&status=open" + (f"&cursor={cursor}" if cursor else "")
        page = agent.get(url).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(t.pk for t in tickets)
    assert len(seen) == len(set(seen))


def test_filters_combine():
    agent = AgentFactory()
    wanted = TicketFactory(
        category="payments",
        channel=Channel.EMAIL,
        assignee=agent,
        status=TicketStatus.OPEN,
        subject="Double charge on card",
    )
    TicketFactory(category="payments", channel=Channel.EMAIL, status=TicketStatus.OPEN)
    TicketFactory(category="returns", channel=Channel.EMAIL, assignee=agent)
    client = client_for(agent)
    by_all = client.get(f"{API}?category=payments&channel=email&assignee=me&status=open")
    assert [i["id"] for i in by_all.json()["items"]] == [wanted.pk]
    by_text = client.get(f"{API}?q=double charge")
    assert [i["id"] for i in by_text.json()["items"]] == [wanted.pk]
    by_reference = client.get(f"{API}?q=IZS-{wanted.pk}")
    assert [i["id"] for i in by_reference.json()["items"]] == [wanted.pk]
    unassigned = client.get(f"{API}?assignee=none&category=payments")
    assert wanted.pk not in [i["id"] for i in unassigned.json()["items"]]


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("cursor=not-a-cursor", "invalid_cursor"),
        ("limit=1000", "invalid_input"),
        ("limit=0", "invalid_input"),
        ("status=sleeping", "invalid_input"),
        ("assignee=somebody", "invalid_assignee"),
    ],
)
def test_bad_list_parameters_are_clear_errors(query, code):
    response = client_for(AgentFactory()).get(f"{API}?{query}")
    assert response.status_code in (400, 422)
    assert response.json()["code"] == code


# --- Changing


def test_agent_reply_and_status_change_write_events():
    ticket = TicketFactory()
    agent = AgentFactory()
    client = client_for(agent)
    reply = post(client, f"{API}/{ticket.pk}/replies", {"body": "Refunded", "status": "pending"})
    assert reply.status_code == 201
    changed = patch(
        client,
        f"{API}/{ticket.pk}",
        {"priority": "high", "category": "payments", "assignee_id": None},
    )
    assert changed.status_code == 200, changed.content
    body = changed.json()
    assert (body["status"], body["priority"], body["team"], body["assignee"]) == (
        "pending",
        "high",
        "payments",
        None,
    )
    kinds = set(ticket.events.values_list("kind", flat=True))
    assert {
        EventKind.MESSAGE_OUT,
        EventKind.STATUS_CHANGED,
        EventKind.PRIORITY_CHANGED,
        EventKind.CATEGORY_CHANGED,
        EventKind.ASSIGNED,
    } <= kinds


def test_assigning_to_a_customer_or_unknown_id_is_refused():
    ticket = TicketFactory()
    client = client_for(AgentFactory())
    for assignee_id in (ticket.requester_id, 987654):
        response = patch(client, f"{API}/{ticket.pk}", {"assignee_id": assignee_id})
        assert response.status_code == 422
        assert response.json()["code"] == "invalid_assignee"
    supervisor = SupervisorFactory()
    assert patch(client, f"{API}/{ticket.pk}", {"assignee_id": supervisor.pk}).status_code == 200


def test_reply_to_a_closed_ticket_is_409():
    ticket = TicketFactory(status=TicketStatus.CLOSED)
    response = post(client_for(AgentFactory()), f"{API}/{ticket.pk}/replies", {"body": "Hi"})
    assert response.status_code == 409
    assert response.json()["code"] == "ticket_closed"


def test_customer_writes_again_but_cannot_use_agent_actions():
    ticket = TicketFactory(status=TicketStatus.PENDING)
    client = client_for(ticket.requester)
    assert post(client, f"{API}/{ticket.pk}/replies", {"body": "Any news?"}).status_code == 201
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN
    assert post(client, f"{API}/{ticket.pk}/notes", {"body": "x"}).status_code == 403
    assert patch(client, f"{API}/{ticket.pk}", {"status": "closed"}).status_code == 403
    assert (
        post(client, f"{API}/{ticket.pk}/replies", {"body": "x", "status": "resolved"}).status_code
        == 403
    )
    assert not Message.objects.filter(kind=MessageKind.NOTE).exists()


# --- Authentication


def test_bearer_token_authenticates_and_revoked_token_does_not():
    token = ApiTokenFactory()
    ok = Client().get(API, HTTP_AUTHORIZATION=f"Bearer {token.key}")
    assert ok.status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is not None
    token.revoked = True
    token.save()
    refused = Client().get(API, HTTP_AUTHORIZATION=f"Bearer {token.key}")
    assert refused.status_code == 401
    assert refused.json()["code"] == "unauthenticated"
    assert Client().get(API, HTTP_AUTHORIZATION="Bearer nonsense").status_code == 401
    assert Client().get(API).status_code == 401


def test_session_writes_need_the_csrf_token():
    buyer = BuyerFactory()
    client = Client(enforce_csrf_checks=True)
    client.force_login(buyer)
    payload = {"category": "payments", "body": "hi"}
    assert post(client, API, payload).status_code == 403
    client.get("/")  # pages set the CSRF cookie (base.html hands it to htmx)
    token = client.cookies["csrftoken"].value
    assert post(client, API, payload, HTTP_X_CSRFTOKEN=token).status_code == 201


def test_openapi_document_is_served():
    schema = Client().get("/api/v1/openapi.json").json()
    assert {
        "/api/v1/tickets",
        "/api/v1/tickets/{ticket_id}",
        "/api/v1/tickets/{ticket_id}/replies",
    } <= set(schema["paths"])
    assert Client().get("/api/v1/docs").status_code == 200
