"""A customer's rights over their data (Nigeria's NDPA, the GDPR): see it all, have it erased;
and the policy's retention periods.

- ``customer_export`` gathers everything held about one customer into one zip archive.
- ``customer_erase`` anonymises the account and removes personal data from what the
  agents' history keeps (messages stay, with contacts and the customer's names hidden;
  attachments are deleted). Open disputes block it: a seller and the marketplace still
  need the case, and the request is answered with what blocks it.
- ``retention_enforce`` deletes what the policy's ``retention`` periods say is no longer
  needed.
Every one of these, and every time staff open a customer's ticket, leaves an AuditEntry.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import cache
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from chat.models import ChatEntry, ChatSession, Sender
from conduct.models import ConductBlock, ConductFlag
from dataprotection.models import AuditAction, AuditEntry
from disputes.models import Dispute, DisputeStatus
from disputes.privacy import redact_contacts
from feedback.models import Rating, RatingRequest
from mail.models import AutoAcknowledgement, InboundEmail
from policy.loader import get_policy
from sla.models import Escalation
from social.models import SocialContact, WebhookDelivery
from tickets.models import Attachment, Message, Party, Ticket

ERASED_NAME = "Erased customer"


class ErasureBlocked(Exception):
    """The erasure cannot happen yet; ``reasons`` say what blocks it, in plain words."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = reasons


def audit_record(
    *,
    actor: User | None,
    action: str,
    subject: User | None = None,
    ticket: Ticket | None = None,
    **detail: Any,
) -> AuditEntry:
    return AuditEntry.objects.create(
        actor=actor,
        action=action,
        subject=subject,
        ticket_id=ticket.pk if ticket is not None else None,
        detail=detail,
    )


# Opening the same ticket again within this time is not recorded again.
VIEW_AUDIT_WINDOW_SECONDS = 600


def audit_ticket_viewed(*, actor: User, ticket: Ticket) -> None:
    """Record that a staff member opened a customer's ticket (once per window)."""
    if cache.add(f"audit-viewed:{actor.pk}:{ticket.pk}", 1, VIEW_AUDIT_WINDOW_SECONDS):
        audit_record(
            actor=actor, action=AuditAction.VIEWED, subject=ticket.requester, ticket=ticket
        )


# --- Export -----------------------------------------------------------------------------


def _customer_tickets(customer: User):
    return Ticket.objects.filter(Q(requester=customer) | Q(parties__user=customer)).distinct()


def _ticket_record(ticket: Ticket) -> dict[str, Any]:
    messages = []
    for message in ticket.messages.exclude(kind="note").order_by("created_at", "pk"):
        messages.append(
            {
                "at": message.created_at,
                "direction": message.direction,
                "channel": message.channel,
                "author": message.author_name,
                "text": message.body_text,
                "attachments": [
                    {
                        "filename": attachment.filename,
                        "content_type": attachment.content_type,
                        "bytes": attachment.size,
                        "in_archive": bool(attachment.kept and attachment.file),
                    }
                    for attachment in message.attachments.all()
                ],
            }
        )
    return {
        "reference": ticket.reference,
        "subject": ticket.subject,
        "channel": ticket.channel,
        "category": ticket.category,
        "status": ticket.status,
        "order_number": ticket.order_number,
        "created_at": ticket.created_at,
        "resolved_at": ticket.resolved_at,
        "messages": messages,
    }


