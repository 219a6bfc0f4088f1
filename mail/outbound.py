"""Replies by email: threaded headers, the ticket token, sent through Django's backends."""

from __future__ import annotations

import datetime as dt
import smtplib
from email.utils import make_msgid

from anymail.exceptions import AnymailError, AnymailRecipientsRefused
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.utils.crypto import salted_hmac
from django.utils.html import escape, linebreaks

from accounts.models import User
from mail.autoreply import auto_reply_refused
from policy.loader import get_policy
from tickets.choices import Channel, Direction
from tickets.delivery import DeliveryError
from tickets.models import Message, OutboundMessage


def _domain() -> str:
    return str(settings.DEFAULT_FROM_EMAIL).rpartition("@")[2] or "izonie.com"


def stable_message_id(*, kind: str, pk: int, created_at: dt.datetime) -> str:
    """The Message-ID (with angle brackets) of a system mail whose row has nowhere to
    keep one: the same for every attempt to send that row, so a copy sent again after
    an ambiguous failure (the server took it, then the connection dropped) is
    recognised by the receiving side. Keyed so it tells outsiders nothing."""
    digest = salted_hmac(
        "mail.outbound.stable_message_id", f"{kind}:{pk}:{created_at.isoformat()}"
    ).hexdigest()[:32]
    return f"<{kind}.{digest}@{_domain()}>"


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
    address = message.ticket.requester.email
    if not address:
        raise DeliveryError("The customer has no email address.", permanent=True)
    refused = auto_reply_refused(address) if message.author_id is None else ""
    if refused:
        # An automatic message (acknowledgement, order-number or photo request, conduct
        # reminder, escalation notice) to an address no person reads, or to ourselves,
        # starts mail loops (RFC 3834); an agent's own reply still goes.
        raise DeliveryError(
            f"Not sent: automatic messages are not sent to {address} ({refused}).",
            permanent=True,
        )
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
