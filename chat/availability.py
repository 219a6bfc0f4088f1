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


def chat_availability(now: dt.datetime | None = None, *, shared: bool = False) -> ChatAvailability:
    """``shared``: agents found online in the last PULSE_SECONDS still count (a burst of
    chat starts counts them once); none found is asked again each time, so a refusal
    is never stale. The hours are always judged now."""
    now = now or current_time()
    online = _agents_online_shared(now) if shared else agents_online(now)
    return ChatAvailability(hours=chat_status(get_policy(), now), agents_online=online)


# The widget's pulse: "can a chat start now?", shared by every widget for a moment, so
# many open widgets polling it cost one count query per PULSE_SECONDS per process.
PULSE_SECONDS = 2.0
_pulse_lock = threading.Lock()
_pulse: tuple[float, dict[str, object]] | None = None


_online_seen: tuple[float, int] | None = None


def _agents_online_shared(now: dt.datetime) -> int:
    """``agents_online``, reused for PULSE_SECONDS while it is not 0. An agent who
    leaves is still counted that long (as for PRESENCE_TIMEOUT after a console goes
    quiet); their chats' offers then go to whoever else is online, or wait."""
    global _online_seen
    seen = _online_seen
    if seen is not None and time.monotonic() - seen[0] < PULSE_SECONDS:
        return seen[1]
    online = agents_online(now)
    _online_seen = (time.monotonic(), online) if online else None
    return online


def forget_pulse() -> None:
    """Drop the shared answers: a presence change in this process is seen at once."""
    global _pulse, _online_seen
    with _pulse_lock:
        _pulse = None
        _online_seen = None


def availability_pulse() -> dict[str, object]:
    """``{"can_start", "reason"}``, the same for every visitor, at most PULSE_SECONDS old."""
    global _pulse
    with _pulse_lock:
        if _pulse is not None and time.monotonic() - _pulse[0] < PULSE_SECONDS:
            return _pulse[1]
        available = chat_availability()
        _pulse = (time.monotonic(), {"can_start": available.can_start, "reason": available.reason})
        return _pulse[1]
