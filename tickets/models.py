"""One conversation model for every channel."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Case, F, Q, Value, When
from django.urls import reverse

from tickets.choices import (
    Channel,
    DeliveryStatus,
    Direction,
    EventKind,
    MessageKind,
    PartyRole,
    Priority,
    RequesterIdentity,
    SubChannel,
    TicketKind,
    TicketStatus,
)

TICKET_REFERENCE_PREFIX = "IZS-"
# The inbox's orders of priority and status: what an agent wants first.
PRIORITY_ORDER = ["urgent", "high", "normal", "low"]
STATUS_ORDER = [str(s) for s in TicketStatus.values]


class Tag(models.Model):
    name = models.SlugField(max_length=50, unique=True)

    def __str__(self) -> str:
        return self.name


class Ticket(models.Model):
    """A conversation with a customer: a request, a chat, a thread of emails or DMs."""

    subject = models.CharField(max_length=200)
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="requested_tickets"
    )
    channel = models.CharField(max_length=16, choices=Channel.choices)
    # Where inside the channel it began, when that matters to agents (an offline message
    # left with the chat widget is answered by email): shown instead of the channel.
    sub_channel = models.CharField(max_length=16, choices=SubChannel.choices, blank=True)
    # A category key from the policy file; blank only while the ticket waits in triage.
    category = models.CharField(max_length=40, blank=True)
    status = models.CharField(max_length=16, choices=TicketStatus.choices, default=TicketStatus.NEW)
    priority = models.CharField(max_length=8, choices=Priority.choices, default=Priority.NORMAL)
    kind = models.CharField(max_length=12, choices=TicketKind.choices, default=TicketKind.STANDARD)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_tickets",
    )
    # A team key from the policy file; the queue the ticket sits in.
    team = models.CharField(max_length=40, blank=True)
    order_number = models.CharField(max_length=32, blank=True)
    tags = models.ManyToManyField(Tag, blank=True, related_name="tickets")

    # Deadlines, kept by the SLA engine; indexed for "breaching soon" views and timers.
    first_reply_due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    next_reply_due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    resolution_due_at = models.DateTimeField(null=True, blank=True, db_index=True)

    created_at = models.DateTimeField(auto_now_add=True)
    # Last time anything happened; the inbox is ordered by it (newest first).
    updated_at = models.DateTimeField(auto_now=True)
    first_replied_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    message_count = models.PositiveIntegerField(default=0)
    # How the requester is known (docs/security/identity.md). While UNVERIFIED, the
    # requester is an unverified contact: no order is looked up or linked for them, and
    # agents see "Email not verified".
    requester_identity = models.CharField(
        max_length=16, choices=RequesterIdentity.choices, default=RequesterIdentity.ACCOUNT
    )
    requester_verified_at = models.DateTimeField(null=True, blank=True)
    # The order number an unverified requester gave: format-checked only, never looked
    # up, and linked once they prove their address (if the order is theirs).
    unverified_order_number = models.CharField(max_length=32, blank=True)
    # Set when this ticket was merged into another (tickets/merge.py): its conversation
    # lives there now, and mail, portal links and the console lead to that ticket.
    merged_into = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="merged_from",
    )

    # The inbox's sort keys that are not plain columns, kept by the database so each
    # sorted list is an index scan (the reply the customer waits for: the first until
    # answered, then the next).
    priority_rank = models.GeneratedField(
        expression=Case(
            *(When(priority=p, then=Value(rank)) for rank, p in enumerate(PRIORITY_ORDER)),
            default=Value(len(PRIORITY_ORDER)),
        ),
        output_field=models.SmallIntegerField(),
        db_persist=True,
    )
    status_rank = models.GeneratedField(
        expression=Case(
            *(When(status=s, then=Value(rank)) for rank, s in enumerate(STATUS_ORDER)),
            default=Value(len(STATUS_ORDER)),
        ),
        output_field=models.SmallIntegerField(),
        db_persist=True,
    )
    reply_due_at = models.GeneratedField(
        expression=Case(
            When(first_replied_at__isnull=True, then=F("first_reply_due_at")),
            default=F("next_reply_due_at"),
        ),
        output_field=models.DateTimeField(null=True),
        db_persist=True,
    )

    class Meta:
        indexes = [
            # The inbox and the API list: one index per common filter, each ending in the
            # keyset order (updated_at, id) so a deep page is an index range scan.
            models.Index(fields=["status", "-updated_at", "-id"], name="ticket_status_recent"),
            models.Index(
                fields=["assignee", "status", "-updated_at", "-id"], name="ticket_assignee_recent"
            ),
            models.Index(
                fields=["category", "status", "-updated_at", "-id"], name="ticket_category_recent"
            ),
            models.Index(
                fields=["channel", "status", "-updated_at", "-id"], name="ticket_channel_recent"
            ),
            models.Index(
                fields=["requester", "-updated_at", "-id"], name="ticket_requester_recent"
            ),
            models.Index(fields=["-updated_at", "-id"], name="ticket_recent"),
            models.Index(fields=["order_number"], name="ticket_order_number"),
            models.Index(fields=["unverified_order_number"], name="ticket_unverified_order"),
            # The inbox's other orders (tickets.selectors._sort_keys), read from the top.
            models.Index(
                fields=["priority_rank", "-updated_at", "-id"], name="ticket_priority_order"
            ),
            models.Index(fields=["status_rank", "-updated_at", "-id"], name="ticket_status_order"),
            models.Index(fields=["reply_due_at", "id"], name="ticket_reply_due_order"),
            models.Index(fields=["category", "-updated_at", "-id"], name="ticket_category_order"),
            models.Index(fields=["channel", "-updated_at", "-id"], name="ticket_channel_order"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.subject}"

    def get_absolute_url(self) -> str:
        return reverse("console:ticket", args=[self.pk])

    # django-stubs declares the generated one; this replaces it on purpose.
    def get_channel_display(self) -> str:  # type: ignore[no-redef]
        """The channel as agents see it: the sub-channel when there is one ("Live chat,
        offline message" for a ticket answered by email). Defined here, Django does not
        generate its own; every list and page that shows the channel shows this."""
        if self.sub_channel:
            return str(SubChannel(self.sub_channel).label)
        return str(Channel(self.channel).label) if self.channel in Channel.values else self.channel

    @property
    def reference(self) -> str:
        return f"{TICKET_REFERENCE_PREFIX}{self.pk}"

    @property
    def is_closed(self) -> bool:
        return self.status == TicketStatus.CLOSED

    @property
    def requester_verified(self) -> bool:
        return self.requester_identity != RequesterIdentity.UNVERIFIED


class Party(models.Model):
    """Someone on a ticket besides the support team: the requester, Cc'd people, a seller."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="parties")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    role = models.CharField(max_length=16, choices=PartyRole.choices)
    name = models.CharField(max_length=150, blank=True)
    email = models.EmailField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["ticket", "user"], condition=Q(user__isnull=False), name="party_unique_user"
            )
        ]
        verbose_name_plural = "parties"

    def __str__(self) -> str:
        return f"{self.get_role_display()}: {self.name or self.email}"


