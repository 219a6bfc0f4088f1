"""The reply box in Chromium: Alt+M finds a macro, inserts it filled in, sending applies it."""

import pytest
from playwright.sync_api import expect

from accounts.tests.factories import AgentFactory, BuyerFactory
from conftest import screenshot_path
from macros.models import Macro
from tickets import services
from tickets.choices import Channel
from tickets.models import Ticket

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


@pytest.mark.parametrize("width", [1280, 390])
def test_alt_m_inserts_a_macro_and_sending_applies_it(page, login, live_server, width):
    page.set_viewport_size({"width": width, "height": 800})
    buyer = BuyerFactory(first_name="Chioma", display_name="Chioma Nwosu")
    ticket = services.ticket_open(
        requester=buyer, channel=Channel.EMAIL, category="payments", body="Where is my refund?"
    )
    Macro.objects.create(
        title="Refund on its way",
        body="Hello {{ customer.first_name }}, the refund for {{ ticket.reference }} is on its way.",  # noqa: E501
        set_status="pending",
        set_priority="high",
        add_tags="refund",
    )
    Macro.objects.create(title="Ask for the order number", body="Your order number, please?")
    login(page, AgentFactory(first_name="Ada"))
    page.goto(f"{live_server.url}/console/tickets/{ticket.pk}/")
    box = page.get_by_label("Reply to the customer")
    box.click()
    page.keyboard.press("Alt+m")
    search = page.get_by_role("searchbox", name="Search macros")
    search.fill("refund")
    expect(page.get_by_role("listbox", name="Macros").get_by_role("option")).to_have_count(1)
    expect(page.get_by_role("listbox", name="Macros").get_by_role("option")).to_contain_text(
        "Refund on its way"
    )
    page.screenshot(path=screenshot_path(f"macros-picker-{width}"), full_page=False)
    search.press("Enter")
    text = f"Hello Chioma, the refund for {ticket.reference} is on its way."
    assert box.input_value() == text
    assert page.get_by_label("Then set status").input_value() == "pending"
    assert page.get_by_text("sending also sets status pending; priority high").is_visible()
    page.get_by_role("button", name="Send reply", exact=True).click()
    # answered in place (htmx): wait for the message, not for a page load
    expect(page.get_by_text("Reply queued for delivery.")).to_be_visible()
    ticket = Ticket.objects.get(pk=ticket.pk)
    assert ticket.priority == "high" and [t.name for t in ticket.tags.all()] == ["refund"]
    assert Macro.objects.get(title="Refund on its way").uses == 1
