"""Reads for the social channels."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import timezone

from social.models import SocialConversation
from social.windows import Window, messaging_window
from tickets.models import Ticket


@dataclass(frozen=True)
class SocialPanel:
    conversation: SocialConversation
    window: Window


def social_panel_for(*, ticket: Ticket) -> SocialPanel | None:
    """What the agent needs to know before replying on a social conversation: the
    account, the person, and whether the platform still accepts a reply."""
    conversation = (
        SocialConversation.objects.select_related("contact__account", "ticket__requester")
        .filter(ticket=ticket)
        .first()
    )
    if conversation is None:
        return None
    contact = conversation.contact
    window = messaging_window(
        platform=contact.account.platform,
        last_inbound_at=contact.last_inbound_at,
        now=timezone.now(),
    )
    return SocialPanel(conversation=conversation, window=window)
