import secrets

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models.functions import Upper
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    BUYER = "buyer", _("Buyer")
    SELLER = "seller", _("Seller")
    AGENT = "agent", _("Agent")
    SUPERVISOR = "supervisor", _("Supervisor")
    ADMIN = "admin", _("Admin")


CUSTOMER_ROLES = frozenset({Role.BUYER, Role.SELLER})
STAFF_ROLES = frozenset({Role.AGENT, Role.SUPERVISOR, Role.ADMIN})
# In one fixed order: a query names them exactly as the partial index's condition does,
# so PostgreSQL can use it.
STAFF_ROLE_LIST = sorted(str(role) for role in STAFF_ROLES)


class User(AbstractUser):
    """Everyone who signs in: customers (buyers, sellers) and the support team."""

    role = models.CharField(max_length=16, choices=Role.choices, default=Role.BUYER)
    display_name = models.CharField(max_length=150, blank=True)
    # Team keys from the policy file (e.g. "customer_care"); agents work these queues.
    teams = models.JSONField(default=list, blank=True)
    # Someone known only by an address they typed in the chat or the contact form and
    # have not proven. Their requests are filed here, apart from any account with the
    # same address, so none of that account's orders, requests or history reaches them
    # (docs/security/identity.md). Never signs in; proving the address moves the request
    # to the account.
    unverified_contact = models.BooleanField(default=False)

    class Meta:
        indexes = [
            models.Index(fields=["role"]),
            # Mail and chat find the customer by address, case-insensitively
            # (email__iexact is UPPER(email) = UPPER(%s) on PostgreSQL): without this, a
            # scan of every account for each message from a new address.
            models.Index(Upper("email"), name="accounts_user_email_upper"),
            # The inbox sorted by requester or assignee walks people in name order and
            # each one's tickets (tickets.selectors._sort_keys).
            models.Index(fields=["display_name", "username"], name="accounts_user_name_order"),
            # ... and by assignee, only the support team's names (a walk through every
            # customer's name found no tickets, and at 50,000 customers took half a second).
            models.Index(
                fields=["display_name", "username"],
                name="accounts_user_staff_name_order",
                condition=models.Q(role__in=STAFF_ROLE_LIST),
            ),
        ]

    def __str__(self) -> str:
        return self.display_name or self.get_full_name() or self.username

    @property
    def is_customer(self) -> bool:
        return self.role in CUSTOMER_ROLES

    @property
    def is_agent(self) -> bool:
        """Agents, supervisors and admins all work tickets."""
        return self.role in STAFF_ROLES

    @property
    def is_supervisor(self) -> bool:
        return self.role in {Role.SUPERVISOR, Role.ADMIN}


def _new_token_key() -> str:
    return secrets.token_urlsafe(32)


class ApiToken(models.Model):
    """A bearer token for integrations calling the REST API as ``user``."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    key = models.CharField(max_length=64, unique=True, default=_new_token_key)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"{self.name} ({self.user})"
