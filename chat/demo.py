"""Live-chat demo data: canned responses and the agents' chat settings."""

from __future__ import annotations

from accounts.models import User
from chat.models import AgentPresence, CannedResponse, Presence

CANNED = [
    ("greeting", "Greeting", "Hello, thank you for contacting Izonie Support. How can I help?"),
    (
        "order-number",
        "Ask for the order number",
        "Could you share your order number? It looks like IZ-12345678 and is in your "
        "order confirmation email.",
    ),
    (
        "photos",
        "Ask for photos",
        "Could you send a photo of the item and its packaging? Use the Attach photo button.",
    ),
    (
        "return-window",
        "Return window",
        "Returns are accepted within 7 days of the delivery date, with the item in the "
        "condition you received it (original packaging, tags and accessories). I can "
        "start the return for you now.",
    ),
    (
        "refund",
        "Who refunds",
        "Refunds are issued by Izonie on behalf of the seller once the return is accepted.",
    ),
    ("closing", "Closing", "Is there anything else I can help you with today?"),
]

# Seller questions go to the seller team's agent; the others take any category.
SKILLS = {"ngozi.agent": ["seller_support"]}


def seed_chat_demo(*, staff: list[User]) -> str:
    for shortcut, title, body in CANNED:
        CannedResponse.objects.update_or_create(
            shortcut=shortcut, defaults={"title": title, "body": body}
        )
    for user in staff:
        AgentPresence.objects.update_or_create(
            agent=user,
            defaults={"status": Presence.OFFLINE, "skills": SKILLS.get(user.username, [])},
        )
    return f"{len(CANNED)} canned chat responses, chat settings for {len(staff)} staff"
