"""Conversations arriving together are spread over the team, not piled on one agent."""

import threading
from collections import Counter

import pytest
from django.db import connection, transaction

from accounts.tests.factories import AgentFactory, BuyerFactory
from tickets import services
from tickets.choices import Channel
from tickets.models import Ticket


@pytest.mark.django_db(transaction=True)
def test_round_robin_under_concurrent_arrivals():
    agents = [AgentFactory(teams=["customer_care"]) for _ in range(4)]
    buyers = [BuyerFactory() for _ in range(8)]
    start = threading.Barrier(len(buyers))
    errors = []

    def arrive(buyer):
        try:
            start.wait()
            services.ticket_open(
                requester=buyer, channel=Channel.WEB_FORM, category="returns", body="Broken"
            )
        except Exception as exc:  # reported below; a thread's exception is otherwise lost
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=arrive, args=(buyer,)) for buyer in buyers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    per_agent = Counter(Ticket.objects.values_list("assignee_id", flat=True))
    assert per_agent == {agent.pk: 2 for agent in agents}


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's")
def test_a_new_conversation_does_not_wait_for_another_still_being_written():
    """Round robin used to lock the team's rotation row until the ticket's transaction
    committed: at 200 agents, chat starts queued behind each other on it (docs/benchmarks.md).
    A start still inside its transaction must not hold up the next one of its team."""
    agents = [AgentFactory(teams=["customer_care"]) for _ in range(2)]
    first_open = threading.Event()
    finish_first = threading.Event()
    errors = []

    def first_arrival():
        try:
            with transaction.atomic():
                services.ticket_open(
                    requester=BuyerFactory(),
                    channel=Channel.LIVE_CHAT,
                    category="returns",
                    body="Hi",
                )
                first_open.set()
                finish_first.wait(timeout=30)
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=first_arrival)
    thread.start()
    try:
        assert first_open.wait(timeout=30)
        with transaction.atomic():
            with connection.cursor() as cursor:
                # On the old rotation row this waited for the first arrival's commit.
                cursor.execute("SET LOCAL lock_timeout = '2s'")
            second = services.ticket_open(
                requester=BuyerFactory(),
                channel=Channel.LIVE_CHAT,
                category="returns",
                body="Hello",
            )
    finally:
        finish_first.set()
        thread.join(timeout=30)
    assert errors == []
    first = Ticket.objects.exclude(pk=second.pk).get()
    assert {first.assignee_id, second.assignee_id} == {agent.pk for agent in agents}
