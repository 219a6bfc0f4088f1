"""Two-factor set-up and sign-in as a person does it, in Chromium."""

from __future__ import annotations

import base64
import time

import pytest
from django_otp.oath import TOTP
from playwright.sync_api import expect

from accounts.tests.factories import AgentFactory
from conftest import screenshot_path

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _code(secret: str, *, steps_ahead: int = 0) -> str:
    text = secret.replace(" ", "")
    totp = TOTP(base64.b32decode(text + "=" * (-len(text) % 8)), step=30, t0=0, digits=6)
    totp.time = time.time() + 30 * steps_ahead
    return f"{totp.token():06d}"


def test_an_agent_sets_up_the_app_and_signs_in_with_it(page, live_server, login, settings):
    settings.IZONIE_STAFF_2FA_REQUIRED = True
    agent = AgentFactory()
    login(page, agent)
    page.goto(f"{live_server.url}/console/")
    expect(page.get_by_role("heading", name="Two-factor sign-in")).to_be_visible()
    qr = page.locator("figure.qr svg")
    expect(qr).to_be_visible()
    box = qr.bounding_box()
    # Drawn whole (scaled by its viewBox, not cropped) and big enough for a phone camera.
    assert qr.get_attribute("viewBox") and box["width"] >= 150 and box["width"] == box["height"]
    page.screenshot(path=screenshot_path("two-factor-setup"))
    secret = page.locator("#totp-secret").inner_text()
    page.get_by_label("Code from the app").fill(_code(secret))
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", name="Two-factor sign-in is on")).to_be_visible()
    codes = page.get_by_role("list", name="Recovery codes").locator("code").all_inner_texts()
    assert len(codes) == 10
    page.screenshot(path=screenshot_path("two-factor-recovery-codes"))
    page.get_by_role("link", name="I have saved them, continue").click()
    expect(page).to_have_url(f"{live_server.url}/console/")

    # Signed out and in again: the password, then the app's next code.
    page.get_by_role("button", name="Sign out").click()
    login(page, agent)
    page.goto(f"{live_server.url}/console/")
    expect(page.get_by_role("heading", name="Confirm it's you")).to_be_visible()
    page.get_by_label("Code").fill(_code(secret, steps_ahead=1))
    page.get_by_role("button", name="Confirm").click()
    expect(page).to_have_url(f"{live_server.url}/console/")
