"""Demo data for the social channels: the three accounts, and each demo conversation
opened on Facebook, Instagram or TikTok linked to a contact, so the console shows the
account and the messaging window (open, human-agent tag only, or closed)."""

from __future__ import annotations

from collections.abc import Callable

from social.models import Platform, SocialAccount, SocialContact, SocialConversation
from tickets.models import Ticket

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
