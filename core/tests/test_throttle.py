"""Limits on anonymous ticket creation (core.throttle) on each way in: the contact form
(HTML), the widget's offline message (JSON), the chat socket (error frame), and the
acknowledgements a new email request triggers."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client

from core.throttle import Rate, client_ip
from tickets.models import Ticket


def test_rates_are_read_from_their_short_form():
    assert Rate.parse("5/h") == Rate(5, 3600)
    assert Rate.parse("100/10m") == Rate(100, 600)
    assert Rate.parse(" 3 / d ") == Rate(3, 86400)
    assert Rate.parse("0") is None and Rate.parse("") is None
    with pytest.raises(ImproperlyConfigured):
        Rate.parse("five per hour")


@pytest.mark.parametrize(
    ("proxies", "remote", "forwarded", "expected"),
    [
        ([], "198.51.100.7", "203.0.113.9", "198.51.100.7"),  # no trusted proxy: header ignored
        (["10.0.0.0/8"], "198.51.100.7", "203.0.113.9", "198.51.100.7"),  # peer not a proxy
        (["10.0.0.0/8"], "10.1.1.1", "203.0.113.9", "203.0.113.9"),
        # Left of the last untrusted hop, anyone can write anything.
        (["10.0.0.0/8"], "10.1.1.1", "1.2.3.4, 203.0.113.9, 10.2.2.2", "203.0.113.9"),
        (["10.0.0.0/8"], "10.1.1.1", "", "10.1.1.1"),
    ],
)
def test_the_client_ip_comes_from_a_forwarded_header_only_through_a_trusted_proxy(
    settings, proxies, remote, forwarded, expected
):
    settings.IZONIE_TRUSTED_PROXIES = proxies
    headers = {"x-forwarded-for": forwarded} if forwarded else {}
    assert client_ip(remote_addr=remote, headers=headers) == expected


@pytest.fixture
def limits(settings):
    settings.IZONIE_THROTTLE_CONTACT_PER_ADDRESS = "2/h"
    settings.IZONIE_THROTTLE_CONTACT_PER_IP = "3/h"
    settings.IZONIE_THROTTLE_OFFLINE_PER_ADDRESS = "2/h"
    settings.IZONIE_THROTTLE_OFFLINE_PER_IP = "3/h"
    settings.IZONIE_THROTTLE_CHAT_START_PER_ADDRESS = "2/h"
    settings.IZONIE_THROTTLE_CHAT_START_PER_IP = "3/h"
    return settings


def _contact(email: str, ip: str = "198.51.100.7", **extra):
    return Client(REMOTE_ADDR=ip, **extra).post(
        "/contact",
        {"name": "Tayo", "email": email, "category": "payments", "body": "Refund?"},
    )


@pytest.mark.django_db
def test_the_contact_form_refuses_a_third_request_for_one_address_with_a_readable_429(limits):
    assert _contact("tayo@example.com").status_code == 302
    assert _contact("TAYO@example.com").status_code == 302
    refused = _contact("tayo@example.com")
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 3600
    page = refused.content.decode()
    assert "Too many requests for this email address" in page
    assert "Refund?" in page  # what they wrote is still in the form
    assert Ticket.objects.count() == 2


@pytest.mark.django_db
def test_the_contact_form_limits_one_network_across_addresses(limits):
    for n in range(3):
        assert _contact(f"p{n}@example.com").status_code == 302
    refused = _contact("p9@example.com")
    assert refused.status_code == 429
    assert "from your network" in refused.content.decode()
    # Another network is not held up, and a forged forwarded-for does not help.
    assert _contact("p9@example.com", ip="198.51.100.8").status_code == 302
    assert _contact("q@example.com", HTTP_X_FORWARDED_FOR="203.0.113.1").status_code == 429
    assert Ticket.objects.count() == 4


@pytest.mark.django_db
def test_through_a_trusted_proxy_each_customer_has_their_own_count(limits):
    limits.IZONIE_TRUSTED_PROXIES = ["10.0.0.5"]
    for n in range(3):
        assert _contact(f"a{n}@example.com", ip="10.0.0.5", HTTP_X_FORWARDED_FOR="203.0.113.1")
    assert (
        _contact("b@example.com", ip="10.0.0.5", HTTP_X_FORWARDED_FOR="203.0.113.1").status_code
        == 429
    )
    assert (
        _contact("b@example.com", ip="10.0.0.5", HTTP_X_FORWARDED_FOR="203.0.113.2").status_code
        == 302
    )


def _offline(email: str, ip: str = "198.51.100.7"):
    return Client(REMOTE_ADDR=ip).post(
        "/chat/offline-message",
        {"name": "Chidi", "email": email, "category": "payments", "text": "Charged twice"},
        content_type="application/json",
    )


@pytest.mark.django_db
def test_the_offline_message_answers_a_json_problem_with_retry_after(limits):
    assert _offline("chidi@example.com").status_code == 201
    assert _offline("chidi@example.com").status_code == 201
    refused = _offline("chidi@example.com")
    assert refused.status_code == 429
    assert refused["Content-Type"] == "application/json"
    assert int(refused["Retry-After"]) > 0
    problem = refused.json()
    assert problem["code"] == "throttled"
    assert problem["detail"].startswith("Too many requests for this email address")
    # Refused attempts count too: this network has had its 3.
    assert _offline("other@example.com").status_code == 429
    assert _offline("other@example.com", ip="198.51.100.8").status_code == 201
    assert Ticket.objects.count() == 3


def test_a_mistyped_limit_or_proxy_is_a_start_up_error(settings):
    from core.throttle import check_rates

    assert check_rates() == []
    settings.IZONIE_THROTTLE_CONTACT_PER_IP = "ten an hour"
    settings.IZONIE_TRUSTED_PROXIES = ["10.0.0.0/8", "load-balancer"]
    assert [e.id for e in check_rates()] == ["izonie.E101", "izonie.E102"]
