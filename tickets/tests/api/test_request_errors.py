"""Requests the API cannot even read still get its JSON error shape, never a 500."""

import pytest

from accounts.tests.factories import AgentFactory, BuyerFactory
from tickets.models import Ticket
from tickets.tests.api.client import API, assert_problem, client_for, post_json
from tickets.tests.factories import TicketFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("{not json", "application/json"),
        ('["category", "body"]', "application/json"),
        ('"just a string"', "application/json"),
        ("[" * 100_000 + "]" * 100_000, "application/json"),
        ("category=payments&body=hi", "application/x-www-form-urlencoded"),
    ],
    ids=["malformed", "array", "string", "deeply-nested", "form-encoded"],
)
def test_a_body_that_is_not_a_json_object_is_a_400(body, content_type):
    response = client_for(BuyerFactory()).post(API, body, content_type=content_type)
    problem = assert_problem(response, status=400, code="invalid_json")
    assert "application/json" in problem["detail"]
    assert not Ticket.objects.exists()


def test_an_empty_body_is_reported_on_the_request():
    response = client_for(BuyerFactory()).post(API, "", content_type="application/json")
    assert_problem(response, status=422, code="invalid_input", field="request")


def test_a_non_numeric_ticket_id_is_a_422_and_a_huge_one_a_404():
    client = client_for(BuyerFactory())
    assert_problem(client.get(f"{API}/abc"), status=422, code="invalid_input", field="ticket_id")
    assert_problem(client.get(f"{API}/{10**30}"), status=404, code="not_found")
    assert_problem(client.get(f"{API}/-1"), status=404, code="not_found")


def test_a_nul_character_in_a_subject_is_dropped_not_a_500():
    # PostgreSQL text cannot hold NUL: this was a 500 there (found by the schema fuzzer).
    client = client_for(BuyerFactory())
    response = post_json(
        client, API, {"category": "technical_support", "body": "hi", "subject": "App\x00 crash"}
    )
    assert response.status_code == 201, response.content
    assert Ticket.objects.get().subject == "App crash"


@pytest.mark.parametrize("name", ["q", "category", "team"])
def test_a_nul_character_in_a_list_filter_is_no_500(name):
    ticket = TicketFactory(subject="Refund late")
    client = client_for(AgentFactory())
    response = client.get(API, {name: "\x00"})
    assert response.status_code == 200, response.content
    if name == "q":  # an empty search: everything the caller may see
        assert [t["id"] for t in response.json()["items"]] == [ticket.pk]
    response = client.get(API, {"q": "Ref\x00und"})
    assert [t["id"] for t in response.json()["items"]] == [ticket.pk]
