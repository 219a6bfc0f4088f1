"""The Support Policy page in Chromium: what a visitor sees at desktop and phone widths."""

import pytest

from conftest import screenshot_path

KEY_FACTS = [
    "Monday – Saturday, 08:00 – 20:00",
    "support@izonie.com",
    "Order Status",
    "Payments",
    "Technical Support",
    "Returns",
    "Seller Support",
    "2–5 minutes",
    "24 hours",
    "3–5 business days",
    "48 hours",
    "Escalate to a Supervisor",
]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_policy_page_in_chromium_desktop_and_phone(page, live_server):
    page.goto(f"{live_server.url}/support-policy")

    assert page.locator("h1").count() == 1
    assert page.locator("header").count() == 1
    assert page.locator("main").count() == 1
    assert page.locator("footer").count() == 1
    for text in KEY_FACTS:
        assert page.get_by_text(text, exact=False).first.is_visible(), text
    assert page.get_by_role("link", name="support@izonie.com").first.get_attribute("href") == (
        "mailto:support@izonie.com"
    )
    assert page.get_by_role("link", name="Contact us").last.get_attribute("href") == "/contact"

    # Live chat status: a <time> in the team's zone, and the viewer's own time added by
    # the inline script (the test browser runs in Europe/London).
    status = page.get_by_test_id("chat-status")
    assert status.get_by_text("Open now").count() + status.get_by_text("Closed now").count() == 1
    time = status.locator("time")
    assert time.count() == 1
    assert time.get_attribute("datetime")
    assert "WAT" in time.inner_text()
    viewer = status.locator(".viewer-time")
    assert viewer.is_visible()
    assert "In your time zone (Europe/London)" in viewer.inner_text()
    assert "GMT" in viewer.inner_text() or "UTC" in viewer.inner_text()

    page.screenshot(path=screenshot_path("support-policy-desktop"), full_page=True)

    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert page.get_by_text("Escalate to a Supervisor").first.is_visible()
    page.screenshot(path=screenshot_path("support-policy-phone"), full_page=True)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_without_javascript_the_team_time_stays(browser, live_server):
    context = browser.new_context(java_script_enabled=False, timezone_id="Europe/London")
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}/support-policy")
        status = page.get_by_test_id("chat-status")
        assert "WAT" in status.locator("time").inner_text()
        assert not status.locator(".viewer-time").is_visible()
    finally:
        context.close()
