"""Two-factor sign-in for the support team, with real TOTP codes computed here."""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
import time

import pytest
from django.test import Client
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.tests.factories import PASSWORD, AdminFactory, AgentFactory, BuyerFactory

pytestmark = pytest.mark.django_db

SETUP = "/accounts/two-factor/"
VERIFY = "/accounts/two-factor/verify/"


@pytest.fixture
def required(settings):
    settings.IZONIE_STAFF_2FA_REQUIRED = True
    # Wrong codes slow the next try down (a second, then doubling); the flow tests type a
    # wrong code on purpose and must not wait. The throttle has its own test below.
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.OTP_STATIC_THROTTLE_FACTOR = 0


def _sign_in(user, *, next_url: str = "/console/") -> Client:
    client = Client()
    answer = client.post(
        "/accounts/login/", {"username": user.username, "password": PASSWORD, "next": next_url}
    )
    assert answer.status_code == 302 and answer["Location"] == next_url
    return client


def _code(secret_b32: str, *, steps_ahead: int = 0) -> str:
    key = base64.b32decode(
        secret_b32.replace(" ", "") + "=" * (-len(secret_b32.replace(" ", "")) % 8)
    )
    totp = TOTP(key, step=30, t0=0, digits=6)
    totp.time = time.time() + 30 * steps_ahead
    return f"{totp.token():06d}"


def _secret(page: str) -> str:
    return re.search(r'<code id="totp-secret">([A-Z2-7 ]+)</code>', page).group(1)


def _enrol(client: Client) -> tuple[str, list[str]]:
    page = client.get(SETUP).content.decode()
    secret = _secret(page)
    confirmed = client.post(SETUP, {"code": _code(secret), "next": "/console/"})
    assert confirmed.status_code == 200
    codes = re.findall(
        r"<li><code>([a-z2-7]{4}-[a-z2-7]{4})</code></li>", confirmed.content.decode()
    )
    return secret, codes


def test_agent_sets_up_an_app_then_every_sign_in_asks_for_a_code(required):
    agent = AgentFactory()
    client = _sign_in(agent)
    # Password alone does not reach the console: no device yet, so to the setup page.
    held = client.get("/console/")
    assert held.status_code == 302 and held["Location"] == f"{SETUP}?next=%2Fconsole%2F"
    setup = client.get(held["Location"])
    page = setup.content.decode()
    assert setup.status_code == 200 and "<svg" in page and 'class="qr"' in page
    secret = _secret(page)
    # The text key is the device's key (what the QR code holds too).
    device = TOTPDevice.objects.get(user=agent, confirmed=False)
    assert base64.b32encode(device.bin_key).decode().rstrip("=") == secret.replace(" ", "")
    assert f"secret={secret.replace(' ', '')}" in device.config_url

    wrong = client.post(SETUP, {"code": "000000" if _code(secret) != "000000" else "111111"})
    assert wrong.status_code == 400 and "did not match" in wrong.content.decode()
    assert client.get("/console/").status_code == 302

    confirmed = client.post(SETUP, {"code": _code(secret), "next": "/console/"})
    assert confirmed.status_code == 200
    assert "no-store" in confirmed["Cache-Control"]
    codes = re.findall(
        r"<li><code>([a-z2-7]{4}-[a-z2-7]{4})</code></li>", confirmed.content.decode()
    )
    assert len(codes) == 10 and len(set(codes)) == 10
    assert client.get("/console/").status_code == 200
    # Shown once: the setup page later lists none of them.
    later = client.get(SETUP).content.decode()
    assert not any(code in later for code in codes)

    # Next sign-in: the password, then the app's code (the next time step: the one used to
    # confirm may not be used twice).
    again = _sign_in(agent)
    held = again.get("/console/")
    assert held.status_code == 302 and held["Location"] == f"{VERIFY}?next=%2Fconsole%2F"
    assert again.post(VERIFY, {"code": "12345", "next": "/console/"}).status_code == 400
    passed = again.post(VERIFY, {"code": _code(secret, steps_ahead=1), "next": "/console/"})
    assert passed.status_code == 302 and passed["Location"] == "/console/"
    assert again.get("/console/").status_code == 200


