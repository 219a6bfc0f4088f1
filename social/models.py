"""Social messaging channels: the accounts we answer on, every webhook delivery as it
arrived, each event in it (unique per account, which makes a redelivery a no-op), and the
person behind each conversation with their messaging window."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from core.outbound import url_allowed
from tickets.models import Message, Ticket


class Platform(models.TextChoices):
    """The same keys as ``tickets.choices.Channel``, so a ticket's channel names its platform."""

    FACEBOOK = "facebook", "Facebook Messenger"
    INSTAGRAM = "instagram", "Instagram"
    TIKTOK = "tiktok", "TikTok"


class SocialAccount(models.Model):
    """A Facebook page, Instagram professional account or TikTok business account.

    Secrets are write-only in the admin and never logged; the webhook checks each POST
    against the app secret of the account it names.
    """

    platform = models.CharField(max_length=16, choices=Platform.choices)
    # Facebook page id, Instagram account id (the id Meta puts in entry[].id), or the
    # TikTok business id (``user_openid`` in TikTok's webhook).
    external_id = models.CharField(max_length=64)
    name = models.CharField(max_length=150)
    # Page access token (Meta) or TikTok business access token: used to send replies.
    access_token = models.TextField(blank=True)
    # Meta app secret / TikTok client secret: the key of the webhook signature.
    app_secret = models.CharField(max_length=255, blank=True)
    # What Meta's subscription check must present as hub.verify_token.
    verify_token = models.CharField(max_length=255, blank=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["platform", "external_id"], name="social_account_unique_id"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_platform_display()}: {self.name}"


class DeliveryStatus(models.TextChoices):
    RECEIVED = "received", "Received, waiting to be processed"
    PROCESSED = "processed", "Processed"


class WebhookDelivery(models.Model):
    """One signed POST, stored raw before it is acknowledged; the worker processes it
    afterwards. A crash mid-way leaves it RECEIVED, and processing it again is harmless
    because each event in it is stored once (``InboundEvent``)."""

    source = models.CharField(max_length=16)  # "meta" or "tiktok"
    body = models.BinaryField()
    event_count = models.PositiveIntegerField(default=0)
    status = models.CharField(
        max_length=12, choices=DeliveryStatus.choices, default=DeliveryStatus.RECEIVED
    )
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "webhook deliveries"
        indexes = [models.Index(fields=["status", "received_at"], name="social_delivery_due")]

    def __str__(self) -> str:
        return f"{self.source} delivery {self.pk}: {self.status}"


class EventKind(models.TextChoices):
    MESSAGE = "message", "Message"
    POSTBACK = "postback", "Button (postback)"
    QUICK_REPLY = "quick_reply", "Quick reply"
    REACTION = "reaction", "Reaction"
    READ = "read", "Read receipt"
    DELIVERY = "delivery", "Delivery receipt"
    ECHO = "echo", "Echo of our own message"
    COMMENT = "comment", "Public comment"
    MENTION = "mention", "Mention in a public comment or caption"
    OTHER = "other", "Not handled"


class EventOutcome(models.TextChoices):
    STORED = "stored", "Added to a ticket"
    RECORDED = "recorded", "Recorded (no message)"
    IGNORED = "ignored", "Ignored"
    REFUSED = "refused", "Refused by a ticket rule"
    FAILED = "failed", "Failed"


