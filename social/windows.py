"""The platforms' messaging windows: how long after the customer's last message a
business may still answer, and how.

Meta (Messenger and Instagram): a standard reply (``messaging_type: RESPONSE``) within 24
hours of the person's last message; after that, up to 7 days, only a message tagged
``HUMAN_AGENT`` (a person answering, which is what an agent's reply is); after 7 days,
nothing until the customer writes again. TikTok business messaging: replies within the
window set by ``IZONIE_TIKTOK_REPLY_WINDOW_HOURS`` (48 by default), no tag beyond it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from django.conf import settings

from social.models import Platform

META_STANDARD_WINDOW = dt.timedelta(hours=24)
META_HUMAN_AGENT_WINDOW = dt.timedelta(days=7)


class WindowState(StrEnum):
    OPEN = "open"  # a standard reply is allowed
    HUMAN_AGENT = "human_agent"  # only with the human-agent tag
    CLOSED = "closed"  # no reply until the customer writes again


@dataclass(frozen=True)
class Window:
    state: WindowState
    # When the current state ends (None when closed).
    until: dt.datetime | None


def messaging_window(
    *, platform: str, last_inbound_at: dt.datetime | None, now: dt.datetime
) -> Window:
    if last_inbound_at is None:
        return Window(WindowState.CLOSED, None)
    if platform == Platform.TIKTOK:
        end = last_inbound_at + dt.timedelta(hours=settings.IZONIE_TIKTOK_REPLY_WINDOW_HOURS)
        return Window(WindowState.OPEN, end) if now < end else Window(WindowState.CLOSED, None)
    if now < last_inbound_at + META_STANDARD_WINDOW:
        return Window(WindowState.OPEN, last_inbound_at + META_STANDARD_WINDOW)
    if now < last_inbound_at + META_HUMAN_AGENT_WINDOW:
        return Window(WindowState.HUMAN_AGENT, last_inbound_at + META_HUMAN_AGENT_WINDOW)
    return Window(WindowState.CLOSED, None)
