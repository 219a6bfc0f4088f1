from typing import Any

from django import template
from django.http import HttpRequest
from django.template import Context

from mail.display import REMOTE_IMAGES_PARAM, email_html, remote_images_requested
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
