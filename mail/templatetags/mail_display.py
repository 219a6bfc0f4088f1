from django import template

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
