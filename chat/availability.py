"""Is live chat open now, and is anyone there to answer? Read from the policy."""

from __future__ import annotations

import datetime as dt
import threading
import time
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


# The widget's pulse: "can a chat start now?", shared by every widget for a moment, so
# many open widgets polling it cost one count query per PULSE_SECONDS per process.
PULSE_SECONDS = 2.0
_pulse_lock = threading.Lock()
_pulse: tuple[float, dict[str, object]] | None = None


def forget_pulse() -> None:
    """Drop the shared answer: a presence change in this process is seen at once."""
    global _pulse
    with _pulse_lock:
        _pulse = None


def availability_pulse() -> dict[str, object]:
    """``{"can_start", "reason"}``, the same for every visitor, at most PULSE_SECONDS old."""
    global _pulse
    with _pulse_lock:
        if _pulse is not None and time.monotonic() - _pulse[0] < PULSE_SECONDS:
            return _pulse[1]
        available = chat_availability()
        _pulse = (time.monotonic(), {"can_start": available.can_start, "reason": available.reason})
        return _pulse[1]
