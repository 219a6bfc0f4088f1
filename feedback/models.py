from django.conf import settings
from django.db import models
from django.utils import timezone

from tickets.models import Ticket


class Rating(models.Model):
    """The customer's score for one interaction (a solved request, an ended chat, a
    social conversation). One per interaction; changeable for the policy's
    ``feedback.rating_window`` after it was first given."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="ratings")
    # What was rated: "chat:<session id>", "resolution-<n>" (the n-th time the request
    # was solved), or a key the channel chooses.
    interaction = models.CharField(max_length=100)
    channel = models.CharField(max_length=32)
    category = models.CharField(max_length=64, blank=True)
    # The agent the interaction was with (the ticket's assignee when rated).
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="ratings_received",
    )
    score = models.PositiveSmallIntegerField()
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    # When a low score notified the supervisors (once per rating).
    follow_up_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["ticket", "interaction"], name="rating_one_per_interaction"
            )
        ]
        indexes = [models.Index(fields=["created_at"], name="rating_created")]

    def __str__(self) -> str:
        return f"{self.score} on {self.ticket_id} ({self.interaction})"


class RatingRequest(models.Model):
    """An invitation to rate, sent by email when a request is solved. Its id is what
    the signed links carry, so a link can only ever rate this ticket's interaction."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="rating_requests")
    interaction = models.CharField(max_length=100)
    email = models.EmailField(max_length=320)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["ticket", "interaction"], name="rating_request_one_per_interaction"
            )
        ]

    def __str__(self) -> str:
        return f"rating request {self.pk} for {self.ticket_id}"
