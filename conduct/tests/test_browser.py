"""The conduct flag and "End for conduct" in the console, in Chromium, at desktop and
phone width."""

import pytest

from accounts.tests.factories import AgentFactory, BuyerFactory
from conftest import screenshot_path
from tickets import services
from tickets.choices import Channel, EventKind, TicketStatus

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


@pytest.mark.parametrize("width", [1280, 390])
def test_an_agent_sees_the_flag_and_ends_the_conversation_for_conduct(
    page, login, live_server, width
):
    page.set_viewport_size({"width": width, "height": 900})
    buyer = BuyerFactory()
    ticket = services.ticket_open(
        requester=buyer, channel=Channel.EMAIL, body="Where is my refund?", category="payments"
    )
    services.ticket_customer_message(
        ticket=ticket, author=buyer, body="Answer me, you f*cking m0ron"
    )
    login(page, AgentFactory())
    page.goto(f"{live_server.url}/console/tickets/{ticket.pk}/")
    flag = page.get_by_role("note", name="Conduct flag")
    assert flag.count() == 1 and flag.is_visible()
    assert "Medium severity" in flag.inner_text() and "fuck" in flag.inner_text()
    page.screenshot(path=screenshot_path(f"conduct-flag-{width}"), full_page=True)
    page.get_by_label("Reason the customer will see").fill("Insults after our reminder.")
    page.get_by_role("button", name="End for conduct").click()
    page.wait_for_load_state()
    assert page.get_by_text("The conversation was ended for conduct").is_visible()
    assert page.get_by_text(
        "We are ending this conversation: Insults after our reminder."
    ).is_visible()
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.CLOSED
    assert ticket.events.filter(kind=EventKind.TERMINATED).count() == 1


def test_the_chat_desk_flags_an_abusive_chat_message(browser, asgi_server, clock):
    from playwright.sync_api import expect

    from chat.tests.test_browser import agent_online, new_page, start_chat

    agent = AgentFactory(display_name="Ada Agent")
    desk = agent_online(browser, asgi_server, agent)
    customer = new_page(browser)
    dialog = start_chat(customer, asgi_server, text="Where is my refund?")
    desk.get_by_role("button", name="Accept chat with Ada Obi").click()
    desk_log = desk.get_by_role("log", name="Messages")
    expect(desk_log).to_contain_text("Where is my refund?")
    dialog.get_by_label("Type your message").fill("answer me you useless b!tch")
    dialog.get_by_label("Type your message").press("Enter")
    flag = desk_log.get_by_role("note")
    expect(flag).to_contain_text("Conduct flag · medium severity: bitch")
    desk.screenshot(path=screenshot_path("chat-desk-conduct-flag"))
