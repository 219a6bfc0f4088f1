"""Writes to accounts: customers known only by an email address."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Upper
from django.utils.text import slugify

from accounts.models import Role, User
from core.errors import UserError
from core.rows_insert import rows_insert
from core.rows_select import Select


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


def _customer_base(email: str) -> str:
    return slugify(email.split("@")[0])[:100] or "customer"


def customer_new(*, email: str, name: str) -> User:
    """A new buyer without a password for an address no account has: what
    ``customer_for_email`` makes when it finds none, for a caller that has just looked."""
    email = email.strip().lower()
    user = User(
        username=_free_username(_customer_base(email)),
        email=email,
        display_name=name.strip()[:150],
        role=Role.BUYER,
    )
    user.set_unusable_password()
    user.save()
    return user


def customer_unsaved(*, email: str, name: str) -> User:
    """The buyer ``customer_new`` would make, not saved yet and without its user name:
    ``customers_save`` saves a batch of them together (mail intake reads a batch's
    addresses in one query and makes the new customers of a round in one INSERT)."""
    user = User(email=email.strip().lower(), display_name=name.strip()[:150], role=Role.BUYER)
    user.set_unusable_password()
    return user


def customers_save(users: list[User]) -> None:
    """Save new buyers from ``customer_unsaved``, in order, each with the user name
    ``customer_new`` would have given it one after another (its address's, else the
    first free of name2, name3...): one query for the names taken, one INSERT. A buyer
    has no team, so no team list is forgotten (``workload``'s post_save receiver)."""
    if not users:
        return
    bases = [_customer_base(user.email) for user in users]
    starts = Q()
    for base in set(bases):
        starts |= Q(username__startswith=base)
    taken = set(User.objects.filter(starts).values_list("username", flat=True))
    for user, base in zip(users, bases, strict=True):
        username, n = base, 1
        while username in taken:
            n += 1
            username = f"{base}{n}"
        taken.add(username)
        user.username = username
    User.objects.bulk_create(users)


# Compiled once (core.rows_select): every chat start from a typed-in address reads it.
_CONTACTS = Select(
    lambda emails: (
        User.objects.alias(email_upper=Upper("email"))
        .filter(email_upper__any=emails, unverified_contact=True)
        .order_by("-pk")
    )
)


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


def contacts_for_typed_emails(pairs: list[tuple[str, str]]) -> list[User]:
    """``contact_for_typed_email`` for a batch of (email, name), in order: one query for
    the contacts that exist, one for the user names taken, one INSERT for the new
    contacts (an address twice in the batch gets one contact). Addresses that are not
    plain ASCII go one by one (the database's upper case of them may not be Python's).

    No transaction of its own: each statement is atomic alone, and one around them
    would not stop two starts at once from picking the same free user name (the
    INSERT's unique user name refuses the second either way). A returning visitor's
    chat start is one SELECT here, a new one's three."""
    wanted = [(email.strip().lower(), name) for email, name in pairs]
    plain = {email for email, _name in wanted if email.isascii()}
    found: dict[str, User] = {}
    if plain:
        for contact in _CONTACTS(emails=[email.upper() for email in plain]):
            # The oldest contact of an address wins, as one by one.
            found[contact.email.lower()] = contact
    new: dict[str, User] = {}
    bases = {
        email: "unverified-" + (slugify(email.split("@")[0])[:80] or "contact")
        for email in plain
        if email not in found
    }
    if bases:
        starts = Q()
        for base in set(bases.values()):
            starts |= Q(username__startswith=base)
        taken = set(User.objects.filter(starts).values_list("username", flat=True))
        for email, name in wanted:
            if email not in bases or email in new:
                continue
            base = username = bases[email]
            n = 1
            while username in taken:
                n += 1
                username = f"{base}{n}"
            taken.add(username)
            user = User(
                username=username,
                email=email,
                display_name=name.strip()[:150],
                role=Role.BUYER,
                unverified_contact=True,
            )
            user.set_unusable_password()
            new[email] = user
        rows_insert(list(new.values()))
    return [
        found.get(email) or new.get(email) or contact_for_typed_email(email=email, name=name)
        for email, name in wanted
    ]
