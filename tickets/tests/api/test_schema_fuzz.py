"""Schemathesis against REST API v1's own OpenAPI document, for every operation, as an agent
(bearer token) and as a customer (browser session with its CSRF token).

The requests go in-process through Django's WSGI handler, in the test's transaction, so the
fuzzer reaches the same views, middleware and error handlers as a client does, on SQLite and
on PostgreSQL alike. What must hold for every generated request, valid or not:

- never a 5xx;
- the status code is one the operation documents, with the documented content type;
- the body validates against the documented schema for that status;
- data that breaks the schema is refused with a 4xx (never accepted as if it were valid).

Path ids are drawn either from what schemathesis generates (mostly missing tickets: the 404
path) or from real tickets the caller may or may not see, so the handlers' own code runs
beyond the lookup. Bounded and derandomised: the same requests on every run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.tests.factories import AgentFactory, ApiTokenFactory, BuyerFactory
from config.api import api
from core.tests.fuzz import fuzz_settings
from policy.loader import get_policy
from tickets.choices import TicketStatus
from tickets.tests.factories import TicketFactory

pytestmark = pytest.mark.django_db

# The live document (what /api/v1/openapi.json serves); core/tests/test_openapi_snapshot.py
# keeps docs/openapi.json equal to it.
SCHEMA = schemathesis.openapi.from_dict(api.get_openapi_schema(path_prefix="/api/v1/"))
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]

# Examples per (operation, role), positive and negative together: 14 runs of this size stay
# well under the file's 60 s budget on a busy 2-core machine.
MAX_EXAMPLES = 25

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    # Invalid input (wrong types, out-of-range ids, missing fields) must be a 4xx.
    negative_data_rejection,
    # Left out: positive_data_acceptance. Schema-valid input is rightly refused here in
    # documented ways (a category the policy does not know: 422; a ticket the caller may
    # not see: 404; a customer setting a status: 403), which that check counts as failures.
]


def _in_test_transaction(handler: WSGIHandler) -> Callable[..., Iterable[bytes]]:
    """Django's WSGI handler without the per-request connection cleanup: that cleanup would
    close the connection holding the test's transaction (Django's test Client does the same)."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        try:
            response = handler(environ, start_response)
            try:
                return [b"".join(response)]
            finally:
                response.close()
        finally:
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)

    return app


def _agent_credentials() -> dict[str, Any]:
    token = ApiTokenFactory(user=AgentFactory())
    return {"headers": {"Authorization": f"Bearer {token.key}"}}


def _customer_credentials(customer) -> dict[str, Any]:
    client = Client()
    client.force_login(customer)
    # Any well-formed secret: Django's CSRF check compares the header with the cookie.
    csrf = "f" * 32
    return {
        "headers": {"X-CSRFToken": csrf},
        "cookies": {"sessionid": client.cookies["sessionid"].value, "csrftoken": csrf},
    }


def _with_nul(value: Any) -> Any:
    # NUL inside every string: PostgreSQL refuses it in text, where SQLite stores it.
    if isinstance(value, str):
        return value[:1] + "\x00" + value[1:]
    if isinstance(value, list):
        return [_with_nul(item) for item in value]
    if isinstance(value, dict):
        return {key: _with_nul(item) for key, item in value.items()}
    return value


def _steer(
    case,
    *,
    ticket_id: int | None,
    category: str | None,
    requester_id: int | None,
    score: int | None,
    nul: bool,
):
    """Point a schema-valid request at real rows, so the handler runs past its lookups: a
    ticket that exists, a category the policy knows, a customer an agent may open for, a
    score on the policy's scale."""
    if case.meta is None or case.meta.generation.mode != GenerationMode.POSITIVE:
        return  # an invalid request stays exactly as invalid as schemathesis made it
    if nul:  # first, so the steered values below stay valid
        case.query = _with_nul(case.query)
        if isinstance(case.body, dict):
            case.body = _with_nul(case.body)
    if ticket_id is not None and "ticket_id" in (case.path_parameters or {}):
        case.path_parameters["ticket_id"] = ticket_id
    if isinstance(case.body, dict):
        if category is not None and "category" in case.body:
            case.body["category"] = category
        if requester_id is not None and "requester_id" in case.body:
            case.body["requester_id"] = requester_id
        if score is not None and "score" in case.body:
            case.body["score"] = score


@pytest.mark.parametrize("role", ["agent", "customer"])
@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: op.label)
def test_every_operation_answers_as_documented(operation, role):
    customer = BuyerFactory()
    own = TicketFactory(requester=customer)
    solved = TicketFactory(requester=customer, status=TicketStatus.RESOLVED)
    others = TicketFactory()
    credentials = _agent_credentials() if role == "agent" else _customer_credentials(customer)
    app = _in_test_transaction(WSGIHandler())
    ticket_ids = [own.pk, solved.pk, others.pk]
    categories = get_policy().category_keys

    @given(
        case=st.one_of(
            operation.as_strategy(GenerationMode.POSITIVE),
            operation.as_strategy(GenerationMode.NEGATIVE),
        ),
        ticket_id=st.sampled_from([None, *ticket_ids]),
        category=st.sampled_from([None, *categories]),
        requester_id=st.sampled_from([None, customer.pk]),
        score=st.sampled_from([None, 1, 5]),
        nul=st.booleans(),
    )
    @settings(
        fuzz_settings(max_examples=MAX_EXAMPLES),
        # The set-up above runs once per test, not per example; the data it makes is what
        # every example works on.
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    def run(case, ticket_id, category, requester_id, score, nul):
        _steer(
            case,
            ticket_id=ticket_id,
            category=category,
            requester_id=requester_id,
            score=score,
            nul=nul,
        )
        response = case.call(app=app, **credentials)
        case.validate_response(response, checks=CHECKS)

    run()
