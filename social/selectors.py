"""Reads for the social channels."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.cache import cache
from django.utils import timezone

from social.models import (
    ConversationKind,
    Platform,
    PublicComment,
    SocialAccount,
    SocialConversation,
)
from social.windows import Window, messaging_window
from tickets.models import Ticket

# Every webhook POST needs the app secrets to check its signature; reading them from the
# database each time cost a tenth of the request. Saving or deleting an account drops the
# cached list (social.apps), and the timeout bounds how long another process can keep an
# old one when the cache is per process.
SECRETS_CACHE_SECONDS = 30


def _secrets_key(platforms: tuple[str, ...]) -> str:
    return "social:webhook-secrets:" + ",".join(sorted(platforms))


def webhook_secrets(platforms: tuple[str, ...]) -> list[str]:
    """The app secrets of the active accounts of these platforms, distinct."""
    key = _secrets_key(platforms)
    secrets: list[str] | None = cache.get(key)
    if secrets is None:
        secrets = list(
            SocialAccount.objects.filter(platform__in=platforms, active=True)
            .exclude(app_secret="")
            .values_list("app_secret", flat=True)
            .distinct()
        )
        cache.set(key, secrets, SECRETS_CACHE_SECONDS)
    return secrets


def forget_webhook_secrets() -> None:
    meta = (Platform.FACEBOOK, Platform.INSTAGRAM)
    cache.delete_many([_secrets_key(meta), _secrets_key((Platform.TIKTOK,))])


@dataclass(frozen=True)
class SocialPanel:
    conversation: SocialConversation
    window: Window
    # Public-comment conversations: the comment a reply answers (the latest).
    comment: PublicComment | None = None

    @property
    def is_comments(self) -> bool:
        return self.conversation.kind == ConversationKind.COMMENTS


def is_comment_conversation(*, ticket: Ticket) -> bool:
    """Whether the console offers the public / private choice for this ticket's replies."""
    return SocialConversation.objects.filter(ticket=ticket, kind=ConversationKind.COMMENTS).exists()


def social_panel_for(*, ticket: Ticket) -> SocialPanel | None:
    """What the agent needs to know before replying on a social conversation: the
    account, the person, and whether the platform still accepts a reply. Reads nothing
    more (comments aside) when the ticket came with ``social__contact__account``."""
    conversation: SocialConversation | None
    if Ticket.social.is_cached(ticket):  # read with the ticket (the console's page)
        conversation = getattr(ticket, "social", None)
    else:
        conversation = (
            SocialConversation.objects.select_related("contact__account")
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
    comment = (
        conversation.comments.order_by("-commented_at", "-pk").first()
        if conversation.kind == ConversationKind.COMMENTS
        else None
    )
    return SocialPanel(conversation=conversation, window=window, comment=comment)
