"""Replies by email: threaded headers, the ticket token, sent through Django's backends."""

from __future__ import annotations

import smtplib
from email.utils import make_msgid

from anymail.exceptions import AnymailError, AnymailRecipientsRefused
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.utils.html import escape, linebreaks

from accounts.models import User
from policy.loader import get_policy
from tickets.choices import Channel, Direction
from tickets.delivery import DeliveryError
from tickets.models import Message, OutboundMessage


def _domain() -> str:
    return str(settings.DEFAULT_FROM_EMAIL).rpartition("@")[2] or "izonie.com"


def reply_address(ticket_id: int) -> str:
    local, _, domain = str(settings.DEFAULT_FROM_EMAIL).partition("@")
    return f"{local}+{ticket_id}@{domain}"


def address_verified(user: User) -> bool:
    """Whether the address is proven to be the requester's: an account they have signed
    in to (accounts are made by staff or the marketplace; nobody signs up with a typed
    address). A typed-in address or a mail's ``From:`` is not.

    Automatic replies to an unverified address carry no customer-written text: anyone
    can type someone else's address, and our support address would then mail them the
    typist's words (a spam relay with our reputation).
    """
    return user.last_login is not None and user.has_usable_password()


def subject_for(message: Message) -> str:
    ticket = message.ticket
    if message.author_id is None and not address_verified(ticket.requester):
        return f"Your {get_policy().organisation.name} request [{ticket.reference}]"
    return f"Re: {ticket.subject} [{ticket.reference}]"


def build_email(outbound: OutboundMessage) -> EmailMultiAlternatives:
    message = outbound.message
    ticket = message.ticket
    thread_ids = list(
        Message.objects.filter(ticket=ticket, channel=Channel.EMAIL, external_id__isnull=False)
        .exclude(pk=message.pk)
        .order_by("created_at", "id")
        .values_list("external_id", "direction")
    )
    last_inbound = next(
        (mid for mid, direction in reversed(thread_ids) if direction == Direction.INBOUND), None
    )
    headers = {"Message-ID": f"<{message.external_id}>", "Auto-Submitted": "no"}
    if message.author_id is None:
        # Sent by the system itself (an acknowledgement, a notice): marked as automatic
        # (RFC 3834) so the customer's own auto-responder does not answer it.
        headers["Auto-Submitted"] = "auto-replied"
        headers["X-Auto-Response-Suppress"] = "All"
    if last_inbound:
        headers["In-Reply-To"] = f"<{last_inbound}>"
    if thread_ids:
        headers["References"] = " ".join(f"<{mid}>" for mid, _d in thread_ids[-20:])
    email = EmailMultiAlternatives(
        subject=subject_for(message),
        body=message.body_text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[ticket.requester.email],
        reply_to=[reply_address(ticket.pk)],
        headers=headers,
    )
    email.attach_alternative(linebreaks(escape(message.body_text)), "text/html")
    for attachment in message.attachments.filter(kept=True):
        with attachment.file.open("rb") as handle:
            email.attach(attachment.filename, handle.read(), attachment.content_type)
    return email


def smtp_transport(outbound: OutboundMessage) -> None:
    message = outbound.message
    if not message.ticket.requester.email:
        raise DeliveryError("The customer has no email address.", permanent=True)
    if not message.external_id:
        # Fixed before the first attempt, so retries reuse it and the customer's
        # client threads every copy as one message.
        message.external_id = make_msgid(domain=_domain()).strip("<>")
        message.save(update_fields=["external_id"])
    try:
        with get_connection() as connection:
            connection.send_messages([build_email(outbound)])
    except (smtplib.SMTPRecipientsRefused, AnymailRecipientsRefused) as exc:
        raise DeliveryError(f"The mail server refused the address: {exc}", permanent=True) from exc
    except (smtplib.SMTPException, OSError, AnymailError) as exc:
        # SMTP, or an anymail provider backend (EMAIL_BACKEND=anymail.backends.…).
        raise DeliveryError(f"Sending failed: {exc}") from exc
