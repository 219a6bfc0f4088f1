"""A ticket's row lock must not hold up other transactions' rows that only refer to the
ticket. PostgreSQL checks a foreign key at commit by taking a KEY SHARE lock on the row it
points to; ``FOR UPDATE`` blocks that, ``FOR NO KEY UPDATE`` does not. With ``FOR
UPDATE`` an agent's reply (ticket locked, then its report marker written) and a worker
that had written the same marker first (its commit checking the marker's ticket) waited
for each other, and PostgreSQL broke the circle by failing one of them: the production
layout's test saw an API reply answered 503 "deadlock detected"."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, connections, transaction

from accounts.tests.factories import AgentFactory
from reports.models import DirtyTicket
from tickets import events, services
from tickets.models import Message, OutboundMessage, TicketEvent
from tickets.tests.factories import TicketFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row lock modes are PostgreSQL's"),
]


def _until_someone_waits_for_a_lock(timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_locks WHERE NOT granted AND pid <> pg_backend_pid()"
            )
            if cursor.fetchone()[0]:
                return
            time.sleep(0.02)
    raise AssertionError("the note never waited for the worker's marker")


def test_a_locked_ticket_does_not_deadlock_a_marker_written_before_it():
    ticket = TicketFactory(status="open")
    agent = AgentFactory()
    services.ticket_reply(ticket=ticket, author=agent, body="Your parcel left today.")
    outbound = OutboundMessage.objects.select_related("message__ticket").get(message__ticket=ticket)
    marked = threading.Event()
    errors: list[BaseException] = []

    def agent_adds_a_note() -> None:
        try:
            marked.wait(timeout=10)
            # locks the ticket, then marks it for the reports: waits for the worker's
            # uncommitted marker of the same ticket
            services.ticket_add_note(ticket=ticket, author=agent, body="Courier called.")
        except BaseException as exc:  # reported by the assertions below
            errors.append(exc)
        finally:
            connections.close_all()

    note = threading.Thread(target=agent_adds_a_note)
    note.start()
    try:
        with transaction.atomic():
            # the delivery worker records the reply as delivered without locking the
            # ticket: an event row pointing at it, and the ticket's report marker
            events.delivery_succeeded(outbound=outbound)
            marked.set()
            _until_someone_waits_for_a_lock()
            # the commit checks the event's ticket, which the note holds locked
    finally:
        note.join(timeout=20)
    assert not note.is_alive()
    assert errors == []
    assert Message.objects.filter(ticket=ticket, body_text="Courier called.").count() == 1
    assert TicketEvent.objects.filter(ticket=ticket, kind="delivered").count() == 1
    assert DirtyTicket.objects.filter(ticket_id=ticket.pk).count() == 1
