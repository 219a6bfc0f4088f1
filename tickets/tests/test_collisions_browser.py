"""Two agents on one ticket in Chromium: each sees the other, and who is writing."""

import pytest
from playwright.sync_api import expect

from accounts.tests.factories import AgentFactory, BuyerFactory
from conftest import screenshot_path
from tickets import services
from tickets.choices import Channel

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_a_colleague_typing_a_reply_is_shown(browser, page, login, live_server):
    """About 12 s: the watching page polls every 10 s."""
    ticket = services.ticket_open(
        requester=BuyerFactory(),
        channel=Channel.EMAIL,
        category="technical_support",
        body="The app crashes at checkout.",
    )
    url = f"{live_server.url}/console/tickets/{ticket.pk}/"
    login(page, AgentFactory(display_name="Ada Obi"))
    page.goto(url)
    other = browser.new_context(viewport={"width": 390, "height": 800})
    tunde = other.new_page()
    login(tunde, AgentFactory(display_name="Tunde Bello"))
    tunde.goto(url)
    expect(tunde.locator("#ticket-presence")).to_contain_text("Ada Obi is viewing this ticket")
    tunde.get_by_label("Reply to the customer").fill("Please update the app to 2.3.")
    expect(page.locator("#ticket-presence")).to_contain_text("Tunde Bello is typing a reply")
    page.screenshot(path=screenshot_path("collisions-1280"))
    tunde.screenshot(path=screenshot_path("collisions-390"))
    other.close()
