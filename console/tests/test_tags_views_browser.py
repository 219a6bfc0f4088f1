"""Tags, saved views and notes on the customer in Chromium, at 1280 and 390 px."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from accounts.tests.factories import AgentFactory, BuyerFactory
from conftest import screenshot_path
from marketplace.tests.factories import OrderFactory
from tickets.tests.factories import TicketFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


@pytest.mark.parametrize("width", [1280, 390])
def test_tag_a_ticket_save_a_view_and_note_the_customer(page, login, live_server, width):
    page.set_viewport_size({"width": width, "height": 800})
    buyer = BuyerFactory(display_name="Chioma Nwosu")
    ticket = TicketFactory(status="open", requester=buyer, subject="Charged twice for one order")
    later = TicketFactory(status="open", requester=buyer, subject="And now a refund question")
    TicketFactory(status="open", subject="Where is my parcel")
    order = OrderFactory(buyer=buyer, items=["Tecno Camon 20"])
    login(page, AgentFactory(display_name="Ada Okafor"))

    # tag the ticket and keep a note on the customer, both in place
    page.goto(f"{live_server.url}/console/tickets/{ticket.pk}/")
    page.get_by_label("Add tags").fill("Chargeback, VIP")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.locator("#flash")).to_contain_text("Tagged chargeback, vip.")
    expect(page.get_by_role("button", name="Remove tag vip")).to_be_visible()
    page.get_by_label("Add a note about Chioma Nwosu").fill("Prefers WhatsApp; speaks Igbo.")
    page.get_by_role("button", name="Keep note").click()
    expect(page.locator(".customer-notes")).to_contain_text("Prefers WhatsApp")
    page.get_by_role("button", name="Remove tag vip").click()
    expect(page.get_by_role("button", name="Remove tag vip")).to_have_count(0)
    page.get_by_role("heading", name="Tags").scroll_into_view_if_needed()
    page.screenshot(path=screenshot_path(f"workspace-tags-notes-{width}"))

    # the note shows on the customer's other ticket, beside their recent orders
    page.goto(f"{live_server.url}/console/tickets/{later.pk}/")
    expect(page.locator(".customer-notes")).to_contain_text("Prefers WhatsApp; speaks Igbo.")
    expect(page.locator(".requester-card")).to_contain_text(f"{order.number} Tecno Camon 20")
    page.get_by_role("heading", name="Recent orders").scroll_into_view_if_needed()
    page.screenshot(path=screenshot_path(f"workspace-customer-context-{width}"))

    # filter the inbox by the tag, sort it, save it as a shared view with its count
    page.goto(f"{live_server.url}/console/?view=open")
    page.get_by_role("link", name="Tag chargeback: show tickets with it").click()
    expect(page.locator(".inbox-table tbody tr")).to_have_count(1)
    if width == 1280:
        page.get_by_role("link", name="Prio").click()
    else:  # on a phone the table is a list of cards: the filters choose the order
        page.get_by_label("Sort by").select_option("priority")
        page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"sort=priority"))
    page.get_by_text("Save this list as a view").click()
    page.get_by_label("Name").fill("Chargebacks")
    page.get_by_label("Share with the team").check()
    page.get_by_role("button", name="Save view").click()
    expect(page.locator("#flash")).to_contain_text("View “Chargebacks” saved.")
    link = page.get_by_role("link", name="Chargebacks")
    expect(link).to_have_attribute("aria-current", "page")
    expect(link).to_contain_text("1")
    assert page.get_by_label("Sort by").input_value() == "priority"
    page.screenshot(path=screenshot_path(f"workspace-saved-view-{width}"), full_page=True)
