"""Small HTTP helpers for the API tests: real requests through Django's test client."""

from __future__ import annotations

import json
from typing import Any

from django.test import Client

API = "/api/v1/tickets"


def client_for(user, **kwargs: Any) -> Client:
    client = Client(**kwargs)
    client.force_login(user)
    return client


def post_json(client: Client, url: str, data: Any, **extra: Any):
    return client.post(url, json.dumps(data), content_type="application/json", **extra)


def patch_json(client: Client, url: str, data: Any, **extra: Any):
    return client.patch(url, json.dumps(data), content_type="application/json", **extra)


def assert_problem(response, *, status: int, code: str, field: str | None = None) -> dict:
    """The response is the API's one error shape, with this status, code and field."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json; charset=utf-8"
    body = response.json()
    # Plain asserts in a helper module are not rewritten by pytest: say what came back.
    assert set(body) == {"code", "detail", "fields"}, body
    assert body["code"] == code, body
    assert body["detail"], body
    if field is not None:
        assert body["fields"].get(field), body
    return body
