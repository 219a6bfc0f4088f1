"""Requests the API cannot even read still get its JSON error shape, never a 500."""

import pytest

from accounts.tests.factories import BuyerFactory
from tickets.models import Ticket
from tickets.tests.api.client import API, assert_problem, client_for

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
