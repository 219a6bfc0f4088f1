from django.db import models

from tickets.models import Message, Ticket


class InboundStatus(models.TextChoices):
    RECEIVED = "received", "Received"
    PROCESSED = "processed", "Added to a ticket"
    DUPLICATE = "duplicate", "Duplicate of a message already stored"
    IGNORED = "ignored", "Ignored (auto-reply, bulk or our own mail)"
    BOUNCE = "bounce", "Delivery failure report"
    QUARANTINED = "quarantined", "Quarantined: could not be processed"


class InboundEmail(models.Model):
    """Every email that reached us, raw, with what became of it: nothing is dropped
    silently, and a quarantined one can be fixed and retried by an admin."""

    raw = models.BinaryField()
    # The Message-ID header (without angle brackets).
    header_id = models.CharField(max_length=998, blank=True, db_index=True)
    sender = models.CharField(max_length=320, blank=True)
    subject = models.CharField(max_length=300, blank=True)
    source = models.CharField(max_length=32, default="command")
    status = models.CharField(
        max_length=12, choices=InboundStatus.choices, default=InboundStatus.RECEIVED
    )
    reason = models.TextField(blank=True)
    ticket = models.ForeignKey(Ticket, null=True, blank=True, on_delete=models.SET_NULL)
    message = models.ForeignKey(Message, null=True, blank=True, on_delete=models.SET_NULL)
    received_at = models.DateTimeField(auto_now_add=True)
    # Whether the From address is the real sender, by the receiving side's verdict
    # (mail/authentication.py): False for a DMARC failure, or no trusted verdict when
    # one is required; None for a mail that could not be parsed. An unverified mail
    # never joins a ticket by its subject token or plus-address, and agents see it.
    sender_verified = models.BooleanField(null=True, blank=True)
    # The verdict and the results it rests on (SenderCheck.as_json): shown to agents,
    # and used again when a quarantined webhook mail is retried (the provider's verdict
    # is not in the raw mail).
    authentication = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "received_at"], name="inbound_status")]

    def __str__(self) -> str:
        return f"{self.header_id or self.pk}: {self.status}"


class AutoAcknowledgement(models.Model):
    """One automatic acknowledgement sent: counted per address to rate-limit them."""

    recipient = models.EmailField()
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE)
    message = models.OneToOneField(Message, on_delete=models.CASCADE)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["recipient", "created_at"], name="ack_recipient_time")]

    def __str__(self) -> str:
        return f"acknowledgement of {self.ticket_id} to {self.recipient}"


class ImapMailboxState(models.Model):
    """How far the IMAP fetcher has read one mailbox folder. UIDs are only meaningful
    within one UIDVALIDITY: when the server changes it, reading starts over (the
    Message-ID check keeps that from doubling anything)."""

    # "user@host:port/folder": one row per mailbox folder fetched.
    mailbox = models.CharField(max_length=300, unique=True)
    uidvalidity = models.BigIntegerField(default=0)
    # The highest UID committed here; everything at or below it is stored.
    last_uid = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.mailbox} {self.uidvalidity}:{self.last_uid}"


class EmailReference(models.Model):
    """A Message-ID that a stored email names in In-Reply-To or References. When the
    named message arrives later (mail is not delivered in order), it joins the ticket of
    the reply that got here first instead of opening a second ticket."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="+")
    referenced_id = models.CharField(max_length=255, db_index=True)

    def __str__(self) -> str:
        return f"{self.message_id} → {self.referenced_id}"


class EmailTicketLink(models.Model):
    """A mail threaded (In-Reply-To/References) onto a ticket by someone who is not one
    of its parties opened ``ticket`` instead of speaking as the requester in
    ``linked_to``; agents see the link on both."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    linked_to = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=300)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.ticket_id} linked to {self.linked_to_id}"
