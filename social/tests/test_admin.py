"""Admins set accounts up; tokens and secrets are never shown again once saved."""

from __future__ import annotations

import pytest

from accounts.tests.factories import AdminFactory
from social.models import SocialAccount
from social.tests.conftest import APP_SECRET, PAGE_TOKEN, VERIFY_TOKEN

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    admin = AdminFactory(is_staff=True, is_superuser=True)
    client.force_login(admin)
    return client


def test_an_admin_adds_an_account_and_its_secrets_are_not_shown_again(admin_client):
    response = admin_client.post(
        "/admin/social/socialaccount/add/",
        {
            "platform": "facebook",
            "external_id": "104857600001",
            "name": "Izonie",
            "access_token": PAGE_TOKEN,
            "app_secret": APP_SECRET,
            "verify_token": VERIFY_TOKEN,
            "active": "on",
        },
    )
    assert response.status_code == 302
    account = SocialAccount.objects.get()
    assert (account.access_token, account.app_secret) == (PAGE_TOKEN, APP_SECRET)
    change_page = admin_client.get(f"/admin/social/socialaccount/{account.pk}/change/")
    html = change_page.content.decode()
    for secret in (PAGE_TOKEN, APP_SECRET, VERIFY_TOKEN):
        assert secret not in html
    listing = admin_client.get("/admin/social/socialaccount/").content.decode()
    assert PAGE_TOKEN not in listing and APP_SECRET not in listing


def test_saving_with_blank_secret_fields_keeps_the_stored_ones(admin_client, fb_page):
    response = admin_client.post(
        f"/admin/social/socialaccount/{fb_page.pk}/change/",
        {
            "platform": "facebook",
            "external_id": fb_page.external_id,
            "name": "Izonie Nigeria",
            "access_token": "",
            "app_secret": "",
            "verify_token": "",
            "active": "on",
        },
    )
    assert response.status_code == 302
    fb_page.refresh_from_db()
    assert fb_page.name == "Izonie Nigeria"
    assert (fb_page.access_token, fb_page.app_secret, fb_page.verify_token) == (
        PAGE_TOKEN,
        APP_SECRET,
        VERIFY_TOKEN,
    )
