"""A customer opens a request in the portal and an agent answers it in the console."""

import re

import pytest
from playwright.sync_api import expect

from accounts.tests.factories import AgentFactory, BuyerFactory
from conftest import png_bytes, screenshot_path
from marketplace.tests.factories import OrderFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_customer_opens_a_request_and_an_agent_answers(browser, page, live_server, login, tmp_path):
    buyer = BuyerFactory(display_name="Chioma Nwosu")
    order = OrderFactory(buyer=buyer)
    agent = AgentFactory(display_name="Ada Eze")
    picture = tmp_path / "cracked-screen.png"
    picture.write_bytes(png_bytes((64, 48), "blue"))

    # The customer opens a request with a photo.
    login(page, buyer)
    page.goto(f"{live_server.url}/contact")
    # A signed-in buyer picks one of their own recent orders instead of typing it.
    hint = page.locator(".order-pick .order-needed")
    assert not hint.is_visible()
    page.get_by_label("Returns: Initiating a return, checking refund status").check()
    assert hint.is_visible()  # shown for categories that need an order number
    page.get_by_label(re.compile(f"^{order.number} · ")).check()
    page.get_by_label("How can we help?").fill("The screen arrived cracked. Photo attached.")
    page.get_by_label("Photos or PDFs").set_input_files(str(picture))
    page.screenshot(path=screenshot_path("portal-contact"), full_page=True)
    page.get_by_role("button", name="Send request").click()
    page.wait_for_url("**/requests/*/")
    assert page.locator(".thread .body").first.inner_text() == (
        "The screen arrived cracked. Photo attached."
    )
    assert page.get_by_role("img", name="Photo cracked-screen.png").is_visible()
    request_url = page.url
    page.goto(f"{live_server.url}/requests/")
    assert page.get_by_role("link", name="The screen arrived cracked").is_visible()

    # The agent, in another browser context, finds it in the inbox and replies.
    agent_context = browser.new_context(viewport={"width": 1280, "height": 900})
    agent_page = agent_context.new_page()
    login(agent_page, agent)
    agent_page.goto(f"{live_server.url}/console/")
    agent_page.get_by_label("Search this view").fill("screen arrived")
    agent_page.get_by_role("button", name="Filter").click()
    agent_page.screenshot(path=screenshot_path("console-inbox"), full_page=True)
    agent_page.get_by_role("link", name="The screen arrived cracked").first.click()
    agent_page.get_by_label("Reply to the customer").fill(
        "Sorry about that! A courier will collect it tomorrow."
    )
    agent_page.get_by_role("button", name="Send reply", exact=True).click()
    expect(agent_page.get_by_text("Reply queued for delivery.")).to_be_visible()
    agent_page.screenshot(path=screenshot_path("console-ticket"), full_page=True)
    agent_context.close()

    # The customer reloads and sees the answer, also at phone width.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(request_url)
    assert page.get_by_text("A courier will collect it tomorrow.").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=screenshot_path("portal-request-phone"), full_page=True)
