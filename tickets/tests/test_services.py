import pytest

from accounts.tests.factories import AgentFactory, BuyerFactory
from marketplace.tests.factories import OrderFactory
from tickets import services
from tickets.attachments import check_uploads
from tickets.choices import Channel, DeliveryStatus, EventKind, TicketStatus
from tickets.exceptions import InvalidCategory, InvalidOrderNumber, TicketClosed, UnknownOrder
from tickets.models import Message, OutboundMessage, TicketEvent
from tickets.tests.factories import TicketFactory

pytestmark = pytest.mark.django_db


def test_open_ticket_records_message_party_and_events(photo):
    buyer = BuyerFactory()
    order = OrderFactory(buyer=buyer)
    ticket = services.ticket_open(
        requester=buyer,
        channel=Channel.WEB_FORM,
        category="returns",
        body="The screen arrived cracked.",
        order_number=order.number.lower(),
        uploads=check_uploads([photo()]),
    )
    assert ticket.team == "customer_care"
    assert ticket.order_number == order.number
    assert ticket.subject == "The screen arrived cracked."
    message = ticket.messages.get()
    assert message.attachments.get().content_type == "image/png"
    kinds = list(TicketEvent.objects.filter(ticket=ticket).values_list("kind", flat=True))
    assert kinds == [EventKind.CREATED, EventKind.MESSAGE_IN]


def test_someone_elses_order_reads_like_an_unknown_one():
    other_order = OrderFactory()
    with pytest.raises(UnknownOrder) as excinfo:
        services.ticket_open(
            requester=BuyerFactory(),
            channel=Channel.WEB_FORM,
            category="returns",
            body="hello",
            order_number=other_order.number,
        )
    assert other_order.number in excinfo.value.message
    assert "could not find" in excinfo.value.message


def test_badly_formed_order_number_and_unknown_category_are_refused():
    buyer = BuyerFactory()
    with pytest.raises(InvalidOrderNumber):
        services.ticket_open(
            requester=buyer,
            channel=Channel.WEB_FORM,
            category="returns",
            body="hi",
            order_number="12345",
        )
    with pytest.raises(InvalidCategory):
        services.ticket_open(
            requester=buyer, channel=Channel.WEB_FORM, category="gardening", body="hi"
        )


def test_reply_goes_through_the_outbox_after_commit(django_capture_on_commit_callbacks, run_tasks):
    ticket = TicketFactory()
    agent = AgentFactory()
    with django_capture_on_commit_callbacks(execute=True):
        message = services.ticket_reply(ticket=ticket, author=agent, body="It ships today.")
    outbound = OutboundMessage.objects.get(message=message)
    assert outbound.status == DeliveryStatus.PENDING
    assert run_tasks() == 1
    outbound.refresh_from_db()
    assert outbound.status == DeliveryStatus.SENT
    ticket.refresh_from_db()
    assert ticket.assignee == agent
    assert ticket.status == TicketStatus.OPEN
    assert ticket.first_replied_at == message.created_at


def test_delivery_without_transport_fails_visibly(
    django_capture_on_commit_callbacks, run_tasks, monkeypatch
):
    from tickets import delivery

    # A channel whose app registered no transport (social/ registers TikTok's).
    monkeypatch.delitem(delivery._transports, Channel.TIKTOK, raising=False)
    ticket = TicketFactory(channel=Channel.TIKTOK)
    with django_capture_on_commit_callbacks(execute=True):
        message = services.ticket_reply(ticket=ticket, author=AgentFactory(), body="Hi")
    run_tasks()
    outbound = OutboundMessage.objects.get(message=message)
    assert outbound.status == DeliveryStatus.FAILED
    assert "no transport" in outbound.last_error
    assert ticket.events.filter(kind=EventKind.DELIVERY_FAILED).exists()


