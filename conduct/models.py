from django.conf import settings
from django.db import models
from django.utils import timezone

from tickets.models import Message, Ticket


class Severity(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


class ConductFlag(models.Model):
    """A customer message the screening found abusive: what matched and how badly.

    Agents see it on the message; undismissed flags count towards a block.
    """

    message = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="conduct_flag")
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="conduct_flags")
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="conduct_flags"
    )
    channel = models.CharField(max_length=32)
    severity = models.CharField(max_length=8, choices=Severity.choices)
    # [{"source": "list"|"model", "label": ..., "severity": ..., "score": float|None}]
    findings = models.JSONField(default=list)
    # Whether this flag sent the code-of-conduct reminder (the first on its ticket).
    reminded = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    # An agent judged it a false positive: shown struck through, never counted again.
    dismissed_at = models.DateTimeField(null=True, blank=True)
    dismissed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        indexes = [
            # The repeat count: one customer's recent flags on one channel.
            models.Index(fields=["customer", "channel", "created_at"], name="conduct_flag_recent")
        ]

    def __str__(self) -> str:
        return f"{self.severity} flag on message {self.message_id}"

    @property
    def labels(self) -> list[str]:
        return [str(finding.get("label", "")) for finding in self.findings]


class ConductBlock(models.Model):
    """New sessions on ``channel`` refused for ``customer`` until ``ends_at``, unless
    lifted earlier by an admin or a supervisor."""

    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="conduct_blocks"
    )
    channel = models.CharField(max_length=32)
    # The conversation whose violation reached the repeat limit.
    ticket = models.ForeignKey(
        Ticket, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    violations = models.PositiveIntegerField()
    starts_at = models.DateTimeField(default=timezone.now)
    ends_at = models.DateTimeField()
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    lift_reason = models.CharField(max_length=300, blank=True)
    # When a blocked sender was told by email (once per block, so an abusive sender
    # writing again and again does not start a mail loop).
    email_notice_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["customer", "channel", "ends_at"], name="conduct_block_active")
        ]

    def __str__(self) -> str:
        return f"{self.customer} on {self.channel} until {self.ends_at:%Y-%m-%d %H:%M}"

    @property
    def is_active(self) -> bool:
        return self.lifted_at is None and self.ends_at > timezone.now()


class PhotoRequest(models.Model):
    """The one request for photos a conversation gets when its category asks for them
    (the policy's "clear communication" expectation)."""

    ticket = models.OneToOneField(Ticket, on_delete=models.CASCADE, related_name="photo_request")
    requested_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"photos asked on {self.ticket_id}"
