from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from policy import selectors
from policy.loader import get_policy


def support_policy(request: HttpRequest) -> HttpResponse:
    policy = get_policy()
    now = timezone.now()
    social = [c for _k, c, _h in selectors.published_channels(policy) if c.kind == "social"]
    return render(
        request,
        "policy/support_policy.html",
        {
            "policy": policy,
            "chat": selectors.chat_status(policy, now),
            "chat_hours": selectors.hours_sentences(policy.hours_for("live_chat")),
            "channels": selectors.published_channels(policy),
            "social_channels": social,
            "promises": selectors.published_promises(policy),
            "team_zone": policy.calendar.time_zone,
        },
    )
