"""Typed-in addresses: one unverified contact per address, found whatever its case."""

from __future__ import annotations

import pytest

from accounts.models import User
from accounts.services import contact_for_typed_email, contacts_for_typed_emails
from accounts.tests.factories import BuyerFactory

pytestmark = pytest.mark.django_db


def test_a_batch_finds_each_addresss_contact_whatever_its_case_and_makes_the_rest_once():
    ada = contact_for_typed_email(email="ada@example.com", name="Ada")
    account = BuyerFactory(email="bea@example.com")  # an account is never the contact

    got = contacts_for_typed_emails(
        [
            ("ADA@Example.COM", "Ada again"),
            ("bea@example.com", "Bea"),
            ("  Cy@Example.com ", "Cy"),
            ("cy@example.com", "Cy twice"),
            ("zoë@example.com", "Zoë"),
        ]
    )

    assert got[0] == ada
    assert got[1] != account and got[1].unverified_contact and got[1].email == "bea@example.com"
    assert got[2] == got[3] and got[2].email == "cy@example.com" and got[2].display_name == "Cy"
    assert got[4].email == "zoë@example.com"
    assert all(user.unverified_contact and user.has_usable_password() is False for user in got)
    # Saved, once each: a later start from the same addresses finds them.
    assert contacts_for_typed_emails([("cy@example.com", "Cy"), ("Zoë@example.com", "Z")]) == [
        got[2],
        got[4],
    ]
    assert User.objects.filter(unverified_contact=True).count() == 4
    assert len({user.username for user in got}) == 4