class InboundEvent(models.Model):
    """One event of a delivery. ``(platform, key)`` is unique: Meta and TikTok retry
    deliveries, and the second copy of a message fails this constraint instead of being
    stored twice (no read-then-write race)."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="events")
    account = models.ForeignKey(
        SocialAccount, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    platform = models.CharField(max_length=16, choices=Platform.choices)
    # The platform's message id (mid) where there is one, else a key built from the
    # sender, the kind and the platform's timestamp.
    key = models.CharField(max_length=255)
    kind = models.CharField(max_length=12, choices=EventKind.choices)
    sender_id = models.CharField(max_length=64, blank=True)
    outcome = models.CharField(max_length=10, choices=EventOutcome.choices)
    reason = models.TextField(blank=True)
    ticket = models.ForeignKey(Ticket, null=True, blank=True, on_delete=models.SET_NULL)
    message = models.ForeignKey(Message, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["platform", "key"], name="social_event_unique_key")
        ]

    def __str__(self) -> str:
        return f"{self.platform} {self.kind} {self.key}: {self.outcome}"


class SocialContact(models.Model):
    """A person who wrote to one of our accounts (a page-scoped id on Meta, an open id
    and conversation on TikTok), with the customer account their tickets belong to."""

    account = models.ForeignKey(SocialAccount, on_delete=models.CASCADE, related_name="contacts")
    sender_id = models.CharField(max_length=64)
    # TikTok replies go to the conversation, not to the person.
    conversation_id = models.CharField(max_length=128, blank=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=150, blank=True)
    # The platform's clock for the messaging window: replies are allowed for a while
    # after the customer's last message (24 hours on Meta, 7 days with the human-agent tag).
    last_inbound_at = models.DateTimeField(null=True, blank=True)
    last_read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "sender_id"], name="social_contact_unique")
        ]

    def __str__(self) -> str:
        return f"{self.name or self.sender_id} on {self.account}"


class ConversationKind(models.TextChoices):
    MESSAGES = "messages", "Direct messages"
    COMMENTS = "comments", "Public comments"


class SocialConversation(models.Model):
    """A ticket opened from a social contact: how replies find their way back.

    Direct messages and public comments never share a ticket: one person's comments on
    one post (or Instagram media) are one conversation, answered in public under the
    comment or privately (the private replies API), never through the messaging window.
    """

    ticket = models.OneToOneField(Ticket, on_delete=models.CASCADE, related_name="social")
    contact = models.ForeignKey(SocialContact, on_delete=models.CASCADE, related_name="tickets")
    kind = models.CharField(
        max_length=10, choices=ConversationKind.choices, default=ConversationKind.MESSAGES
    )
    # Comments: the Facebook post id or the Instagram media id the comments are on.
    post_id = models.CharField(max_length=200, blank=True)
    # Set when the customer was asked to pick a category, so it is asked once.
    category_asked_at = models.DateTimeField(null=True, blank=True)
    rating_asked_at = models.DateTimeField(null=True, blank=True)
    # Set when the customer answered it: a later digit is an ordinary message again.
    rated_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.ticket_id} with {self.contact}"


class SentPart(models.Model):
    """One part of an outbound message the platform has accepted (its text, each
    attachment: Messenger takes them as separate calls), so a retry after a failure
    half-way sends only what is left, never a part twice."""

    outbound = models.ForeignKey(
        "tickets.OutboundMessage", on_delete=models.CASCADE, related_name="social_parts_sent"
    )
    part = models.CharField(max_length=40)  # "text" or "attachment:<id>"
    platform_message_id = models.CharField(max_length=200, blank=True)
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["outbound", "part"], name="social_part_sent_once")
        ]

    def __str__(self) -> str:
        return f"{self.part} of outbound {self.outbound_id}"


class QuickReplyOffer(models.Model):
    """Buttons sent with an outbound message (categories, a rating scale): the transport
    adds them to the Send API call."""

    message = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="quick_replies")
    # [{"title": "Payments", "payload": "CATEGORY:payments"}, ...]
    options = models.JSONField(default=list)

    def __str__(self) -> str:
        return f"{len(self.options)} quick replies on message {self.message_id}"


class SocialMediaLink(models.Model):
    """Where a customer's attachment that we could not download came from, so the agent
    still sees it (as a link, opened in their own browser) and can try the download again.

    TikTok's download links expire; for TikTok the ``media_id`` with the conversation and
    message ids asks the media-download API for a fresh one on retry.
    """

    attachment = models.OneToOneField(
        "tickets.Attachment", on_delete=models.CASCADE, related_name="social_link"
    )
    account = models.ForeignKey(SocialAccount, on_delete=models.CASCADE)
    url = models.TextField(blank=True)
    media_id = models.CharField(max_length=200, blank=True)
    conversation_id = models.CharField(max_length=200, blank=True)
    message_key = models.CharField(max_length=200, blank=True)
    retried_at = models.DateTimeField(null=True, blank=True)
    # Set when an agent asked for the download again, cleared when the worker has tried.
    retry_queued_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.url or self.media_id

    @property
    def web_url(self) -> str:
        """The link as an agent may open it: the same rule as the download (https, a
        platform media host: ``core.outbound.url_allowed``), so a customer cannot put a
        javascript: URL or a link to anywhere else in front of the agent."""
        return self.url if url_allowed(self.url, settings.IZONIE_SOCIAL_MEDIA_HOSTS) else ""


class PublicComment(models.Model):
    """A comment or mention on one of our posts, stored as a customer message of a
    comments conversation: what a public or private reply answers."""

    conversation = models.ForeignKey(
        SocialConversation, on_delete=models.CASCADE, related_name="comments"
    )
    message = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="comment")
    kind = models.CharField(max_length=12, choices=EventKind.choices, default=EventKind.COMMENT)
    comment_id = models.CharField(max_length=200)
    # The Facebook post id or Instagram media id; the parent comment when it answers one.
    post_id = models.CharField(max_length=200, blank=True)
    parent_id = models.CharField(max_length=200, blank=True)
    commented_at = models.DateTimeField()
    # Meta accepts one private reply per comment, within 7 days of it.
    private_reply_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.kind} {self.comment_id}"


class ReplyVisibility(models.TextChoices):
    PUBLIC = "public", "Public reply under the comment"
    PRIVATE = "private", "Private reply (a direct message to the commenter)"


class CommentReply(models.Model):
    """How an agent's reply on a comments conversation goes out, and to which comment."""

    message = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="comment_reply")
    comment = models.ForeignKey(PublicComment, on_delete=models.CASCADE, related_name="replies")
    visibility = models.CharField(max_length=8, choices=ReplyVisibility.choices)

    def __str__(self) -> str:
        return f"{self.visibility} reply to {self.comment}"
