"""Disputes between a buyer and a third-party seller, mediated by the support team.

The dispute hangs off the buyer's ticket (one-to-one). The seller is a party of the ticket
for the record, but is never linked to it by account: the seller reads and writes only
through the dispute (the seller portal), so the buyer's thread, name and contact details
stay out of the seller's sight, and the other way round.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from tickets.choices import DeliveryStatus
from tickets.models import Message, Ticket


class DisputeStatus(models.TextChoices):
    OPEN = "open", _("Open")
    RESOLVED = "resolved", _("Resolved")


class Outcome(models.TextChoices):
    REFUND = "refund", _("Full refund")
    REPLACEMENT = "replacement", _("Replacement")
    PARTIAL_REFUND = "partial_refund", _("Partial refund")
    REJECTED = "rejected", _("Claim rejected")


class Dispute(models.Model):
    ticket = models.OneToOneField(Ticket, on_delete=models.CASCADE, related_name="dispute")
    order_number = models.CharField(max_length=32)
    # The seller as the marketplace names it (``SellerInfo``), kept as it was when the
    # dispute opened so the record does not change if the store renames itself.
    seller_id = models.CharField(max_length=64)
    store_name = models.CharField(max_length=150)
    seller_email = models.EmailField()
    # The seller's portal account; the only account that may read this dispute.
    seller_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="seller_disputes",
    )
    # What the seller is shown for the buyer: a first name, or "Buyer".
    buyer_label = models.CharField(max_length=150)
    # The buyer's claim as sent to the seller (contact details removed).
    claim = models.TextField()
    status = models.CharField(
        max_length=12, choices=DisputeStatus.choices, default=DisputeStatus.OPEN
    )
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    opened_at = models.DateTimeField(auto_now_add=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, blank=True)
    # Only for a partial refund, in the order's currency.
    refund_amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, default="NGN")
    outcome_reason = models.TextField(blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["seller_user", "-opened_at"], name="dispute_seller")]
        constraints = [
            models.CheckConstraint(
                condition=Q(outcome="partial_refund", refund_amount__gt=0)
                | (~Q(outcome="partial_refund") & Q(refund_amount__isnull=True)),
                name="dispute_amount_only_for_partial_refund",
            )
        ]

    def __str__(self) -> str:
        return f"Dispute on {self.ticket_id} with {self.store_name}"

    @property
    def reference(self) -> str:
        return f"DSP-{self.pk}"

    @property
    def is_open(self) -> bool:
        return self.status == DisputeStatus.OPEN


class Side(models.TextChoices):
    TO_SELLER = "to_seller", _("Support to seller")
    FROM_SELLER = "from_seller", _("Seller to support")


class DisputeMessage(models.Model):
    """The conversation between the support team and the seller. Each is mirrored as an
    internal note on the ticket, so agents read it in the ticket's own thread."""

    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="messages")
    side = models.CharField(max_length=12, choices=Side.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    # What the seller sees as the author: "Izonie Support" for agents, the store name.
    author_label = models.CharField(max_length=150)
    body = models.TextField()
    note = models.OneToOneField(
        Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_side_display()} on {self.dispute_id}"


class NoticeKind(models.TextChoices):
    OPENED = "opened", _("Dispute opened")
    MESSAGE = "message", _("Message from support")
    OUTCOME = "outcome", _("Outcome")


class SellerNotice(models.Model):
    """An email to the seller about a dispute (the outbox): sent by a background task,
    retried with back-off, its failure shown on the ticket's dispute panel."""

    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="notices")
    kind = models.CharField(max_length=12, choices=NoticeKind.choices)
    to = models.EmailField()
    subject = models.CharField(max_length=250)
    body = models.TextField()
    status = models.CharField(
        max_length=8, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    # Fixed before the first attempt, so every retry is the same email to the seller.
    message_id = models.CharField(max_length=255, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {self.to}: {self.status}"
