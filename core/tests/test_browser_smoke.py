import pytest

from conftest import screenshot_path

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_home_page_renders_in_chromium(page, live_server):
    page.goto(live_server.url + "/")
    assert page.get_by_role("heading", name="How can we help?").is_visible()
    page.screenshot(path=screenshot_path("home-desktop"), full_page=True)
