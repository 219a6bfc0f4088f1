"""The "Other mail" page in Chromium, as an agent at desktop and phone width."""

import pytest
from playwright.sync_api import expect

from accounts.tests.factories import AgentFactory
from conftest import screenshot_path
from console.tests.test_other_mail import BOUNCE, NEWSLETTER
from mail.intake import ingest_raw

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


@pytest.mark.parametrize("width", [1280, 390])
def test_an_agent_finds_a_newsletter_and_reads_it(page, login, live_server, width):
    page.set_viewport_size({"width": width, "height": 800})
    ingest_raw(raw=NEWSLETTER, source="test")
    ingest_raw(raw=BOUNCE, source="test")
    login(page, AgentFactory())
    page.goto(f"{live_server.url}/console/")
    page.get_by_role("link", name="Other mail").click()
    expect(page.get_by_role("heading", name="Other mail")).to_be_visible()
    expect(page.get_by_role("link", name="Undelivered Mail Returned to Sender")).to_be_visible()
    page.screenshot(path=screenshot_path(f"other-mail-{width}"), full_page=True)
    page.get_by_role("link", name="Flash sale on chargers").click()
    expect(page.get_by_text("Chargers at half price this weekend only.")).to_be_visible()
    page.screenshot(path=screenshot_path(f"other-mail-detail-{width}"), full_page=True)
