"""Choosing a password by email: forgotten passwords, and customer accounts made
without one (a seller's account created when a buyer opened a dispute)."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client

from accounts.models import Role, User
from accounts.tests.factories import AgentFactory, BuyerFactory

pytestmark = pytest.mark.django_db

# The link starts with IZONIE_PUBLIC_URL (core.templatetags.izonie.public_url).
LINK = re.compile(r"https?://[^/\s]+(/accounts/password/[^/\s]+/[^/\s]+/)")


def _seller_without_password() -> User:
    seller = User(username="gadgethub.seller2", email="care@gadgethub.example", role=Role.SELLER)
    seller.set_unusable_password()
    seller.save()
    return seller


def _ask(client: Client, email: str):
    return client.post("/accounts/password/", {"email": email})


def test_a_seller_without_a_password_chooses_one_and_signs_in(client):
    seller = _seller_without_password()

    asked = _ask(client, "CARE@gadgethub.example")

    assert asked.status_code == 302 and asked["Location"] == "/accounts/password/sent/"
    [email] = mail.outbox
    assert email.to == ["care@gadgethub.example"]
    assert email.subject == "Choose your Izonie Support password"
    assert "gadgethub.seller2" in email.body
    path = LINK.search(email.body).group(1)
    form_page = client.get(path, follow=True)
    assert b"Choose a password" in form_page.content
    saved = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "Sturdy-horse-42", "new_password2": "Sturdy-horse-42"},
    )
    assert saved.status_code == 302 and saved["Location"] == "/accounts/password/done/"
    signed_in = Client().post(
        "/accounts/login/", {"username": seller.username, "password": "Sturdy-horse-42"}
    )
    assert signed_in.status_code == 302
    # The link worked once.
    assert b"This link no longer works" in client.get(path, follow=True).content


def test_unknown_addresses_and_staff_without_a_password_get_nothing_but_the_same_page(client):
    agent = AgentFactory(email="agent.sso@izonie.com")
    agent.set_unusable_password()
    agent.save()
    for address in ("nobody@example.com", "agent.sso@izonie.com"):
        asked = _ask(client, address)
        # The same answer either way, so the form does not tell who has an account.
        assert asked.status_code == 302 and asked["Location"] == "/accounts/password/sent/"
    assert mail.outbox == []


def test_a_forgotten_password_is_reset_for_a_buyer(client):
    buyer = BuyerFactory(email="chioma@example.com")
    _ask(client, "chioma@example.com")
    [email] = mail.outbox
    assert buyer.username in email.body


def test_a_tampered_link_is_refused_and_mismatched_passwords_change_nothing(client):
    seller = _seller_without_password()
    _ask(client, seller.email)
    path = LINK.search(mail.outbox[0].body).group(1)
    tampered = path[:-3] + "zzz/"
    assert b"This link no longer works" in client.get(tampered, follow=True).content
    form_page = client.get(path, follow=True)
    refused = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "Sturdy-horse-42", "new_password2": "Other-horse-43"},
    )
    assert refused.status_code == 200 and b'role="alert"' in refused.content
    seller.refresh_from_db()
    assert not seller.has_usable_password()


def test_the_sign_in_page_links_to_it(client):
    assert b'href="/accounts/password/"' in client.get("/accounts/login/").content
