"""Categorisation state: classifier versions, each ticket's prediction, agents' labels."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ClassifierStatus(models.TextChoices):
    ACTIVE = "active", _("In use")
    RETIRED = "retired", _("Replaced by a newer version")
    REJECTED = "rejected", _("Rejected: scored below the version in use")


class ClassifierVersion(models.Model):
    """One trained text model. Versions only go up; at most one is active.

    The file lives in ``IZONIE_TRIAGE_MODEL_DIR``; its SHA-256 is kept here so a damaged or
    replaced file is noticed before it is unpickled, and the classifier falls back to rules.
    """

    version = models.PositiveIntegerField(unique=True)
    status = models.CharField(max_length=8, choices=ClassifierStatus.choices)
    file_name = models.CharField(max_length=100, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    trained_at = models.DateTimeField(auto_now_add=True)
    train_size = models.PositiveIntegerField()
    holdout_size = models.PositiveIntegerField()
    # Scores of this version's rules+model prediction on the held-out split it was judged on.
    holdout_accuracy = models.FloatField()
    holdout_macro_f1 = models.FloatField()
    # The version in use when this one was judged, and its score on the same split.
    compared_with = models.PositiveIntegerField(null=True, blank=True)
    compared_macro_f1 = models.FloatField(null=True, blank=True)
    # Which agents' labels it saw: their number and the latest change, so a retrain with
    # nothing new is skipped.
    labelled_examples = models.PositiveIntegerField(default=0)
    labels_changed_up_to = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["status"],
                condition=models.Q(status="active"),
                name="triage_one_active_classifier",
            )
        ]
        ordering = ["-version"]

    def __str__(self) -> str:
        return f"classifier v{self.version} ({self.status})"


class PredictionSource(models.TextChoices):
    RULES_AND_MODEL = "rules_model", _("Rules and text model")
    MODEL = "model", _("Text model")
    RULES = "rules", _("Rules only (text model unavailable)")
    NONE = "none", _("Nothing to go on")
    CUSTOMER = "customer", _("Chosen by the customer")


class TicketTriage(models.Model):
    """How a ticket that arrived without a category was categorised (or why it waits)."""

    ticket = models.OneToOneField(
        "tickets.Ticket", on_delete=models.CASCADE, related_name="triage", primary_key=True
    )
    # The best guess and its confidence, even when it was too unsure to apply.
    predicted_category = models.CharField(max_length=40, blank=True)
    confidence = models.FloatField(default=0)
    applied = models.BooleanField(default=False)
    source = models.CharField(max_length=12, choices=PredictionSource.choices)
    classifier = models.ForeignKey(
        ClassifierVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Why the text model was not used (a damaged model file, say); shown to agents.
    fallback_reason = models.CharField(max_length=300, blank=True)
    predicted_at = models.DateTimeField(auto_now_add=True)
    # The customer is asked for a missing order number once; this says when.
    order_number_requested_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"triage of {self.ticket_id}: {self.predicted_category or '-'} {self.confidence:.2f}"


class LabelledExample(models.Model):
    """An agent's categorisation of a ticket: training data for the next classifier.

    One per ticket: a second correction of the same ticket replaces the label.
    """

    ticket = models.OneToOneField(
        "tickets.Ticket", on_delete=models.CASCADE, related_name="triage_label"
    )
    text = models.TextField()
    category = models.CharField(max_length=40)
    # The category the classifier had guessed ("" when it had not), for reports.
    predicted_category = models.CharField(max_length=40, blank=True)
    labelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    def __str__(self) -> str:
        return f"{self.category}: {self.text[:40]}"


class TeamRotation(models.Model):
    """Where round-robin assignment stands in a team on SQLite: the agent who got the last
    ticket. Locked while choosing, so two conversations arriving together go to two agents.
    PostgreSQL draws turns from a sequence per team instead, which holds no lock until
    commit (``workload.routing._rotation_turns``).
    """

    team = models.CharField(max_length=40, unique=True)
    last_agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return f"{self.team}: last {self.last_agent_id}"
