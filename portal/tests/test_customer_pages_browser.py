"""Issue 19 item 5 in a real browser, at 1280 and 390 px: the home page, one-tap rating
of a solved request, the escalated state and My requests' labelled cells on a phone."""

import pytest

from accounts.tests.factories import BuyerFactory
from conftest import screenshot_path
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
