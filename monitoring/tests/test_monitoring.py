"""/readyz for load balancers, /metrics for Prometheus, JSON log lines when asked."""

from __future__ import annotations

import json
import logging

import pytest
from django_tasks_db.models import DBTaskResult

from monitoring.logging import JsonLinesFormatter
from tickets.tests.factories import TicketFactory

pytestmark = pytest.mark.django_db


def test_a_healthy_process_is_ready_and_says_what_it_checked(client):
    response = client.get("/readyz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert set(body["checks"]) == {
        "database",
        "migrations",
        "channel_layer",
        "task_queue",
        "mail_fetcher",
    }
    assert all(check["ok"] for check in body["checks"].values())


def test_a_task_queue_that_lags_makes_the_process_not_ready(client, settings):
    settings.IZONIE_READY_MAX_TASK_LAG_SECONDS = 0
    DBTaskResult.objects.create(
        task_path="feedback.tasks.send_rating_email",
        args_kwargs={"args": [], "kwargs": {"request_id": 0}},
        queue_name="default",
    )

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response["Retry-After"] == "10"
    body = response.json()
    assert body["status"] == "not_ready"
    assert body["checks"]["task_queue"]["ok"] is False
    assert "oldest ready task waiting" in body["checks"]["task_queue"]["detail"]


def test_a_mail_fetcher_that_never_reached_the_mailbox_is_reported(client, settings):
    settings.IZONIE_IMAP_HOST = "imap.example.com"

    body = client.get("/readyz").json()

    assert body["checks"]["mail_fetcher"] == {
        "ok": False,
        "detail": "the fetcher has not reached the mailbox yet",
    }


def test_metrics_show_open_tickets_by_status_and_request_figures(client, settings):
    settings.IZONIE_METRICS_CACHE_SECONDS = 0
    TicketFactory.create_batch(2, status="new")
    TicketFactory(status="pending")
    TicketFactory(status="resolved")

    response = client.get("/metrics", REMOTE_ADDR="127.0.0.1")

    assert response.status_code == 200
    text = response.content.decode()
    assert 'izonie_tickets{status="new"} 2.0' in text
    assert 'izonie_tickets{status="pending"} 1.0' in text
    assert 'status="resolved"' not in text
    assert 'izonie_chat_queue{measure="waiting"} 0.0' in text
    # django-prometheus' request metrics are there too.
    assert "django_http_requests_total_by_method_total" in text


def test_metrics_from_another_machine_need_the_token(client, settings):
    settings.IZONIE_METRICS_TOKEN = "s3cret-scrape-token"

    refused = client.get("/metrics", REMOTE_ADDR="203.0.113.9")
    wrong = client.get("/metrics", REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION="Bearer nope")
    allowed = client.get(
        "/metrics", REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION="Bearer s3cret-scrape-token"
    )

    assert refused.status_code == 403 and "IZONIE_METRICS_TOKEN" in refused.json()["detail"]
    assert wrong.status_code == 403
    assert allowed.status_code == 200


def test_log_records_become_one_json_object_per_line():
    record = logging.LogRecord(
        "mail.imap", logging.WARNING, __file__, 1, "mailbox %s unreachable", ("INBOX",), None
    )
    record.outage_seconds = 12

    line = JsonLinesFormatter().format(record)

    assert "\n" not in line
    parsed = json.loads(line)
    assert parsed["level"] == "WARNING" and parsed["logger"] == "mail.imap"
    assert parsed["message"] == "mailbox INBOX unreachable"
    assert parsed["outage_seconds"] == 12


@pytest.mark.django_db(transaction=True)
def test_open_chat_sockets_are_counted_while_open(settings):
    from chat.tests.conftest import Socket, run
    from monitoring.metrics import open_chat_sockets

    settings.IZONIE_METRICS_CACHE_SECONDS = 0
    before = open_chat_sockets["customer"]

    async def scenario() -> tuple[int, int]:
        customer = Socket("/ws/chat/")
        await customer.open()
        while_open = open_chat_sockets["customer"]
        await customer.close()
        return while_open, open_chat_sockets["customer"]

    while_open, after = run(scenario)

    assert (while_open, after) == (before + 1, before)
