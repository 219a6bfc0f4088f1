"""An agent merges a customer's duplicate into their other request, in Chromium."""

import pytest
from playwright.sync_api import expect

from accounts.tests.factories import AgentFactory, BuyerFactory
from conftest import screenshot_path
from tickets import services
from tickets.choices import Channel, TicketStatus
from tickets.models import Ticket

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def _open(buyer, body):
    return services.ticket_open(
        requester=buyer, channel=Channel.EMAIL, category="technical_support", body=body
    )


def test_merge_into_shows_what_moves_and_leaves_one_conversation(page, login, live_server):
    buyer = BuyerFactory(first_name="Chioma", last_name="Nwosu")
    duplicate = _open(buyer, "The app crashes at checkout.")
    original = _open(buyer, "Checkout crashes on my phone.")
    _open(BuyerFactory(), "Someone else's crash.")  # never offered
    login(page, AgentFactory(display_name="Ada Obi"))

    page.goto(f"{live_server.url}/console/tickets/{duplicate.pk}/")
    page.get_by_role("link", name="Merge into…").click()
    choices = page.get_by_role("radio")
    expect(choices).to_have_count(1)
    page.get_by_label(original.reference, exact=False).check()
    page.get_by_role("button", name="Review the merge").click()
    confirm = page.locator(".merge-confirm")
    expect(confirm).to_contain_text(f"move to {original.reference}")
    expect(confirm).to_contain_text(f"{duplicate.reference} is closed and points to")
    page.screenshot(path=screenshot_path("merge-confirm-1280"))
    page.get_by_role("button", name=f"Merge into {original.reference}").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text(original.reference)
    thread = page.locator("ol.thread")
    expect(thread).to_contain_text("The app crashes at checkout.")
    expect(thread).to_contain_text("Checkout crashes on my phone.")
    expect(page.locator(".history")).to_contain_text(f"Merged in {duplicate.reference}")
    page.screenshot(path=screenshot_path("merge-done-1280"), full_page=True)

    page.goto(f"{live_server.url}/console/tickets/{duplicate.pk}/")
    pointer = page.locator(".merged-pointer")
    expect(pointer).to_contain_text(f"Merged into {original.reference}")
    assert Ticket.objects.get(pk=duplicate.pk).status == TicketStatus.CLOSED
