"""Two-factor pages for the support team: set up an authenticator app, verify a sign-in."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login
from django_otp import user_has_device
from django_otp.plugins.otp_static.models import StaticDevice

from accounts import two_factor
from accounts.decorators import current_user


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return str(settings.LOGIN_REDIRECT_URL)


def _with_next(name: str, target: str) -> str:
    return f"{reverse(name)}?{urlencode({'next': target})}"


def _staff_only(request: HttpRequest) -> None:
    if not request.user.is_agent:  # type: ignore[union-attr]
        raise PermissionDenied("Two-factor sign-in is for the support team.")


@login_required
@require_http_methods(["GET", "POST"])
def two_factor_setup(request: HttpRequest) -> HttpResponse:
    """Scan the QR code (or type the key), confirm with a code, get recovery codes once."""
    _staff_only(request)
    user = current_user(request)
    # Someone who only knows the password must not enrol a device of their own: while the
    # account has a device, changing it needs a session that device verified.
    if user_has_device(user) and not user.is_verified():  # type: ignore[attr-defined]
        return redirect(_with_next("accounts:two_factor_verify", _next_url(request)))
    device = two_factor.totp_device_pending(user=user)
    error = ""
    if request.method == "POST" and request.POST.get("action") == "new_codes":
        if not user.is_verified():  # type: ignore[attr-defined]
            raise PermissionDenied("Set up your authenticator app first.")
        return _codes_page(request, two_factor.recovery_codes_issue(user=user), renewed=True)
    if request.method == "POST":
        codes = two_factor.totp_confirm(user=user, device=device, code=request.POST.get("code", ""))
        if codes is not None:
            device.refresh_from_db()
            otp_login(request, device)
            return _codes_page(request, codes, renewed=False)
        error = "That code did not match. Check the time on your phone and enter the newest code."
    response = render(
        request,
        "accounts/two_factor_setup.html",
        {
            "qr_svg": two_factor.totp_qr_svg(device),
            "secret": two_factor.totp_secret(device),
            "issuer": settings.IZONIE_STAFF_2FA_ISSUER,
            "error": error,
            "has_app": two_factor.has_app_device(user),
            "codes_left": two_factor.recovery_codes_left(user),
            "next": _next_url(request),
        },
        status=400 if error else 200,
    )
    add_never_cache_headers(response)
    return response


def _codes_page(request: HttpRequest, codes: list[str], *, renewed: bool) -> HttpResponse:
    """Recovery codes are shown on this one answer and never again (only their hashes'
    equivalent, the stored tokens, remain; each works once)."""
    response = render(
        request,
        "accounts/two_factor_codes.html",
        {"codes": codes, "renewed": renewed, "next": _next_url(request)},
    )
    add_never_cache_headers(response)
    return response


@login_required
@require_http_methods(["GET", "POST"])
def two_factor_verify(request: HttpRequest) -> HttpResponse:
    """The step after the password: the app's current code, or a recovery code."""
    _staff_only(request)
    user = current_user(request)
    if not user_has_device(user):
        return redirect(_with_next("accounts:two_factor_setup", _next_url(request)))
    error = ""
    if request.method == "POST":
        device = two_factor.second_factor_verify(user=user, code=request.POST.get("code", ""))
        if device is not None:
            otp_login(request, device)
            if isinstance(device, StaticDevice):
                left = two_factor.recovery_codes_left(user)
                messages.warning(
                    request,
                    f"You used a recovery code; {left} left. Set up your authenticator app "
                    "again or make new codes on the two-factor page.",
                )
            return redirect(_next_url(request))
        error = (
            "That code did not work. Enter the newest 6-digit code from your app, or one of "
            "your recovery codes. After several wrong codes you have to wait a little longer "
            "before each try."
        )
    response = render(
        request,
        "accounts/two_factor_verify.html",
        {"error": error, "next": _next_url(request)},
        status=400 if error else 200,
    )
    add_never_cache_headers(response)
    return response