def test_a_totp_code_works_once(required):
    agent = AgentFactory()
    secret, _codes = _enrol(_sign_in(agent))
    code = _code(secret, steps_ahead=1)
    first = _sign_in(agent)
    assert first.post(VERIFY, {"code": code}).status_code == 302
    replay = _sign_in(agent)
    assert replay.post(VERIFY, {"code": code}).status_code == 400


def test_recovery_codes_work_once_each(required):
    agent = AgentFactory()
    _secret_text, codes = _enrol(_sign_in(agent))
    client = _sign_in(agent)
    used = client.post(VERIFY, {"code": codes[0].upper().replace("-", " "), "next": "/console/"})
    assert used.status_code == 302
    page = client.get("/console/")
    assert page.status_code == 200 and "You used a recovery code; 9 left." in page.content.decode()
    again = _sign_in(agent)
    assert again.post(VERIFY, {"code": codes[0]}).status_code == 400
    assert again.get("/console/").status_code == 302
    assert again.post(VERIFY, {"code": codes[1]}).status_code == 302


def test_new_recovery_codes_replace_the_old_ones(required):
    agent = AgentFactory()
    client = _sign_in(agent)
    _secret_text, old = _enrol(client)
    renewed = client.post(SETUP, {"action": "new_codes"})
    new = re.findall(r"<li><code>([a-z2-7]{4}-[a-z2-7]{4})</code></li>", renewed.content.decode())
    assert len(new) == 10 and not set(new) & set(old)
    other = _sign_in(agent)
    assert other.post(VERIFY, {"code": old[2]}).status_code == 400
    assert other.post(VERIFY, {"code": new[2]}).status_code == 302


def test_wrong_codes_slow_down_guessing(settings):
    settings.IZONIE_STAFF_2FA_REQUIRED = True
    settings.OTP_TOTP_THROTTLE_FACTOR = 60
    agent = AgentFactory()
    secret, _codes = _enrol(_sign_in(agent))
    client = _sign_in(agent)
    right = _code(secret, steps_ahead=1)
    wrong = "000000" if right != "000000" else "111111"
    assert client.post(VERIFY, {"code": wrong}).status_code == 400
    # Within the back-off even the right code is refused.
    assert client.post(VERIFY, {"code": right}).status_code == 400
    assert client.get("/console/").status_code == 302


def test_a_password_alone_cannot_enrol_another_device(required):
    agent = AgentFactory()
    _enrol(_sign_in(agent))
    intruder = _sign_in(agent)
    answer = intruder.get(SETUP)
    assert answer.status_code == 302 and answer["Location"].startswith(VERIFY)
    assert intruder.post(SETUP, {"code": "123456"}).status_code == 302
    assert TOTPDevice.objects.filter(user=agent).count() == 1


def test_admin_site_and_api_wait_for_the_second_factor(required):
    admin = AdminFactory()
    client = _sign_in(admin, next_url="/admin/")
    held = client.get("/admin/")
    assert held.status_code == 302 and held["Location"].startswith(SETUP)
    api = client.get("/api/v1/tickets")
    assert api.status_code == 403 and api.json()["code"] == "second_factor_required"
    _enrol(client)
    assert client.get("/admin/").status_code == 200


def test_customers_are_never_asked(required):
    buyer = BuyerFactory()
    client = _sign_in(buyer, next_url="/requests/")
    assert client.get("/requests/").status_code == 200
    assert client.get(SETUP).status_code == 403


def test_off_by_setting_but_an_agent_with_a_device_is_still_asked(settings, required):
    agent = AgentFactory()
    _enrol(_sign_in(agent))
    settings.IZONIE_STAFF_2FA_REQUIRED = False
    other = AgentFactory()
    assert _sign_in(other).get("/console/").status_code == 200  # no device, not required
    assert _sign_in(agent).get("/console/")["Location"].startswith(VERIFY)


@pytest.mark.parametrize(("debug", "expected"), [("0", "True"), ("1", "False")])
def test_required_by_default_when_debug_is_off(debug, expected):
    env = {**os.environ, "DJANGO_DEBUG": debug, "DJANGO_SETTINGS_MODULE": "config.settings"}
    env.pop("IZONIE_STAFF_2FA_REQUIRED", None)
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "from django.conf import settings; print(settings.IZONIE_STAFF_2FA_REQUIRED)",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == expected
