"""What a locked-out sign-in sees (django-axes calls these; see config/settings.py)."""

from __future__ import annotations

import math
from typing import Any

from django.conf import settings
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def client_ip(request: HttpRequest) -> str | None:
    """The peer address as the ASGI server reports it. Named here rather than left to
    django-axes, which would trust X-Forwarded-For (spoofable) if django-ipware were ever
    installed. None where there is none (``Client.force_login``'s request)."""
    return request.META.get("REMOTE_ADDR") or None


def lockout_response(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict[str, Any] | None = None,
) -> HttpResponse:
    """The sign-in page again, with 429 and Retry-After, saying when to try again.

    Every failure during a lockout starts the cool-off again, so the whole cool-off is
    what the visitor has to wait from now.
    """
    seconds = int(settings.AXES_COOLOFF_TIME.total_seconds())
    minutes = max(1, math.ceil(seconds / 60))
    response = render(
        request,
        "registration/login.html",
        {
            "locked_out": True,
            "retry_after_minutes": minutes,
            "next": request.POST.get(REDIRECT_FIELD_NAME, request.GET.get(REDIRECT_FIELD_NAME, "")),
        },
        status=429,
    )
    response["Retry-After"] = str(seconds)
    return response
