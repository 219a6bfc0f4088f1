"""Account forms."""

from __future__ import annotations

from collections.abc import Iterator

from django.contrib.auth.forms import PasswordResetForm

from accounts.models import CUSTOMER_ROLES, User


class SetPasswordByEmailForm(PasswordResetForm):
    """Django's password reset, also for customer accounts that have no password yet: a
    seller whose account was made when a buyer opened a dispute about their order (or a
    buyer who first wrote by email) sets one through the link sent to that address.
    Staff accounts without a usable password stay excluded, as in Django."""

    def get_users(self, email: str) -> Iterator[User]:
        # Unverified contacts are not accounts: a password would make one.
        users = User.objects.filter(email__iexact=email, is_active=True, unverified_contact=False)
        for user in users:
            if user.has_usable_password() or user.role in CUSTOMER_ROLES:
                yield user
