import datetime as dt

import pytest
import yaml
from django.test import Client

from conftest import screenshot_path
from policy.calendar import is_open
from policy.loader import get_policy, parse_policy, reset_policy_cache
from policy.selectors import chat_status, hours_sentences

POLICY_FILE = "policies/izonie.yaml"
LAGOS = dt.timezone(dt.timedelta(hours=1))


def izonie_data() -> dict:
    with open(POLICY_FILE) as handle:
        return yaml.safe_load(handle)


@pytest.mark.django_db
def test_every_fact_of_the_published_policy_is_on_the_page():
    page = Client().get("/support-policy").content.decode()
    facts = [
        "Monday – Saturday, 08:00 – 20:00",
        "website and mobile app",
        'href="mailto:support@izonie.com"',
        "https://izonie.com/help",
        "24/7",
        "Facebook",
        "Instagram",
        "TikTok",
        "2–5 minutes</strong> during business hours",
        "Email response: <strong>24 hours",
        "3–5 business days",
        "48 hours",
        "Order Status",
        "Tracking, delays, delivery issues",
        "Payments",
        "Failed transactions, refunds, wallet balance",
        "Technical Support",
        "Account login, app bugs, website errors",
        "Returns",
        "Initiating a return, checking refund status",
        "Seller Support",
        "Listings, payouts",
        "Escalate to a Supervisor",
        "senior team member",
        "mutual respect",
        "order number",
        "zero tolerance for abusive language or harassment",
        "end the support session",
        "rate your experience",
    ]
    missing = [fact for fact in facts if fact not in page]
    assert missing == []


@pytest.mark.django_db
def test_the_page_is_rendered_from_the_policy_file(settings, tmp_path):
    data = izonie_data()
    data["channels"]["email"]["address"] = "help@example-market.test"
    data["channels"]["live_chat"]["hours"] = [
        {"days": ["mon", "tue", "wed", "thu", "fri"], "open": "09:00", "close": "17:30"}
    ]
    path = tmp_path / "other.yaml"
    path.write_text(yaml.safe_dump(data))
    settings.IZONIE_POLICY_FILE = path
    reset_policy_cache()
    page = Client().get("/support-policy").content.decode()
    assert "help@example-market.test" in page
    assert "Monday – Friday, 09:00 – 17:30" in page
    assert "support@izonie.com" not in page
    assert "Monday – Saturday, 08:00 – 20:00" not in page


def test_chat_status_open_and_closed_moments():
    policy = parse_policy(izonie_data())
    saturday_ten = dt.datetime(2026, 11, 21, 10, 0, tzinfo=LAGOS)
    status = chat_status(policy, saturday_ten)
    assert status.open_now and status.closes_at == dt.datetime(2026, 11, 21, 20, 0, tzinfo=LAGOS)
    at_closing = chat_status(policy, dt.datetime(2026, 11, 21, 20, 0, tzinfo=LAGOS))
    assert not at_closing.open_now
    assert at_closing.next_open_at == dt.datetime(2026, 11, 23, 8, 0, tzinfo=LAGOS)
    sunday = chat_status(policy, dt.datetime(2026, 11, 22, 12, 0, tzinfo=LAGOS))
    assert not sunday.open_now


def test_a_public_holiday_closes_live_chat():
    data = izonie_data()
    data["calendar"]["holidays"]["extra"] = [{"date": "2026-11-24", "name": "Company day"}]
    policy = parse_policy(data)
    tuesday_noon = dt.datetime(2026, 11, 24, 12, 0, tzinfo=LAGOS)
    assert not is_open(policy.calendar, policy.hours_for("live_chat"), tuesday_noon)
    # Christmas Day is a Nigerian public holiday (holidays package).
    christmas = dt.datetime(2026, 12, 25, 12, 0, tzinfo=LAGOS)
    assert not is_open(policy.calendar, policy.hours_for("live_chat"), christmas)
    assert is_open(policy.calendar, policy.hours_for("email"), christmas)


def test_hours_read_as_sentences():
    policy = get_policy()
    assert hours_sentences(policy.hours_for("live_chat")) == ["Monday – Saturday, 08:00 – 20:00"]
    assert hours_sentences(None) == ["any time, 24/7"]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_policy_page_in_chromium_desktop_and_phone(page, live_server):
    page.goto(f"{live_server.url}/support-policy")
    assert page.locator("h1").count() == 1
    for text in [
        "Monday – Saturday, 08:00 – 20:00",
        "support@izonie.com",
        "2–5 minutes",
        "3–5 business days",
        "48 hours",
        "Seller Support",
        "Escalate to a Supervisor",
    ]:
        assert page.get_by_text(text).first.is_visible(), text
    status = page.locator(".chat-status time")
    assert status.count() >= 1
    assert status.first.get_attribute("datetime")
    # The viewer's own time (Europe/London in the test browser) is added next to it.
    assert page.locator(".chat-status .viewer-time").first.is_visible()
    page.screenshot(path=screenshot_path("support-policy-desktop"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=screenshot_path("support-policy-phone"), full_page=True)
