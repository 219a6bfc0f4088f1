from typing import Any

from django.http import HttpRequest

from policy.loader import get_policy


def site(request: HttpRequest) -> dict[str, Any]:
    policy = get_policy()
    context: dict[str, Any] = {
        "organisation": policy.organisation,
        "team_time_zone": policy.calendar.time_zone,
    }
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and getattr(user, "is_agent", False):
        from notifications.models import Notification

        context["unread_notifications"] = Notification.objects.filter(
            recipient=user, read_at__isnull=True
        ).count()
    return context