def test_reply_to_closed_ticket_is_refused(django_capture_on_commit_callbacks):
    ticket = TicketFactory(status=TicketStatus.CLOSED)
    with pytest.raises(TicketClosed), django_capture_on_commit_callbacks() as callbacks:
        services.ticket_reply(ticket=ticket, author=AgentFactory(), body="Hello")
    assert callbacks == []
    assert not OutboundMessage.objects.exists()


def test_customer_message_reopens_a_waiting_ticket():
    ticket = TicketFactory(status=TicketStatus.PENDING)
    services.ticket_customer_message(ticket=ticket, author=ticket.requester, body="Still broken")
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN
    assert ticket.message_count == 2


def test_category_change_moves_ticket_to_that_team_with_events():
    ticket = TicketFactory(category="order_status", team="customer_care")
    agent = AgentFactory()
    services.ticket_update(ticket=ticket, actor=agent, category="payments")
    ticket.refresh_from_db()
    assert (ticket.category, ticket.team) == ("payments", "payments")
    changes = {e.kind: e.data for e in ticket.events.all()}
    assert changes[EventKind.CATEGORY_CHANGED] == {"old": "order_status", "new": "payments"}
    assert changes[EventKind.TEAM_CHANGED] == {"old": "customer_care", "new": "payments"}


def test_html_is_sanitised_before_it_is_stored():
    ticket = services.ticket_open(
        requester=BuyerFactory(),
        channel=Channel.EMAIL,
        category="payments",
        body="see html",
        body_html='<p onclick="x()">Hi<script>alert(1)</script></p>',
    )
    html = Message.objects.get(ticket=ticket, direction="in").body_html
    assert "script" not in html and "onclick" not in html
    assert "<p>Hi</p>" in html


def test_transient_failures_are_retried_then_marked_failed(
    settings, django_capture_on_commit_callbacks, run_tasks
):
    from tickets import delivery

    settings.IZONIE_OUTBOX_MAX_ATTEMPTS = 3
    calls = []

    def flaky(outbound):
        calls.append(outbound.attempts)
        raise delivery.DeliveryError("connection refused")

    delivery.register_transport(Channel.API, flaky)
    try:
        ticket = TicketFactory(channel=Channel.API)
        with django_capture_on_commit_callbacks(execute=True):
            message = services.ticket_reply(ticket=ticket, author=AgentFactory(), body="Hi")
        # Each failed attempt enqueues the next one on commit.
        for _ in range(5):
            with django_capture_on_commit_callbacks(execute=True):
                ran = run_tasks()
            if not ran:
                break
        outbound = OutboundMessage.objects.get(message=message)
    finally:
        delivery.register_builtin_transports()
    assert calls == [1, 2, 3]
    assert outbound.status == DeliveryStatus.FAILED
    assert outbound.last_error == "connection refused"
    assert ticket.events.filter(kind=EventKind.DELIVERY_FAILED).count() == 1


def test_backoff_grows_exponentially_and_is_capped(settings):
    settings.IZONIE_OUTBOX_BACKOFF_SECONDS = 30
    assert [services.outbound_backoff(attempts=n).total_seconds() for n in (1, 2, 3)] == [
        30,
        60,
        120,
    ]
    assert services.outbound_backoff(attempts=30).total_seconds() == 6 * 3600


def test_a_duplicate_or_late_delivery_run_sends_once(django_capture_on_commit_callbacks):
    from tickets import delivery

    sent = []
    delivery.register_transport(Channel.API, lambda outbound: sent.append(outbound.pk))
    try:
        ticket = TicketFactory(channel=Channel.API)
        message = services.ticket_reply(ticket=ticket, author=AgentFactory(), body="Hi")
        outbound_id = message.outbound.pk
        services.outbound_attempt(outbound_id=outbound_id)
        services.outbound_attempt(outbound_id=outbound_id)
        services.outbound_attempt(outbound_id=outbound_id + 999)  # a deleted row
    finally:
        delivery.register_builtin_transports()
    assert sent == [outbound_id]
