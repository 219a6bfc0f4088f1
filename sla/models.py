"""SLA clocks: one row per promise being measured on a ticket.

A clock runs in segments. While it runs, ``segment_started_at`` is set and the
moments it warns, misses its target and breaches are stored (indexed) so the
console can sort by them and timer tasks can be scheduled for them. Pausing
folds the running segment into ``consumed_seconds``; resuming starts a new one.
When the clock stops, its outcome is recorded on the same row: met or breached,
and by how much, in business and calendar time.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from tickets.models import Ticket


class ClockStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    PAUSED = "paused", _("Paused")
    STOPPED = "stopped", _("Stopped")
    CANCELLED = "cancelled", _("Cancelled")


class Outcome(models.TextChoices):
    MET = "met", _("Met")
    MET_LATE = "met_late", _("Met after the target, before the breach limit")
    BREACHED = "breached", _("Breached")


class SlaClock(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="sla_clocks")
    # Response target id in the policy file ("live_chat_first_reply"...).
    target_id = models.CharField(max_length=64)
    measure = models.CharField(max_length=24)
    business = models.BooleanField(help_text="Counts business time (else calendar time).")
    # Copied from the policy when the clock starts, so a later policy change does not
    # rewrite the history of clocks already running.
    target_seconds = models.PositiveIntegerField()
    breach_seconds = models.PositiveIntegerField()
    warn_fraction = models.FloatField()
    hours_of = models.CharField(max_length=32, blank=True)

    status = models.CharField(max_length=10, choices=ClockStatus.choices)
    started_at = models.DateTimeField()
    segment_started_at = models.DateTimeField(null=True, blank=True)
    consumed_seconds = models.FloatField(default=0)

    warn_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    breach_at = models.DateTimeField(null=True, blank=True, db_index=True)
    warned_at = models.DateTimeField(null=True, blank=True)
    target_missed_at = models.DateTimeField(null=True, blank=True)
    breached_at = models.DateTimeField(null=True, blank=True)

    stopped_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, blank=True)
    # Time the promise took (business seconds for business clocks), and calendar seconds.
    elapsed_seconds = models.FloatField(null=True, blank=True)
    elapsed_calendar_seconds = models.FloatField(null=True, blank=True)
    # Positive: how far past the breach limit it ended; negative: how much margin was left.
    over_breach_seconds = models.FloatField(null=True, blank=True)

    class Meta:
        constraints = [
            # One live clock per promise per ticket; history rows may repeat (next reply).
            models.UniqueConstraint(
                fields=["ticket", "target_id"],
                condition=Q(status__in=["running", "paused"]),
                name="sla_one_live_clock_per_target",
            )
        ]
        indexes = [
            models.Index(fields=["target_id", "stopped_at"], name="sla_outcomes"),
        ]

    def __str__(self) -> str:
        return f"{self.target_id} on {self.ticket_id}: {self.status}"

    @property
    def is_live(self) -> bool:
        return self.status in (ClockStatus.RUNNING, ClockStatus.PAUSED)


class EscalationStatus(models.TextChoices):
    OPEN = "open", _("Waiting for a supervisor")
    CONTACTED = "contacted", _("Customer contacted")


class Escalation(models.Model):
    """A customer's "Escalate to a Supervisor" request and the contact that answers it."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="escalations")
    requested_by = models.ForeignKey(
        "accounts.User", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    channel = models.CharField(max_length=16)
    reason = models.TextField(blank=True)
    status = models.CharField(
        max_length=10, choices=EscalationStatus.choices, default=EscalationStatus.OPEN
    )
    created_at = models.DateTimeField(auto_now_add=True)
    contact_due_at = models.DateTimeField()
    contacted_at = models.DateTimeField(null=True, blank=True)
    contacted_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    contact_summary = models.TextField(blank=True)
    outcome = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["ticket"], condition=Q(status="open"), name="escalation_one_open"
            )
        ]
        indexes = [models.Index(fields=["status", "contact_due_at"], name="escalation_queue")]

    def __str__(self) -> str:
        return f"Escalation of {self.ticket_id} ({self.status})"
