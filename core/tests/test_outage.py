"""While the database is unreachable every answer is a 503 with Retry-After (JSON for
the API and /healthz), never a 500 page (core.outage)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
from django.db import connection
from django.test import Client

from accounts.tests.factories import AgentFactory
from core.tests.net import free_port

pytestmark = pytest.mark.django_db(transaction=True)


@contextlib.contextmanager
def unreachable() -> Iterator[None]:
    """Point this thread's connection at nothing (a closed port; a SQLite file in a
    directory that does not exist) meanwhile."""
    saved = dict(connection.settings_dict)
    connection.close()
    if connection.vendor == "postgresql":
        connection.settings_dict.update(HOST="127.0.0.1", PORT=str(free_port()))
    else:
        connection.settings_dict["NAME"] = "/nonexistent-dir/izonie.sqlite3"
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)


@pytest.fixture
def database_unreachable():
    with unreachable():
        yield


def _client_signed_in() -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(AgentFactory())
    return client


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "/healthz"), ("get", "/api/v1/tickets"), ("post", "/api/v1/tickets/1/replies")],
)
def test_the_api_and_the_health_check_answer_503_json(database_unreachable, method, path):
    # An API token to check: authentication is the first thing that needs the database.
    client = Client(raise_request_exception=False, HTTP_AUTHORIZATION="Bearer some-token")
    if method == "get":
        response = client.get(path)
    else:
        response = client.post(path, "{}", content_type="application/json")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json()["code"] == "database_unavailable"


def test_a_signed_in_agent_gets_a_503_page_with_retry_after():
    client = _client_signed_in()  # signed in while the database is there
    with unreachable():
        response = client.get("/console/")
        reply = client.post(
            "/api/v1/tickets/1/replies",
            '{"body": "x"}',
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY="k",
        )
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "Back in a moment" in response.content.decode()
    assert reply.status_code == 503
    assert reply.json()["code"] == "database_unavailable"
    # Back again: the same page works.
    assert client.get("/healthz").status_code == 200
