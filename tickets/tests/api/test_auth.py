import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import ApiToken
from accounts.tests.factories import AgentFactory, ApiTokenFactory, BuyerFactory
from tickets.models import Ticket
from tickets.tests.api.client import API, assert_problem, client_for, post_json

pytestmark = pytest.mark.django_db


def bearer(key: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def test_a_valid_token_authenticates_as_its_user():
    buyer = BuyerFactory()
    token = ApiTokenFactory(user=buyer)
    response = post_json(Client(), API, {"category": "payments", "body": "hi"}, **bearer(token.key))
    assert response.status_code == 201, response.content
    assert Ticket.objects.get().requester == buyer


@pytest.mark.parametrize("case", ["missing", "garbage", "revoked", "inactive user", "basic"])
def test_requests_without_a_usable_credential_get_401(case):
    token = ApiTokenFactory()
    headers = {
        "missing": {},
        "garbage": bearer("nonsense"),
        "revoked": bearer(token.key),
        "inactive user": bearer(token.key),
        "basic": {"HTTP_AUTHORIZATION": "Basic dXNlcjpwYXNz"},
    }[case]
    if case == "revoked":
        ApiToken.objects.filter(pk=token.pk).update(revoked=True)
    if case == "inactive user":
        token.user.is_active = False
        token.user.save()
    response = Client().get(API, **headers)
    assert_problem(response, status=401, code="unauthenticated")
    assert response["WWW-Authenticate"] == "Bearer"


def test_writes_with_a_revoked_token_get_401_not_a_csrf_error():
    token = ApiTokenFactory(revoked=True)
    client = Client(enforce_csrf_checks=True)
    for response in (
        post_json(client, API, {"category": "payments", "body": "hi"}, **bearer(token.key)),
        post_json(client, API, {"category": "payments", "body": "hi"}),
    ):
        assert_problem(response, status=401, code="unauthenticated")


def test_token_use_is_recorded_at_most_once_a_minute():
    token = ApiTokenFactory()
    client = Client()
    client.get(API, **bearer(token.key))
    token.refresh_from_db()
    first_use = token.last_used_at
    assert first_use is not None

    client.get(API, **bearer(token.key))
    token.refresh_from_db()
    assert token.last_used_at == first_use  # no write for every call

    long_ago = timezone.now() - dt.timedelta(minutes=2)
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=long_ago)
    client.get(API, **bearer(token.key))
    token.refresh_from_db()
    assert token.last_used_at > long_ago + dt.timedelta(minutes=1)


def test_token_requests_need_no_csrf_token():
    token = ApiTokenFactory(user=BuyerFactory())
    client = Client(enforce_csrf_checks=True)
    response = post_json(client, API, {"category": "payments", "body": "hi"}, **bearer(token.key))
    assert response.status_code == 201


def test_session_reads_work_and_session_writes_need_the_csrf_token():
    client = client_for(BuyerFactory(), enforce_csrf_checks=True)
    payload = {"category": "payments", "body": "hi"}
    assert client.get(API).status_code == 200
    refused = post_json(client, API, payload)
    assert_problem(refused, status=403, code="csrf_failed")
    assert not Ticket.objects.exists()
    client.get("/")  # pages set the CSRF cookie (base.html hands it to htmx)
    csrf = client.cookies["csrftoken"].value
    assert post_json(client, API, payload, HTTP_X_CSRFTOKEN=csrf).status_code == 201


def test_a_deactivated_users_session_no_longer_works():
    agent = AgentFactory()
    client = client_for(agent)
    agent.is_active = False
    agent.save()
    assert_problem(client.get(API), status=401, code="unauthenticated")
