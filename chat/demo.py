"""Live-chat demo data: the agents' chat settings. The desk's slash commands insert
the console's macros (``macros.demo``)."""

from __future__ import annotations

from accounts.models import User
from chat.models import AgentPresence, Presence

# Seller questions go to the seller team's agent; the others take any category.
SKILLS = {"ngozi.agent": ["seller_support"]}


def seed_chat_demo(*, staff: list[User]) -> str:
    for user in staff:
        AgentPresence.objects.update_or_create(
            agent=user,
            defaults={"status": Presence.OFFLINE, "skills": SKILLS.get(user.username, [])},
        )
    return f"chat settings for {len(staff)} staff"
