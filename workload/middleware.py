"""Presence for ticket work: every console request says the agent is at work."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from workload.shifts import SEEN_EVERY, shift_seen

# Session keys: when this session last told the shift, and whether the agent ended
# the shift (no new one starts until they press "Start shift").
SEEN_KEY = "workload_shift_seen"
OFF_KEY = "workload_shift_off"


class ShiftSeenMiddleware:
    """Opens or refreshes the signed-in agent's shift on console pages, at most once a
    minute per session (the session remembers when it last did)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and getattr(user, "is_agent", False)
            and request.path.startswith("/console/")
            and not request.session.get(OFF_KEY)
        ):
            now = time.time()
            last = request.session.get(SEEN_KEY, 0)
            if now - last >= SEEN_EVERY.total_seconds():
                shift_seen(agent_id=user.pk, start=True)
                request.session[SEEN_KEY] = now
        return self.get_response(request)
