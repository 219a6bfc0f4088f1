from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django import template
from django.db.models import Q
from django.http import HttpRequest
from django.template import Context

from mail.display import REMOTE_IMAGES_PARAM, email_html, remote_images_requested
from mail.models import EmailTicketLink, InboundEmail
from mail.quoting import ReplyParts, reply_parts
from tickets.choices import Channel, Direction, PartyRole
from tickets.models import Message, Party, Ticket

register = template.Library()


@register.simple_tag
def email_parts(message: Message) -> ReplyParts | None:
    """The display split of a customer's email; None for every other message."""
    if message.channel != Channel.EMAIL or message.direction != Direction.INBOUND:
        return None
    return reply_parts(message.body_text)


@register.simple_tag
def copied_parties(ticket: Ticket) -> list[Party]:
    """People copied on the ticket's emails, shown beside the requester."""
    return list(ticket.parties.filter(role=PartyRole.CC).order_by("id"))


@dataclass
class SenderVerification:
    """What the ticket page says about who really sent the ticket's emails."""

    # Message pk → why its sender is not verified (the receiving side's verdict).
    unverified: dict[int, str] = field(default_factory=dict)
    # The email that opened the ticket is not verified: the requester may not be who
    # the From address says.
    opening_unverified: bool = False
    # (what the link is, the other ticket, why) for tickets split off by sender.
    links: list[tuple[str, Ticket, str]] = field(default_factory=list)


@register.simple_tag
def email_verification(ticket: Ticket, thread: Sequence[Message]) -> SenderVerification:
    """``thread``: the ticket's messages in order, as the page shows them."""
    found = SenderVerification()
    if ticket.channel == Channel.EMAIL:
        for message_pk, authentication in InboundEmail.objects.filter(
            ticket=ticket, sender_verified=False, message__isnull=False
        ).values_list("message_id", "authentication"):
            found.unverified[message_pk] = str((authentication or {}).get("summary", ""))
        if found.unverified:
            opening = next((m.pk for m in thread if m.direction == Direction.INBOUND), None)
            found.opening_unverified = opening in found.unverified
    # Both directions in one query (the page's every query is about a millisecond of CPU).
    links = list(
        EmailTicketLink.objects.filter(Q(ticket=ticket) | Q(linked_to=ticket))
        .select_related("ticket", "linked_to")
        .order_by("pk")
    )
    for link in links:
        if link.ticket_id == ticket.pk:
            found.links.append(("Split off from", link.linked_to, link.reason))
    for link in links:
        if link.linked_to_id == ticket.pk:
            found.links.append(("Reply by a non-party opened", link.ticket, link.reason))
    return found


@register.filter
def unverified_reason(verification: SenderVerification, message: Message) -> str | None:
    """Why this message's sender is not verified; None when it is (or is not email)."""
    return verification.unverified.get(message.pk)


@register.inclusion_tag("mail/_email_html.html", takes_context=True)
def email_html_body(context: Context, message: Message) -> dict[str, Any]:
    """A message's HTML body with remote images held back (mail.display), and the link
    that shows them for this one message."""
    request = context.get("request")
    shown = request is not None and remote_images_requested(request, message_id=message.pk)
    return {
        "message": message,
        "email": email_html(message.body_html, remote_images=shown),
        "param": REMOTE_IMAGES_PARAM,
    }


@register.filter
def remote_images_shown(message: Message, request: HttpRequest | None) -> bool:
    return request is not None and remote_images_requested(request, message_id=message.pk)
