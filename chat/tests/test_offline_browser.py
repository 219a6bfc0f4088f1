"""An offline message left with the widget, as the agent then finds it in the console:
its own sub-channel in the channel column and filter, the page it was left on."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from accounts.tests.factories import PASSWORD, AgentFactory, BuyerFactory
from chat.tests.conftest import CLOSED_MOMENT
from chat.tests.test_browser import PRODUCT, new_page, sign_in
from conftest import screenshot_path
from tickets.choices import Channel
from tickets.models import Message
from tickets.services import ticket_open

pytestmark = pytest.mark.django_db(transaction=True)


def test_agents_find_an_offline_message_as_such_in_the_console(browser, asgi_server, clock):
    clock(CLOSED_MOMENT)
    mailed = ticket_open(
        requester=BuyerFactory(),
        channel=Channel.EMAIL,
        body="My payout is late",
        category="payments",
    )
    customer = new_page(browser, width=390, height=844)
    customer.goto(f"{asgi_server.url}{PRODUCT}")
    customer.get_by_role("button", name="Chat with us").click()
    dialog = customer.get_by_role("dialog", name="Izonie Support chat")
    dialog.get_by_label("Your name").fill("Chidi")
    dialog.get_by_label("Email").fill("chidi@example.com")
    dialog.get_by_label("Topic").select_option(label="Payments")
    dialog.get_by_label("Your message").fill("I was charged twice for the X12 Pro")
    dialog.get_by_role("button", name="Leave a message").click()
    expect(dialog).to_contain_text("Your request is IZS-")
    offline = Message.objects.get(body_text="I was charged twice for the X12 Pro").ticket

    agent = new_page(browser)
    sign_in(agent, asgi_server, AgentFactory())
    agent.goto(f"{asgi_server.url}/console/?view=open")
    table = agent.locator("#ticket-table")
    expect(table).to_contain_text(mailed.reference)
    expect(table.get_by_role("row").filter(has_text=offline.reference)).to_contain_text(
        "Live chat, offline message"
    )
    agent.get_by_label("Channel").select_option(label="Live chat, offline message")
    expect(table).not_to_contain_text(mailed.reference)
    expect(table).to_contain_text(offline.reference)
    agent.screenshot(path=screenshot_path("console-inbox-offline-message"))

    agent.get_by_role("link", name=offline.reference).click()
    header = agent.locator("main p.muted").first
    expect(header).to_contain_text("Live chat, offline message")
    expect(header.get_by_role("link")).to_have_attribute("href", f"{asgi_server.url}{PRODUCT}")
    first = agent.locator("ol.thread > li").first
    expect(first.locator("p.meta")).to_contain_text("customer · Live chat, offline message")
    agent.screenshot(path=screenshot_path("console-ticket-offline-message"))

    agent.set_viewport_size({"width": 390, "height": 844})
    agent.go_back()
    expect(agent.locator("#ticket-table")).to_contain_text("Live chat, offline message")
    agent.screenshot(path=screenshot_path("console-inbox-offline-message-phone"), full_page=True)

    # The customer's own page names where they left it, at phone width.
    requester = offline.requester
    requester.set_password(PASSWORD)
    requester.save(update_fields=["password"])
    sign_in(customer, asgi_server, requester)
    customer.goto(f"{asgi_server.url}/requests/{offline.pk}/")
    expect(customer.locator("ol.thread > li p.meta").first).to_contain_text(
        "You · Live chat, offline message"
    )
    customer.screenshot(path=screenshot_path("portal-request-offline-message-phone"))