def customer_export(*, customer: User, actor: User | None) -> bytes:
    """Everything held about ``customer``, as a zip: ``customer.json`` and the attachments.

    Internal notes between agents are not the customer's data and are left out; the
    customer's own messages, ours to them, ratings, chats, conduct records, escalations and
    the addresses and accounts we know them by are in."""
    tickets = list(_customer_tickets(customer).order_by("created_at"))
    data: dict[str, Any] = {
        "exported_at": timezone.now(),
        "account": {
            "username": customer.username,
            "name": customer.get_full_name(),
            "display_name": customer.display_name,
            "email": customer.email,
            "role": customer.role,
            "joined": customer.date_joined,
            "last_login": customer.last_login,
        },
        "tickets": [_ticket_record(ticket) for ticket in tickets],
        "ratings": list(
            Rating.objects.filter(ticket__in=tickets).values(
                "ticket_id", "score", "comment", "created_at"
            )
        ),
        "chats": [
            {
                "ticket": session.ticket.reference,
                "started": session.queued_at,
                "ended": session.ended_at,
                "visitor_name": session.visitor_name,
                "entries": list(
                    ChatEntry.objects.filter(session=session)
                    .order_by("seq")
                    .values("seq", "kind", "sender", "text", "author_name", "created_at")
                ),
            }
            for session in ChatSession.objects.filter(customer=customer).select_related("ticket")
        ],
        "conduct_flags": list(
            ConductFlag.objects.filter(customer=customer).values(
                "ticket_id", "severity", "channel", "created_at"
            )
        ),
        "conduct_blocks": list(
            ConductBlock.objects.filter(customer=customer).values(
                "channel", "violations", "starts_at", "ends_at", "lifted_at"
            )
        ),
        "escalations": list(
            Escalation.objects.filter(requested_by=customer).values(
                "ticket_id", "reason", "created_at", "contacted_at"
            )
        ),
        "social_accounts": list(
            SocialContact.objects.filter(user=customer).values(
                "account__platform", "name", "sender_id", "created_at"
            )
        ),
    }
    references = {ticket.pk: ticket.reference for ticket in tickets}
    for section in ("ratings", "conduct_flags", "escalations"):
        for row in data[section]:
            row["ticket"] = references.get(row.pop("ticket_id"), "")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "customer.json", json.dumps(data, cls=DjangoJSONEncoder, indent=1, default=str)
        )
        attachments = Attachment.objects.filter(
            message__ticket__in=tickets, kept=True, message__kind="reply"
        ).exclude(file="")
        for attachment in attachments.select_related("message__ticket"):
            name = f"attachments/{attachment.message.ticket.reference}/{attachment.pk}-"
            try:
                with attachment.file.open("rb") as stream:
                    archive.writestr(name + attachment.filename, stream.read())
            except FileNotFoundError:
                archive.writestr(name + attachment.filename + ".missing.txt", b"file missing")
    audit_record(actor=actor, action=AuditAction.EXPORTED, subject=customer, tickets=len(tickets))
    return buffer.getvalue()


# --- Erasure ----------------------------------------------------------------------------


@dataclass
class ErasureReport:
    tickets: int = 0
    messages_cleaned: int = 0
    attachments_deleted: int = 0
    raw_mails_emptied: int = 0
    notes: list[str] = field(default_factory=list)


def erasure_blockers(*, customer: User) -> list[str]:
    """What keeps ``customer`` from being erased now, in words an admin can act on."""
    reasons = []
    if customer.is_staff or customer.role in ("agent", "supervisor", "admin"):
        reasons.append("This is a staff account; deactivate it instead.")
    disputes = Dispute.objects.filter(
        ticket__requester=customer, status=DisputeStatus.OPEN
    ).select_related("ticket")
    for dispute in disputes:
        reasons.append(
            f"Dispute on {dispute.ticket.reference} with {dispute.store_name} is still open: "
            "resolve it first (the seller and the marketplace still need the case)."
        )
    return reasons


