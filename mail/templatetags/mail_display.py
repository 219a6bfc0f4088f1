from django import template

from mail.quoting import ReplyParts, reply_parts
from tickets.choices import Channel, Direction
from tickets.models import Message

register = template.Library()


@register.simple_tag
def email_parts(message: Message) -> ReplyParts | None:
    """The display split of a customer's email; None for every other message."""
    if message.channel != Channel.EMAIL or message.direction != Direction.INBOUND:
        return None
    return reply_parts(message.body_text)
