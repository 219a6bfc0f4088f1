"""Demo data for the social channels: the three accounts, and each demo conversation
opened on Facebook, Instagram or TikTok linked to a contact, so the console shows the
account and the messaging window (open, human-agent tag only, or closed); and one public
Instagram comment, answered in public or privately from the console."""

from __future__ import annotations

from collections.abc import Callable

from django.utils import timezone

from accounts.models import Role, User
from social.models import (
    ConversationKind,
    EventKind,
    Platform,
    PublicComment,
    SocialAccount,
    SocialContact,
    SocialConversation,
)
from tickets import services as ticket_services
from tickets.choices import Direction
from tickets.models import Ticket

DEMO_COMMENT = "Does the X12 Pro come in blue? Mine arrived with a scratch on the back 😕"

DEMO_ACCOUNTS = {
    Platform.FACEBOOK: ("100000000000001", "Izonie"),
    Platform.INSTAGRAM: ("17841400000000001", "@izonie"),
    Platform.TIKTOK: ("demo-tiktok-business", "@izonie"),
}


def seed_social_demo(*, progress: Callable[[str], None] = lambda _: None) -> None:
    # Inactive: the demo secrets are not secret, so the webhooks must not trust them.
    accounts = {
        platform: SocialAccount.objects.get_or_create(
            platform=platform,
            external_id=external_id,
            defaults={"name": name, "access_token": "demo-token", "active": False},
        )[0]
        for platform, (external_id, name) in DEMO_ACCOUNTS.items()
    }
    linked = 0
    tickets = Ticket.objects.filter(channel__in=list(accounts), social__isnull=True).order_by("pk")
    for ticket in tickets:
        contact, _ = SocialContact.objects.get_or_create(
            account=accounts[Platform(ticket.channel)],
            sender_id=f"demo-{ticket.requester_id}",
            defaults={
                "user": ticket.requester,
                "name": str(ticket.requester),
                "conversation_id": f"demo-conversation-{ticket.requester_id}",
                "last_inbound_at": ticket.created_at,
            },
        )
        if ticket.created_at > (contact.last_inbound_at or ticket.created_at):
            SocialContact.objects.filter(pk=contact.pk).update(last_inbound_at=ticket.created_at)
        SocialConversation.objects.create(ticket=ticket, contact=contact)
        linked += 1
    progress(f"{linked} social conversations linked to Facebook, Instagram and TikTok contacts")
    if _seed_public_comment(accounts[Platform.INSTAGRAM]):
        progress("1 public Instagram comment")


def _seed_public_comment(account: SocialAccount) -> bool:
    if SocialConversation.objects.filter(kind=ConversationKind.COMMENTS).exists():
        return False
    user = User(username="instagram-demo-commenter", display_name="tobi.reviews", role=Role.BUYER)
    user.set_unusable_password()
    user.save()
    contact = SocialContact.objects.create(
        account=account, sender_id="demo-igsid-commenter", user=user, name="tobi.reviews"
    )
    ticket = ticket_services.ticket_open(
        requester=user,
        channel=Platform.INSTAGRAM,
        body=DEMO_COMMENT,
        subject=f"Public comment on Instagram: {DEMO_COMMENT}",
        external_id="comment:demo-ig-comment-1",
        author_name=contact.name,
    )
    conversation = SocialConversation.objects.create(
        ticket=ticket, contact=contact, kind=ConversationKind.COMMENTS, post_id="demo-media-1"
    )
    PublicComment.objects.create(
        conversation=conversation,
        # The comment itself (a categorised ticket may also hold the order-number request).
        message=ticket.messages.filter(direction=Direction.INBOUND).get(),
        kind=EventKind.COMMENT,
        comment_id="demo-ig-comment-1",
        post_id="demo-media-1",
        commented_at=timezone.now(),
    )
    return True
