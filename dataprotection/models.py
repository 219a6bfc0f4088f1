"""The audit log of what staff did with customers' personal data."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AuditAction(models.TextChoices):
    VIEWED = "viewed", _("Viewed")
    EXPORTED = "exported", _("Exported")
    ERASED = "erased", _("Erased")
    CHANGED = "changed", _("Changed")
    RETENTION = "retention", _("Deleted by retention")


class AuditEntry(models.Model):
    """One staff action on a customer's data: who, what, whose, when.

    Rows are only ever added (the admin cannot change or delete them), and they name the
    customer by id, so an erased customer's history of requests stays accountable."""

    at = models.DateTimeField(default=timezone.now, db_index=True)
    # Null for the system itself (retention runs).
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=16, choices=AuditAction.choices)
    # The customer whose data it was, when there is one.
    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    ticket_id = models.BigIntegerField(null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [models.Index(fields=["subject", "-at"], name="audit_subject_recent")]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_id} {self.action} {self.subject_id}"
