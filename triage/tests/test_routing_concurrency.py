"""Conversations arriving together are spread over the team, not piled on one agent."""

import threading
from collections import Counter

import pytest
from django.db import connection

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
