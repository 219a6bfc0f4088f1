"""Writes to accounts: customers known only by an email address."""

from __future__ import annotations

from django.db import transaction
from django.utils.text import slugify

from accounts.models import Role, User
from core.errors import UserError


class StaffAddress(UserError):
    code = "staff_address"


def _free_username(base: str) -> str:
    username, n = base, 1
    while User.objects.filter(username=username).exists():
        n += 1
        username = f"{base}{n}"
    return username


@transaction.atomic
def customer_for_email(*, email: str, name: str) -> User:
    """The customer account with this address, or a new buyer without a password.

    For a channel that vouches for the address (a proven address, mail intake);
    a typed-in address goes to ``contact_for_typed_email`` instead.
    """
    email = email.strip().lower()
    existing = (
        User.objects.filter(email__iexact=email, unverified_contact=False).order_by("pk").first()
    )
    if existing is not None:
        if not existing.is_customer:
            # Never file a stranger's request under a support-team account.
            raise StaffAddress(
                "This address belongs to an Izonie Support account. Sign in instead, or use "
                "your customer address.",
                field="email",
            )
        return existing
    return customer_new(email=email, name=name)


def customer_new(*, email: str, name: str) -> User:
    """A new buyer without a password for an address no account has: what
    ``customer_for_email`` makes when it finds none, for a caller that has just looked
    (mail intake reads a batch's addresses in one query)."""
    email = email.strip().lower()
    base = slugify(email.split("@")[0])[:100] or "customer"
    user = User(
        username=_free_username(base),
        email=email,
        display_name=name.strip()[:150],
        role=Role.BUYER,
    )
    user.set_unusable_password()
    user.save()
    return user


@transaction.atomic
def contact_for_typed_email(*, email: str, name: str) -> User:
    """The unverified contact for an address someone typed without proving it.

    Never the account with that address (whoever typed it may not own it), and never an
    error that depends on who owns it: the answer for a customer's, a staff member's and
    an unknown address is the same. One contact per address, so the inbox groups what
    arrives from it; proving the address moves each request to the account.
    """
    email = email.strip().lower()
    existing = (
        User.objects.filter(email__iexact=email, unverified_contact=True).order_by("pk").first()
    )
    if existing is not None:
        return existing
    base = "unverified-" + (slugify(email.split("@")[0])[:80] or "contact")
    user = User(
        username=_free_username(base),
        email=email,
        display_name=name.strip()[:150],
        role=Role.BUYER,
        unverified_contact=True,
    )
    user.set_unusable_password()
    user.save()
    return user
