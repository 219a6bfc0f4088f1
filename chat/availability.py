"""Is live chat open now, and is anyone there to answer? Read from the policy."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from chat.models import AgentPresence, Presence
from policy.loader import get_policy
from policy.selectors import ChatStatus, chat_status


def current_time() -> dt.datetime:
    """The moment chat availability is judged at (tests set the clock here)."""
    return timezone.now()


def online_cutoff(now: dt.datetime) -> dt.datetime:
    """Agents whose console was last heard from before this are not really online."""
    return now - dt.timedelta(seconds=settings.IZONIE_CHAT_PRESENCE_TIMEOUT_SECONDS)


def agents_online(now: dt.datetime | None = None) -> int:
    now = now or current_time()
    return AgentPresence.objects.filter(
        status=Presence.ONLINE, last_seen_at__gte=online_cutoff(now), agent__is_active=True
    ).count()


@dataclass(frozen=True)
class ChatAvailability:
    hours: ChatStatus
    agents_online: int

    @property
    def open_now(self) -> bool:
        return self.hours.open_now

    @property
    def can_start(self) -> bool:
        """A chat can start when the channel is open and someone can answer it."""
        return self.hours.open_now and self.agents_online > 0

    @property
    def reason(self) -> str:
        if not self.hours.open_now:
            return "closed"
        if not self.agents_online:
            return "no_agents"
        return "open"


def chat_availability(now: dt.datetime | None = None) -> ChatAvailability:
    now = now or current_time()
    return ChatAvailability(hours=chat_status(get_policy(), now), agents_online=agents_online(now))
