"""POST /tickets/create_many: up to 100 tickets in one request, answered per item."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.tests.factories import AgentFactory, BuyerFactory
from tickets.choices import Channel
from tickets.models import Ticket
from tickets.tests.api.client import API, assert_problem, client_for, post_json

pytestmark = pytest.mark.django_db

MANY = f"{API}/create_many"


def test_an_agent_logs_many_requests_and_each_bad_item_is_answered_alone():
    agent = AgentFactory(teams=["customer_care"])
    buyers = [BuyerFactory() for _ in range(3)]
    items = [
        {"requester_id": buyers[0].pk, "category": "order_status", "body": "Where is it?"},
        {"requester_id": buyers[1].pk, "category": "gardening", "body": "My roses"},
        {"requester_id": buyers[2].pk, "category": "order_status"},  # no body
        {"requester_id": 10**9, "category": "order_status", "body": "Who am I?"},
        {"category": "order_status", "body": "For whom?"},
        {
            "requester_id": buyers[2].pk,
            "category": "payments",
            "body": "Charged twice",
            "channel": "email",
            "priority": "high",
        },
    ]

    response = post_json(client_for(agent), MANY, {"tickets": items})

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["created"], body["failed"]) == (2, 4)
    results = body["results"]
    assert [r["index"] for r in results] == list(range(6))
    assert [r["status"] for r in results] == [201, 422, 422, 422, 422, 201]
    assert [r["error"]["code"] for r in results if r["error"]] == [
        "invalid_category",
        "invalid_input",
        "invalid_requester",
        "invalid_requester",
    ]
    assert "body" in results[2]["error"]["fields"]
    first, last = results[0]["ticket"], results[5]["ticket"]
    assert first["requester"]["id"] == buyers[0].pk
    assert first["assignee"] == {"id": agent.pk, "name": str(agent)}
    assert first["first_reply_due_at"] is not None
    assert (last["channel"], last["priority"], last["team"]) == ("email", "high", "payments")
    assert Ticket.objects.count() == 2


def test_a_customer_opens_tickets_for_themselves_only():
    buyer, other = BuyerFactory(), BuyerFactory()
    items = [
        {"category": "order_status", "body": "First"},
        {"category": "order_status", "body": "For someone else", "requester_id": other.pk},
        {"category": "order_status", "body": "By email", "channel": "email"},
    ]

    response = post_json(client_for(buyer), MANY, {"tickets": items})

    assert [r["status"] for r in response.json()["results"]] == [201, 403, 403]
    assert Ticket.objects.get().requester == buyer
    assert Ticket.objects.get().channel == Channel.API


def test_more_than_a_hundred_tickets_is_refused_whole():
    response = post_json(
        client_for(BuyerFactory()),
        MANY,
        {"tickets": [{"category": "order_status", "body": "x"}] * 101},
    )

    assert_problem(response, status=422, code="invalid_input", field="tickets")
    assert not Ticket.objects.exists()


def test_a_hundred_tickets_cost_what_ten_cost():
    # enough agents (30 conversations each) for every ticket to be assigned
    for _ in range(4):
        AgentFactory(teams=["customer_care"])
    client = client_for(BuyerFactory())

    def create(count: int) -> int:
        items = [{"category": "order_status", "body": f"Order {n}?"} for n in range(count)]
        with CaptureQueriesContext(connection) as captured:
            response = post_json(client, MANY, {"tickets": items})
        assert response.json()["created"] == count
        # The session's last-activity stamp is written now and then (idle timeout).
        return sum(1 for query in captured if "django_session" not in query["sql"])

    create(1)  # the team list is read once, then cached
    ten = create(10)
    assert create(100) <= ten
