"""Proving a typed-in address: codes and links emailed through a real SMTP server, what
an unverified requester never gets, and what proving the address does to the ticket."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client
from django.utils import timezone

from accounts.tests.factories import AgentFactory, BuyerFactory
from identity import services
from identity.models import EmailChallenge, Method
from marketplace.tests.factories import OrderFactory
from tickets import services as tickets
from tickets.choices import Channel, EventKind, RequesterIdentity
from tickets.exceptions import UnknownOrder
from tickets.models import Ticket
from tickets.tests.factories import TicketFactory

pytestmark = pytest.mark.django_db


def _open_unverified(email: str, *, order_number: str = "", **extra) -> Ticket:
    from accounts.services import contact_for_typed_email

    return tickets.ticket_open(
        requester=contact_for_typed_email(email=email, name="Someone"),
        channel=Channel.LIVE_CHAT,
        category="order_status",
        body="Where is my order?",
        order_number=order_number,
        **extra,
    )


def _send(ticket: Ticket, method: str, run_tasks, capture) -> EmailChallenge:
    with capture(execute=True):
        challenge = services.challenge_send(ticket=ticket, method=method)
    run_tasks()
    challenge.refresh_from_db()
    return challenge


def _code_mails(smtp_server, address: str | None = None) -> list:
    """The code emails only: a new ticket without an order number also mails the
    customer the request for one."""
    mails = smtp_server.to(address) if address else smtp_server.messages
    return [m for m in mails if "Your code is" in m.as_string()]


def _code_in(message) -> str:
    match = re.search(r"Your code is (\d{6})\.", message.get_payload())
    assert match, message.get_payload()
    return match.group(1)


def test_the_code_arrives_by_email_and_proving_it_moves_the_ticket_to_the_account(
    smtp_server, run_tasks, django_capture_on_commit_callbacks
):
    # given: a customer with an order, and someone chatting with their address
    buyer = BuyerFactory(email="ngozi@example.com")
    order = OrderFactory(buyer=buyer)
    ticket = _open_unverified("Ngozi@Example.com", order_number=order.number)
    assert ticket.requester != buyer and ticket.requester.unverified_contact
    assert ticket.requester_identity == RequesterIdentity.UNVERIFIED
    assert ticket.order_number == "" and ticket.unverified_order_number == order.number
    # when
    challenge = _send(ticket, Method.CODE, run_tasks, django_capture_on_commit_callbacks)
    [mail] = smtp_server.to("ngozi@example.com")
    code = _code_in(mail)
    assert mail["Auto-Submitted"] == "auto-generated"
    # Hashed at rest: nothing stored for the challenge contains the code.
    row = EmailChallenge.objects.filter(pk=challenge.pk).values().get()
    assert not any(code in str(value) for value in row.values())
    verified = services.code_check(ticket=ticket, code=f"{code[:3]} {code[3:]}")
    # then
    assert verified.requester == buyer
    ticket.refresh_from_db()
    assert ticket.requester == buyer
    assert ticket.requester_identity == RequesterIdentity.EMAIL_CODE
    assert ticket.requester_verified_at is not None
    assert ticket.order_number == order.number and ticket.unverified_order_number == ""
    assert ticket.parties.get(role="requester").user == buyer
    assert ticket.messages.get().author == buyer
    event = ticket.events.get(kind=EventKind.REQUESTER_VERIFIED)
    assert event.data["method"] == "email_code" and event.data["account_id"] == buyer.pk
    assert event.data["order_number"] == order.number
    # The code is spent.
    with pytest.raises(services.AlreadyVerified):
        services.code_check(ticket=ticket, code=code)


def test_wrong_expired_and_exhausted_codes_are_refused_with_clear_errors(
    smtp_server, run_tasks, django_capture_on_commit_callbacks, settings
):
    BuyerFactory(email="ada@example.com")
    ticket = _open_unverified("ada@example.com")
    with pytest.raises(services.CodeNotRequested, match="Ask for a code first"):
        services.code_check(ticket=ticket, code="123456")
    challenge = _send(ticket, Method.CODE, run_tasks, django_capture_on_commit_callbacks)
    code = _code_in(_code_mails(smtp_server, "ada@example.com")[0])
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    # Not six digits: said so, and not counted as a try.
    with pytest.raises(services.CodeMalformed, match="the 6 digits in the email"):
        services.code_check(ticket=ticket, code="12ab")
    with pytest.raises(services.CodeMalformed):
        services.code_check(ticket=ticket, code=None)
    for left in (4, 3, 2, 1):
        with pytest.raises(services.CodeWrong, match=f"{left} tr") as excinfo:
            services.code_check(ticket=ticket, code=wrong)
        assert excinfo.value.attempts_left == left
    with pytest.raises(services.CodeAttemptsExhausted, match="last try"):
        services.code_check(ticket=ticket, code=wrong)
    # Even the right code no longer works: a new one is needed.
    with pytest.raises(services.CodeAttemptsExhausted, match="Ask for a new code"):
        services.code_check(ticket=ticket, code=code)
    challenge.refresh_from_db()
    assert challenge.failed_attempts == settings.IZONIE_IDENTITY_MAX_ATTEMPTS
    # A new code, left to expire.
    _send(ticket, Method.CODE, run_tasks, django_capture_on_commit_callbacks)
    fresh = _code_in(_code_mails(smtp_server, "ada@example.com")[1])
    EmailChallenge.objects.filter(ticket=ticket).update(
        expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    with pytest.raises(services.CodeExpired, match="expired"):
        services.code_check(ticket=ticket, code=fresh)
    ticket.refresh_from_db()
    assert ticket.requester_identity == RequesterIdentity.UNVERIFIED
    assert not ticket.events.filter(kind=EventKind.REQUESTER_VERIFIED).exists()


def test_codes_sent_to_one_address_are_limited_per_hour(
    smtp_server, run_tasks, django_capture_on_commit_callbacks, settings
):
    settings.IZONIE_IDENTITY_MAX_SENDS_PER_HOUR = 2
    first, second = _open_unverified("ada@example.com"), _open_unverified("ada@example.com")
    _send(first, Method.CODE, run_tasks, django_capture_on_commit_callbacks)
    _send(second, Method.CODE, run_tasks, django_capture_on_commit_callbacks)
    with pytest.raises(services.TooManyChallenges, match="last hour"):
        services.challenge_send(ticket=first, method=Method.CODE)
    assert len(_code_mails(smtp_server, "ada@example.com")) == 2


def test_an_unverified_order_check_is_no_oracle():
    """The same answer whether the order is the typed address's, someone else's or none."""
    buyer = BuyerFactory(email="ada@example.com")
    own = OrderFactory(buyer=buyer)
    other = OrderFactory()
    answers = []
    for number in (own.number, other.number, "IZ-99999999"):
        ticket = _open_unverified("ada@example.com", order_number=number)
        answers.append((ticket.order_number, ticket.unverified_order_number == number))
    assert answers == [("", True)] * 3
    # Signed in (the account itself), someone else's order is refused as before.
    with pytest.raises(UnknownOrder):
        tickets.order_number_check(raw=other.number, customer=buyer)


def test_a_proven_address_of_someone_elses_order_links_nothing(
    smtp_server, run_tasks, django_capture_on_commit_callbacks
):
    buyer = BuyerFactory(email="ada@example.com")
    other = OrderFactory()
    ticket = _open_unverified("ada@example.com", order_number=other.number)
    _send(ticket, Method.CODE, run_tasks, django_capture_on_commit_callbacks)
    services.code_check(ticket=ticket, code=_code_in(_code_mails(smtp_server)[0]))
    ticket.refresh_from_db()
    assert ticket.requester == buyer
    assert ticket.order_number == "" and ticket.unverified_order_number == ""


def test_a_proven_staff_address_is_never_linked_to_the_staff_account(
    smtp_server, run_tasks, django_capture_on_commit_callbacks
):
    agent = AgentFactory(email="ada@izonie.com")
    ticket = _open_unverified("ada@izonie.com")
    _send(ticket, Method.CODE, run_tasks, django_capture_on_commit_callbacks)
    services.code_check(ticket=ticket, code=_code_in(_code_mails(smtp_server)[0]))
    ticket.refresh_from_db()
    assert ticket.requester != agent and ticket.requester.unverified_contact
    assert ticket.requester_identity == RequesterIdentity.EMAIL_CODE
    assert ticket.events.get(kind=EventKind.REQUESTER_VERIFIED).data["account_id"] is None


def test_the_contact_form_link_verifies_the_request(
    smtp_server, run_tasks, django_capture_on_commit_callbacks
):
    buyer = BuyerFactory(email="tayo@example.com")
    order = OrderFactory(buyer=buyer)
    client = Client()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/contact",
            {
                "name": "Tayo",
                "email": "tayo@example.com",
                "category": "returns",
                "order_number": order.number,
                "body": "Screen cracked",
            },
        )
    assert response.status_code == 302
    assert "emailed you a link" in client.get("/contact/thanks").content.decode()
    run_tasks()
    [mail] = smtp_server.to("tayo@example.com")
    url = re.search(r"http\S+/verify/\S+", mail.get_payload()).group(0)
    path = url.split("127.0.0.1:8000", 1)[1] if "127.0.0.1:8000" in url else url
    ticket = Ticket.objects.get()
    assert ticket.requester != buyer and ticket.order_number == ""
    # A tampered link is refused, clearly.
    bad = client.post(path[:-4] + "0000")
    assert bad.status_code == 400 and "not valid" in bad.content.decode()
    # Opening the link (a mail scanner does so too) verifies nothing by itself.
    page = Client().get(path)
    assert page.status_code == 200 and "Confirm it's me" in page.content.decode()
    ticket.refresh_from_db()
    assert ticket.requester_identity == RequesterIdentity.UNVERIFIED
    done = Client().post(path)
    assert done.status_code == 200 and "is now linked to your account" in done.content.decode()
    ticket.refresh_from_db()
    assert ticket.requester == buyer and ticket.requester_identity == RequesterIdentity.EMAIL_LINK
    assert ticket.order_number == order.number
    assert ticket.events.filter(kind=EventKind.REQUESTER_VERIFIED).count() == 1
    # Used once: a second visit says so and changes nothing.
    again = Client().post(path)
    assert again.status_code == 200 and "already confirmed" in again.content.decode()
    assert ticket.events.filter(kind=EventKind.REQUESTER_VERIFIED).count() == 1


def test_an_expired_link_is_refused(smtp_server, run_tasks, django_capture_on_commit_callbacks):
    ticket = _open_unverified("ada@example.com")
    challenge = _send(ticket, Method.LINK, run_tasks, django_capture_on_commit_callbacks)
    EmailChallenge.objects.filter(pk=challenge.pk).update(
        expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    token = services.challenge_link_token(challenge)
    response = Client().post(f"/verify/{challenge.pk}/{token}")
    assert response.status_code == 400 and "expired" in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.requester_identity == RequesterIdentity.UNVERIFIED


def test_the_agent_sees_email_not_verified_and_no_order_card(client):
    buyer = BuyerFactory(email="ada@example.com")
    order = OrderFactory(buyer=buyer, items=["Secret Phone 512 GB"])
    TicketFactory(requester=buyer, subject="Private earlier request", order_number=order.number)
    ticket = _open_unverified("ada@example.com", order_number=order.number)
    client.force_login(AgentFactory())
    page = client.get(f"/console/tickets/{ticket.pk}/").content.decode()
    assert "Email not verified" in page
    assert "Secret Phone" not in page and f"<h3>Order {order.number}" not in page
    assert "not looked up until the address is proven" in page
    inbox = client.get("/console/").content.decode()
    assert inbox.count("Email not verified") == 1


def test_the_chat_offline_form_files_an_unverified_request_and_emails_a_link(
    client, smtp_server, run_tasks, django_capture_on_commit_callbacks
):
    buyer = BuyerFactory(email="chidi@example.com")
    order = OrderFactory(buyer=buyer)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/chat/offline-message",
            {
                "name": "Chidi",
                "email": "chidi@example.com",
                "category": "payments",
                "order_number": order.number,
                "text": "Charged twice",
            },
            content_type="application/json",
        )
    assert response.status_code == 201 and response.json()["verify_link_sent"] is True
    ticket = Ticket.objects.get()
    assert ticket.requester != buyer and ticket.order_number == ""
    run_tasks()
    [mail] = smtp_server.to("chidi@example.com")
    path = re.search(r"/verify/\S+", mail.get_payload()).group(0)
    assert Client().post(path).status_code == 200
    ticket.refresh_from_db()
    assert ticket.requester == buyer and ticket.order_number == order.number


def test_a_code_that_cannot_be_sent_is_retried_then_marked_failed(
    settings, run_tasks, django_capture_on_commit_callbacks
):
    from core.tests.net import free_port

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 2
    settings.IZONIE_OUTBOX_MAX_ATTEMPTS = 2
    ticket = _open_unverified("ada@example.com")
    challenge = _send(ticket, Method.CODE, run_tasks, django_capture_on_commit_callbacks)
    # The first attempt failed and a retry is planned (the task is due later, not now).
    assert challenge.status == "pending" and challenge.attempts == 1
    assert challenge.last_error and challenge.next_attempt_at is not None
    assert services.challenge_deliver(challenge_id=challenge.pk) == "failed"
    challenge.refresh_from_db()
    assert challenge.status == "failed" and challenge.attempts == 2
    # A late or duplicated run does nothing more.
    assert services.challenge_deliver(challenge_id=challenge.pk) is None
