"""One UPDATE for many rows with values of their own (core.rows_update), on both engines."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.tests.factories import AgentFactory
from core.rows_update import rows_update
from tickets.models import Ticket
from tickets.tests.factories import TicketFactory

pytestmark = pytest.mark.django_db


def test_each_row_gets_its_own_values_and_the_others_keep_theirs():
    agent = AgentFactory()
    due = timezone.now() + dt.timedelta(hours=3)
    first, second, third = (TicketFactory(order_number="", message_count=2) for _ in range(3))
    first.first_reply_due_at = due
    first.save()
    untouched = TicketFactory(message_count=7, order_number="IZ-1")
    now = timezone.now()
    with CaptureQueriesContext(connection) as queries:
        updated = rows_update(
            Ticket,
            [first.pk, second.pk, third.pk],
            same={"updated_at": now},
            added={"message_count": {first.pk: 2, second.pk: 1}},
            changed={
                "order_number": {second.pk: "IZ-00012345"},
                # None is a value of its own (cleared), not "keep".
                "first_reply_due_at": {first.pk: None, third.pk: due},
                "assignee_id": {third.pk: agent.pk},
            },
        )
    assert updated == 3
    assert len(queries.captured_queries) == 1
    rows = Ticket.objects.in_bulk([first.pk, second.pk, third.pk, untouched.pk])
    assert [rows[t.pk].message_count for t in (first, second, third, untouched)] == [4, 3, 2, 7]
    assert [rows[t.pk].order_number for t in (first, second, third, untouched)] == [
        "",
        "IZ-00012345",
        "",
        "IZ-1",
    ]
    assert rows[first.pk].first_reply_due_at is None
    assert rows[third.pk].first_reply_due_at == due
    assert rows[second.pk].first_reply_due_at is None
    assert [rows[t.pk].assignee_id for t in (first, second, third)] == [None, None, agent.pk]
    assert all(rows[t.pk].updated_at == now for t in (first, second, third))
    assert rows[untouched.pk].updated_at != now
    # The generated sort column follows the deadline the statement wrote.
    assert rows[third.pk].reply_due_at == due


def test_the_statement_does_not_grow_with_the_rows():
    tickets = [TicketFactory() for _ in range(12)]
    texts = []
    for group in (tickets[:2], tickets[2:]):
        with CaptureQueriesContext(connection) as queries:
            rows_update(
                Ticket,
                [t.pk for t in group],
                added={"message_count": {t.pk: n for n, t in enumerate(group)}},
                changed={"order_number": {group[0].pk: "IZ-00000001"}},
            )
        texts.append(queries.captured_queries[0]["sql"])
    if connection.vendor == "postgresql":
        assert texts[0] == texts[1]
    assert Ticket.objects.get(pk=tickets[2].pk).order_number == "IZ-00000001"


def test_nothing_to_write_runs_nothing():
    ticket = TicketFactory()
    with CaptureQueriesContext(connection) as queries:
        assert rows_update(Ticket, [], same={"order_number": "x"}) == 0
        assert rows_update(Ticket, [ticket.pk]) == 0
    assert queries.captured_queries == []
