"""``Idempotency-Key`` on unsafe REST requests: a retried reply is stored and mailed once
(core.idempotency, docs/api.md)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from accounts.tests.factories import AgentFactory
from core.idempotency import idempotency_purge_expired
from core.models import IdempotentRequest
from mail.intake import ingest_raw
from mail.tests.test_intake import mail
from tickets.models import Message, OutboundMessage
from tickets.tests.api.client import API, assert_problem, client_for, post_json

pytestmark = pytest.mark.django_db


def test_a_reply_posted_twice_with_one_key_is_stored_and_mailed_once(
    smtp_server, run_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        ticket = ingest_raw(raw=mail()).ticket
    run_tasks()
    smtp_server.messages.clear()
    agent = client_for(AgentFactory())
    url = f"{API}/{ticket.pk}/replies"

    with django_capture_on_commit_callbacks(execute=True):
        first = post_json(agent, url, {"body": "Refunded"}, HTTP_IDEMPOTENCY_KEY="k-1")
    with django_capture_on_commit_callbacks(execute=True):
        retry = post_json(agent, url, {"body": "Refunded"}, HTTP_IDEMPOTENCY_KEY="k-1")
    run_tasks()

    assert first.status_code == 201, first.content
    assert (retry.status_code, retry.content) == (first.status_code, first.content)
    assert retry["Idempotent-Replayed"] == "true"
    assert Message.objects.filter(ticket=ticket, body_text="Refunded").count() == 1
    assert OutboundMessage.objects.filter(message__body_text="Refunded").count() == 1
    assert len(smtp_server.messages) == 1


def test_the_same_key_with_another_body_is_refused_and_changes_nothing():
    ticket = ingest_raw(raw=mail()).ticket
    agent = client_for(AgentFactory())
    url = f"{API}/{ticket.pk}/replies"
    post_json(agent, url, {"body": "Refunded"}, HTTP_IDEMPOTENCY_KEY="k-2")

    response = post_json(agent, url, {"body": "Something else"}, HTTP_IDEMPOTENCY_KEY="k-2")

    assert_problem(response, status=422, code="idempotency_key_reused", field="Idempotency-Key")
    assert not Message.objects.filter(body_text="Something else").exists()


def test_keys_are_per_caller_and_requests_without_one_are_not_kept():
    ticket = ingest_raw(raw=mail()).ticket
    url = f"{API}/{ticket.pk}/replies"
    for _ in range(2):
        assert post_json(client_for(AgentFactory()), url, {"body": "Hi"}, HTTP_IDEMPOTENCY_KEY="k")
    assert post_json(client_for(AgentFactory()), url, {"body": "Hi"}).status_code == 201
    assert Message.objects.filter(body_text="Hi").count() == 3


def test_an_error_answer_is_replayed_too_and_an_invalid_key_is_a_400():
    agent = client_for(AgentFactory())
    first = post_json(agent, f"{API}/999999/replies", {"body": "x"}, HTTP_IDEMPOTENCY_KEY="k-4")
    again = post_json(agent, f"{API}/999999/replies", {"body": "x"}, HTTP_IDEMPOTENCY_KEY="k-4")
    assert (first.status_code, again.content) == (404, first.content)

    response = post_json(agent, f"{API}/1/replies", {"body": "x"}, HTTP_IDEMPOTENCY_KEY="k" * 300)
    assert_problem(response, status=400, code="invalid_idempotency_key")


def test_answers_expire_after_the_ttl(settings):
    ticket = ingest_raw(raw=mail()).ticket
    agent = client_for(AgentFactory())
    url = f"{API}/{ticket.pk}/replies"
    post_json(agent, url, {"body": "Once"}, HTTP_IDEMPOTENCY_KEY="k-5")
    IdempotentRequest.objects.update(
        created_at=timezone.now()
        - dt.timedelta(seconds=settings.IZONIE_IDEMPOTENCY_TTL_SECONDS + 1)
    )
    assert idempotency_purge_expired() == 1
    # The key is free again: the same request now does the work again.
    assert post_json(agent, url, {"body": "Once"}, HTTP_IDEMPOTENCY_KEY="k-5").status_code == 201
    assert Message.objects.filter(body_text="Once").count() == 2
