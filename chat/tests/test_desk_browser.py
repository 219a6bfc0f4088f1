"""The chat desk in Chromium with three chats at once: unread counts, previews and
order, the title badge, offer banners, slash commands with placeholders, transfer
targets, confirmation and the read-only state of an ended chat."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from accounts.tests.factories import AgentFactory, SupervisorFactory
from chat.models import AgentPresence, ChatSession, Presence
from chat.tests.test_browser import PRODUCT, agent_online, new_page
from conftest import screenshot_path
from macros.models import Macro
from macros.services import macro_save

pytestmark = pytest.mark.django_db(transaction=True)


def customer_starts(browser, server, name, text, width=1280):
    page = new_page(browser, width=width, height=844)
    page.goto(f"{server.url}{PRODUCT}")
    page.get_by_role("button", name="Chat with us").click()
    dialog = page.get_by_role("dialog", name="Izonie Support chat")
    dialog.get_by_label("Your name").fill(name)
    dialog.get_by_label("Email").fill(f"{name.split()[0].lower()}@example.com")
    dialog.get_by_label("Topic").select_option(label="Returns")
    dialog.get_by_label("Order number (optional)").fill("IZ-20461187")
    dialog.get_by_label("How can we help?").fill(text)
    dialog.get_by_role("button", name="Start chat").click()
    expect(dialog.get_by_role("log", name="Conversation")).to_contain_text(text)
    return page, dialog


def test_a_desk_with_three_chats_misses_nobody(browser, asgi_server, clock):
    # A supervisor writes the team's macro in the console; the desk offers the same one.
    macro_save(
        user=SupervisorFactory(),
        shared=True,
        title="Greeting",
        body="Hello {{ customer.first_name }}, I'm {{ agent.first_name }}. "
        "Let me look at {{ order.number }}. {{ policy.organisation }} replies by email "
        "within {{ policy.response.email_first_reply }}.",
    )
    agent = AgentFactory(display_name="Ada Agent")
    colleague = AgentFactory(display_name="Bola Busy")
    AgentPresence.objects.create(agent=colleague, status=Presence.OFFLINE)
    desk = agent_online(browser, asgi_server, agent)

    customers = [
        customer_starts(browser, asgi_server, name, text)
        for name, text in (
            ("Chidi Eze", "Screen cracked"),
            ("Funmi Ade", "Wrong colour"),
            ("Kemi Obi", "Charger missing"),
        )
    ]
    # Each offer is a banner with its wait time, until accepted.
    offers = desk.locator(".offer-banner")
    expect(offers).to_have_count(3)
    expect(offers.first).to_contain_text(re.compile(r"waiting \d+ s"))
    expect(desk).to_have_title(re.compile(r"^\(\d+\) "))
    desk.screenshot(path=screenshot_path("chat-desk-offers"))
    for name in ("Chidi Eze", "Funmi Ade", "Kemi Obi"):
        desk.get_by_role("button", name=f"Accept offered chat with {name}").click()
        expect(desk.get_by_role("log", name="Messages")).to_contain_text("joined")
    expect(offers).to_have_count(0)

    # Kemi's chat is open; Chidi writes: his chat counts it, shows it, comes first.
    _chidi_page, chidi = customers[0]
    chidi.get_by_label("Type your message").fill("Hello? Anyone there?")
    chidi.get_by_label("Type your message").press("Enter")
    mine = desk.locator("#mine > li")
    expect(mine.first).to_contain_text("Chidi Eze")
    expect(mine.first).to_contain_text("Hello? Anyone there?")
    expect(mine.first.locator(".badge.count")).to_have_text(re.compile(r"[1-9]"))
    expect(desk).to_have_title(re.compile(r"^\([1-9]\d*\) Live chat"))
    desk.screenshot(path=screenshot_path("chat-desk-three-chats"))

    # Opening it clears the count and the title badge for it.
    desk.get_by_role("button", name="Open chat with Chidi Eze").click()
    expect(mine.first.locator(".badge.count")).to_have_count(0)
    expect(desk.get_by_role("log", name="Messages")).to_contain_text("Hello? Anyone there?")

    # The visitor panel: email, unverified guest, the page the chat started on.
    visitor = desk.get_by_role("complementary", name="Visitor")
    expect(visitor).to_contain_text("chidi@example.com")
    expect(visitor).to_contain_text("Guest · email not verified")
    expect(visitor).to_contain_text(PRODUCT)
    expect(visitor).to_contain_text("IZ-20461187")

    # "/gre" + Tab expands the console's macro with the chat's placeholders filled:
    # the customer's first name, the order number they gave, the policy's facts.
    text = desk.get_by_label("Message", exact=True)
    text.press_sequentially("/gre", delay=20)
    offered = desk.get_by_role("listbox", name="Macros")
    expect(offered).to_contain_text("/greeting")
    expect(offered).to_contain_text("Hello Chidi")
    offered.scroll_into_view_if_needed()
    desk.screenshot(path=screenshot_path("chat-desk-slash-macro"))
    text.press("Tab")
    expect(text).to_have_value(
        re.compile(
            r"^Hello Chidi, I'm Ada\. Let me look at IZ-20461187\. "
            r"Izonie replies by email within \S"
        )
    )
    assert "{{" not in text.input_value()
    text.press("Enter")
    expect(chidi.get_by_role("log", name="Conversation")).to_contain_text("Hello Chidi, I'm Ada.")
    # Sent from the desk, the macro counts as used, as it would from the reply box.
    for _ in range(50):
        if Macro.objects.get(shortcut="greeting").uses == 1:
            break
        desk.wait_for_timeout(100)
    assert Macro.objects.get(shortcut="greeting").uses == 1

    # Only agents online with room are transfer targets: the offline colleague is not.
    expect(desk.locator("#transfer-agents option")).to_have_text(["Nobody else online has room"])
    assert "Bola Busy" not in desk.locator("#transfer-to").inner_text()

    # Ending asks first; dismissing it keeps the chat going.
    desk.once("dialog", lambda d: d.dismiss())
    desk.get_by_role("button", name="End chat").click()
    desk.wait_for_timeout(300)
    assert ChatSession.objects.get(visitor_name="Chidi Eze").state == "active"
    desk.once("dialog", lambda d: d.accept())
    desk.get_by_role("button", name="End chat").click()
    # Read-only at once: nothing can be sent, transferred or ended again.
    expect(desk.locator("#conv-ended")).to_contain_text("read-only")
    expect(text).to_be_disabled()
    expect(desk.get_by_role("button", name="Send", exact=True)).to_be_disabled()
    expect(desk.get_by_role("button", name="Transfer")).to_be_disabled()
    expect(desk.get_by_role("button", name="End for conduct")).to_be_disabled()
    expect(chidi.get_by_role("group", name="How did we do?")).to_be_visible()
    expect(mine).to_have_count(2)
    desk.screenshot(path=screenshot_path("chat-desk-ended"), full_page=True)

    # On a narrow screen the desk stacks, nothing cut off.
    desk.set_viewport_size({"width": 390, "height": 844})
    desk.screenshot(path=screenshot_path("chat-desk-phone"), full_page=True)
    for page, _dialog in customers:
        page.close()


def test_an_agents_own_message_scrolls_into_view_in_a_long_conversation(
    browser, asgi_server, clock
):
    """The conversation box scrolls: the agent's own message, shown as it is sent, comes
    into view as the customer's do (a chat opens with the customer's words and the
    request for an order number and photos, already longer than the box on a laptop)."""
    from chat.tests.test_browser import start_chat

    agent = AgentFactory(display_name="Ada Agent")
    desk = agent_online(browser, asgi_server, agent)
    customer = new_page(browser, width=390, height=844)
    start_chat(customer, asgi_server)
    desk.get_by_role("button", name="Accept offered chat with Ada Obi").click()
    log = desk.get_by_role("log", name="Messages")
    expect(log).to_contain_text("order number")
    # Accepted: no longer offered, and listed as the agent's own.
    expect(desk.get_by_text("New chat offered to you")).to_have_count(0)
    expect(desk.locator("#mine").get_by_role("button", name="Open")).to_have_count(1)
    for n in range(3):
        desk.get_by_label("Message", exact=True).fill(f"Checking the order, step {n + 1} of 3.")
        desk.get_by_label("Message", exact=True).press("Enter")
    expect(log.get_by_text("Checking the order, step 3 of 3.")).to_be_in_viewport()
    desk.screenshot(path=screenshot_path("chat-desk-own-message-in-view"))
