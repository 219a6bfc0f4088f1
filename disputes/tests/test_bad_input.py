"""Bad input: each is refused with a clear message, no 500, nothing stored twice."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.tests.factories import BuyerFactory, SellerUserFactory
from core.tests.net import free_port
from disputes import services
from disputes.exceptions import (
    DisputeAlreadyOpen,
    DisputeClosed,
    DisputeNotPossible,
    InvalidOutcome,
)
from disputes.models import Dispute, DisputeMessage, DisputeStatus, Outcome, SellerNotice
from disputes.privacy import buyer_label, redact_contacts
from disputes.tests.conftest import make_case
from tickets import services as ticket_services
from tickets.choices import Channel, TicketKind
from tickets.exceptions import EmptyMessage

pytestmark = pytest.mark.django_db


def test_a_seller_cannot_read_or_answer_another_sellers_dispute(case, client):
    dispute = services.dispute_open(ticket=case.ticket, actor=case.agent)
    url = reverse("portal:seller_dispute", args=[dispute.pk])
    client.force_login(SellerUserFactory())
    assert client.get(url).status_code == 404
    assert client.post(url, {"body": "Let me in"}).status_code == 404
    assert not DisputeMessage.objects.filter(body="Let me in").exists()
    # a dispute that does not exist looks the same
    assert client.get(reverse("portal:seller_dispute", args=[dispute.pk + 99])).status_code == 404


def test_the_seller_cannot_open_the_buyers_request(case, client):
    services.dispute_open(ticket=case.ticket, actor=case.agent)
    client.force_login(case.seller_user)
    assert client.get(reverse("portal:request", args=[case.ticket.pk])).status_code == 404


def test_buyers_and_visitors_are_kept_out_of_the_seller_portal(case, client):
    dispute = services.dispute_open(ticket=case.ticket, actor=case.agent)
    url = reverse("portal:seller_dispute", args=[dispute.pk])
    assert client.get(url).status_code == 302  # to sign in
    client.force_login(case.buyer)
    assert client.get(url).status_code == 403
    assert client.get(reverse("portal:seller_home")).status_code == 403


def test_an_empty_seller_reply_is_refused_with_a_message(case, client):
    dispute = services.dispute_open(ticket=case.ticket, actor=case.agent)
    client.force_login(case.seller_user)
    response = client.post(reverse("portal:seller_dispute", args=[dispute.pk]), {"body": "   "})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert not dispute.messages.filter(side="from_seller").exists()


def test_a_seller_cannot_answer_a_resolved_dispute(case, client):
    dispute = services.dispute_open(ticket=case.ticket, actor=case.agent)
    services.dispute_resolve(dispute=dispute, actor=case.agent, outcome="refund", reason="Faulty.")
    with pytest.raises(DisputeClosed, match="is resolved"):
        services.dispute_seller_reply(dispute=dispute, seller=case.seller_user, body="Wait!")


def test_a_dispute_is_opened_once(case):
    services.dispute_open(ticket=case.ticket, actor=case.agent)
    with pytest.raises(DisputeAlreadyOpen, match="already a dispute"):
        services.dispute_open(ticket=case.ticket, actor=case.agent)
    assert Dispute.objects.count() == 1
    assert SellerNotice.objects.count() == 1


def test_no_dispute_without_an_order_or_with_izonies_own_order(db):
    own = make_case(third_party=False)
    with pytest.raises(DisputeNotPossible, match="not a third-party seller"):
        services.dispute_open(ticket=own.ticket, actor=own.agent)
    ticket = ticket_services.ticket_open(
        requester=BuyerFactory(), channel=Channel.WEB_FORM, category="returns", body="Broken."
    )
    with pytest.raises(DisputeNotPossible, match="Link the order first"):
        services.dispute_open(ticket=ticket, actor=own.agent)
    ticket.refresh_from_db()
    assert ticket.kind == TicketKind.STANDARD
    assert not Dispute.objects.exists()


def test_marketplace_down_refuses_the_dispute_clearly(case, settings):
    from marketplace import adapters

    # The HTTP adapter pointed at a loopback port where nothing listens.
    settings.IZONIE_MARKETPLACE_ADAPTER = "marketplace.http_adapter.HttpMarketplaceAdapter"
    settings.IZONIE_MARKETPLACE_API_URL = f"http://127.0.0.1:{free_port()}/api"
    adapters._adapter.cache_clear()
    try:
        with pytest.raises(DisputeNotPossible, match="cannot be asked"):
            services.dispute_open(ticket=case.ticket, actor=case.agent)
    finally:
        adapters._adapter.cache_clear()
    assert not Dispute.objects.exists()


@pytest.mark.parametrize(
    ("outcome", "amount", "reason", "message"),
    [
        ("partial_refund", None, "Half broken.", "needs its amount"),
        ("partial_refund", "0", "Half broken.", "more than zero"),
        ("partial_refund", "-5", "Half broken.", "more than zero"),
        ("partial_refund", "abc", "Half broken.", "is not an amount"),
        ("partial_refund", "10.001", "Half broken.", "two decimals"),
        ("partial_refund", "45000", "Half broken.", "less than the order total"),
        ("refund", "100", "Faulty.", "Only a partial refund"),
        ("refund", None, "   ", "The reason is empty"),
        ("maybe", None, "Faulty.", "Choose one of"),
    ],
)
def test_bad_outcomes_are_refused(case, outcome, amount, reason, message):
    dispute = services.dispute_open(ticket=case.ticket, actor=case.agent)
    with pytest.raises((InvalidOutcome, EmptyMessage), match=message):
        services.dispute_resolve(
            dispute=dispute, actor=case.agent, outcome=outcome, amount=amount, reason=reason
        )
    dispute.refresh_from_db()
    assert dispute.status == DisputeStatus.OPEN and dispute.outcome == ""


def test_an_outcome_is_recorded_once(case):
    dispute = services.dispute_open(ticket=case.ticket, actor=case.agent)
    services.dispute_resolve(dispute=dispute, actor=case.agent, outcome="rejected", reason="Used.")
    with pytest.raises(DisputeClosed, match="already resolved"):
        services.dispute_resolve(
            dispute=dispute, actor=case.agent, outcome="refund", reason="Changed my mind."
        )
    dispute.refresh_from_db()
    assert dispute.outcome == Outcome.REJECTED
    assert case.ticket.messages.filter(body_text__contains="Our decision").count() == 1


def test_a_bad_outcome_form_shows_the_error_on_the_ticket_page(case, client):
    services.dispute_open(ticket=case.ticket, actor=case.agent)
    client.force_login(case.agent)
    response = client.post(
        reverse("console:dispute_resolve", args=[case.ticket.pk]),
        {"outcome": "partial_refund", "amount": "", "reason": "Half broken."},
    )
    assert response.status_code == 400
    assert "A partial refund needs its amount." in response.content.decode()


def test_contact_details_are_hidden_but_order_numbers_and_amounts_stay():
    text = redact_contacts(
        "Order IZ-20461187, paid NGN 45,000. Call +234 803 123 4567 or (0803) 1234567, "
        "mail a.b+c@mail.example.ng"
    )
    assert text == (
        "Order IZ-20461187, paid NGN 45,000. Call [phone number hidden] or "
        "[phone number hidden], mail [email hidden]"
    )


def test_the_seller_sees_a_first_name_or_buyer():
    assert buyer_label(BuyerFactory.build(first_name="Chioma Ada")) == "Chioma"
    assert buyer_label(BuyerFactory.build(first_name="")) == "Buyer"
    assert buyer_label(BuyerFactory.build(first_name="me@x.com")) == "Buyer"
