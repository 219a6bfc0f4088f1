import time

import pytest

from accounts.tests.factories import AgentFactory
from core.worker import InProcessWorker
from tickets import services
from tickets.choices import DeliveryStatus
from tickets.models import OutboundMessage
from tickets.tests.factories import TicketFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_in_process_worker_delivers_a_reply_enqueued_by_the_web_side():
    ticket = TicketFactory()
    worker = InProcessWorker()
    worker.worker.interval = 0.05
    worker.start()
    try:
        message = services.ticket_reply(ticket=ticket, author=AgentFactory(), body="On its way")
        outbound = OutboundMessage.objects.get(message=message)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            outbound.refresh_from_db()
            if outbound.status != DeliveryStatus.PENDING:
                break
            time.sleep(0.05)
    finally:
        worker.stop()
        worker.thread.join(timeout=5)
    assert outbound.status == DeliveryStatus.SENT
    assert outbound.attempts == 1
