from typing import Any

from django.http import HttpRequest

from policy.loader import get_policy


def site(request: HttpRequest) -> dict[str, Any]:
    policy = get_policy()
    return {
        "organisation": policy.organisation,
        "team_time_zone": policy.calendar.time_zone,
    }
