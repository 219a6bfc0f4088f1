"""Staff-session middleware: idle time-out, then the second factor (order in settings)."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django_otp import user_has_device

from accounts.staff_sessions import activity_record, idle_expired
from accounts.two_factor import two_factor_applies
from core.http import problem_response


def _staff(request: HttpRequest) -> bool:
    user = request.user
    return user.is_authenticated and bool(getattr(user, "is_agent", False))


def _span(seconds: int) -> str:
    if seconds >= 3600 and seconds % 3600 == 0:
        hours = seconds // 3600
        return f"{hours} hour{'s' if hours != 1 else ''}"
    minutes = max(1, round(seconds / 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


class StaffIdleTimeoutMiddleware:
    """Signs out a staff session unused for ``IZONIE_STAFF_IDLE_TIMEOUT_SECONDS``."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _staff(request):
            now = time.time()
            if idle_expired(request.session, now=now):
                logout(request)
                messages.info(
                    request,
                    f"You were signed out after {_span(settings.IZONIE_STAFF_IDLE_TIMEOUT_SECONDS)}"
                    " without activity. Sign in again to continue.",
                )
                return redirect_to_login(request.get_full_path())
            activity_record(request.session, now=now)
        return self.get_response(request)


class StaffTwoFactorMiddleware:
    """Holds a staff session that has not passed its second factor at the verification
    page (or, with no device yet while it is required, the setup page): no console, admin,
    report or API page answers it until then."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not _staff(request) or request.user.is_verified():  # type: ignore[union-attr]
            return self.get_response(request)
        user = request.user
        if not two_factor_applies(user) or self._exempt(request.path):  # type: ignore[arg-type]
            return self.get_response(request)
        if request.path.startswith("/api/"):
            return problem_response(
                403,
                "second_factor_required",
                "Confirm your sign-in with your authenticator app first.",
            )
        name = (
            "accounts:two_factor_verify" if user_has_device(user) else "accounts:two_factor_setup"
        )
        return redirect(f"{reverse(name)}?{urlencode({'next': request.get_full_path()})}")

    @staticmethod
    def _exempt(path: str) -> bool:
        open_paths = (
            reverse("accounts:two_factor_verify"),
            reverse("accounts:two_factor_setup"),
            reverse("logout"),
            reverse("login"),
        )
        return path in open_paths or path.startswith(settings.STATIC_URL)
