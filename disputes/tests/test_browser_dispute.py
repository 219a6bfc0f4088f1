"""The dispute in two browsers: the agent opens it in the console, the seller answers in
the seller portal, the agent decides, the seller reads the outcome (also at phone width)."""

import pytest

from conftest import screenshot_path
from disputes.tests.conftest import make_case

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_seller_answers_a_dispute_in_the_seller_portal(browser, page, live_server, login):
    case = make_case()

    # The agent sees the suggestion on the ticket and opens the dispute.
    agent_context = browser.new_context(viewport={"width": 1280, "height": 900})
    agent_page = agent_context.new_page()
    agent_page.set_default_timeout(10_000)
    login(agent_page, case.agent)
    agent_page.goto(f"{live_server.url}/console/tickets/{case.ticket.pk}/")
    assert agent_page.get_by_text("a third-party seller: this could be handled").is_visible()
    agent_page.get_by_role("button", name="Preview the claim for the seller").click()
    agent_page.get_by_role("button", name="Open a dispute with the seller").click()
    assert agent_page.get_by_text("Dispute opened; the seller is notified").is_visible()
    assert agent_page.get_by_role("heading", name="Dispute DSP-").is_visible()

    # The seller finds it in the seller portal.
    login(page, case.seller_user)
    page.get_by_role("link", name="Seller portal").click()
    page.get_by_role("link", name="with Chioma").click()
    assert page.get_by_role("heading", name=f"order {case.order.number}").is_visible()
    claim = page.locator(".claim").inner_text()
    assert "cracked screen" in claim
    assert "[phone number hidden]" in claim and "[email hidden]" in claim
    content = page.content()
    assert "Okafor" not in content and "chioma.okafor@example.com" not in content
    page.get_by_label("Your reply").fill("We will send a new screen within three days.")
    page.get_by_role("button", name="Send reply").click()
    assert page.get_by_text("Reply sent to Izonie Support.").is_visible()
    assert page.get_by_text("We will send a new screen within three days.").is_visible()
    page.screenshot(path=screenshot_path("seller-portal-dispute"), full_page=True)

    # The agent reads the answer and decides.
    agent_page.reload()
    assert agent_page.get_by_text("We will send a new screen within three days.").is_visible()
    agent_page.get_by_label("Outcome").select_option("replacement")
    agent_page.get_by_label("Reason (told to the buyer and the seller)").fill(
        "The seller replaces the screen."
    )
    agent_page.get_by_role("button", name="Decide and tell both parties").click()
    assert agent_page.get_by_text("Outcome recorded and sent").is_visible()
    agent_page.screenshot(path=screenshot_path("console-dispute"), full_page=True)
    agent_context.close()

    # The seller reads the outcome, at phone width.
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    assert page.get_by_role("heading", name="Outcome").is_visible()
    assert page.get_by_text("Reason: The seller replaces the screen.").is_visible()
    assert page.get_by_role("button", name="Send reply").count() == 0
    page.screenshot(path=screenshot_path("seller-portal-dispute-phone"), full_page=True)


def test_the_agent_edits_the_redacted_claim_before_the_seller_reads_it(page, live_server, login):
    case = make_case()
    login(page, case.agent)
    page.goto(f"{live_server.url}/console/tickets/{case.ticket.pk}/")
    page.get_by_label("What the seller is told (the buyer's claim)").fill(
        "Cracked screen. The buyer lives at 12 Allen Avenue, Ikeja, Lagos; call 0803 123 4567."
    )
    page.get_by_role("button", name="Preview the claim for the seller").click()
    box = page.get_by_label("What the seller will read")
    assert box.input_value() == (
        "Cracked screen. The buyer lives at [address hidden]; call [phone number hidden]."
    )
    # The agent removes a sentence and slips a contact back in; it is hidden again.
    box.fill("Cracked screen on arrival. Buyer: ada [at] gmail [dot] com")
    page.get_by_role("button", name="Open a dispute with the seller").click()
    assert page.get_by_text("Dispute opened; the seller is notified").is_visible()
    from disputes.models import Dispute

    assert Dispute.objects.get().claim == "Cracked screen on arrival. Buyer: [email hidden]"
