"""A dispute from start to outcome: seller found through the marketplace, told by email on a
real SMTP server, answering in the seller portal, the clock, the decision told to both."""

from __future__ import annotations

import email
import email.policy
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from core.tests.net import free_port
from disputes import services
from disputes.models import Dispute, DisputeStatus, NoticeKind, Outcome, SellerNotice, Side
from disputes.tests.conftest import make_case
from sla.models import ClockStatus, SlaClock
from tickets.choices import (
    Channel,
    DeliveryStatus,
    Direction,
    EventKind,
    MessageKind,
    PartyRole,
    TicketKind,
    TicketStatus,
)

pytestmark = pytest.mark.django_db


def _text(sent) -> str:
    parsed = email.message_from_string(sent.as_string(), policy=email.policy.default)
    return parsed.get_body(("plain",)).get_content()


def test_the_whole_dispute(client, smtp_server, run_tasks, django_capture_on_commit_callbacks):
    case = make_case(channel=Channel.EMAIL)
    ticket = case.ticket

    # when: the agent turns the buyer's ticket into a dispute
    with django_capture_on_commit_callbacks(execute=True):
        dispute = services.dispute_open(ticket=ticket, actor=case.agent)
    run_tasks()

    # then: the seller resolved from the order is a party, told by email with a link
    ticket.refresh_from_db()
    assert ticket.kind == TicketKind.DISPUTE
    party = ticket.parties.get(role=PartyRole.SELLER)
    assert (party.name, party.email, party.user) == ("GadgetHub", "care@gadgethub.example", None)
    assert dispute.seller_user == case.seller_user
    [opened] = smtp_server.to("care@gadgethub.example")
    body = _text(opened)
    assert case.order.number in opened["Subject"]
    assert f"/seller/disputes/{dispute.pk}/" in body
    assert "cracked screen" in body
    # ...without the buyer's surname, address or phone number
    for private in ("Okafor", "chioma.okafor@example.com", "0803 123 4567"):
        assert private not in body
    assert "Chioma" in body
    # ...and the dispute clock runs (3 business days target, 5 to breach)
    clock = SlaClock.objects.get(ticket=ticket, target_id="dispute_resolution")
    assert clock.status == ClockStatus.RUNNING
    assert ticket.resolution_due_at == clock.due_at is not None

    # when: the seller reads the dispute and answers in the seller portal
    client.force_login(case.seller_user)
    page = client.get(reverse("portal:seller_dispute", args=[dispute.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "cracked screen" in html and "Buyer: Chioma" in html
    assert "okafor" not in html.lower() and "0803" not in html
    response = client.post(
        reverse("portal:seller_dispute", args=[dispute.pk]),
        {"body": "We can send a replacement screen within 3 days."},
    )
    assert response.status_code == 302
    # then: the agents see the answer on the ticket, the buyer does not
    answer = dispute.messages.get(side=Side.FROM_SELLER)
    assert answer.note is not None and answer.note.kind == MessageKind.NOTE
    client.force_login(case.buyer)
    buyer_page = client.get(reverse("portal:request", args=[ticket.pk])).content.decode()
    assert "replacement screen" not in buyer_page
    assert "owner@gadgethub.example" not in buyer_page
    client.force_login(case.agent)
    agent_page = client.get(reverse("console:ticket", args=[ticket.pk])).content.decode()
    assert "replacement screen" in agent_page

    # when: the agent records a partial refund with its reason
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("console:dispute_resolve", args=[ticket.pk]),
            {
                "outcome": Outcome.PARTIAL_REFUND,
                "amount": "12,500.50",
                "reason": "The screen was cracked in transit; the phone works.",
            },
        )
    assert response.status_code == 302
    run_tasks()

    # then: recorded, clock stopped, ticket resolved
    dispute.refresh_from_db()
    assert dispute.status == DisputeStatus.RESOLVED
    assert dispute.refund_amount == Decimal("12500.50")
    clock.refresh_from_db()
    assert clock.status == ClockStatus.STOPPED and clock.outcome == "met"
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.RESOLVED
    event = ticket.events.filter(kind=EventKind.RESOLVED).get()
    assert event.data["outcome"] == "partial_refund" and event.data["amount"] == "12500.50"
    # ...told to the buyer on the ticket's channel (email)...
    # (a solved request also brings the buyer the rating email; that one is separate)
    # (and the ticket's opening brought its acknowledgement)
    buyer_mail = smtp_server.to("chioma.okafor@example.com")
    [to_buyer] = [m for m in buyer_mail if "Partial refund" in _text(m)]
    assert len([m for m in buyer_mail if "/feedback/rate/" in _text(m)]) == 1
    assert "Partial refund of NGN 12,500.50" in _text(to_buyer)
    assert "cracked in transit" in _text(to_buyer)
    assert "owner@gadgethub.example" not in _text(to_buyer)
    # ...and to the seller by email and in the portal
    to_seller = smtp_server.to("care@gadgethub.example")
    outcome_mail = [m for m in to_seller if "Outcome" in m["Subject"]]
    assert len(outcome_mail) == 1 and "Partial refund of NGN 12,500.50" in _text(outcome_mail[0])
    client.force_login(case.seller_user)
    seller_page = client.get(reverse("portal:seller_dispute", args=[dispute.pk])).content.decode()
    assert "Partial refund of NGN 12,500.50" in seller_page
    assert "cracked in transit" in seller_page
    assert set(SellerNotice.objects.values_list("kind", "status")) == {
        (NoticeKind.OPENED, DeliveryStatus.SENT),
        (NoticeKind.OUTCOME, DeliveryStatus.SENT),
    }


def test_an_agent_message_reaches_the_seller_by_email_and_portal(
    case, client, smtp_server, run_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        dispute = services.dispute_open(ticket=case.ticket, actor=case.agent)
        client.force_login(case.agent)
        client.post(
            reverse("console:dispute_message", args=[case.ticket.pk]),
            {"body": "Please send photos of the packaging."},
        )
    run_tasks()
    mails = smtp_server.to("care@gadgethub.example")
    assert [("photos of the packaging" in _text(m)) for m in mails] == [False, True]
    client.force_login(case.seller_user)
    page = client.get(reverse("portal:seller_dispute", args=[dispute.pk])).content.decode()
    assert "photos of the packaging" in page


def test_the_buyer_reads_the_outcome_in_my_requests(case, client, run_tasks):
    dispute = services.dispute_open(ticket=case.ticket, actor=case.agent)
    services.dispute_resolve(
        dispute=dispute, actor=case.agent, outcome=Outcome.REPLACEMENT, reason="Stock confirmed."
    )
    client.force_login(case.buyer)
    page = client.get(reverse("portal:request", args=[case.ticket.pk])).content.decode()
    assert "Our decision on your dispute with GadgetHub" in page
    assert "Replacement" in page and "Stock confirmed." in page
    reply = case.ticket.messages.filter(direction=Direction.OUTBOUND).last()
    assert reply is not None and reply.kind == MessageKind.REPLY


def test_a_failed_seller_email_is_retried_then_shown_to_the_agent(
    case, client, settings, run_tasks, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = free_port()  # nothing listens there
    settings.EMAIL_TIMEOUT = 1
    settings.IZONIE_OUTBOX_MAX_ATTEMPTS = 2
    with django_capture_on_commit_callbacks(execute=True):
        services.dispute_open(ticket=case.ticket, actor=case.agent)
    for _ in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            run_tasks()
    notice = SellerNotice.objects.get()
    assert (notice.status, notice.attempts) == (DeliveryStatus.FAILED, 2)
    assert notice.last_error
    client.force_login(case.agent)
    page = client.get(reverse("console:ticket", args=[case.ticket.pk])).content.decode()
    assert "Retry email" in page


def test_the_console_suggests_a_dispute_for_a_third_party_order(case, client):
    client.force_login(case.agent)
    page = client.get(reverse("console:ticket", args=[case.ticket.pk])).content.decode()
    assert "Suggested:" in page and "sold by GadgetHub, a third-party seller" in page
    preview = client.post(reverse("console:dispute_preview", args=[case.ticket.pk]), {"claim": ""})
    assert preview.status_code == 200 and not Dispute.objects.exists()
    claim = preview.context["dispute_send_form"].initial["claim"]
    response = client.post(reverse("console:dispute_open", args=[case.ticket.pk]), {"claim": claim})
    assert response.status_code == 302
    assert Dispute.objects.get().ticket == case.ticket


def test_a_seller_without_an_account_here_is_told_how_to_choose_a_password(
    client, smtp_server, run_tasks, django_capture_on_commit_callbacks
):
    case = make_case()
    case.seller.user = None
    case.seller.save()
    with django_capture_on_commit_callbacks(execute=True):
        dispute = services.dispute_open(ticket=case.ticket, actor=case.agent)
    run_tasks()
    account = dispute.seller_user
    assert account is not None and account != case.seller_user
    assert not account.has_usable_password()
    [opened] = smtp_server.to("care@gadgethub.example")
    body = _text(opened)
    assert "/accounts/password/" in body and account.username in body
    # Following it: the seller gets the link at the store's address and can then sign in.
    asked = client.post("/accounts/password/", {"email": "care@gadgethub.example"})
    assert asked.status_code == 302
    received = smtp_server.to("care@gadgethub.example")
    assert len(received) == 2
    assert re.search(r"/accounts/password/[^/\s]+/[^/\s]+/", _text(received[1]))