def _hider(customer: User):
    """A function that hides the customer's own names and addresses in a text, then every
    other email address and phone number."""
    words = {customer.email, customer.username, customer.first_name, customer.last_name}
    words |= {customer.display_name or ""}
    words = {word.strip() for word in words if word and len(word.strip()) >= 3}
    pattern = (
        re.compile("|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)), re.I)
        if words
        else None
    )

    def hide(text: str) -> str:
        if pattern is not None:
            text = pattern.sub("[name hidden]", text)
        return redact_contacts(text)

    return hide


@transaction.atomic
def customer_erase(*, customer: User, actor: User | None, reason: str) -> ErasureReport:
    """Anonymise ``customer`` and remove their personal data from what we keep.

    Kept, without personal data: tickets (the agents' history and the reports need them),
    message texts with the customer's names, addresses and phone numbers hidden, ratings'
    scores, conduct records. Deleted: attachments (files), the raw copies of their emails,
    chat visitor names, ratings' comments, social profile names, API tokens."""
    blockers = erasure_blockers(customer=customer)
    if blockers:
        raise ErasureBlocked(blockers)
    hide = _hider(customer)
    report = ErasureReport()
    tickets = list(_customer_tickets(customer))
    report.tickets = len(tickets)
    addresses = {customer.email.lower()} if customer.email else set()
    addresses |= {
        email.lower()
        for email in Party.objects.filter(user=customer).values_list("email", flat=True)
        if email
    }

    for message in Message.objects.filter(ticket__in=tickets):
        cleaned = hide(message.body_text)
        author = ERASED_NAME if message.author_id == customer.pk else message.author_name
        if cleaned != message.body_text or message.body_html or author != message.author_name:
            message.body_text = cleaned
            # The HTML may hold what the text no longer shows (links, signatures): dropped.
            message.body_html = ""
            message.author_name = author
            message.save(update_fields=["body_text", "body_html", "author_name"])
            report.messages_cleaned += 1
    for ticket in tickets:
        subject = hide(ticket.subject)
        if subject != ticket.subject:
            ticket.subject = subject
            ticket.save(update_fields=["subject"])
    for attachment in Attachment.objects.filter(
        message__ticket__in=tickets, message__author=customer
    ).exclude(file=""):
        attachment.file.delete(save=False)
        attachment.kept = False
        attachment.not_kept_reason = "deleted on the customer's erasure request"
        attachment.save(update_fields=["file", "kept", "not_kept_reason"])
        report.attachments_deleted += 1
    Party.objects.filter(Q(user=customer) | Q(email__in=addresses)).update(
        name=ERASED_NAME, email=""
    )
    ChatSession.objects.filter(customer=customer).update(visitor_name="")
    ChatEntry.objects.filter(session__customer=customer, sender=Sender.CUSTOMER).update(
        author_name=ERASED_NAME
    )
    Rating.objects.filter(ticket__in=tickets).update(comment="")
    RatingRequest.objects.filter(email__in=addresses).update(email="")
    report.raw_mails_emptied = (
        InboundEmail.objects.filter(Q(ticket__in=tickets) | Q(sender__in=addresses))
        .exclude(raw=b"")
        .update(raw=b"", sender="", subject="")
    )
    AutoAcknowledgement.objects.filter(recipient__in=addresses).update(recipient="")
    SocialContact.objects.filter(user=customer).update(name="")
    customer.api_tokens.all().delete()
    customer.username = f"erased-{customer.pk}"
    customer.email = ""
    customer.first_name = customer.last_name = customer.display_name = ""
    customer.is_active = False
    customer.set_unusable_password()
    customer.save()
    audit_record(
        actor=actor,
        action=AuditAction.ERASED,
        subject=customer,
        reason=reason,
        tickets=report.tickets,
        messages_cleaned=report.messages_cleaned,
        attachments_deleted=report.attachments_deleted,
    )
    return report


# --- Retention --------------------------------------------------------------------------


@dataclass
class RetentionReport:
    attachments_deleted: int = 0
    raw_mails_emptied: int = 0
    deliveries_emptied: int = 0


def retention_enforce(*, now: dt.datetime | None = None) -> RetentionReport:
    """Delete what the policy's retention periods say is no longer needed. Safe to run as
    often as wanted: each run only touches what is past its period and not yet deleted."""
    now = now or timezone.now()
    retention = get_policy().retention
    report = RetentionReport()
    closed_before = now - retention.attachments_after_closed.timedelta
    expired = Attachment.objects.filter(
        Q(message__ticket__closed_at__lt=closed_before)
        | Q(
            message__ticket__closed_at__isnull=True, message__ticket__resolved_at__lt=closed_before
        ),
        message__ticket__status__in=("resolved", "closed"),
    ).exclude(file="")
    for attachment in expired.iterator():
        attachment.file.delete(save=False)
        attachment.kept = False
        attachment.not_kept_reason = (
            f"deleted {retention.attachments_after_closed} after the request was closed "
            "(retention policy)"
        )
        attachment.save(update_fields=["file", "kept", "not_kept_reason"])
        report.attachments_deleted += 1
    report.raw_mails_emptied = (
        InboundEmail.objects.filter(received_at__lt=now - retention.raw_inbound_mail.timedelta)
        .exclude(raw=b"")
        .update(raw=b"")
    )
    report.deliveries_emptied = (
        WebhookDelivery.objects.filter(
            processed_at__lt=now - retention.webhook_deliveries.timedelta
        )
        .exclude(body=b"")
        .update(body=b"")
    )
    if report.attachments_deleted or report.raw_mails_emptied or report.deliveries_emptied:
        audit_record(
            actor=None,
            action=AuditAction.RETENTION,
            attachments_deleted=report.attachments_deleted,
            raw_mails_emptied=report.raw_mails_emptied,
            deliveries_emptied=report.deliveries_emptied,
        )
    return report
