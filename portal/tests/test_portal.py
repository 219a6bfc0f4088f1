import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from accounts.tests.factories import AgentFactory, BuyerFactory, SellerUserFactory
from conftest import png_bytes
from marketplace.tests.factories import OrderFactory
from policy.loader import get_policy
from sla.models import Escalation
from tickets import services
from tickets.attachments import check_uploads
from tickets.choices import Channel, TicketStatus
from tickets.models import Attachment, Ticket
from tickets.tests.factories import TicketFactory

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def photo(name="crack.png", content=None):
    return SimpleUploadedFile(
        name, content if content is not None else png_bytes(), content_type="image/png"
    )


def test_customer_opens_a_request_with_photo_and_sees_it():
    buyer = BuyerFactory()
    order = OrderFactory(buyer=buyer)
    client = signed_in(buyer)
    response = client.post(
        "/contact",
        {
            "category": "returns",
            "body": "Screen cracked on arrival",
            "order_number": order.number,
            "photos": [photo()],
        },
    )
    ticket = Ticket.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/requests/{ticket.pk}/"
    assert ticket.messages.get().attachments.count() == 1
    page = client.get(f"/requests/{ticket.pk}/").content.decode()
    assert "Screen cracked on arrival" in page
    assert "We'll reply by" in page
    attachment = Attachment.objects.get()
    served = client.get(f"/attachments/{attachment.pk}/")
    assert served.status_code == 200 and served["Content-Type"] == "image/png"
    listing = client.get("/requests/").content.decode()
    assert ticket.reference in listing


@pytest.mark.parametrize(
    ("data", "field_error"),
    [
        ({"body": "hi"}, "Choose what your request is about."),
        (
            {"category": "returns", "body": "hi", "order_number": "12345"},
            "is not an Izonie order number",
        ),
        (
            {"category": "returns", "body": "hi", "order_number": "IZ-99999999"},
            "We could not find order IZ-99999999",
        ),
        ({"category": "returns", "body": ""}, "Tell us what happened."),
    ],
)
def test_contact_form_errors_are_shown_and_nothing_is_created(data, field_error):
    response = signed_in(BuyerFactory()).post("/contact", data)
    assert response.status_code == 400
    assert field_error in response.content.decode()
    assert not Ticket.objects.exists()


def test_oversized_and_disguised_files_are_refused():
    client = signed_in(BuyerFactory())
    limit = get_policy().attachments.max_bytes
    big = photo("huge.png", png_bytes() + b"\0" * (limit + 1))
    response = client.post("/contact", {"category": "payments", "body": "hi", "photos": [big]})
    assert "the limit is" in response.content.decode()
    assert _field_error(response, "photos", "the limit is 10.0\xa0MB per file")
    script = SimpleUploadedFile("photo.jpg", b"#!/bin/sh\nrm -rf /\n", content_type="image/jpeg")
    response = client.post("/contact", {"category": "payments", "body": "hi", "photos": [script]})
    assert _field_error(response, "photos", "photo.jpg is not a photo or PDF we accept")
    assert not Ticket.objects.exists()
    assert not Attachment.objects.exists()


def _field_error(response, field: str, text: str) -> bool:
    """The error is rendered in the list tied to the field (its aria-describedby target)."""
    page = response.content.decode()
    start = page.find(f'<ul class="errorlist" id="id_{field}_error">')
    return start >= 0 and text in page[start : page.find("</ul>", start)]


def test_contact_form_shows_policy_hints():
    page = signed_in(BuyerFactory()).get("/contact").content.decode()
    assert (
        "looks like IZ-12345678 (an example, not your order). "
        "We need it for Order Status, Payments, Returns."
    ) in page
    assert 'value="returns" id="id_category_3" required data-needs-order="true"' in page
    assert 'value="technical_support" id="id_category_2" required data-asks-photos' in page
    assert page.count("order number needed</span>") == 3
    assert "Up to 5 files, 10.0\xa0MB each (JPEG, PNG, GIF, WEBP, HEIC, PDF)." in page
    assert 'accept="image/jpeg,image/png,image/gif,image/webp,image/heic,application/pdf"' in page
    assert "Order Status: Tracking, delays, delivery issues" in page


def test_order_number_is_hinted_not_required():
    buyer = BuyerFactory()
    response = signed_in(buyer).post("/contact", {"category": "returns", "body": "Broken"})
    assert response.status_code == 302
    assert Ticket.objects.get().order_number == ""


def test_my_requests_lists_own_requests_newest_first_with_pages():
    buyer = BuyerFactory()
    client = signed_in(buyer)
    empty = client.get("/requests/").content.decode()
    assert "You have no requests yet" in empty and 'href="/contact"' in empty
    older = TicketFactory(requester=buyer, subject="Older one")
    newer = TicketFactory(requester=buyer, subject="Newer one")
    TicketFactory(subject="Someone else's")
    page = client.get("/requests/").content.decode()
    assert page.index("Newer one") < page.index("Older one")
    assert "Someone else" not in page
    assert f'class="badge {newer.status}"' in page and older.reference in page
    for n in range(20):
        TicketFactory(requester=buyer, subject=f"Bulk {n}")
    first = client.get("/requests/").content.decode()
    assert "Page 1 of 2" in first and 'rel="next" href="?page=2"' in first
    assert "Older one" in client.get("/requests/?page=2").content.decode()


