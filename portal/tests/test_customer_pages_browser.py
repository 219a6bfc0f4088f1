"""Issue 19 item 5 in a real browser, at 1280 and 390 px: the home page, one-tap rating
of a solved request, the escalated state and My requests' labelled cells on a phone."""

import pytest

from accounts.tests.factories import BuyerFactory
from conftest import png_bytes, screenshot_path
from feedback.models import Rating
from tickets.choices import TicketStatus
from tickets.tests.factories import TicketFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("width", [1280, 390])
def test_customer_home_rating_and_escalation(browser, live_server, login, width):
    buyer = BuyerFactory(display_name="Chioma Nwosu")
    solved = TicketFactory(
        requester=buyer, status=TicketStatus.RESOLVED, subject="Refund for the cracked phone"
    )
    waiting = TicketFactory(requester=buyer, subject="Parcel not delivered")
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    tag = f"{width}"

    # A visitor's home page: search, topics, live chat hours, contact options, sign in.
    page.goto(f"{live_server.url}/")
    assert page.get_by_label("Search the Help Center").is_visible()
    assert page.get_by_role("heading", name="Live Chat").is_visible()
    assert page.get_by_text("Monday – Saturday, 08:00 – 20:00").is_visible()
    assert page.get_by_role("link", name="support@izonie.com").is_visible()
    assert page.get_by_role("link", name="Sign in to see my requests").is_visible()
    page.screenshot(path=screenshot_path(f"home-visitor-{tag}"), full_page=True)

    # Signed in: the latest requests on the home page.
    login(page, buyer)
    page.goto(f"{live_server.url}/")
    assert page.get_by_role("link", name="Parcel not delivered").is_visible()
    page.screenshot(path=screenshot_path(f"home-customer-{tag}"), full_page=True)

    # One tap rates the solved request on its page.
    page.goto(f"{live_server.url}/requests/{solved.pk}/")
    page.get_by_role("button", name=f"Rate {solved.reference} 4 out of 5").click()
    assert page.get_by_text("Thank you: your rating of 4 out of 5").is_visible()
    assert Rating.objects.get(ticket=solved).score == 4
    page.screenshot(path=screenshot_path(f"portal-rated-{tag}"), full_page=True)

    # Escalating shows the state, the deadline and the reason.
    page.goto(f"{live_server.url}/requests/{waiting.pk}/")
    page.get_by_label("What is still wrong? (optional)").fill("Nobody has answered in days")
    page.get_by_role("button", name="Escalate to a Supervisor").click()
    assert page.get_by_text("Escalated:", exact=True).is_visible()
    assert page.get_by_text("Your reason: “Nobody has answered in days”").is_visible()
    page.screenshot(path=screenshot_path(f"portal-escalated-{tag}"), full_page=True)

    # My requests: a score changes from the list; cells say what they are on a phone.
    page.goto(f"{live_server.url}/requests/")
    page.get_by_role("button", name=f"Rate {solved.reference} 5 out of 5").click()
    page.wait_for_url("**/requests/")
    assert page.get_by_text("You rated this 5 out of 5").is_visible()
    assert page.locator(".badge.escalated").first.is_visible()
    if width == 390:
        before = page.locator('td[data-label="Opened"]').first.evaluate(
            "cell => getComputedStyle(cell, '::before').content"
        )
        assert before == '"Opened: "'
    page.screenshot(path=screenshot_path(f"portal-requests-{tag}"), full_page=True)
    context.close()


@pytest.mark.parametrize("width", [1280, 390])
def test_contact_form_offers_the_buyers_orders_and_keeps_errors_visible(
    browser, live_server, login, width, tmp_path
):
    from marketplace.tests.factories import OrderFactory
    from tickets.models import Ticket

    buyer = BuyerFactory(display_name="Chioma Nwosu")
    OrderFactory(buyer=buyer, number="IZ-30461100", items=["Power bank 20000 mAh"])
    order = OrderFactory(buyer=buyer, number="IZ-30461187", items=["Izonie X12 Pro"])
    photo = tmp_path / "crack.png"
    photo.write_bytes(png_bytes((40, 30)))
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    login(page, buyer)
    page.goto(f"{live_server.url}/contact")

    orders = page.get_by_role("group", name="Which of your orders is it about?")
    assert orders.get_by_label("IZ-30461187 · Izonie X12 Pro", exact=False).is_visible()
    assert page.get_by_text("e.g. IZ-12345678").count() == 0  # a placeholder, not text
    assert page.get_by_label("Another order number").get_attribute("placeholder") == (
        "e.g. IZ-12345678"
    )
    # Nothing but a photo and an order: every missing field is named at once, and the
    # photo is named as one to attach again.
    orders.get_by_label("IZ-30461187 · Izonie X12 Pro", exact=False).check()
    page.get_by_label("Photos or PDFs (optional)").set_input_files(str(photo))
    page.get_by_role("button", name="Send request").click()
    assert page.get_by_role("alert").filter(has_text="Please check the fields").is_visible()
    assert page.get_by_text("Choose what your request is about.").is_visible()
    assert page.get_by_text("Attach again: crack.png.").is_visible()
    # The chosen order is still chosen.
    assert orders.get_by_label("IZ-30461187 · Izonie X12 Pro", exact=False).is_checked()
    page.screenshot(path=screenshot_path(f"contact-orders-errors-{width}"), full_page=True)

    page.get_by_label("Returns", exact=False).first.check()
    page.get_by_label("How can we help?").fill("The screen arrived cracked")
    page.get_by_label("Photos or PDFs (optional)").set_input_files(str(photo))
    page.get_by_role("button", name="Send request").click()
    page.wait_for_url("**/requests/*/")
    ticket = Ticket.objects.get(requester=buyer)
    assert ticket.order_number == order.number
    assert ticket.messages.filter(attachments__filename="crack.png").exists()
    page.screenshot(path=screenshot_path(f"contact-orders-sent-{width}"), full_page=True)
    context.close()
