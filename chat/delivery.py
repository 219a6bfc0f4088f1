"""The live-chat transport for replies that come through the outbox: system notices
(escalation, reminders) and replies written on the console's ticket page.

While the chat is open the reply joins the chat's stream; once it has ended the
customer has left, so the reply goes to their email address instead.
"""

from __future__ import annotations

from django.db import transaction

from chat.models import ChatEntry, ChatSession, EntryKind, Sender
from tickets.delivery import DeliveryError
from tickets.models import OutboundMessage


def chat_transport(outbound: OutboundMessage) -> None:
    from chat.services import _append, _lock

    message = outbound.message
    session = ChatSession.objects.filter(ticket_id=message.ticket_id).first()
    if session is None or session.is_ended:
        from mail.outbound import smtp_transport

        if not message.ticket.requester.email:
            raise DeliveryError("The chat has ended and the customer left no email address.")
        smtp_transport(outbound)
        return
    with transaction.atomic():
        locked = _lock(session)
        if ChatEntry.objects.filter(message=message).exists():
            return  # a retry after the entry was stored
        _append(
            locked,
            kind=EntryKind.MESSAGE,
            sender=Sender.AGENT if message.author_id else Sender.SYSTEM,
            text=message.body_text,
            author_name=message.author_name,
            message_id=message.pk,
        )
