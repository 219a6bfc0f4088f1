"""Writes to accounts: customers known only by an email address."""

from __future__ import annotations

from django.db import transaction
from django.utils.text import slugify

from accounts.models import Role, User
from tickets.exceptions import TicketError


class StaffAddress(TicketError):
    code = "staff_address"


@transaction.atomic
def customer_for_email(*, email: str, name: str) -> User:
    """The customer with this address, or a new buyer without a password.

    The visitor is not signed in as that customer: they only get the reference of
    the request they just opened, never the account's other requests.
    """
    email = email.strip().lower()
    existing = User.objects.filter(email__iexact=email).order_by("pk").first()
    if existing is not None:
        if not existing.is_customer:
            # Never file a stranger's request under a support-team account.
            raise StaffAddress(
                "This address belongs to an Izonie Support account. Sign in instead, or use "
                "your customer address.",
                field="email",
            )
        return existing
    base = slugify(email.split("@")[0])[:100] or "customer"
    username, n = base, 1
    while User.objects.filter(username=username).exists():
        n += 1
        username = f"{base}{n}"
    user = User(username=username, email=email, display_name=name.strip()[:150], role=Role.BUYER)
    user.set_unusable_password()
    user.save()
    return user
