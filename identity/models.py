"""A requester proving the address they typed: one emailed code or link per row."""

from __future__ import annotations

import secrets

from django.db import models

from tickets.choices import DeliveryStatus
from tickets.models import Ticket


class Method(models.TextChoices):
    CODE = "code", "Six-digit code"
    LINK = "link", "Link"


def _new_salt() -> str:
    return secrets.token_hex(16)


class EmailChallenge(models.Model):
    """A code or link sent to the requester's address, and its outbox row.

    Neither the code nor the link is stored: both are HMACs of ``salt`` under the
    SECRET_KEY (identity.services), computed when the email is built and when a guess is
    checked, so a copy of this table gives no code. A new challenge for the ticket
    replaces the earlier ones (only the latest is checked).
    """

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="challenges")
    method = models.CharField(max_length=4, choices=Method.choices)
    email = models.EmailField()
    salt = models.CharField(max_length=32, default=_new_salt)
    expires_at = models.DateTimeField()
    # Wrong codes entered; at the limit the challenge is dead and a new code is needed.
    failed_attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    # Delivery, as in the other outboxes: a task sends it, retried with back-off.
    status = models.CharField(
        max_length=8, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # The latest challenge of a ticket, and how many it had within the hour.
            models.Index(fields=["ticket", "-created_at"], name="challenge_ticket_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.get_method_display()} for ticket {self.ticket_id}: {self.status}"
