"""Two-factor sign-in for the support team: an authenticator app (TOTP) plus recovery codes.

Built on django-otp's TOTP and static-token devices. The password sign-in stays Django's
own LoginView; ``accounts.middleware.StaffTwoFactorMiddleware`` then holds a staff session
at the verification (or the setup) page until a device has verified it. django-otp keeps
the verifying device's id in the session, so signing out, or a new sign-in, asks again.
"""

from __future__ import annotations

import base64
import binascii

import segno
from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.db import transaction
from django_otp import DEVICE_ID_SESSION_KEY, user_has_device, verify_token
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User

RECOVERY_CODE_COUNT = 10
APP_DEVICE_NAME = "Authenticator app"
RECOVERY_DEVICE_NAME = "Recovery codes"


def two_factor_applies(user: User) -> bool:
    """Whether this signed-in user must pass a second factor before working.

    Staff always do once they have set up a device (even where it is not required); when
    ``IZONIE_STAFF_2FA_REQUIRED`` is on, every staff account does. Customers never do.
    """
    if not user.is_agent:
        return False
    return settings.IZONIE_STAFF_2FA_REQUIRED or user_has_device(user)


def session_is_verified(*, user: User, session: SessionBase) -> bool:
    """The session was verified by a confirmed device of this user (the socket's check;
    pages ask ``request.user.is_verified()``, which django-otp's middleware fills in)."""
    persistent_id = session.get(DEVICE_ID_SESSION_KEY)
    if not persistent_id:
        return False
    device = Device.from_persistent_id(persistent_id)
    return device is not None and device.user_id == user.pk and device.confirmed


def has_app_device(user: User) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def totp_device_pending(*, user: User) -> TOTPDevice:
    """The not yet confirmed authenticator device being set up (kept across reloads of the
    setup page, so the QR code scanned a minute ago still works)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=APP_DEVICE_NAME, confirmed=False)
    return device


def totp_secret(device: TOTPDevice) -> str:
    """The key as the base32 text an authenticator app accepts typed in, in groups of 4."""
    text = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


def totp_qr_svg(device: TOTPDevice) -> str:
    """The otpauth:// URI as an inline SVG QR code, drawn here so the secret never leaves
    the server (no third-party QR image service). A viewBox without a fixed size, so the
    stylesheet scales it whole."""
    return segno.make(device.config_url, error="m").svg_inline(
        scale=5, dark="#111", light="#fff", omitsize=True
    )


def normalise_code(raw: str) -> str:
    """Codes are typed with spaces or a dash in the middle ("123 456", "abcd-efgh")."""
    return "".join(ch for ch in raw.strip().lower() if ch not in " -")


@transaction.atomic
def totp_confirm(*, user: User, device: TOTPDevice, code: str) -> list[str] | None:
    """Confirm the pending device with a code from the app: it replaces any earlier app
    device, and a fresh set of recovery codes is issued (returned, to be shown once).
    None when the code is wrong (or throttled after wrong ones)."""
    if device.user_id != user.pk or device.confirmed:
        return None
    try:
        ok = device.verify_token(normalise_code(code))
    except (binascii.Error, ValueError):
        ok = False
    if not ok:
        return None
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    return recovery_codes_issue(user=user)


@transaction.atomic
def recovery_codes_issue(*, user: User) -> list[str]:
    """A new set of single-use recovery codes; the old set stops working."""
    device, _ = StaticDevice.objects.get_or_create(
        user=user, name=RECOVERY_DEVICE_NAME, defaults={"confirmed": True}
    )
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return [f"{code[:4]}-{code[4:]}" for code in codes]


def recovery_codes_left(user: User) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def second_factor_verify(*, user: User, code: str) -> Device | None:
    """The confirmed device that accepts ``code``: the app's current code (digits), or an
    unused recovery code (letters and digits; used up by this). Each device throttles wrong
    codes itself (django-otp's exponential back-off), so guessing is slow; a code goes only
    to the kind of device it can be, so a recovery code does not slow down the app's."""
    token = normalise_code(code)
    if not token:
        return None
    model: type[Device] = TOTPDevice if token.isdigit() else StaticDevice
    for device in model.objects.devices_for_user(user, confirmed=True):
        if verify_token(user, device.persistent_id, token) is not None:
            return device
    return None
