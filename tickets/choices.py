from django.db import models
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    """Where a conversation (or one message of it) came from or goes to."""

    WEB_FORM = "web_form", _("Contact form")
    EMAIL = "email", _("Email")
    LIVE_CHAT = "live_chat", _("Live chat")
    FACEBOOK = "facebook", _("Facebook")
    INSTAGRAM = "instagram", _("Instagram")
    TIKTOK = "tiktok", _("TikTok")
    API = "api", _("API")


class SubChannel(models.TextChoices):
    """Where inside a channel a conversation began, when agents need to know: shown in
    the channel's place. The ticket's ``channel`` still says how it is answered."""

    # Left with the chat widget while chat was closed; answered by email.
    CHAT_OFFLINE = "chat_offline", _("Live chat, offline message")


# Each sub-channel follows its parent channel in the console's channel filter.
SUB_CHANNEL_PARENT = {SubChannel.CHAT_OFFLINE: Channel.LIVE_CHAT}


def channel_filter_choices() -> list[tuple[str, str]]:
    """The channel filter's options: every channel, each followed by its sub-channels."""
    options: list[tuple[str, str]] = []
    for value, label in Channel.choices:
        options.append((value, str(label)))
        options.extend(
            (sub.value, str(sub.label))
            for sub, parent in SUB_CHANNEL_PARENT.items()
            if parent == value
        )
    return options


class TicketStatus(models.TextChoices):
    NEW = "new", _("New")
    OPEN = "open", _("Open")
    PENDING = "pending", _("Waiting on customer")
    ON_HOLD = "on_hold", _("On hold")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")


# Statuses in which the support team still owes the customer something.
ACTIVE_STATUSES = (TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.ON_HOLD)
UNRESOLVED_STATUSES = (*ACTIVE_STATUSES, TicketStatus.PENDING)


class RequesterIdentity(models.TextChoices):
    """How the requester is known to be who the ticket says (ARCHITECTURE.md, Trust
    boundaries; docs/security/identity.md)."""

    # The account itself: signed in, an API token, or a channel that names the account.
    ACCOUNT = "account", _("Account")
    # An address typed in the chat or the contact form, not proven (yet).
    UNVERIFIED = "unverified", _("Email not verified")
    EMAIL_CODE = "email_code", _("Email verified by code")
    EMAIL_LINK = "email_link", _("Email verified by link")


class Priority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


class TicketKind(models.TextChoices):
    STANDARD = "standard", _("Standard")
    DISPUTE = "dispute", _("Dispute with a third-party seller")


class MessageKind(models.TextChoices):
    REPLY = "reply", _("Public reply")
    NOTE = "note", _("Internal note")


class Direction(models.TextChoices):
    INBOUND = "in", _("From the customer")
    OUTBOUND = "out", _("To the customer")
    INTERNAL = "internal", _("Internal")


class PartyRole(models.TextChoices):
    REQUESTER = "requester", _("Requester")
    CC = "cc", _("Copied")
    SELLER = "seller", _("Third-party seller")


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Waiting to be sent")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class EventKind(models.TextChoices):
    CREATED = "created", _("Created")
    MESSAGE_IN = "message_in", _("Customer message")
    MESSAGE_OUT = "message_out", _("Reply sent")
    NOTE_ADDED = "note_added", _("Internal note")
    ASSIGNED = "assigned", _("Assigned")
    TEAM_CHANGED = "team_changed", _("Team changed")
    STATUS_CHANGED = "status_changed", _("Status changed")
    CATEGORY_CHANGED = "category_changed", _("Category changed")
    PRIORITY_CHANGED = "priority_changed", _("Priority changed")
    DELIVERY_FAILED = "delivery_failed", _("Delivery failed")
    DELIVERED = "delivered", _("Delivered")
    ESCALATED = "escalated", _("Escalated")
    SLA_WARNED = "sla_warned", _("SLA warning")
    SLA_TARGET_MISSED = "sla_target_missed", _("SLA target missed")
    SLA_BREACHED = "sla_breached", _("SLA breached")
    SLA_STOPPED = "sla_stopped", _("SLA clock stopped")
    CONDUCT_VIOLATION = "conduct_violation", _("Conduct violation")
    TERMINATED = "terminated", _("Session ended for conduct")
    RESOLVED = "resolved", _("Resolved")
    RATED = "rated", _("Rated")
    REQUESTER_VERIFIED = "requester_verified", _("Requester verified")
    MERGED_INTO = "merged_into", _("Merged into another ticket")
    MERGED_FROM = "merged_from", _("Tickets merged in")
    TAGS_CHANGED = "tags_changed", _("Tags changed")
    CUSTOMER_NOTE = "customer_note", _("Note about the customer")