def test_someone_elses_order_number_is_not_revealed():
    other = OrderFactory()
    response = signed_in(BuyerFactory()).post(
        "/contact", {"category": "returns", "body": "hi", "order_number": other.number}
    )
    assert "We could not find order" in response.content.decode()


def test_script_in_a_message_is_shown_escaped():
    buyer = BuyerFactory()
    client = signed_in(buyer)
    client.post("/contact", {"category": "payments", "body": "<script>alert(1)</script>"})
    ticket = Ticket.objects.get()
    page = client.get(f"/requests/{ticket.pk}/").content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_anonymous_visitor_gets_a_reference_but_not_the_accounts_history():
    existing = BuyerFactory(email="ngozi@example.com")
    earlier = TicketFactory(requester=existing, subject="Private earlier request")
    client = Client()
    response = client.post(
        "/contact",
        {
            "name": "Ngozi",
            "email": "NGOZI@example.com",
            "category": "order_status",
            "body": "Where is it?",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/contact/thanks"
    ticket = Ticket.objects.exclude(pk=earlier.pk).get()
    # Filed under an unverified contact for the address, not under the account.
    assert ticket.requester != existing and ticket.requester.unverified_contact
    assert ticket.requester.email == "ngozi@example.com" and not ticket.requester_verified
    assert ticket.reference in client.get("/contact/thanks").content.decode()
    assert client.get(f"/requests/{earlier.pk}/").status_code == 302  # sign in first
    new = Client().post(
        "/contact",
        {"name": "Tayo", "email": "tayo@example.com", "category": "payments", "body": "Refund?"},
    )
    assert new.status_code == 302
    tayo = Ticket.objects.get(requester__email="tayo@example.com").requester
    assert not tayo.has_usable_password()


def test_anonymous_contact_needs_name_and_email():
    response = Client().post("/contact", {"category": "payments", "body": "hi"})
    assert response.status_code == 400
    assert not Ticket.objects.exists()


def test_seller_support_is_offered_to_sellers_only():
    assert "Seller Support" not in signed_in(BuyerFactory()).get("/contact").content.decode()
    assert "Seller Support" in signed_in(SellerUserFactory()).get("/contact").content.decode()


def test_another_customers_request_and_attachment_are_404():
    ticket = TicketFactory()
    services.ticket_customer_message(
        ticket=ticket, author=ticket.requester, body="pic", uploads=check_uploads([photo()])
    )
    attachment = Attachment.objects.get()
    stranger = signed_in(BuyerFactory())
    assert stranger.get(f"/requests/{ticket.pk}/").status_code == 404
    assert stranger.get(f"/attachments/{attachment.pk}/").status_code == 404
    assert Client().get(f"/attachments/{attachment.pk}/").status_code == 403


def test_internal_notes_stay_internal():
    ticket = TicketFactory()
    services.ticket_add_note(ticket=ticket, author=AgentFactory(), body="Customer is a VIP")
    page = signed_in(ticket.requester).get(f"/requests/{ticket.pk}/").content.decode()
    assert "VIP" not in page


def test_reply_on_a_closed_request_is_refused_with_a_message():
    ticket = TicketFactory(status=TicketStatus.CLOSED)
    client = signed_in(ticket.requester)
    page = client.get(f"/requests/{ticket.pk}/").content.decode()
    assert "This request is closed" in page
    response = client.post(f"/requests/{ticket.pk}/", {"body": "Hello?"})
    assert response.status_code == 400
    assert "is closed" in response.content.decode()
    assert ticket.messages.count() == 1


def test_escalate_button_escalates_once():
    ticket = TicketFactory(channel=Channel.WEB_FORM)
    client = signed_in(ticket.requester)
    client.post(f"/requests/{ticket.pk}/escalate", {"reason": "No answer"})
    client.post(f"/requests/{ticket.pk}/escalate", {"reason": "Still nothing"})
    assert Escalation.objects.filter(ticket=ticket).count() == 1
    page = client.get(f"/requests/{ticket.pk}/").content.decode()
    assert "This request is escalated" in page


def test_anonymous_request_is_never_filed_under_a_staff_account_nor_says_whose_it_is():
    from accounts.tests.factories import AgentFactory

    agent = AgentFactory(email="ada@izonie.com")
    answers = []
    for email in ("ADA@izonie.com", "nobody-here@izonie.com"):
        client = Client()
        response = client.post(
            "/contact",
            {"name": "Someone", "email": email, "category": "payments", "body": "hi"},
        )
        thanks = client.get(response["Location"]).content.decode()
        answers.append((response.status_code, response["Location"], "Support account" in thanks))
    # The same answer for a staff address as for an unknown one: the form is no oracle.
    assert answers[0] == answers[1] == (302, "/contact/thanks", False)
    assert not Ticket.objects.filter(requester=agent).exists()
    filed = Ticket.objects.filter(requester__email="ada@izonie.com").get()
    assert filed.requester_verified is False