class Message(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    kind = models.CharField(max_length=8, choices=MessageKind.choices, default=MessageKind.REPLY)
    direction = models.CharField(max_length=8, choices=Direction.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    # Display name for authors without an account (an email sender, a social profile).
    author_name = models.CharField(max_length=150, blank=True)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    body_text = models.TextField()
    # Only for messages that arrived as HTML; always sanitised with nh3 before saving.
    body_html = models.TextField(blank=True)
    # The channel's own id (email Message-ID, Messenger mid, chat client id...). Unique
    # per channel, which is what makes a redelivered email or webhook a no-op. NULL (not
    # "") for messages without one, so the unique constraint ignores them.
    external_id = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "external_id"],
                condition=Q(external_id__isnull=False),
                name="message_unique_external_id",
            )
        ]
        indexes = [models.Index(fields=["ticket", "created_at", "id"], name="message_thread")]
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} on {self.ticket_id}"

    @property
    def is_note(self) -> bool:
        return self.kind == MessageKind.NOTE

    @property
    def channel_label(self) -> str:
        """The channel shown beside the message in a thread: the sub-channel it came in
        on when ``selectors.messages_for_viewer`` marked it (``opened_on``: the widget's
        offline message a ticket opened with), else its own channel (replies: "Email")."""
        opened_on = getattr(self, "opened_on", "")
        if opened_on:
            return str(SubChannel(opened_on).label)
        return self.get_channel_display()


def attachment_path(instance: Attachment, filename: str) -> str:
    return f"attachments/{instance.message.ticket_id}/{instance.message_id}/{filename}"


class Attachment(models.Model):
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=attachment_path, max_length=300, blank=True)
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    # An attachment we received but did not keep (too large, forbidden type) is still
    # recorded, with the reason, so nothing disappears silently.
    kept = models.BooleanField(default=True)
    not_kept_reason = models.CharField(max_length=200, blank=True)

    def __str__(self) -> str:
        return self.filename

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")


class TicketEvent(models.Model):
    """Everything that happens to a ticket; the audit trail and the reports read these."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=24, choices=EventKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["ticket", "created_at"], name="event_ticket_time"),
            models.Index(fields=["kind", "created_at"], name="event_kind_time"),
        ]
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} on {self.ticket_id}"


class OutboundMessage(models.Model):
    """A reply waiting to leave, or that left, on its channel (the outbox)."""

    message = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="outbound")
    channel = models.CharField(max_length=16, choices=Channel.choices)
    status = models.CharField(
        max_length=8, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="outbox_due")]

    def __str__(self) -> str:
        return f"{self.channel} delivery of message {self.message_id}: {self.status}"
