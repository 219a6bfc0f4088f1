"""Repeated failed sign-ins lock the username out from that address (django-axes)."""

from __future__ import annotations

import datetime as dt

import pytest
from axes.models import AccessAttempt
from django.test import Client

from accounts.tests.factories import PASSWORD, AgentFactory, BuyerFactory

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
ADMIN_LOGIN = "/admin/login/"


def _fail(client: Client, username: str, *, url: str = LOGIN, times: int = 1):
    response = None
    for _ in range(times):
        response = client.post(url, {"username": username, "password": "wrong-guess"})
    return response


def test_twenty_failures_lock_out_with_429_a_readable_page_and_retry_after(settings):
    settings.AXES_FAILURE_LIMIT = 10
    settings.AXES_COOLOFF_TIME = dt.timedelta(minutes=15)
    agent = AgentFactory()
    client = Client()
    answers = [_fail(client, agent.username) for _ in range(20)]
    # The first nine are the usual "didn't match" page; from the tenth on, locked out.
    assert [a.status_code for a in answers[:9]] == [200] * 9
    assert all(a.status_code == 429 for a in answers[9:])
    locked = answers[-1]
    assert locked["Retry-After"] == str(15 * 60)
    assert locked["Content-Type"].startswith("text/html")
    page = locked.content.decode()
    assert "Too many failed sign-ins" in page and "15 minutes" in page
    assert '<form method="post"' in page  # the sign-in page itself, not a bare text
    # The right password during the lockout is refused too, and no session is made.
    right = client.post(LOGIN, {"username": agent.username, "password": PASSWORD})
    assert right.status_code == 429
    assert "_auth_user_id" not in client.session


def test_the_lockout_ends_after_the_cool_off(settings):
    settings.AXES_FAILURE_LIMIT = 5
    settings.AXES_COOLOFF_TIME = dt.timedelta(minutes=15)
    buyer = BuyerFactory()
    client = Client()
    assert _fail(client, buyer.username, times=6).status_code == 429
    # Sixteen minutes later (the stored attempts moved back instead of waiting).
    AccessAttempt.objects.update(attempt_time=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=16))
    right = client.post(LOGIN, {"username": buyer.username, "password": PASSWORD})
    assert right.status_code == 302
    assert client.session["_auth_user_id"] == str(buyer.pk)
    # A success clears the count: one more typo is an ordinary failure again.
    client.logout()
    assert _fail(client, buyer.username).status_code == 200


def test_not_yet_expired_lockout_still_refuses(settings):
    settings.AXES_FAILURE_LIMIT = 3
    settings.AXES_COOLOFF_TIME = dt.timedelta(minutes=15)
    buyer = BuyerFactory()
    client = Client()
    _fail(client, buyer.username, times=3)
    AccessAttempt.objects.update(attempt_time=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=14))
    assert client.post(LOGIN, {"username": buyer.username, "password": PASSWORD}).status_code == 429


def test_the_admin_login_is_locked_out_the_same_way(settings):
    settings.AXES_FAILURE_LIMIT = 3
    admin = AgentFactory(is_staff=True, is_superuser=True)
    client = Client()
    answers = [_fail(client, admin.username, url=ADMIN_LOGIN) for _ in range(4)]
    assert answers[-1].status_code == 429
    assert "Too many failed sign-ins" in answers[-1].content.decode()
    # The lock is on the username+address, wherever the next try comes from on the site.
    assert client.post(LOGIN, {"username": admin.username, "password": PASSWORD}).status_code == 429


def test_another_address_or_another_username_is_not_locked(settings):
    settings.AXES_FAILURE_LIMIT = 3
    agent, other = AgentFactory(), AgentFactory()
    _fail(Client(REMOTE_ADDR="198.51.100.7"), agent.username, times=5)
    # Someone guessing an agent's password from elsewhere does not lock the agent out.
    office = Client(REMOTE_ADDR="203.0.113.20")
    assert office.post(LOGIN, {"username": agent.username, "password": PASSWORD}).status_code == 302
    attacker = Client(REMOTE_ADDR="198.51.100.7")
    assert (
        attacker.post(LOGIN, {"username": other.username, "password": PASSWORD}).status_code == 302
    )
