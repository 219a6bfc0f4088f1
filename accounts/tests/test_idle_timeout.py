"""Staff sessions end after IZONIE_STAFF_IDLE_TIMEOUT_SECONDS without a request."""

from __future__ import annotations

import time

import pytest
from django.test import Client

from accounts.staff_sessions import LAST_ACTIVITY_KEY
from accounts.tests.factories import PASSWORD, AgentFactory, BuyerFactory

pytestmark = pytest.mark.django_db


def _sign_in(user) -> Client:
    client = Client()
    answer = client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    assert answer.status_code == 302
    return client


def _last_seen(client: Client, seconds_ago: int) -> None:
    session = client.session
    session[LAST_ACTIVITY_KEY] = int(time.time()) - seconds_ago
    session.save()


def test_an_idle_agent_is_signed_out_and_told_why(settings):
    settings.IZONIE_STAFF_IDLE_TIMEOUT_SECONDS = 3600
    client = _sign_in(AgentFactory())
    # The clock starts at sign-in.
    assert time.time() - client.session[LAST_ACTIVITY_KEY] < 5
    assert client.get("/console/").status_code == 200
    _last_seen(client, 3601)
    answer = client.get("/console/")
    assert answer.status_code == 302 and answer["Location"] == "/accounts/login/?next=/console/"
    assert "_auth_user_id" not in client.session
    page = client.get(answer["Location"]).content.decode()
    assert "signed out after 1 hour without activity" in page
    # Signed out for good: the console keeps sending to the sign-in page.
    assert client.get("/console/").status_code == 302


def test_activity_within_the_limit_keeps_the_agent_in_and_moves_the_clock(settings):
    settings.IZONIE_STAFF_IDLE_TIMEOUT_SECONDS = 3600
    client = _sign_in(AgentFactory())
    _last_seen(client, 3500)
    assert client.get("/console/").status_code == 200
    assert time.time() - client.session[LAST_ACTIVITY_KEY] < 5
    _last_seen(client, 3500)  # another 58 minutes after that request: still in
    assert client.get("/console/").status_code == 200


def test_customers_keep_their_sessions(settings):
    settings.IZONIE_STAFF_IDLE_TIMEOUT_SECONDS = 3600
    client = _sign_in(BuyerFactory())
    _last_seen(client, 10 * 3600)
    assert client.get("/requests/").status_code == 200
