"""Issue 19 item 5: one-tap rating of solved requests, escalation shown as a state with
the customer's reason, the contact form's files and example order number, wording for
visitors, and labelled cells on the phone."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from accounts.tests.factories import BuyerFactory
from conftest import png_bytes
from feedback.models import Rating
from tickets.choices import TicketStatus
from tickets.tests.factories import TicketFactory

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_solved_request_is_rated_with_one_tap_on_its_page_and_changed_from_the_list():
    buyer = BuyerFactory()
    ticket = TicketFactory(requester=buyer, status=TicketStatus.RESOLVED)
    client = signed_in(buyer)
    page = client.get(f"/requests/{ticket.pk}/").content.decode()
    assert "Rate our answer" in page and f'aria-label="Rate {ticket.reference} 5 out of 5"' in page

    response = client.post(f"/requests/{ticket.pk}/rate", {"score": "4"}, follow=True)
    assert "Thank you: your rating of 4 out of 5" in response.content.decode()
    assert "You rated this 4 out of 5" in response.content.decode()
    (rating,) = Rating.objects.filter(ticket=ticket)
    assert rating.score == 4 and rating.interaction == "resolution-1"

    listing = client.get("/requests/").content.decode()
    assert "You rated this 4 out of 5" in listing
    response = client.post(
        f"/requests/{ticket.pk}/rate", {"score": "5", "next": "/requests/"}, follow=True
    )
    assert response.redirect_chain[-1][0] == "/requests/"
    assert Rating.objects.get(ticket=ticket).score == 5


def test_open_request_offers_no_rating_and_refuses_one():
    buyer = BuyerFactory()
    ticket = TicketFactory(requester=buyer, status=TicketStatus.OPEN)
    client = signed_in(buyer)
    assert "Rate our answer" not in client.get(f"/requests/{ticket.pk}/").content.decode()
    response = client.post(f"/requests/{ticket.pk}/rate", {"score": "5"}, follow=True)
    assert "can be rated once it is solved" in response.content.decode()
    assert not Rating.objects.exists()


def test_bad_score_is_said_plainly():
    buyer = BuyerFactory()
    ticket = TicketFactory(requester=buyer, status=TicketStatus.RESOLVED)
    response = signed_in(buyer).post(f"/requests/{ticket.pk}/rate", {"score": "9"}, follow=True)
    assert "9 is not a score: choose from 1 to 5." in response.content.decode()


def test_escalation_is_a_state_with_deadline_and_the_reason_in_the_thread():
    buyer = BuyerFactory()
    ticket = TicketFactory(requester=buyer)
    client = signed_in(buyer)
    client.post(f"/requests/{ticket.pk}/escalate", {"reason": "Refund promised twice"})
    page = client.get(f"/requests/{ticket.pk}/").content.decode()
    assert "<strong>Escalated:</strong> a senior team member (supervisor) will contact you by" in (
        page
    )
    assert "Your reason: “Refund promised twice”" in page  # the thread's system reply
    listing = client.get("/requests/").content.decode()
    assert '<span class="badge escalated">Escalated</span>' in listing


def test_contact_form_says_files_must_be_attached_again():
    buyer = BuyerFactory()
    photo = SimpleUploadedFile("crack.png", png_bytes(), content_type="image/png")
    response = signed_in(buyer).post("/contact", {"body": "Broken", "photos": [photo]})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Your files were not kept: attach them again before sending." in page
    assert "Attach again: crack.png." in page


def test_example_order_number_is_marked_as_an_example_and_refused_as_one():
    buyer = BuyerFactory()
    client = signed_in(buyer)
    page = client.get("/contact").content.decode()
    assert 'placeholder="e.g. IZ-12345678"' in page
    response = client.post(
        "/contact", {"category": "returns", "body": "Late", "order_number": "IZ-12345678"}
    )
    assert "IZ-12345678 is only the example we show." in response.content.decode()
    response = client.post(
        "/contact", {"category": "returns", "body": "Late", "order_number": "IZ-99999999"}
    )
    assert "We could not find order IZ-99999999 on your account." in response.content.decode()


def test_visitor_is_told_they_are_not_signed_in_and_never_about_an_account():
    page = Client().get("/contact").content.decode()
    assert "You are not signed in: we'll reply by email" in page
    assert "on this account" not in page and "on your account" not in page


def test_empty_reply_shows_its_error_at_the_form():
    buyer = BuyerFactory()
    ticket = TicketFactory(requester=buyer)
    response = signed_in(buyer).post(f"/requests/{ticket.pk}/", {"body": "  "})
    assert response.status_code == 400
    page = response.content.decode()
    assert 'action="#add-photos"' in page and "Write a message or add photos." in page


def test_my_requests_cells_are_labelled_for_the_phone():
    buyer = BuyerFactory()
    TicketFactory(requester=buyer)
    page = signed_in(buyer).get("/requests/").content.decode()
    for label in ("Category", "Status", "Opened", "Last update"):
        assert f'data-label="{label}"' in page


def test_a_buyer_picks_one_of_their_recent_orders_instead_of_typing_it():
    from marketplace.tests.factories import OrderFactory
    from tickets.models import Ticket

    buyer = BuyerFactory()
    mine = OrderFactory(buyer=buyer, number="IZ-30461187", items=["Izonie X12 Pro"])
    OrderFactory(buyer=buyer, number="IZ-30461188")
    theirs = OrderFactory(number="IZ-30461199")
    client = signed_in(buyer)

    page = client.get("/contact").content.decode()
    assert "Which of your orders is it about?" in page
    assert "IZ-30461187 · Izonie X12 Pro · Delivered" in page
    assert theirs.number not in page
    assert "Another order number" in page

    response = client.post(
        "/contact", {"category": "returns", "body": "Cracked", "order_pick": mine.number}
    )
    assert response.status_code == 302
    assert Ticket.objects.get(requester=buyer).order_number == mine.number

    # Someone else's order cannot be slipped in as a pick; picking one and typing another
    # is asked back, with every other error at once.
    response = client.post("/contact", {"category": "returns", "order_pick": theirs.number})
    body = response.content.decode()
    assert response.status_code == 400
    assert "Select a valid choice." in body and "Tell us what happened." in body
    response = client.post(
        "/contact",
        {"category": "returns", "body": "x", "order_pick": mine.number, "order_number": "IZ-1"},
    )
    assert "You chose an order above and typed another" in response.content.decode()


def test_visitors_and_sellers_get_no_order_picker():
    from accounts.tests.factories import SellerUserFactory

    assert "Which of your orders" not in Client().get("/contact").content.decode()
    seller_page = signed_in(SellerUserFactory()).get("/contact").content.decode()
    assert "Which of your orders" not in seller_page
