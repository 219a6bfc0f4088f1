"""RFC 3834: no automatic message (acknowledgement, order-number or photo request,
conduct reminder, rating request, escalation notice) goes to a machine, a list, an
address nobody reads, or ourselves. One test per rule."""

import pytest

from accounts.tests.factories import AgentFactory, BuyerFactory
from feedback.models import RatingRequest
from mail.intake import ingest_raw
from mail.models import AutoAcknowledgement, InboundStatus
from mail.tests.test_intake import mail
from tickets import services
from tickets.choices import Channel, DeliveryStatus
from tickets.models import OutboundMessage, Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def deliver(smtp_server, django_capture_on_commit_callbacks, run_tasks):
    """Ingest a mail as the intake does, then run every task it queued (acknowledgement,
    photo request...) against the loopback SMTP server; returns the record."""

    def ingest(raw: bytes):
        with django_capture_on_commit_callbacks(execute=True):
            record = ingest_raw(raw=raw)
        for _ in range(2):
            with django_capture_on_commit_callbacks(execute=True):
                run_tasks()
        return record

    return ingest


def assert_kept_but_unanswered(record, smtp_server, why: str) -> None:
    assert record.status == InboundStatus.IGNORED
    assert why in record.reason
    assert not Ticket.objects.exists()
    assert smtp_server.messages == []


def test_a_person_is_acknowledged(deliver, smtp_server):
    # The baseline the rules below depart from: Auto-Submitted "no" is a person.
    record = deliver(mail(Auto_Submitted="no"))
    assert record.status == InboundStatus.PROCESSED
    assert AutoAcknowledgement.objects.count() == 1
    assert smtp_server.to("chioma@example.com")


def test_rule_null_return_path(deliver, smtp_server):
    record = deliver(mail(Return_Path="<>"))
    assert_kept_but_unanswered(record, smtp_server, "null return path")


@pytest.mark.parametrize("value", ["auto-generated", "auto-replied", "auto-notified"])
def test_rule_auto_submitted_other_than_no(deliver, smtp_server, value):
    record = deliver(mail(Auto_Submitted=value))
    assert_kept_but_unanswered(record, smtp_server, f"Auto-Submitted: {value}")


@pytest.mark.parametrize("value", ["bulk", "list", "junk"])
def test_rule_precedence_bulk_list_junk(deliver, smtp_server, value):
    record = deliver(mail(Precedence=value))
    assert_kept_but_unanswered(record, smtp_server, f"Precedence: {value}")


@pytest.mark.parametrize(
    ("header", "value", "why"),
    [
        ("List_Id", "<offers.shop.example>", "List-Id"),
        ("List_Unsubscribe", "<mailto:leave@shop.example>", "List-Unsubscribe"),
    ],
)
def test_rule_list_id_and_list_unsubscribe(deliver, smtp_server, header, value, why):
    record = deliver(mail(**{header: value}))
    assert_kept_but_unanswered(record, smtp_server, why)


def test_rule_x_auto_response_suppress(deliver, smtp_server):
    record = deliver(mail(X_Auto_Response_Suppress="All"))
    assert_kept_but_unanswered(record, smtp_server, "X-Auto-Response-Suppress")


@pytest.mark.parametrize(
    "address",
    [
        "postmaster@shop.example",
        "MAILER-DAEMON@shop.example",
        "ndr@shop.example",
        "imss@shop.example",
    ],
)
def test_rule_mail_system_senders_are_machine_mail(deliver, smtp_server, address):
    # The mail system's own senders write bounces and notices, not requests (issue 17):
    # kept for agents to read, but no ticket, so nothing automatic answers them.
    record = deliver(mail(sender=address, body="Your message could not be scanned."))
    assert_kept_but_unanswered(record, smtp_server, "mail-system sender")


@pytest.mark.parametrize(
    "address",
    [
        "no-reply@shop.example",
        "noreply@shop.example",
        "do_not_reply@shop.example",
    ],
)
def test_rule_unread_addresses_get_a_ticket_but_nothing_automatic(
    deliver, smtp_server, run_tasks, django_capture_on_commit_callbacks, address
):
    # A no-reply address may front a real shop's system: the ticket opens, a person may
    # answer, but no acknowledgement, photo request, rating request or other automatic message.
    record = deliver(mail(sender=address, body="My order 1234 arrived broken."))
    assert record.status == InboundStatus.PROCESSED
    ticket = record.ticket
    assert not AutoAcknowledgement.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_system_reply(ticket=ticket, body="Your request was escalated.")
    run_tasks()
    assert smtp_server.messages == []
    refused = OutboundMessage.objects.filter(message__ticket=ticket)
    assert {o.status for o in refused} <= {DeliveryStatus.FAILED}
    assert all("automatic messages are not sent" in o.last_error for o in refused)
    # Solving it asks for no rating; an agent's own reply still goes out.
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_reply(
            ticket=ticket, author=AgentFactory(), body="Sorted.", status="resolved"
        )
    run_tasks()
    assert not RatingRequest.objects.exists()
    assert [m["To"] for m in smtp_server.messages] == [address.lower()]


@pytest.mark.parametrize("sender", ["support@izonie.com", "support+12@izonie.com"])
def test_rule_our_own_addresses_in_mail(deliver, smtp_server, sender):
    record = deliver(mail(sender=sender))
    assert record.status == InboundStatus.IGNORED and "our own" in record.reason
    assert smtp_server.messages == []


def test_rule_our_own_address_typed_into_the_contact_form(
    smtp_server, run_tasks, django_capture_on_commit_callbacks
):
    # Nothing automatic is sent to ourselves, whatever opened the ticket: it would loop.
    own = BuyerFactory(email="support@izonie.com")
    with django_capture_on_commit_callbacks(execute=True):
        ticket = services.ticket_open(
            requester=own, channel=Channel.EMAIL, body="Hello", category="technical_support"
        )
        services.ticket_system_reply(ticket=ticket, body="We got your request.")
    run_tasks()
    assert smtp_server.messages == []
    refused = OutboundMessage.objects.filter(message__ticket=ticket, message__author=None)
    assert refused.count() >= 1  # this one, and the photo request the category asks for
    assert {o.status for o in refused} == {DeliveryStatus.FAILED}
    assert all("our own address" in o.last_error for o in refused)
